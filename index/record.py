"""The index-level record both implementations keep: model, layout, revision, pending files.

``Store`` (Chroma) and ``MemoryIndex`` (NumPy) differ only in where the record lives
(``meta``/``_write_meta``); what it means, and the checks made against it, are here once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from monorag.errors import EmbeddingModelMismatchError, StoreFormatError
from monorag.settings import StoreSettings

STORE_FORMAT = 3
"""Layout of the index's records; 2 added the unit collection, 3 made unit records bare
vectors fetched by id. Another value: rebuild."""


class IndexRecord:
    """Checks and fields of the index-level record, over ``meta`` and ``_write_meta``."""

    settings: StoreSettings

    def meta(self) -> dict[str, Any]:
        """Index-level record: embedding model, dimension, revision, pending files."""
        raise NotImplementedError

    def _write_meta(self, **changes: Any) -> None:
        raise NotImplementedError

    def revision(self) -> str:
        """Changes whenever the set of current chunks changes."""
        return str(self.meta().get("revision", ""))

    def check_model(self, model: str, dimension: Callable[[], int]) -> None:
        """Record the embedding model on first use; refuse a different one later.

        ``dimension`` is a callable so that an up-to-date index never loads the model.
        """
        meta = self.meta()
        stored = meta.get("model")
        if stored is None:
            self._write_meta(
                model=model,
                dimension=dimension(),
                revision=uuid.uuid4().hex,
                format=STORE_FORMAT,
            )
            return
        self.check_format(meta)
        if stored != model:
            raise EmbeddingModelMismatchError(self.settings.where, str(stored), model)

    def check_format(self, meta: dict[str, Any] | None = None) -> None:
        """Refuse an index written in another layout (e.g. before unit vectors existed)."""
        meta = self.meta() if meta is None else meta
        found = int(meta.get("format", 1))
        if meta.get("model") is not None and found != STORE_FORMAT:
            raise StoreFormatError(self.settings.where, found, STORE_FORMAT)

    def model(self) -> str | None:
        """The embedding model the index was built with, if any."""
        value = self.meta().get("model")
        return str(value) if value else None

    def pending(self) -> list[str]:
        """Files whose replacement was started and not finished (a killed ingest)."""
        return list(json.loads(self.meta().get("pending", "[]")))

    def _set_pending(self, keys: Sequence[str]) -> None:
        self._write_meta(pending=json.dumps(sorted(set(keys))))
