"""Generative answers that are checked before anyone sees them.

Pipeline: prompt (``qa.prompt``) -> chat model -> citations (``qa.citations``; invented keys
dropped) -> number guard (``qa.guard``) over the evidence each statement cites.

Outcomes:

- a checked answer: mode ``llm:<backend>``, citations built from the cited evidence;
- the model's fixed no-answer sentence: an abstained answer;
- a bad answer (a number not in the cited sections, a number whose supplying sentence is
  not about the population, impairment or indication the question names (``qa.qualifiers``),
  no valid citation, empty text, facts of several drugs without saying which drug each is
  about) or a failed call that is not the user's to fix (HTTP 5xx, 429, malformed reply, the
  server closing the connection mid-answer): the extractive ``fallback`` answer, mode
  ``extractive-fallback``, with a ``note`` saying why;
- a backend the user must fix (unreachable or timing out, HTTP 401/403/404): ``BackendError``
  naming the backend and its URL. Silently answering extractively would hide a broken
  configuration; the engine decides how to show the error.

Two prompt styles: ``full`` (``qa.prompt``) and ``compact`` (``qa.compact``: for small local
models; the evidence is cut to what the extractive answer chose, and a statement the model
left uncited is given the key of its only possible source, when there is exactly one).

Streaming yields text one finished sentence (or list item) at a time, each screened by the
number guard and the qualifier check against all passages given to the model first, so an
unsupported or misplaced number is never shown.
Once the stream is exhausted ``last_answer`` holds the final ``Answer``, which is
authoritative: when its mode is ``extractive-fallback`` the streamed text must be replaced.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from langchain_core.language_models import BaseChatModel

from monorag.errors import BackendError
from monorag.qa.citations import CitedText, clean_citations, parse_citations
from monorag.qa.compact import attribute, build_compact_messages, compact_evidence, unfaithful
from monorag.qa.drugs import words
from monorag.qa.guard import unsupported_numbers
from monorag.qa.llm import describe, get_llm, prompt_style, server_url
from monorag.qa.prompt import NOT_IN_MONOGRAPHS, build_messages, says_not_in_monographs
from monorag.qa.qualifiers import (
    Qualifier,
    Source,
    misplaced_reason,
    question_qualifiers,
    unqualified_numbers,
)
from monorag.settings import LLMSettings
from monorag.text import passage_sentences
from monorag.types import Answer, Citation, Evidence, Statement

FALLBACK_MODE = "extractive-fallback"

_UNREACHABLE_TYPES = frozenset(
    {
        "APIConnectionError",
        "APITimeoutError",
        "ConnectError",
        "ConnectTimeout",
        "ReadTimeout",
        "TimeoutException",
        "NetworkError",
        "TransportError",
    }
)
# The server accepted the request and then went away (killed, crashed) before the answer
# was complete: httpx/httpx2 ``RemoteProtocolError`` ("peer closed connection") or a reset
# while reading. Not a configuration to fix: this answer falls back, the next may succeed.
_DROPPED_TYPES = frozenset({"RemoteProtocolError", "ReadError", "IncompleteRead"})
_CONFIG_STATUSES = {
    401: "check MONORAG_LLM_API_KEY",
    403: "check MONORAG_LLM_API_KEY",
    404: "check MONORAG_LLM_MODEL and MONORAG_LLM_BASE_URL",
}

# A statement is finished at a sentence end (plus any citations right after it) once the next
# statement has visibly begun, or at a line break.
_STATEMENT_END = re.compile(
    r"[.!?](?:\s*(?:\[[^\[\]\n]*\]|【[^【】\n]*】|［[^［］\n]*］|\([Ss]\s?\d[^()\n]*\)))*"
    r"(?=\s+[^\s\[【［(])|\n"
)


class LLMAnswerer:
    """Answers a question from keyed evidence with a chat model, checked and cited."""

    def __init__(
        self,
        chat_model: BaseChatModel,
        backend_label: str,
        *,
        where: str | None = None,
        prompt: str = "full",
    ) -> None:
        """``backend_label`` names the backend in ``Answer.mode``; ``where`` is its URL;
        ``prompt`` is ``full`` or ``compact`` (see the module docstring)."""
        if prompt not in ("full", "compact"):
            raise ValueError(f"prompt style must be full or compact, not {prompt!r}")
        self.chat_model = chat_model
        self.backend_label = backend_label
        self.prompt = prompt
        self.where = where or _model_url(chat_model) or "its configured address"
        self.last_answer: Answer | None = None
        self.description = f"{backend_label} @ {self.where}"
        """One line naming backend, model and server, for status lines."""

    @classmethod
    def from_settings(cls, settings: LLMSettings, **kwargs: Any) -> LLMAnswerer:
        """Build the chat model named by ``settings.backend`` (see ``qa.llm.get_llm``)."""
        model = get_llm(settings.backend, settings, **kwargs)
        answerer = cls(
            model,
            settings.backend.strip().lower(),
            where=server_url(settings) or _model_url(model),
            prompt=prompt_style(settings),
        )
        answerer.description = describe(settings)
        return answerer

    @property
    def mode(self) -> str:
        """``Answer.mode`` of answers this answerer writes itself."""
        return f"llm:{self.backend_label}"

    def answer(self, question: str, evidence: Sequence[Evidence], fallback: Answer) -> Answer:
        """The checked LLM answer, an abstention, or ``fallback`` with a note saying why."""
        keyed, messages = self._request(question, evidence, fallback)
        if not keyed:
            self.last_answer = _fall_back(fallback, "No passages were retrieved for the LLM", {})
            return self.last_answer
        started = time.perf_counter()
        try:
            message = self.chat_model.invoke(messages)
        except Exception as exc:
            self.last_answer = self._failed(exc, fallback, started)
            return self.last_answer
        timings = {"llm": time.perf_counter() - started}
        self.last_answer = self._finish(question, keyed, fallback, message.text, timings)
        return self.last_answer

    def stream(
        self, question: str, evidence: Sequence[Evidence], fallback: Answer
    ) -> Iterator[str]:
        """Yield the answer's text statement by statement; then ``last_answer`` is set.

        Each piece has its citations normalised and invented keys removed, and has passed
        the number guard against all retrieved passages. If a piece fails, streaming stops
        and ``last_answer`` is the fallback.
        """
        self.last_answer = None
        keyed, messages = self._request(question, evidence, fallback)
        if not keyed:
            self.last_answer = _fall_back(fallback, "No passages were retrieved for the LLM", {})
            return
        valid = [item.key for item in keyed]
        every_text = [item.chunk.embed_text for item in keyed]
        every_source = [Source(item.chunk.name, item.chunk.text) for item in keyed]
        by_key = {item.key: item for item in keyed}
        qualifiers = _qualifiers(question, keyed)
        raw = ""
        done = 0
        timings: dict[str, float] = {}
        started = time.perf_counter()
        chunks = self.chat_model.stream(messages)
        try:
            for chunk in chunks:
                text = chunk.text
                if text and "llm_first_token" not in timings:
                    timings["llm_first_token"] = time.perf_counter() - started
                raw += text
                cut = _last_statement_end(raw, done)
                if cut <= done:
                    continue
                piece, _, _ = clean_citations(raw[done:cut], valid)
                bad = unsupported_numbers(piece, every_text)
                if bad:
                    timings["llm"] = time.perf_counter() - started
                    self.last_answer = _fall_back(fallback, _numbers_reason(bad), timings)
                    return
                misplaced = unqualified_numbers(piece, every_source, qualifiers)
                loose = self.prompt == "compact" and unfaithful(
                    question, parse_citations(raw[:cut], valid).statements, by_key
                )
                if misplaced or loose:
                    timings["llm"] = time.perf_counter() - started
                    reason = misplaced_reason(misplaced) if misplaced else str(loose)
                    self.last_answer = _fall_back(fallback, reason, timings)
                    return
                done = cut
                if piece.strip():
                    yield piece
        except BackendError:
            raise
        except Exception as exc:
            self.last_answer = self._failed(exc, fallback, started)
            return
        finally:
            # Stop the request at once when the stream is abandoned (guard fired, consumer
            # stopped reading) instead of leaving the HTTP response open until collected.
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        timings["llm"] = time.perf_counter() - started
        final = self._finish(question, keyed, fallback, raw, timings)
        self.last_answer = final
        if final.mode == self.mode:
            tail, _, _ = clean_citations(raw[done:], valid)
            if tail.strip():
                yield tail.rstrip()

    def _request(
        self, question: str, evidence: Sequence[Evidence], fallback: Answer
    ) -> tuple[list[Evidence], list[Any]]:
        """The keyed evidence the answer is checked against, and the messages to send."""
        if self.prompt == "compact":
            items = compact_evidence(_keyed(evidence), fallback)
            return [item for item, _ in items], build_compact_messages(question, items)
        keyed = _keyed(evidence)
        return keyed, build_messages(question, keyed)

    def _finish(
        self,
        question: str,
        keyed: list[Evidence],
        fallback: Answer,
        raw: str,
        timings: dict[str, float],
    ) -> Answer:
        by_key = {item.key: item for item in keyed}
        cited = parse_citations(raw, by_key)
        if says_not_in_monographs(cited.text) or (
            NOT_IN_MONOGRAPHS.lower() in cited.text.lower() and not cited.keys
        ):
            return Answer(
                question=question,
                text=NOT_IN_MONOGRAPHS,
                abstained=True,
                citations=[],
                mode=self.mode,
                drugs=list(fallback.drugs) or _drugs(keyed),
                note="The LLM found no answer in the retrieved monograph sections.",
                evidence=keyed,
                timings=timings,
            )
        if not cited.text:
            return _fall_back(fallback, "The LLM returned an empty answer", timings)
        attributed: list[str] = []
        if self.prompt == "compact":
            # Small models often drop the key; a statement with exactly one possible source
            # gets that source's key (see qa.compact.attribute), others stay uncited.
            attributed = attribute(cited.statements, keyed)
            for key in attributed:
                if key not in cited.keys:
                    cited.keys.append(key)
        if not cited.keys:
            reason = "The LLM answer cited none of the retrieved sections"
            if cited.dropped:
                reason += f" (it cited {', '.join(cited.dropped)}, which were not retrieved)"
            return _fall_back(fallback, reason, timings)
        bad = _unsupported(cited, by_key)
        if bad:
            return _fall_back(fallback, _numbers_reason(bad), timings)
        misplaced = _misplaced(question, cited, by_key)
        if misplaced:
            return _fall_back(fallback, misplaced, timings)
        if self.prompt == "compact":
            loose = unfaithful(question, cited.statements, by_key)
            if loose:
                return _fall_back(fallback, loose, timings)
        mixed = _unattributed(cited, by_key)
        if mixed:
            reason = (
                f"The LLM answer stated facts of {' and '.join(mixed)} without saying which "
                "drug each statement is about"
            )
            return _fall_back(fallback, reason, timings)
        citations = [_citation(by_key[key], cited.statements) for key in cited.keys]
        notes = []
        if cited.dropped:
            notes.append(
                "Removed citations to sections that were not retrieved: "
                f"{', '.join(cited.dropped)}."
            )
        if attributed:
            notes.append(
                "The model cited no section for some statements; they were matched to "
                f"the only section that holds their numbers and words ({', '.join(attributed)})."
            )
        note = " ".join(notes)
        return Answer(
            question=question,
            text=cited.text,
            abstained=False,
            citations=citations,
            mode=self.mode,
            statements=cited.statements,
            drugs=_drugs([by_key[key] for key in cited.keys]),
            note=note,
            evidence=keyed,
            timings=timings,
        )

    def _failed(self, exc: Exception, fallback: Answer, started: float) -> Answer:
        if isinstance(exc, BackendError):
            raise exc
        detail = _detail(exc)
        if _is_dropped(exc):
            timings = {"llm": time.perf_counter() - started}
            reason = (
                f"The {self.backend_label} LLM server at {self.where} closed the connection "
                f"before the answer was complete ({detail})"
            )
            return _fall_back(fallback, reason, timings)
        if _is_timeout(exc):
            raise BackendError(
                f"the {self.backend_label} LLM backend at {self.where} did not answer in time "
                f"({detail}): check that the server is up and the model is loaded, or raise "
                "the llm.timeout setting"
            ) from exc
        if _is_unreachable(exc):
            raise BackendError(
                f"the {self.backend_label} LLM backend at {self.where} is unreachable "
                f"({detail}): start the server or fix MONORAG_LLM_BASE_URL"
            ) from exc
        status = _status(exc)
        if status in _CONFIG_STATUSES:
            raise BackendError(
                f"the {self.backend_label} LLM backend at {self.where} refused the request "
                f"(HTTP {status}: {detail}): {_CONFIG_STATUSES[status]}"
            ) from exc
        timings = {"llm": time.perf_counter() - started}
        reason = f"The LLM call failed ({f'HTTP {status}: ' if status else ''}{detail})"
        return _fall_back(fallback, reason, timings)


def _keyed(evidence: Sequence[Evidence]) -> list[Evidence]:
    keys = [item.key for item in evidence]
    if all(keys) and len(set(keys)) == len(keys):
        return list(evidence)
    # Keys are assigned per answer; number them if the caller has not.
    return [replace(item, key=f"S{i}") for i, item in enumerate(evidence, 1)]


def _unsupported(cited: CitedText, by_key: dict[str, Evidence]) -> list[str]:
    all_cited = [by_key[key].chunk.embed_text for key in cited.keys]
    bad: list[str] = []
    for statement in cited.statements:
        keys = [key for key in statement.keys if key in by_key]
        texts = [by_key[key].chunk.embed_text for key in keys] if keys else all_cited
        for number in unsupported_numbers(statement.text, texts):
            if number not in bad:
                bad.append(number)
    return bad


def _qualifiers(question: str, keyed: Sequence[Evidence]) -> list[Qualifier]:
    names = {name for item in keyed for name in (item.chunk.drug, *item.chunk.aliases)}
    return question_qualifiers(question, names)


def _misplaced(question: str, cited: CitedText, by_key: dict[str, Evidence]) -> str:
    """Why the answer's numbers are not about what the question asks ("" when they are)."""
    qualifiers = _qualifiers(question, list(by_key.values()))
    if not qualifiers:
        return ""
    all_cited = [by_key[key] for key in cited.keys]
    problems = []
    for statement in cited.statements:
        items = [by_key[key] for key in statement.keys if key in by_key] or all_cited
        sources = [Source(item.chunk.name, item.chunk.text) for item in items]
        problems.extend(unqualified_numbers(statement.text, sources, qualifiers))
    return misplaced_reason(problems) if problems else ""


def _unattributed(cited: CitedText, by_key: dict[str, Evidence]) -> list[str]:
    """Drugs an answer citing several drugs states facts of without naming them.

    A statement is attributed when it names the drug (title or alias) of every passage it
    cites, or when the statements before it last named that drug alone ("Drug X: ... [S1].
    Its dose ... [S1]."). Answers citing one drug need no names.
    """
    names: dict[str, set[str]] = {}
    for key in cited.keys:
        chunk = by_key[key].chunk
        phrases = {" ".join(words(n)) for n in (chunk.drug, *chunk.aliases)}
        names.setdefault(chunk.drug, set()).update(p for p in phrases if p)
    if len(names) < 2:
        return []
    context: set[str] = set()
    mixed: list[str] = []
    for statement in cited.statements:
        said = f" {' '.join(words(statement.text))} "
        named = {d for d, phrases in names.items() if any(f" {p} " in said for p in phrases)}
        context = named or context
        for key in statement.keys:
            drug = by_key[key].chunk.drug if key in by_key else None
            if drug and drug not in named and context != {drug} and drug not in mixed:
                mixed.append(drug)
    return sorted(names) if mixed else []


def _numbers_reason(bad: list[str]) -> str:
    shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
    verb = "is" if len(bad) == 1 else "are"
    return f"The LLM answer quoted {shown}, which {verb} not in the cited sections"


def _fall_back(fallback: Answer, reason: str, timings: dict[str, float]) -> Answer:
    note = f"{reason}; showing the extractive answer instead."
    if fallback.note:
        note = f"{note} {fallback.note}"
    return replace(fallback, mode=FALLBACK_MODE, note=note, timings={**fallback.timings, **timings})


def _citation(item: Evidence, statements: list[Statement]) -> Citation:
    uses = [s.text for s in statements if item.key in s.keys]
    return Citation.of(item.chunk, item.key, _quote(item.chunk.text, uses))


_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")


def _quote(passage: str, uses: list[str]) -> str:
    """The passage sentences that best match the statements citing it, verbatim."""
    sentences = passage_sentences(passage)
    chosen: set[int] = set()
    for use in uses:
        words = set(_WORD.findall(use.lower()))
        best, best_score = -1, 0.0
        for i, sentence in enumerate(sentences):
            theirs = set(_WORD.findall(sentence.lower()))
            if not theirs or not words:
                continue
            score = len(words & theirs) / len(words | theirs)
            if score > best_score:
                best, best_score = i, score
        if best >= 0:
            chosen.add(best)
    return " ".join(sentences[i] for i in sorted(chosen))


def _drugs(evidence: Sequence[Evidence]) -> list[str]:
    out: list[str] = []
    for item in evidence:
        if item.chunk.drug and item.chunk.drug not in out:
            out.append(item.chunk.drug)
    return out


def _last_statement_end(raw: str, start: int) -> int:
    end = start
    for match in _STATEMENT_END.finditer(raw, start):
        end = match.end()
    return end


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_dropped(exc: BaseException) -> bool:
    for err in _causes(exc):
        if any(cls.__name__ in _DROPPED_TYPES for cls in type(err).__mro__):
            return True
    return False


def _is_unreachable(exc: BaseException) -> bool:
    for err in _causes(exc):
        if isinstance(err, ConnectionError | TimeoutError):
            return True
        if any(cls.__name__ in _UNREACHABLE_TYPES for cls in type(err).__mro__):
            return True
    return False


def _is_timeout(exc: BaseException) -> bool:
    for err in _causes(exc):
        if isinstance(err, TimeoutError):
            return True
        if any("Timeout" in cls.__name__ for cls in type(err).__mro__):
            return True
    return False


def _status(exc: BaseException) -> int | None:
    for err in _causes(exc):
        status = getattr(err, "status_code", None)
        if isinstance(status, int):
            return status
    return None


def _detail(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return text or type(exc).__name__


def _model_url(model: BaseChatModel) -> str | None:
    for attr in ("openai_api_base", "anthropic_api_url", "base_url"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return None
