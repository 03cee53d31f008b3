"""Record the real local model's replies to fixed dose questions, as a test fixture.

Run ``python tests/record_local_llm.py`` (about a minute; starts the bundled SmolLM2-135M on
llama.cpp, loopback only, downloads nothing). Each case is one passage and one question,
either *grounded* (the passage answers it; ``expect`` lists the numbers a right answer
gives) or *unanswered* (the passage is about another population or severity than the
question asks, the failure measured on the real model). The prompt is the one the
``local`` backend sends (``qa.compact``). ``tests/test_local_llm_outputs.py`` replays the
recorded replies through the checked pipeline, without the model, so the qualifier check
is tested on what the model really wrote.

``acceptable`` is the recorder's label of the raw reply: for a grounded case, every
expected number is in it; for an unanswered case, it refuses (states no number). The
labels were read through by hand after recording.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import monorag  # noqa: F401  - offline settings first
from monorag.qa.compact import build_compact_messages, compact_evidence
from monorag.qa.guard import find_mentions
from monorag.qa.local_server import LocalServer
from monorag.types import Answer, Chunk, Citation, Evidence

OUT = Path(__file__).resolve().parent / "data" / "local_llm_outputs.json"

# (kind, drug, section, passage, question, expected numbers)
CASES: list[tuple[str, str, str, str, str, list[str]]] = [
    ("unanswered", "Lenalidomide", "Dosage › Adults",
     "Adults: 4 mg once daily on days 1-21 of a 28-day cycle. Continue until disease "
     "progression or unacceptable toxicity.",
     "What is the dose of lenalidomide for children?", []),
    ("unanswered", "Metoprolol", "Dosage › Hypertension",
     "Hypertension in adults: initial dose 50 mg twice daily; the usual maintenance dose "
     "is 100-450 mg per day.",
     "What is the paediatric dose of metoprolol for hypertension in a 6-year-old?", []),
    ("unanswered", "Apixaban", "Dosage › Treatment of DVT",
     "Treatment of DVT in adults: 10 mg taken orally twice daily for 7 days, followed by "
     "5 mg taken orally twice daily.",
     "How much apixaban should a 12-year-old with DVT receive?", []),
    ("unanswered", "Ondansetron", "Dosage › Chemotherapy-induced nausea",
     "Prevention of chemotherapy-induced nausea in adults: 8 mg orally 30 minutes before "
     "chemotherapy, then 8 mg 8 hours later.",
     "What dose of ondansetron is recommended for infants under 6 months?", []),
    ("unanswered", "Levetiracetam", "Dosage › Partial-onset seizures",
     "Partial-onset seizures, adults 16 years and older: start with 500 mg twice daily; "
     "increase by 1000 mg/day every 2 weeks to a maximum of 3000 mg/day.",
     "What is the starting levetiracetam dose in children aged 4 to 15 years?", []),
    ("unanswered", "Exemestane", "Dosage › Hepatic impairment",
     "Mild hepatic impairment (Child-Pugh A): 25 mg once daily, no adjustment needed.",
     "What is the exemestane dose in severe hepatic impairment?", []),
    ("unanswered", "Dabigatran", "Dosage › Adults",
     "The recommended dose is 150 mg twice daily. Dabigatran is contraindicated in "
     "patients on dialysis.",
     "What dose of dabigatran should a patient on haemodialysis take?", []),
    ("unanswered", "Pregabalin", "Dosage › Neuropathic pain",
     "Neuropathic pain: 150 mg per day in two divided doses, increased to 300 mg per day "
     "after 3 to 7 days.",
     "What is the pregabalin dose for generalised anxiety disorder?", []),
    ("grounded", "Lenalidomide", "Dosage › Adults",
     "Adults: 4 mg once daily on days 1-21 of a 28-day cycle. Continue until disease "
     "progression or unacceptable toxicity.",
     "What is the adult dose of lenalidomide?", ["4 mg"]),
    ("grounded", "Metoprolol", "Dosage › Hypertension",
     "Hypertension in adults: initial dose 50 mg twice daily; the usual maintenance dose "
     "is 100-450 mg per day.",
     "What is the initial metoprolol dose for hypertension in adults?", ["50 mg"]),
    ("grounded", "Apixaban", "Dosage › Treatment of DVT",
     "Treatment of DVT in adults: 10 mg taken orally twice daily for 7 days, followed by "
     "5 mg taken orally twice daily.",
     "For how many days is apixaban 10 mg twice daily given for DVT?", ["7 days"]),
    ("grounded", "Ondansetron", "Dosage › Chemotherapy-induced nausea",
     "Prevention of chemotherapy-induced nausea in adults: 8 mg orally 30 minutes before "
     "chemotherapy, then 8 mg 8 hours later.",
     "When should the first ondansetron dose be taken before chemotherapy?", ["30 minutes"]),
    ("grounded", "Levetiracetam", "Dosage › Partial-onset seizures",
     "Partial-onset seizures, adults 16 years and older: start with 500 mg twice daily; "
     "increase by 1000 mg/day every 2 weeks to a maximum of 3000 mg/day.",
     "What is the maximum daily dose of levetiracetam?", ["3000 mg"]),
    ("grounded", "Exemestane", "Dosage › Hepatic impairment",
     "Mild hepatic impairment (Child-Pugh A): 25 mg once daily, no adjustment needed.",
     "What is the exemestane dose in mild hepatic impairment?", ["25 mg"]),
    ("grounded", "Pomalidomide", "Dosage › Special Cases",
     "Patients on dialysis: 3 mg once daily on days 1-21 of a 28-day cycle. Take the dose "
     "after haemodialysis on dialysis days.",
     "What is the pomalidomide dose for a patient on dialysis?", ["3 mg"]),
    ("grounded", "Amoxicillin", "Dosage › Children",
     "Children weighing less than 40 kg: 25 mg/kg per day in two divided doses.",
     "What is the amoxicillin dose for children under 40 kg?", ["25 mg/kg"]),
]  # fmt: skip


def case_evidence(drug: str, section: str, passage: str) -> tuple[Evidence, Answer]:
    """One keyed passage, and an extractive answer quoting all of it (the fallback)."""
    chunk = Chunk(
        id=f"{drug.lower()}-0001", drug=drug, aliases=(), section=section, kind="section",
        text=passage, source=f"{drug.lower()}.md", doc=f"/corpus/{drug.lower()}.md",
        rev="r1", last_modified="2025-01-01", content_hash="h", ordinal=1,
    )  # fmt: skip
    evidence = Evidence(chunk=chunk, score=1.0, key="S1")
    fallback = Answer(
        question="", text=f"{passage} [S1]", abstained=False,
        citations=[Citation.of(chunk, "S1", passage)], mode="extractive", drugs=[drug],
    )  # fmt: skip
    return evidence, fallback


def main() -> int:
    """Ask every case once (temperature 0, seed 0) and write the fixture."""
    from langchain_openai import ChatOpenAI

    from monorag.qa.llm import LOCAL_API_KEY, LOCAL_MAX_TOKENS
    from monorag.qa.local_server import MODEL_ALIAS, MODEL_FILE

    records = []
    with LocalServer() as server:
        llm = ChatOpenAI(
            base_url=server.url, api_key=LOCAL_API_KEY, model=MODEL_ALIAS, temperature=0,
            max_tokens=LOCAL_MAX_TOKENS, max_retries=0, use_responses_api=False,
        )  # fmt: skip
        for kind, drug, section, passage, question, expect in CASES:
            evidence, fallback = case_evidence(drug, section, passage)
            items = compact_evidence([evidence], fallback)
            started = time.perf_counter()
            reply = llm.invoke(build_compact_messages(question, items)).text
            seconds = time.perf_counter() - started
            if kind == "grounded":
                acceptable = all(number in reply for number in expect)
            else:
                acceptable = not find_mentions(reply)
            records.append(
                {
                    "kind": kind, "drug": drug, "section": section, "passage": passage,
                    "question": question, "expect": expect, "reply": reply,
                    "acceptable": acceptable, "seconds": round(seconds, 2),
                }
            )  # fmt: skip
            print(f"{kind:10} {seconds:4.1f}s {question} => {reply}", file=sys.stderr)
    OUT.write_text(
        json.dumps({"model": MODEL_FILE, "cases": records}, indent=1, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
