"""Clinical safety of answers: drugs never mixed unlabelled, numbers verbatim, dates cited.

A two-monograph store (the seed and a generated sibling drug with the same headings and
different doses) is the dangerous case: a dose of one drug read as the dose of the other.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from typer.testing import CliRunner

from monorag.embed import Embedder
from monorag.ingest.parse import parse_file
from monorag.qa.engine import Engine
from monorag.qa.generate import FALLBACK_MODE, LLMAnswerer
from monorag.qa.guard import unsupported_numbers
from monorag.qa.prompt import evidence_blocks
from monorag.settings import Settings
from monorag.types import Answer, Chunk, Evidence
from monorag.ui.cli import app
from monorag.ui.present import format_date
from tests.conftest import SEED, make_settings

SIBLING = "Zentramide"
SIBLING_DATE = "2024-03-14"
SEED_DATE = "2025-09-22T17:21:53.946Z"

# A sibling of the seed: same headings, different numbers everywhere, so that a dose quoted
# under the wrong drug is always a wrong dose.
SIBLING_TEXT = f"""---
title: {SIBLING}
description: {SIBLING} is an oral immunomodulatory agent used in relapsed multiple myeloma.
lastModified: {SIBLING_DATE}
faqs: []
---
## **Usage**

{SIBLING} is prescribed with dexamethasone for relapsed multiple myeloma after at least one \
prior therapy.

## **Alternate Names**

Brand names include Zentrova® and Myelozent®.

## **How It Works**

**Pharmacokinetics:** {SIBLING} reaches peak plasma concentrations within 1 to 2 hours. It has \
a half-life of about 12 to 15 hours. Elimination is mainly hepatic (approximately 58%).

## **Dosage**

### **Standard Dosage**

#### **Adults:**
For multiple myeloma: 10 mg orally once daily on days 1-14 of a repeated 21-day cycle, taken \
in combination with dexamethasone.

#### **Special Cases:**

* **Patients with Hepatic Dysfunction:** For moderate impairment, the dose is reduced to \
5 mg/day. Avoid in severe impairment.
* **Patients with Renal Impairment:** For creatinine clearance below 30 mL/min, give 5 mg \
every other day.

## **Side Effects**

### **Common Side Effects:**
Neutropenia, rash, diarrhoea, dizziness, insomnia and oedema.

### **Rare but Serious Side Effects:**
Interstitial lung disease, QT prolongation and hepatitis.

## **Contraindications**

* Pregnancy.
* Hypersensitivity to zentramide.
* Severe hepatic impairment.

## **Drug Interactions**

* **Strong CYP3A4 inhibitors (e.g., ketoconazole, clarithromycin):** Increase zentramide \
exposure. Reduce the zentramide dose to 5 mg.
* **Digoxin:** {SIBLING} raises digoxin levels by about 30%. Monitor digoxin levels.

## **Pregnancy and Breastfeeding**

{SIBLING} is contraindicated in pregnancy. Breastfeeding should be stopped during treatment \
and for 7 days after the last dose.
"""

# Questions naming both drugs, as a clinician comparing them would ask.
BOTH = [
    "What is the dose of pomalidomide and zentramide for multiple myeloma?",
    "Pomalidomide or zentramide: dose in hepatic impairment?",
    "What are the side effects of pomalidomide and Zentrova?",
    "Compare the half-life of pomalidomide and zentramide",
    "Can zentramide and pomalidomide be used in pregnancy?",
    "What are the contraindications of zentramide and Imnovid?",
    "Which drugs interact with zentramide and pomalidomide?",
    "Renal impairment dosing for Pomalyst and Myelozent?",
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Settings, Path]:
    """A store holding the seed and its generated sibling; yields (settings, corpus)."""
    from monorag.ingest.pipeline import ingest

    root = tmp_path_factory.mktemp("pair")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus)
    (corpus / "zentramide.md").write_text(SIBLING_TEXT, encoding="utf-8")
    settings = make_settings(root / "store")
    report = ingest([corpus], settings, embedder)
    assert report.ok and not report.warnings, (report.failed, report.warnings)
    return settings, corpus


@pytest.fixture(scope="module")
def engine(pair: tuple[Settings, Path], embedder: Embedder) -> Engine:
    return Engine(pair[0], embedder)


def squash(text: str) -> str:
    return " ".join(text.split())


def body_of(statement_text: str, drug: str, labelled: bool) -> str:
    """A statement without its ``Drug: `` label."""
    if labelled:
        assert statement_text.startswith(f"{drug}: "), (drug, statement_text)
        return statement_text[len(drug) + 2 :]
    return statement_text


def is_labelled(answer: Answer) -> bool:
    return len(answer.drugs) > 1 or any(
        s.text.startswith(f"{c.drug}: ") for s in answer.statements for c in answer.citations
    )


# -- drugs are never mixed unlabelled -------------------------------------------------------


@pytest.mark.parametrize("question", BOTH)
def test_questions_naming_two_drugs_label_every_statement(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    # Both drugs have monographs that answer each of these.
    assert not answer.abstained, answer.note
    by_key = {c.key: c for c in answer.citations}
    for statement in answer.statements:
        drugs = {by_key[k].drug for k in statement.keys}
        assert len(drugs) == 1, statement
        (drug,) = drugs
        # The label names the drug of the passage the statement is quoted from.
        assert statement.text.startswith(f"{drug}: "), (question, statement.text)
        assert f"{statement.text} [{statement.keys[0]}]" in answer.text
    quoted = {c.drug for c in answer.citations}
    if quoted != {"Pomalidomide", SIBLING}:
        # Only one of the two drugs was quoted: the note says the other was not answered.
        (missing,) = {"Pomalidomide", SIBLING} - quoted
        assert f"nothing about {missing}" in answer.note, answer.note


def test_sibling_doses_are_never_attributed_to_the_seed(engine: Engine) -> None:
    """Every dose an answer about one drug states is in that drug's own monograph."""
    sibling_only = {"10 mg", "1-14", "21-day", "5 mg/day", "12 to 15 hours"}
    seed_only = {"4 mg", "1-21", "28-day", "3 mg/day", "7 to 9 hours"}
    for question, drug, foreign in [
        ("What is the pomalidomide dose for multiple myeloma?", "Pomalidomide", sibling_only),
        ("Pomalidomide dose in hepatic impairment?", "Pomalidomide", sibling_only),
        ("What is the half-life of pomalidomide?", "Pomalidomide", sibling_only),
        ("What is the zentramide dose for multiple myeloma?", SIBLING, seed_only),
        ("Zentramide dose in hepatic impairment?", SIBLING, seed_only),
        ("What is the half-life of Zentrova?", SIBLING, seed_only),
    ]:
        answer = engine.ask(question)
        assert not answer.abstained, (question, answer.note)
        assert {c.drug for c in answer.citations} == {drug}, question
        assert not any(value in answer.text for value in foreign), (question, answer.text)


# -- numbers are quoted exactly as written --------------------------------------------------


def many_questions(corpus: Path) -> list[str]:
    """FAQ questions and one question per section heading of every monograph (many)."""
    out: list[str] = []
    for path in sorted(corpus.glob("*.md")):
        mono = parse_file(path, corpus)
        out += [faq.question for faq in mono.faqs]
        for section in mono.all_sections():
            if section.text.strip():
                leaf = section.title.rstrip(":").strip()
                out.append(f"What does the {mono.title} monograph say about {leaf.lower()}?")
        out += [
            f"What is the {mono.title} dose?",
            f"{mono.title} dose for multiple myeloma?",
            f"How long is the half-life of {mono.title}?",
        ]
    return list(dict.fromkeys(out))


@pytest.fixture(scope="module")
def answered(engine: Engine, pair: tuple[Settings, Path]) -> list[Answer]:
    """Answers to many questions about both monographs (computed once for the module)."""
    return [engine.ask(q) for q in many_questions(pair[1])]


@pytest.mark.slow
def test_statements_are_verbatim_quotes_of_their_passages(answered: list[Answer]) -> None:
    grounded = [a for a in answered if not a.abstained]
    assert len(grounded) >= len(answered) // 2, [a.question for a in answered if a.abstained]
    for answer in grounded:
        assert answer.mode == "extractive"
        by_key = {c.key: c for c in answer.citations}
        labelled = is_labelled(answer)
        for statement in answer.statements:
            (key,) = statement.keys
            cited = by_key[key]
            body = body_of(statement.text, cited.drug, labelled)
            assert squash(body) in squash(cited.text), (answer.question, body)
            assert squash(body) in squash(cited.quote)
            assert unsupported_numbers(body, [cited.text]) == [], (answer.question, body)
        # And the answer text as shown: every number in it is written in a cited passage.
        bare = re.sub(r"\[S\d+\]", " ", answer.text)
        assert unsupported_numbers(bare, [c.text for c in answer.citations]) == [], answer.text


@pytest.mark.slow
def test_every_citation_carries_its_monographs_date(
    answered: list[Answer], pair: tuple[Settings, Path]
) -> None:
    corpus = pair[1]
    expected = {
        m.title: m.last_modified for m in (parse_file(p, corpus) for p in corpus.glob("*.md"))
    }
    assert expected == {"Pomalidomide": SEED_DATE, SIBLING: SIBLING_DATE}
    citations = [c for a in answered for c in a.citations]
    assert citations
    for citation in citations:
        assert citation.last_modified == expected[citation.drug], citation
    for answer in answered:
        for cited in answer.to_json()["citations"]:
            assert cited["last_modified"] == expected[cited["drug"]]


def test_cli_prints_the_last_modified_date_of_every_citation(
    pair: tuple[Settings, Path],
) -> None:
    store = str(pair[0].store.path)
    questions = ["What is the pomalidomide dose for multiple myeloma?", BOTH[0]]
    for question in questions:
        result = CliRunner().invoke(app, ["--db", store, "ask", "--json", question])
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["citations"], data
        readable = CliRunner().invoke(app, ["--db", store, "ask", question])
        assert readable.exit_code == 0, readable.stderr
        lines = readable.stdout.splitlines()
        for cited in data["citations"]:
            date = {"Pomalidomide": SEED_DATE, SIBLING: SIBLING_DATE}[cited["drug"]]
            assert cited["last_modified"] == date
            line = next(line for line in lines if line.strip().startswith(f"[{cited['key']}]"))
            assert f"{cited['drug']} › {cited['section']}" in line, line
            assert f"{cited['source']}, last modified {format_date(date)}" in line, line


def test_cli_says_when_a_monograph_has_no_date(tmp_path: Path, embedder: Embedder) -> None:
    from monorag.ingest.pipeline import ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    undated = SIBLING_TEXT.replace(f"lastModified: {SIBLING_DATE}\n", "")
    (corpus / "zentramide.md").write_text(undated, encoding="utf-8")
    settings = make_settings(tmp_path / "store")
    assert ingest([corpus], settings, embedder).ok
    result = CliRunner().invoke(
        app, ["--db", str(settings.store.path), "ask", "What is the zentramide dose?"]
    )
    assert result.exit_code == 0, result.stderr
    assert "zentramide.md, last modified unknown" in result.stdout


# -- the LLM path: facts of two drugs must say which drug they are about ---------------------

_SOURCE = re.compile(r'<evidence key="([^"]+)" source="([^"›]+) ›')


class PassageQuoter(GenericFakeChatModel):
    """A fake chat model that quotes, per drug of its evidence, one sentence with a number.

    With ``label`` it names the drug before each quote, as the prompt asks; without, it
    writes the two drugs' facts side by side unlabelled (the hazard).
    """

    label: bool = False

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt = next(m.text for m in reversed(messages) if isinstance(m, HumanMessage))
        drug_of = dict(_SOURCE.findall(prompt))
        quotes: dict[str, str] = {}
        for key, text in evidence_blocks(prompt):
            drug = drug_of[key].strip()
            for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
                names_a_drug = re.search(r"pomalid|zentr|imnovid|pomalyst", sentence, re.I)
                if drug not in quotes and re.search(r"\d", sentence) and not names_a_drug:
                    quotes[drug] = f"{f'{drug}: ' if self.label else ''}{sentence} [{key}]"
        reply = " ".join(quotes.values())
        return ChatResult(generations=[ChatGeneration(message=AIMessage(reply))])


def llm_engine(settings: Settings, embedder: Embedder, *, label: bool) -> Engine:
    engine = Engine(make_settings(settings.store.path, **{"llm.backend": "fake"}), embedder)
    engine.use_llm(LLMAnswerer(PassageQuoter(messages=iter(()), label=label), "fake"))
    return engine


def test_llm_answer_mixing_two_drugs_unlabelled_falls_back(
    pair: tuple[Settings, Path], embedder: Embedder
) -> None:
    question = BOTH[0]
    unlabelled = llm_engine(pair[0], embedder, label=False).ask(question)
    assert unlabelled.mode == FALLBACK_MODE, unlabelled.text
    assert "without saying which drug" in unlabelled.note
    assert "Pomalidomide" in unlabelled.note and SIBLING in unlabelled.note
    labelled = llm_engine(pair[0], embedder, label=True).ask(question)
    assert labelled.mode == "llm:fake", labelled.note
    assert {c.drug for c in labelled.citations} == {"Pomalidomide", SIBLING}
    for statement in labelled.statements:
        assert re.match(rf"^(Pomalidomide|{SIBLING}): ", statement.text), statement


def _chunk(n: int, drug: str, text: str, aliases: tuple[str, ...] = ()) -> Evidence:
    chunk = Chunk(
        id=f"{drug.lower()}-r1-{n:04d}",
        drug=drug,
        aliases=aliases,
        section="Dosage",
        kind="section",
        text=text,
        source=f"{drug.lower()}.md",
        doc=f"/corpus/{drug.lower()}.md",
        rev="r1",
        last_modified="2024-01-01",
        content_hash=f"h{n}",
        ordinal=n,
    )
    return Evidence(chunk=chunk, score=1.0, key=f"S{n}")


TWO = [
    _chunk(1, "Exampline", "The dose is 4 mg once daily.", ("Examplix",)),
    _chunk(2, "Otherex", "The dose is 10 mg twice daily."),
]
FALLBACK = Answer(
    question="Dose of Exampline and Otherex?",
    text="Exampline: The dose is 4 mg once daily. [S1]",
    abstained=False,
    citations=[],
    mode="extractive",
)


@pytest.mark.parametrize(
    ("reply", "accepted"),
    [
        ("The dose is 4 mg once daily [S1]. The dose is 10 mg twice daily [S2].", False),
        ("Exampline: 4 mg once daily [S1]. The dose is 10 mg twice daily [S2].", False),
        ("Otherex: 4 mg once daily [S1]. Otherex: 10 mg twice daily [S2].", False),
        ("Both drugs: 4 mg once daily [S1][S2].", False),
        ("Exampline: 4 mg once daily [S1]. Otherex: 10 mg twice daily [S2].", True),
        ("Examplix is taken at 4 mg once daily [S1], Otherex at 10 mg twice daily [S2].", True),
        ("Exampline: 4 mg [S1]. It is taken once daily [S1]. Otherex: 10 mg [S2].", True),
        ("Exampline and Otherex: 4 mg once daily [S1] and 10 mg twice daily [S2].", True),
        ("The dose is 4 mg once daily [S1].", True),  # one drug: no names needed
    ],
)
def test_llm_statements_must_name_their_drug_when_several_are_cited(
    reply: str, accepted: bool
) -> None:
    model = GenericFakeChatModel(messages=iter([reply]))
    answer = LLMAnswerer(model, "fake").answer(FALLBACK.question, TWO, FALLBACK)
    assert (answer.mode == "llm:fake") is accepted, (reply, answer.note)
    if not accepted:
        assert answer.text == FALLBACK.text
        assert "without saying which drug" in answer.note
