"""Parsing monographs: front matter, FAQ pairs, heading paths, aliases (issue 2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from monorag.ingest.parse import is_monograph_file, parse_bytes, parse_file
from monorag.text import normalise_question
from monorag.types import SEP, Monograph

SEED = Path(__file__).resolve().parent.parent / "corpus" / "pomalidomide.md"


def monograph(body: str, front: str = "title: Testamab\nlastModified: '2024-05-01'") -> bytes:
    """A small monograph file's bytes."""
    return f"---\n{front}\n---\n{body}".encode()


def parse(data: bytes, name: str = "testamab.md") -> Monograph:
    return parse_bytes(data, path=Path("/corpus") / name)


@pytest.fixture(scope="module")
def seed() -> Monograph:
    return parse_file(SEED, SEED.parent)


def _seed_front_matter() -> dict:
    text = SEED.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("\n---\n", 1)[0].removeprefix("---\n"))


# -- the seed monograph --------------------------------------------------------------------


def test_seed_identity(seed: Monograph) -> None:
    front = _seed_front_matter()
    assert seed.title == front["title"]
    assert seed.source == SEED.name
    assert seed.key == str(SEED.resolve())
    assert seed.last_modified == front["lastModified"]
    assert seed.description.startswith(" ".join(front["description"].split()[:5]))
    assert len(seed.sha256) == 64
    assert seed.warnings == []


def test_seed_aliases_are_brand_names_without_marks(seed: Monograph) -> None:
    text = SEED.read_text(encoding="utf-8")
    # Every name the file marks with ® or ™ becomes an alias, without the mark.
    marked = set(re.findall(r"([A-Z][\w-]+)\s*[®™]", text))
    assert marked, "the seed marks its brand names"
    assert marked <= set(seed.aliases)
    assert seed.aliases[0] == seed.title
    assert not any(ch in alias for alias in seed.aliases for ch in "®™*")
    assert len({a.lower() for a in seed.aliases}) == len(seed.aliases)
    assert {"Pomalidomide", "Pomalyst", "Imnovid"} <= set(seed.aliases)


def test_seed_faqs_are_clean_pairs(seed: Monograph) -> None:
    front = _seed_front_matter()
    assert len(seed.faqs) == len(front["faqs"]) == 10
    for faq in seed.faqs:
        for text in (faq.question, faq.answer):
            assert "**" not in text
            assert text == " ".join(text.split()), "whitespace is normalised"
        assert faq.question.endswith("?")
        assert not re.match(r"\s*(Q\d*|A)\s*:", faq.question)
        assert not re.match(r"\s*A\s*:", faq.answer)
        assert "A:" not in faq.question, "the answer glued into the question is split off"
        assert len(faq.answer) > 20


def test_seed_body_faq_section_adds_no_duplicates(seed: Monograph) -> None:
    keys = [normalise_question(f.question) for f in seed.faqs]
    assert len(keys) == len(set(keys))
    # The body repeats the same ten questions under a FAQ heading: still ten pairs.
    body_questions = re.findall(r"^###.*Q\d+:\s*(.*?)\**$", SEED.read_text(), re.MULTILINE)
    assert len(body_questions) == 10
    assert {normalise_question(q) for q in body_questions} == set(keys)
    # ... and the FAQ section is not also a text section.
    assert not any("FAQ" in s.title for s in seed.all_sections())


def test_seed_heading_paths(seed: Monograph) -> None:
    headings = [s.heading for s in seed.all_sections()]
    assert f"Dosage{SEP}Standard Dosage{SEP}Adults" in headings
    assert f"Dosage{SEP}Standard Dosage{SEP}Special Cases" in headings
    assert f"Side Effects{SEP}Common Side Effects" in headings
    assert "Drug Interactions" in headings
    # Paths exclude the drug name and carry no markdown or trailing colons.
    for section in seed.all_sections():
        assert section.path[0] != seed.title
        for part in section.path:
            assert part and "*" not in part and not part.endswith(":")
        assert len(section.path) == section.level - 1, section.heading
    adults = next(s for s in seed.all_sections() if s.heading.endswith("Adults"))
    assert "4 mg" in adults.text and "**" not in adults.text


def test_seed_every_body_heading_is_a_section(seed: Monograph) -> None:
    text = SEED.read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1]
    in_faq = False
    expected = 0
    for line in body.splitlines():
        m = re.match(r"^(#+)\s+(.*)", line)
        if not m:
            continue
        if len(m.group(1)) == 2:
            in_faq = "FAQ" in m.group(2)
        expected += not in_faq
    assert len(seed.all_sections()) == expected


# -- general parsing rules --------------------------------------------------------------------


def test_brand_names_with_marks_become_aliases() -> None:
    mono = parse(
        monograph(
            "## **Other Names**\n\nThe INN is (INN) zolbetuximab. "
            "Trade names include Vyloy® and Zolbex™ in some markets.\n\n## Usage\n\nUsed for X.\n"
        )
    )
    assert mono.aliases[:1] == ["Testamab"]
    assert {"Vyloy", "Zolbex", "zolbetuximab"} <= set(mono.aliases)
    assert all("®" not in a and "™" not in a for a in mono.aliases)


def test_active_substance_phrase_gives_inn_alias() -> None:
    mono = parse(
        monograph(
            "## 1. What Testamab is\n\nTestamab contains the active substance "
            "zolbetuximab and belongs to a group of medicines called antibodies.\n"
        )
    )
    assert "zolbetuximab" in mono.aliases


@pytest.mark.parametrize(
    ("sentence", "names"),
    [
        (
            "Testamab tablets contain two active substances called amlodipine and valsartan.",
            ["amlodipine", "valsartan"],
        ),
        (
            "Testamab is made up of two active substances: tixagevimab and cilgavimab.",
            ["tixagevimab", "cilgavimab"],
        ),
        (
            "Testamab HCT tablets contain three substances called amlodipine, valsartan and "
            "hydrochlorothiazide.",
            ["amlodipine", "valsartan", "hydrochlorothiazide"],
        ),
        (
            "The active substance is recombinant coagulation factor VIIa (activated eptacog alfa).",
            ["eptacog alfa"],
        ),
        ("Do not use it if you are allergic to the active substance (ertapenem).", ["ertapenem"]),
        (
            "The active substance in Testamab is a protein called interferon beta-1a.",
            ["interferon beta-1a"],
        ),
        (
            "Testamab contains the active substance 5-aminolaevulinic acid.",
            ["5-aminolaevulinic acid"],
        ),
    ],
)
def test_every_way_a_leaflet_names_its_active_substances(sentence: str, names: list[str]) -> None:
    mono = parse(monograph(f"## 1. What Testamab is\n\n{sentence}\n"))
    assert set(names) <= set(mono.aliases), mono.aliases


def test_body_faq_headings_and_paragraphs() -> None:
    body = (
        "## Usage\n\nFor testing.\n\n"
        "## FAQs\n\n### **Q1: Can it be crushed?**\n**A:** No, swallow it whole.\n\n"
        "### Q2: Is it safe in pregnancy?\nA: Not studied.\n"
    )
    mono = parse(monograph(body))
    assert [(f.question, f.answer) for f in mono.faqs] == [
        ("Can it be crushed?", "No, swallow it whole."),
        ("Is it safe in pregnancy?", "Not studied."),
    ]
    assert [s.title for s in mono.sections] == ["Usage"]

    paragraphs = "## Frequently Asked Questions\n\nQ: Dose?\nA: 5 mg.\n\nQ2: With food?\nA: Yes.\n"
    mono = parse(monograph("## Usage\n\nX.\n\n" + paragraphs))
    assert [(f.question, f.answer) for f in mono.faqs] == [
        ("Dose?", "5 mg."),
        ("With food?", "Yes."),
    ]


def test_front_matter_and_body_faqs_merge_without_duplicates() -> None:
    front = "title: Testamab\nfaqs:\n  - q: 'Can it be crushed?'\n    a: 'A:** No.'\n"
    body = "## Usage\n\nX.\n\n## FAQ\n\n### Can it be  CRUSHED?\nNo.\n\n### New one?\nYes.\n"
    mono = parse(monograph(body, front))
    assert [f.question for f in mono.faqs] == ["Can it be crushed?", "New one?"]
    assert mono.faqs[0].answer == "No."


def test_heading_levels_nest_and_preface_becomes_overview() -> None:
    body = (
        "Intro text before any heading.\n\n"
        "# Top\n\ntop text\n\n### Skipped level\n\ndeep\n\n## Second\n\nsecond text\n\n"
        "# Other ##\n\nother text\n"
    )
    mono = parse(monograph(body))
    assert [s.heading for s in mono.all_sections()] == [
        "Overview",
        "Top",
        f"Top{SEP}Skipped level",
        f"Top{SEP}Second",
        "Other",
    ]
    assert mono.all_sections()[0].text == "Intro text before any heading."


def test_a_heading_left_at_the_end_of_a_paragraph_heads_what_follows() -> None:
    """Converted leaflets keep a sub-heading as the paragraph's last words ("... using
    Testamab. People with kidney disease"): it becomes the sub-heading of the paragraphs
    after it, up to the next one, and no word is lost."""
    body = (
        "## 3. How to take Testamab\n\n"
        "Your doctor checks your blood pressure while you use it. People with kidney disease\n\n"
        "The usual starting dose is 50 IU per kilogram three times a week.\n\n"
        "For patients on dialysis it may be given twice a week. Adults on chemotherapy\n\n"
        "The starting dose is 150 IU per kilogram.\n\n"
        "## 4. Possible side effects\n\nHeadache.\n"
    )
    mono = parse(monograph(body))
    assert [s.heading for s in mono.all_sections()] == [
        "3. How to take Testamab",
        f"3. How to take Testamab{SEP}People with kidney disease",
        f"3. How to take Testamab{SEP}Adults on chemotherapy",
        "4. Possible side effects",
    ]
    kidney = mono.all_sections()[1]
    assert kidney.text.startswith("The usual starting dose is 50 IU")
    assert kidney.text.endswith("it may be given twice a week.")
    words = " ".join(s.title + " " + s.text for s in mono.all_sections()).split()
    assert sorted(words) == sorted(re.sub(r"#+ ", "", body).split())


@pytest.mark.parametrize(
    "paragraph, following",
    [
        # a sentence that runs on into the next paragraph
        ("It is given by injection. Your doctor may increase the dose to", "Up to 20 mg."),
        ("It is given by injection. Your doctor may give", "twice a week if needed."),
        # a list's lead-in without its colon
        ("Tell your doctor at once. Serious infections can include", "* pneumonia"),
        # a company's name in an address block, a number
        ("Marketed in Ireland. Salomone Pharma Ltd", "Dublin 4"),
        ("Keep it cold. Store for up to 30 days", "Do not freeze."),
        # a list item
        ("* Do not take it if pregnant. Children under two", "Do not give it."),
    ],
)
def test_words_that_are_no_lost_heading_stay_text(paragraph: str, following: str) -> None:
    mono = parse(monograph(f"## Use\n\n{paragraph}\n\n{following}\n"))
    assert [s.title for s in mono.all_sections()] == ["Use"]


def test_a_lost_heading_is_not_found_in_faqs_nor_twice() -> None:
    faq = "## FAQ\n\n### Is it safe?\n\nIt is usually safe. Pregnancy and breastfeeding\n\nAsk.\n"
    assert [s.title for s in parse(monograph(faq)).all_sections()] == []
    twice = (
        "## Use\n\nTake it daily. How much to take\n\nOne tablet.\n\n"
        "Swallow it whole. How much to take\n\nTwo tablets.\n"
    )
    assert [s.title for s in parse(monograph(twice)).all_sections()] == ["Use", "How much to take"]


def test_code_fences_hide_heading_markers() -> None:
    body = "## Usage\n\n```\n# not a heading\n```\n\nafter\n"
    mono = parse(monograph(body))
    assert [s.title for s in mono.all_sections()] == ["Usage"]
    assert "# not a heading" in mono.sections[0].text


def test_crlf_and_bom_are_accepted() -> None:
    data = b"\xef\xbb\xbf" + monograph("## Usage\n\nline one\nline two\n").replace(b"\n", b"\r\n")
    mono = parse(data)
    assert mono.title == "Testamab"
    assert mono.sections[0].text == "line one\nline two"


def test_dates_become_iso_strings() -> None:
    mono = parse(monograph("## A\n\ntext\n", "title: T\nlastModified: 2024-01-02"))
    assert mono.last_modified == "2024-01-02"
    mono = parse(monograph("## A\n\ntext\n", "title: T\nlast_modified: 2024-01-02T03:04:05"))
    assert mono.last_modified.startswith("2024-01-02T03:04:05")


def test_source_is_relative_to_the_root(tmp_path: Path) -> None:
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    file = sub / "x.md"
    file.write_bytes(monograph("## A\n\ntext\n"))
    assert parse_file(file, tmp_path).source == "a/b/x.md"
    assert parse_file(file).source == "x.md"


def test_repository_documents_are_not_monographs() -> None:
    assert is_monograph_file(Path("x/pomalidomide.md"))
    assert is_monograph_file(Path("x/Readme-drug.MD"))
    for name in ("README.md", "NOTICE.md", "LICENSE.md", "notes.txt", "x.markdown"):
        assert not is_monograph_file(Path(name)), name


# -- the EMA leaflets --------------------------------------------------------------------------


def test_ema_corpus_parses(ema_dir: Path) -> None:
    files = sorted(f for f in ema_dir.rglob("*.md") if is_monograph_file(f))
    assert len(files) == 953
    titles: set[str] = set()
    for file in files:
        mono = parse_file(file, ema_dir)  # raises on any failure
        assert mono.sections, file
        assert any(s.text for s in mono.all_sections()), file
        assert mono.title and mono.title in mono.aliases, file
        assert mono.source == file.relative_to(ema_dir).as_posix()
        for section in mono.all_sections():
            assert section.path and all(section.path), file
        titles.add(mono.title.lower())
    assert len(titles) > 900, "titles come from the front matter, not a constant"


@pytest.mark.parametrize("title", ['"<b></b>"', '"\u200b"', '""'])
def test_a_title_with_nothing_left_is_named_by_its_file(title: str) -> None:
    """A title that is only markup or invisible characters is no name (found by the fuzz
    test): the file names the monograph, and a warning says so."""
    data = f"---\ntitle: {title}\n---\n## A\n\ntext\n".encode()
    mono = parse_bytes(data, path=Path("corpus/zero-title.md"))
    assert mono.title == "Zero Title"
    assert any("no title in front matter" in w for w in mono.warnings)
