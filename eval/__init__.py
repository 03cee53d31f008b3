"""FAQ evaluation harness (``monorag eval``; see docs/eval.md).

- ``eval.gold``: automatic gold-section labels (embedding similarity plus key-fact overlap
  between a FAQ answer and the body sections).
- ``eval.dataset``: the versioned, reviewable eval set (``eval/data/faq-eval.yaml``).
- ``eval.variants``: rule-based clinician-style rewrites of a FAQ question (terse, brand
  name, misspelt drug name) and unanswerable probes, each tagged with its kind and source.
- ``eval.metrics``: deterministic scores (key-fact recall, token F1, ROUGE-L, embedding
  similarity, sentence coverage, hit@k, reciprocal rank, citation precision, abstention
  accuracy). No LLM.
- ``eval.judge``: the optional LLM judge (correct / incorrect / not attempted).
- ``eval.baseline``: the plain LangChain RAG pipeline monorag is compared against.
- ``eval.harness``: asks every question of both systems in ``open`` and ``held-out`` mode.
- ``eval.report``: rich table, JSON, Markdown and PNG reports.
- ``eval.gate``: the CI thresholds (``eval/data/thresholds.json``).
- ``eval.cli``: what ``monorag eval`` runs.
"""
