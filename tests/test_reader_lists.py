"""Issue 12, classes 2 and 3: lists whose markers were lost, and the parts of a dose answer.

Converted leaflets lose list markers in two ways (a marker alone on its line before the
item's paragraph; no marker at all, the item's paragraph starting in lower case), and put
group headers inside lists ("if you have had any of these:"): an item is still quoted with
the line that makes it a statement ("Do not take X"). A dose question is answered by a
statement of the amount, not by the line naming the indication, with the schedule the
sentence beside it gives, and never with another case's amount. The passages are written
here; similarities are set by hand (``pick``), so only the reader's rules choose.
Fast tier: no model.
"""

from __future__ import annotations

from monorag.text import unit_layout
from tests.test_reader_neighbours import pick

MARKERLESS = """Do not take Examplomab

if you are allergic to examplomab.

if you are taking zelvoxine. It raises examplomab levels.

Warnings and precautions"""

BARE_MARKERS = """Do not take Examplomab:

*

if you are allergic to examplomab.

*

if you have had any of the following swellings:

*

swelling of the face.

*

if you are taking zelvoxine."""

COLON_LEAD = """Other medicines and Examplomab.

Do not take Examplomab with any of these medicines:

Oestrogens.

Any other medicine of the group called SERMs, such as zelvoxine.

Talk to your doctor before taking Examplomab with:"""


def test_a_paragraph_starting_in_lower_case_is_a_list_item() -> None:
    items = [item for _, _, item in unit_layout(MARKERLESS)]
    assert items == [0, 1, 2, 2, 0]


def test_a_marker_alone_on_its_line_makes_the_next_paragraph_its_item() -> None:
    items = [item for _, _, item in unit_layout(BARE_MARKERS)]
    assert items == [0, 1, 2, 3, 4]


def test_an_item_of_a_markerless_list_is_quoted_after_its_lead_in() -> None:
    answer = pick("examplomab with zelvoxine?", MARKERLESS, [0.1, 0.2, 0.9, 0.3, 0.1])
    assert answer.startswith("Do not take Examplomab | if you are taking zelvoxine.")


def test_an_item_after_a_group_header_keeps_the_lists_own_lead_in() -> None:
    """The group header ("if you have had ...:") may or may not hold the item; the list's
    own lead-in holds every item, so it is quoted."""
    answer = pick("examplomab with zelvoxine?", BARE_MARKERS, [0.1, 0.1, 0.2, 0.1, 0.9])
    assert answer.startswith("Do not take Examplomab:")
    assert "if you are taking zelvoxine." in answer


def test_a_paragraph_after_short_ones_under_a_colon_line_is_read_as_its_item() -> None:
    answer = pick("examplomab with zelvoxine?", COLON_LEAD, [0.1, 0.2, 0.1, 0.9, 0.1])
    assert answer.startswith("Do not take Examplomab with any of these medicines: | Any other")


def test_a_long_paragraph_in_between_ends_the_markerless_list() -> None:
    text = COLON_LEAD.replace(
        "Oestrogens.",
        "Oestrogens are hormones that many women take after the menopause, and their effect "
        "on the lining of the womb is something the doctor will want to discuss with you.",
    )
    answer = pick("examplomab with zelvoxine?", text, [0.1, 0.2, 0.1, 0.9, 0.1])
    assert not answer.startswith("Do not take")


INDICATION_AND_DOSE = """Examplomab is used to treat adults with lupus nephritis, an inflammation of the kidney.

Treatment is repeated in 21-day cycles.

The recommended dose of Examplomab is three capsules twice daily on days 1 to 14 of each cycle.

Your doctor will check your kidneys regularly."""  # noqa: E501 - a paragraph per line


def test_a_dose_question_is_answered_by_the_amount_not_the_indication_line() -> None:
    """The indication line shares the question's rare words and is closer; it states no
    amount, so the statement of the amount answers."""
    answer = pick("examplomab dose for lupus nephritis", INDICATION_AND_DOSE, [0.9, 0.2, 0.5, 0.3])
    assert "three capsules twice daily" in answer
    assert "used to treat adults" not in answer


def test_a_dose_answer_brings_the_schedule_stated_beside_it() -> None:
    answer = pick("examplomab dose for lupus nephritis", INDICATION_AND_DOSE, [0.9, 0.2, 0.5, 0.3])
    assert "21-day cycles" in answer
    assert "check your kidneys" not in answer


TWO_CASES = """Patients weighing 30 kg or more: 40 mg on day 1. Thereafter, the usual dose is 40 mg every other week.

Patients weighing 15 kg to less than 30 kg: 20 mg on day 1. Thereafter, the usual dose is 20 mg every other week."""  # noqa: E501 - a paragraph per line


def test_the_sentence_before_with_another_cases_amount_stays_out() -> None:
    answer = pick("examplomab dose for a 20 kg child", TWO_CASES, [0.3, 0.3, 0.9, 0.5])
    assert "20 mg on day 1" in answer and "20 mg every other week" in answer
    assert "40 mg" not in answer


WEIGHT_BANDS = """Children weighing at least 20 kg and less than 25 kg: 450 mg a day.

Children weighing at least 14 kg and less than 20 kg: 300 mg a day."""


def test_a_weight_band_stated_with_at_least_and_less_than_is_one_band() -> None:
    """A band "at least 20 kg and less than 25 kg" is [20, 25), not "20 kg and less": a 17 kg
    child gets the band below, however close the other line is."""
    answer = pick("examplomab dose for a 17 kg child", WEIGHT_BANDS, [0.9, 0.5])
    assert "300 mg" in answer
    assert "450 mg" not in answer


GROUP_WITHOUT_COLON = """Do not take Examplomab if you

* are allergic to examplomab.
* are taking medicines of the group of strong CYP3A4 inhibitors, for example
* zelvoxine or ketoconazole (to treat fungal infections)"""

PRONOUN_LEAD = """Some medicines may raise the level of examplomab in your blood. They are:

* zelvoxine, used to treat fungal infections."""


def test_an_item_ending_in_for_example_heads_the_items_after_it() -> None:
    answer = pick("examplomab with zelvoxine?", GROUP_WITHOUT_COLON, [0.1, 0.1, 0.2, 0.9])
    assert answer.split(" | ") == [
        "Do not take Examplomab if you",
        "are taking medicines of the group of strong CYP3A4 inhibitors, for example",
        "zelvoxine or ketoconazole (to treat fungal infections)",
    ]


def test_a_lead_in_that_leans_back_brings_the_sentence_before_it() -> None:
    answer = pick("examplomab with zelvoxine?", PRONOUN_LEAD, [0.1, 0.2, 0.9])
    assert answer.startswith("Some medicines may raise the level of examplomab")


CONTRAST = """Use one inhalation twice a day.

If you are late with a dose of Examplomab, inhale it as soon as you remember. However, if\
 it is nearly time for your next dose, skip the missed dose.

Do not take a double dose to make up for a forgotten dose."""


def test_a_sentence_opening_with_however_brings_the_rule_it_qualifies() -> None:
    sims = [0.8, 0.1, 0.9, 0.7]
    answer = pick("examplomab dose missed, nearly time for the next one", CONTRAST, sims)
    assert "as soon as you remember" in answer and "skip the missed dose" in answer, answer


MARKERLESS_STEPS = """You can take Examplomab with or without food. If you have trouble\
 swallowing the tablet, you can mix it in water:

Put the tablet in a glass.

Add 50 mL of still (non-fizzy) water.

Stir until the tablet breaks up.

Drink the liquid straight away.

Keep taking Examplomab every day, even if you feel well, for as long as your doctor tells\
 you to. Do not stop without talking to your doctor."""


def test_the_steps_a_colon_lead_in_opens_come_with_it_though_they_lost_their_markers() -> None:
    sims = [0.3, 0.9, 0.5, 0.2, 0.2, 0.2, 0.3, 0.3]
    answer = pick("examplomab cant swallow tabs - can it be dispersed?", MARKERLESS_STEPS, sims)
    assert answer.startswith("If you have trouble swallowing"), answer
    assert "50 mL" in answer and "Drink the liquid" in answer, answer
    assert "Keep taking" not in answer, answer


SENTENCE_THEN_LIST = """Swallow the tablet whole with water.

If you cannot swallow the tablet whole, you can crush it.

* Mix it with water or soft foods, such as apple sauce.
* Take it right away.

Keep taking Examplomab every day."""


def test_a_short_list_after_a_sentence_completes_it() -> None:
    """The list's lead-in ends in "." not ":", but what the list says is how to do what
    the sentence allows: it comes along."""
    assert len(unit_layout(SENTENCE_THEN_LIST)) == 5
    answer = pick("can examplomab be crushed", SENTENCE_THEN_LIST, [0.3, 0.9, 0.4, 0.2, 0.1])
    assert "you can crush it" in answer
    assert "apple sauce" in answer and "Take it right away" in answer
    assert "every day" not in answer


CUT_SENTENCE = """* On day 8 you move on to one 0.92 mg capsule daily. If you have moderate liver problems, your doctor may reduce your maintenance

dose to one 0.92 mg capsule every other day.

How to take Examplomab

Do not take Examplomab if you use a medicine for

epilepsy

depression"""  # noqa: E501 - a paragraph per line


def test_a_sentence_cut_by_a_stray_blank_line_is_one_unit_with_its_rest() -> None:
    """A converted leaflet's blank line inside a sentence: the lower-case paragraph after
    it is the sentence's end, not a list item, so the population's dose is quoted whole.
    A run of lower-case paragraphs after a sentence left open is still that list."""
    units = [" ".join(CUT_SENTENCE[s:e].split()) for s, e, _ in unit_layout(CUT_SENTENCE)]
    assert units[1].endswith("reduce your maintenance dose to one 0.92 mg capsule every other day.")
    assert units[-2:] == ["epilepsy", "depression"]
    answer = pick(
        "examplomab maintenance dose w moderate liver problems",
        CUT_SENTENCE,
        [0.3, 0.9, 0.1, 0.2, 0.1, 0.1],
    )
    assert "every other day" in answer
    # The item's sentence before it, everyone else's dose, stays out.
    assert "capsule daily" not in answer


COURSE = """The usual dose for adults is 1250 mg/m2 taken two times daily.

Your doctor will check your blood counts regularly.

Examplomab tablets are usually taken for 14 days followed by a 7 day rest period.

This 21 day period is one treatment cycle."""


def test_a_dose_question_asking_for_the_cycle_gets_the_course_stated_elsewhere() -> None:
    """The days on and off stand two paragraphs from the amount: asked for ("dose and
    cycle?"), they join it, with the sentence "This ... cycle" leans on; not asked, the
    amount answers alone."""
    asked = pick("examplomab dose and cycle?", COURSE, [0.9, 0.3, 0.2, 0.25])
    assert "1250 mg/m2" in asked and "14 days followed by a 7 day rest" in asked
    assert "21 day period" in asked and "blood counts" not in asked
    plain = pick("examplomab dose?", COURSE, [0.9, 0.3, 0.2, 0.25])
    assert "1250 mg/m2" in plain and "rest period" not in plain


# A leaflet's frequency group labels, each glued by the conversion to the end of the item
# (or paragraph) before it: the items after a label have its frequency.
FREQUENCY_ITEMS = """Other side effects: Very common (may affect more than 1 in 10 people)

vaginal yeast infection. Common (may affect up to 1 in 10 people)

constipation

feeling thirsty

blood tests may show changes in blood fat levels. Uncommon (may affect up to 1 in 100 people)

rash or red skin

bone fracture

lower limb amputations (mainly of the toe)"""

FREQUENCY_PARAGRAPHS = """Tell your doctor about any side effect. Blood tests may show changes.\
 Uncommon (may affect up to 1 in 100 people)

Rash or red skin.

Bone fracture.

Lower limb amputations, mainly of the toe."""


def test_an_item_is_quoted_under_the_frequency_label_glued_to_the_item_before() -> None:
    sims = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9]
    answer = pick("how common are toe amputations with examplomab?", FREQUENCY_ITEMS, sims)
    assert answer.startswith("Uncommon (may affect up to 1 in 100 people) |"), answer
    assert "lower limb amputations" in answer
    assert "1 in 10 people" not in answer  # the label of the group before


def test_a_paragraph_is_read_under_the_frequency_label_ending_the_one_before() -> None:
    sims = [0.1, 0.1, 0.1, 0.1, 0.1, 0.9]
    answer = pick("how common are toe amputations with examplomab?", FREQUENCY_PARAGRAPHS, sims)
    assert answer.startswith("Uncommon (may affect up to 1 in 100 people) |"), answer
    assert "Lower limb amputations" in answer


# The other way leaflets write their frequency groups: the label before a colon, no
# parenthesis, each on its own line above the group's items.
COLON_FREQUENCY = """Other possible side effects:

Common: may affect up to 1 in 10 people

* Palpitations, trembling or shaking.
* Thrush (a fungal infection) in the mouth. It is less likely if you rinse your mouth.

Uncommon: may affect up to 1 in 100 people

* Feeling restless or nervous."""


def test_an_item_is_quoted_under_its_frequency_label_written_with_a_colon() -> None:
    sims = [0.1, 0.1, 0.1, 0.9, 0.3, 0.1, 0.1]
    answer = pick("how common is oral thrush with examplomab?", COLON_FREQUENCY, sims)
    assert answer.startswith("Common: may affect up to 1 in 10 people"), answer
    assert "Thrush" in answer and "1 in 100" not in answer


def test_a_sentence_ending_in_a_frequency_is_no_label_of_the_item_after_it() -> None:
    text = """Tell your doctor at once about:

* Chills or fever. Serious infections are uncommon (may affect up to 1 in 100 people).
* Diarrhoea (which may affect more than 1 in 10 people)."""
    answer = pick("how common is diarrhoea with examplomab?", text, [0.1, 0.1, 0.1, 0.9])
    assert "Diarrhoea" in answer and "infections" not in answer, answer
