"""Process-wide switches that keep third-party libraries offline and quiet.

This runs once when ``monorag`` is imported, before anything imports transformers,
chromadb or onnxruntime: those libraries read the variables at import time, so this is
the one place where the process environment is written.
"""

from __future__ import annotations

import os

OFFLINE_ENV = {
    # transformers / huggingface_hub: never reach for the hub; our model is a local folder.
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    # onnxruntime (pulled in by chromadb) phones home unless told not to.
    "ORT_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
}


def configure_offline() -> None:
    """Set the offline/telemetry variables unless the user already chose a value."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
