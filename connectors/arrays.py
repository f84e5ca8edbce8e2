"""Arrow arrays and scalars built straight from their buffers (NumPy, bytes).

Why not ``pa.array`` / ``pa.scalar``: their conversion layer imports pandas the first time it
runs in a process (to ask whether the value is a pandas object), and pandas costs a load more
than it saves: measured 1.0 CPU s on this 2-core machine under load (≈0.15 s wall when idle,
last session) — paid once by every ``parallax ingest`` process, on its critical path. Compute
functions given a Python value (``pc.fill_null(mask, False)``, a separator ``":"``) convert
it the same way, so they are given these scalars instead. Nothing here reads or writes pandas;
a process that needs pandas still imports it where it uses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["FALSE", "bools", "column", "int64s", "numpy", "strings", "text"]


def int64s(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """64-bit integers; null where ``missing`` is true."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    validity = None
    if missing is not None and missing.any():
        validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
    return pa.Array.from_buffers(pa.int64(), len(data), [validity, pa.py_buffer(data)])


def bools(values: np.ndarray) -> pa.Array:
    """Booleans (no nulls)."""
    packed = np.packbits(np.asarray(values, dtype=bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(packed)])


def strings(values: Sequence[str | None]) -> pa.Array:
    """UTF-8 strings; None is null."""
    encoded = [b"" if v is None else v.encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    validity = None
    if any(v is None for v in values):
        present = np.array([v is not None for v in values], bool)
        validity = pa.py_buffer(np.packbits(present, bitorder="little"))
    return pa.Array.from_buffers(pa.large_string(), len(encoded),
                                 [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
                                 ).cast(pa.string())


def _bits(buffer: pa.Buffer | None, offset: int, n: int) -> np.ndarray:
    if buffer is None or not n:
        return np.zeros(n, bool)
    unpacked = np.unpackbits(np.frombuffer(buffer, np.uint8), bitorder="little")
    return unpacked[offset:offset + n].astype(bool)


def numpy(values: pa.Array, null_as: int | None = None) -> np.ndarray:
    """A boolean or integer array as a NumPy array (``Array.to_numpy`` goes through the pandas
    conversion layer); nulls are refused, or given as ``null_as``."""
    n = len(values)
    if pa.types.is_boolean(values.type):
        out = _bits(values.buffers()[1], values.offset, n)
    else:
        kind = np.dtype(values.type.to_pandas_dtype())
        data = values.buffers()[1]
        out = (np.zeros(n, kind) if data is None or not n
               else np.frombuffer(data, kind)[values.offset:values.offset + n])
    if values.null_count:
        if null_as is None:
            raise ValueError("numpy(): an array with nulls")
        out = np.where(_bits(values.buffers()[0], values.offset, n), out, null_as)
    return out


def text(value: str) -> pa.Scalar:
    """A string scalar."""
    return strings([value])[0]


FALSE = bools(np.zeros(1, bool))[0]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_EXACT_FLOAT = 1 << 53  # pa.array refuses a larger int as a float64: left to it


def column(values: Sequence[Any], kind: pa.DataType) -> pa.Array:
    """``pa.array(values, kind)`` for the shapes the row builders hand over — text, floats,
    ints, booleans, aware datetimes as UTC microseconds, lists of text, None as null — built
    from NumPy;
    any other value or type is left to ``pa.array`` itself (and its pandas import)."""
    present = [v is not None for v in values]
    missing = None if all(present) else ~np.array(present, bool)
    given = [v for v in values if v is not None]
    kinds = {type(v) for v in given}
    out: pa.Array | None = None
    if pa.types.is_string(kind) and kinds <= {str}:
        out = strings(values)
    elif pa.types.is_float64(kind) and kinds <= {float, int} and (
            int not in kinds or all(abs(v) <= _EXACT_FLOAT for v in given if type(v) is int)):
        data = np.array([0.0 if v is None else float(v) for v in values], np.float64)
        out = _with_validity(pa.float64(), data, missing)
    elif pa.types.is_boolean(kind) and kinds <= {bool}:
        out = _with_validity(pa.bool_(), np.packbits(
            np.array([bool(v) for v in values], bool), bitorder="little"), missing, len(values))
    elif (pa.types.is_int64(kind) or pa.types.is_int32(kind)) and kinds <= {int} and all(
            -(1 << 63) <= v < (1 << 63) for v in given):
        data = np.array([0 if v is None else v for v in values], np.int64)
        out = _with_validity(pa.int64(), data, missing).cast(kind)  # checked: overflow raises
    elif (pa.types.is_timestamp(kind) and kind.unit == "us" and kind.tz in ("UTC", "+00:00")
          and kinds <= {datetime} and all(v.tzinfo is not None for v in given)):
        data = np.array([0 if v is None else (v - _EPOCH) // _MICROSECOND for v in values],
                        np.int64)
        out = _with_validity(kind, data, missing)
    elif (pa.types.is_list(kind) and pa.types.is_string(kind.value_type) and kinds <= {list}
          and all(type(x) is str for v in given for x in v)):
        offsets = np.zeros(len(values) + 1, np.int32)
        np.cumsum([0 if v is None else len(v) for v in values], out=offsets[1:])
        flat = strings([x for v in given for x in v])
        validity = None if missing is None else pa.py_buffer(np.packbits(~missing,
                                                                          bitorder="little"))
        out = pa.ListArray.from_buffers(kind, len(values), [validity, pa.py_buffer(offsets)],
                                        children=[flat])
    return pa.array(values, kind) if out is None else out


def _with_validity(kind: pa.DataType, data: np.ndarray, missing: np.ndarray | None,
                   n: int | None = None) -> pa.Array:
    validity = None
    if missing is not None and missing.any():
        validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
    return pa.Array.from_buffers(kind, len(data) if n is None else n,
                                 [validity, pa.py_buffer(np.ascontiguousarray(data))])
