"""Abstention: one policy that every answerer goes through.

An answer is refused, with a sentence that says why, in four cases: the question names a
drug that has no monograph; a drug filter matches no monograph; no drug is named and the
evidence is split between monographs (the answer is a question back); or the best
statement's support is under the threshold calibrated on data. The wording of refusals
and the threshold live here only.

The threshold is fitted by ``monorag.eval.calibrate`` and written to
``qa/data/calibration.json`` with a stamp: a hash of the scoring weights, the settings
that change scores and the embedding model it was fitted for. A threshold fitted for other
scores would refuse or answer at random, so a stale stamp fails loudly
(``CalibrationError``) unless ``answer.abstain_below`` is set explicitly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monorag.errors import CalibrationError
from monorag.settings import AnswerSettings
from monorag.types import Answer

CALIBRATION_FILE = Path(__file__).resolve().parent / "data" / "calibration.json"
"""Where ``monorag.eval.calibrate`` writes the fitted abstention threshold."""


def abstain(question: str, text: str, *, searched: list[str], note: str = "") -> Answer:
    """An honest "not in the monographs" answer."""
    return Answer(
        question=question,
        text=text,
        abstained=True,
        citations=[],
        mode="extractive",
        drugs=searched,
        note=note,
    )


def scope(searched: list[str]) -> str:
    """What was searched, for a refusal: "searched the X monograph"."""
    if not searched:
        return "searched every monograph"
    if len(searched) <= 3:
        return (
            "searched the "
            + " and ".join(searched)
            + " monograph"
            + ("s" if len(searched) > 1 else "")
        )
    return f"searched {len(searched)} monographs"


def plural(n: int, word: str) -> str:
    """``1 monograph``, ``2 monographs``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def stamp(scoring: Mapping[str, Any]) -> str:
    """The calibration stamp of a scoring configuration (weights, settings, model)."""
    text = json.dumps(dict(scoring), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AbstentionPolicy:
    """Decides, for every answerer, when to refuse and how to say so."""

    threshold: float

    @classmethod
    def from_settings(
        cls,
        settings: AnswerSettings,
        scoring: Mapping[str, Any],
        calibration: Path = CALIBRATION_FILE,
    ) -> AbstentionPolicy:
        """The explicit ``abstain_below``, or the calibrated threshold if its stamp fits."""
        if settings.abstain_below is not None:
            return cls(settings.abstain_below)
        try:
            data = json.loads(calibration.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CalibrationError(f"{calibration} cannot be read ({exc})") from exc
        expected = stamp(scoring)
        if data.get("stamp") != expected:
            raise CalibrationError(
                f"{calibration} was fitted for other scores (stamp {data.get('stamp')!r}, "
                f"these settings and weights give {expected!r})"
            )
        return cls(float(data["abstain_below"]))

    def supports(self, support: float) -> bool:
        """True when a statement of this support may be given as an answer."""
        return support >= self.threshold

    def unsupported(self, question: str, support: float, searched: list[str]) -> Answer:
        """The best statement found does not answer the question well enough."""
        return abstain(
            question,
            f"The monographs do not answer this ({scope(searched)}).",
            searched=searched,
            note=f"best support {support:.2f} < {self.threshold:.2f}",
        )

    @staticmethod
    def unstated(question: str, what: str, searched: list[str]) -> Answer:
        """The monographs speak of what the question asks about but do not state ``what``
        it asks for: a dose for its case ("a dose for severe renal impairment": another
        case's dose would be a wrong answer) or a number of the kind it names ("a
        percentage"): the nearest other number would be."""
        where = " and ".join(searched) if 0 < len(searched) <= 3 else ""
        subject = (
            f"The {where} monograph{'s do' if len(searched) > 1 else ' does'}"
            if where
            else "The monographs do"
        )
        return abstain(
            question,
            f"{subject} not state {what}.",
            searched=searched,
            note=f"{what} is not stated",
        )

    @staticmethod
    def no_monograph(question: str, names: list[str], monographs: int) -> Answer:
        """The question names drugs that no monograph in the index covers."""
        joined = ", ".join(names)
        return abstain(
            question,
            f"The monographs do not cover {joined}: there is no monograph for it here "
            f"({plural(monographs, 'monograph')} searched).",
            searched=[],
            note=f"not in the index: {joined}",
        )

    @staticmethod
    def not_mentioned(question: str, names: list[str], titles: list[str]) -> Answer:
        """The question names a drug that neither has a monograph nor appears in the
        monographs it is asked about: nothing here says anything about it."""
        joined = ", ".join(names)
        return abstain(
            question,
            f"{_monographs_do(titles)} not mention {joined}, "
            f"and there is no monograph for {joined} here.",
            searched=list(titles),
            note=f"not in the index and not mentioned: {joined}",
        )

    @staticmethod
    def class_named(name: str, classes: list[str], titles: list[str]) -> str:
        """The note of an answer about a drug the monographs asked about do not name, from
        their statements naming its class (``monorag.qa.classes``)."""
        return (
            f"{_monographs_do(titles)} not name {name}; what the monographs state of "
            f"{' or '.join(classes)} is quoted, a class it belongs to (as other monographs "
            "here list it, or by the stem of its name)."
        )

    @staticmethod
    def from_generics(brands: list[str], generics: list[str]) -> str:
        """The note of an answer searched in the monographs of a brand's substance too,
        because the brand's own did not state it."""
        what = " and ".join(generics)
        kind = "monographs" if len(generics) > 1 else "monograph"
        return (
            f"{_monographs_do(brands)} not state this; searched the {what} {kind} of the "
            "same substance as well: check that the product's strength and form match."
        )

    @staticmethod
    def filter_matches_nothing(question: str, drug: str) -> Answer:
        """The drug filter chosen names no monograph."""
        return abstain(
            question,
            f"The monographs do not cover {drug}: there is no monograph for it here.",
            searched=[],
            note=f"drug filter {drug!r} matches no monograph",
        )

    @staticmethod
    def which_drug(question: str, names: list[str]) -> Answer:
        """No drug named and the evidence split between monographs: ask which one."""
        if len(names) > 1:
            text = (
                "Which drug do you mean? The monographs that best match are "
                + ", ".join(names[:-1])
                + f" and {names[-1]}."
            )
        else:
            text = f"Which drug do you mean? Perhaps {names[0]}."
        return abstain(question, text, searched=[], note="evidence split between monographs")


def _monographs_do(titles: list[str]) -> str:
    """ "The X monograph does" / "The X and Y monographs do": a sentence's subject."""
    where = " and ".join(titles)
    return f"The {where} monographs do" if len(titles) > 1 else f"The {where} monograph does"
