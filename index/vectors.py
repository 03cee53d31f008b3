"""Vectors a reader fetches by id, kept out of any nearest-neighbour index.

The answerer scores a retrieved chunk's sentence units by their vectors, and a search
within named monographs scores those monographs' chunks exactly: both read vectors by id,
never by similarity. Reading them from a Chroma collection loads that collection's whole
vector index into the serving process (the unit collection was most of its memory at
954 monographs, and grows with the corpus's sentence count). Instead:

- the **durable copy** of a chunk's unit vectors travels with the chunk's own record, as
  float16 bytes in one metadata field (``encode_units``/``decode_units``), written and
  deleted with the chunk, so the crash protocol of the store covers them unchanged;
- the **reader's copy** is a per-revision pair of flat files (``VectorFile``), memory-mapped:
  the process holds only the pages it touches, whatever the corpus size. It is derived
  from the store (``monorag.index.cache``) and rebuilt from it when missing or stale.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

UNITS_FIELD = "units"
"""Metadata field of a chunk record that carries its unit vectors (float16, base64)."""


def encode_units(rows: Any) -> str:
    """A chunk's unit vectors as the text of one metadata field (float16, row-major)."""
    array = np.ascontiguousarray(np.asarray(rows, dtype=np.float16))
    if array.ndim != 2:
        array = array.reshape(0, 0) if array.size == 0 else array.reshape(1, -1)
    return f"{array.shape[1]}:" + base64.b64encode(array.tobytes()).decode("ascii")


def decode_units(text: str) -> np.ndarray:
    """The float16 array of ``encode_units`` (zero rows for an empty or missing field)."""
    dim, _, data = str(text or "").partition(":")
    if not data or not dim.isdigit() or int(dim) == 0:
        return np.zeros((0, int(dim) if dim.isdigit() else 0), dtype=np.float16)
    return np.frombuffer(base64.b64decode(data), dtype=np.float16).reshape(-1, int(dim))


class VectorFile:
    """Rows of vectors by record id, in one memory-mapped file and an id table.

    ``rows(id)`` is the slice of a record's rows (a chunk has one vector, or one per unit).
    """

    def __init__(self, data: np.ndarray, spans: Mapping[str, tuple[int, int]]) -> None:
        self._data = data
        self._spans = dict(spans)

    def __len__(self) -> int:
        return len(self._spans)

    def __contains__(self, key: object) -> bool:
        return key in self._spans

    @property
    def rows_total(self) -> int:
        """Rows in the file (vectors stored, over every record)."""
        return int(self._data.shape[0])

    def rows(self, key: str) -> np.ndarray | None:
        """A record's rows as float32 (a copy), or None when the record is not here."""
        span = self._spans.get(key)
        if span is None:
            return None
        start, count = span
        return np.asarray(self._data[start : start + count], dtype=np.float32)

    def first(self, counts: Mapping[str, int]) -> dict[str, np.ndarray]:
        """The first ``counts[id]`` rows of each record that has at least that many."""
        out: dict[str, np.ndarray] = {}
        for key, n in counts.items():
            span = self._spans.get(key)
            if n and span is not None and span[1] >= n:
                out[key] = np.asarray(self._data[span[0] : span[0] + n], dtype=np.float32)
        return out

    def single(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The one vector of each record ``keys`` that is here."""
        out: dict[str, np.ndarray] = {}
        for key in keys:
            span = self._spans.get(key)
            if span is not None and span[1]:
                out[key] = np.asarray(self._data[span[0]], dtype=np.float32)
        return out

    @classmethod
    def open(cls, folder: Path, name: str) -> VectorFile:
        """Map ``folder/name.vec`` read-only with its id table ``name.json``.

        Raises ``OSError`` or ``ValueError`` when either is missing or they disagree.
        """
        table = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        ids, starts, counts = table["ids"], table["starts"], table["counts"]
        rows, dim, dtype = int(table["rows"]), int(table["dim"]), np.dtype(table["dtype"])
        if not (len(ids) == len(starts) == len(counts)):
            raise ValueError(f"{name}: id table is inconsistent")
        if ids and starts[-1] + counts[-1] != rows:
            raise ValueError(f"{name}: id table does not match the vector file")
        path = folder / f"{name}.vec"
        if path.stat().st_size != rows * dim * dtype.itemsize:
            raise ValueError(f"{name}: vector file has the wrong size")
        data = (
            np.memmap(path, dtype=dtype, mode="r", shape=(rows, dim))
            if rows
            else np.zeros((0, dim), dtype=dtype)
        )
        return cls(data, {i: (s, c) for i, s, c in zip(ids, starts, counts, strict=True)})


class VectorWriter:
    """Appends records' rows to ``folder/name.vec`` without holding them in memory."""

    def __init__(self, folder: Path, name: str, dtype: Any) -> None:
        self.folder = folder
        self.name = name
        self.dim = 0
        """Taken from the first record with rows; every later one must match it."""
        self.dtype = np.dtype(dtype)
        self._out = (folder / f"{name}.vec").open("wb")
        self._ids: list[str] = []
        self._starts: list[int] = []
        self._counts: list[int] = []
        self._rows = 0

    def add(self, key: str, rows: Any) -> None:
        """Append ``rows`` (2-D, or one vector) as the rows of record ``key``."""
        array = np.asarray(rows, dtype=self.dtype)
        if array.ndim == 1:
            array = array.reshape(1, -1)
        count = int(array.shape[0]) if array.size else 0
        if count and not self.dim:
            self.dim = int(array.shape[1])
        if count and array.shape[1] != self.dim:
            raise ValueError(f"{key}: vectors of dimension {array.shape[1]}, expected {self.dim}")
        self._ids.append(key)
        self._starts.append(self._rows)
        self._counts.append(count)
        if count:
            self._out.write(np.ascontiguousarray(array).tobytes())
        self._rows += count

    def close(self) -> None:
        """Finish the vector file and write its id table (the table makes it readable)."""
        self._out.close()
        table = {
            "rows": self._rows,
            "dim": self.dim,
            "dtype": self.dtype.str,
            "ids": self._ids,
            "starts": self._starts,
            "counts": self._counts,
        }
        (self.folder / f"{self.name}.json").write_text(json.dumps(table), encoding="utf-8")
