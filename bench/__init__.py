"""Benchmarks: ingest speed, warm question latency, memory and store size, against a baseline.

``monorag bench`` runs the harness in ``bench.runner``; each measured system runs in its
own subprocess (``bench.worker``) so that memory figures are those of one serving process.
"""
