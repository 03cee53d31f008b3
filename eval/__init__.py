"""FAQ evaluation harness: metrics, question variants and a plain LangChain baseline.

- ``eval.metrics``: deterministic scores (key-fact recall, token F1, ROUGE-L, embedding
  similarity, hit@k, reciprocal rank, citation precision, abstention accuracy). No LLM.
- ``eval.variants``: rule-based clinician-style rewrites of a FAQ question (terse, brand
  name, misspelt drug name) and unanswerable probes, each tagged with its kind and source.
- ``eval.baseline``: the plain LangChain RAG pipeline monorag is compared against.
"""
