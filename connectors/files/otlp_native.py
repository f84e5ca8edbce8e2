"""The native stage of ``otlp-jsonl``: DuckDB reads the Collector's JSON lines and maps the
spans into ``stage_spans`` in one statement (``models/stage/otlp_jsonl.sql``), on every core.

The span mapping (``spans.SpanColumns`` is the reference) is written once more, in SQL; a
table-driven test runs every fixture through both paths and compares every column. Python keeps
what SQL cannot do, or does slowly, as vectorised functions DuckDB calls once per batch of
rows: Arrow kernels over the whole batch, Python itself only once per *distinct* value (with a
cache across batches):

* ``_parallax_span_attributes`` / ``_parallax_resource_attributes(attributes)``: an attributes
  list (key and value as JSON text) → the stored JSON object and the values of the keys the
  columns read. Values are decoded as ``otlp._attrs`` decodes them: the two shapes nearly all
  values have (a string, an int) by Arrow kernels, any other by ``otlp.attribute_value`` itself.
  Personal values are pseudonymised (``Pseudonymizer``); for spans URLs lose query string and
  fragment and ``url.query`` is left out. Masks and indices are NumPy arrays (key masks
  from the batch's few distinct keys); replaced values are appended to a pool and picked by
  index, so the batch's values are copied once. (DuckDB's list lambdas run this several
  times slower.)
* ``_parallax_pseudonym``: a user id's pseudonym; ``_parallax_host``: ``urlsplit(url).hostname``
  for a client span's peer.
* ``_parallax_route`` (the route normalisation) is a macro of NULL here: after the statement
  each distinct staged ``http_route`` is routed once and written back by a join, which costs
  less than a Python call for every batch (Spark's lake ingest calls the normaliser in the SQL).

A raw identifier exists only in DuckDB's vectors in flight: it never lands in any table — not
the stage table, not a temporary one — and the file is read once.

Any record the Python path would reject (bad id or time, a line that is not a request), and any
value the native path does not map exactly as Python does (an attribute key given twice, str()
of a float where text is expected…), makes the statement fail. Then ``stage`` returns None and
the loader parses the whole file in Python, which reports each reject with its line: the native
path never decides a reject. ``PARALLAX_NATIVE=0`` turns it off.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from parallax.connectors import arrays
from parallax.connectors.base import ParseContext, Source
from parallax.connectors.privacy import FREE_TEXT_KEYS, PII_ATTRIBUTE_KEYS, is_credential
from parallax.db import drop_function, read_sql, run_sql, sql_code

__all__ = ["MAX_OBJECT_BYTES", "RESOURCE_KEYS", "SPAN_KEYS", "enabled", "stage"]

log = logging.getLogger("parallax.ingest")

# The longest line DuckDB reads (one export request); a longer one falls back to Python.
MAX_OBJECT_BYTES = 16 << 20
_SQL = "stage/otlp_jsonl.sql"
_ROUTE = "_parallax_route"  # a macro of NULL here: the route is written after the statement

# The attribute keys the canonical columns read (SpanColumns.add, .resource): the attribute
# functions return their values as fields named after them.
SPAN_KEYS = (
    "http.response.status_code", "http.status_code", "http.route", "url.full", "http.url",
    "url.path", "http.target", "http.path", "enduser.id", "user.id", "session.id",
    "http.request.method", "http.method", "peer.service", "server.address", "net.peer.name",
    "error.type",
)
RESOURCE_KEYS = ("service.name", "session.id", "enduser.id", "user.id")
# spans._URL_KEYS but url.query (left out), as JSON text
_URL_KEYS = frozenset(['"url.full"', '"http.url"', '"http.target"'])

# The two value shapes handled by kernels ('"' counted: a string without a quote inside).
_STRING_PREFIX, _STRING_SUFFIX = '{"stringValue":"', '"}'
_INT = r'^\{"intValue":(?:"(?:0|-?[1-9][0-9]{0,17})"|(?:0|-?[1-9][0-9]{0,17}))\}$'
_BOOLS = arrays.strings(['{"boolValue":true}', '{"boolValue":false}'])
# A NaN or infinite float is carried as its repr (not JSON: never taken for a value of another
# type), stored as null as orjson writes it, and falls back where a column would read it.
_NON_FINITE = ("nan", "inf", "-inf")
_NON_FINITE_TEXT = arrays.strings(_NON_FINITE)
_COLON, _COMMA, _OPEN, _CLOSE, _EMPTY = (arrays.text(t) for t in (":", ",", "{", "}", ""))


def enabled() -> bool:
    """False when ``$PARALLAX_NATIVE`` is 0/false/no/off."""
    return os.environ.get("PARALLAX_NATIVE", "1").strip().lower() not in ("0", "false", "no", "off")


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(mask, min_count=0).as_py())


def _all(mask: pa.Array) -> bool:
    return bool(pc.all(mask, min_count=0).as_py())


def _mask(mask: pa.Array) -> np.ndarray:
    """A boolean array as a NumPy mask, null as False."""
    return arrays.numpy(pc.fill_null(mask, arrays.FALSE))


def _whole(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if not isinstance(values, pa.ChunkedArray):
        return values
    # DuckDB hands a batch over as one chunk: combining would copy it
    return values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()


def _distinct(fn: Callable[[str], Any]) -> Callable[[pa.Array], pa.Array]:
    """A vectorised function: ``fn`` on each distinct value of the batch, mapped back."""

    def apply(values: pa.Array | pa.ChunkedArray) -> pa.Array:
        values = _whole(values)
        distinct = pc.unique(values)
        mapped = arrays.strings([None if v is None else fn(v) for v in distinct.to_pylist()])
        return pc.take(mapped, pc.index_in(values, value_set=distinct))

    return apply


def _text(binary: pa.Array) -> pa.Array:
    """Bytes cut at ASCII characters out of UTF-8 text, as text again (no copy, no check)."""
    return pc.cast(binary, options=pc.CastOptions(target_type=pa.string(),
                                                  allow_invalid_utf8=True))


def _cut_url(literal: str) -> str:
    """A JSON string literal (or other JSON text) holding '?' or '#' → without query string and
    fragment, as spans.py cuts URL attributes (strings only; '?' and '#' are never escaped)."""
    if not literal.startswith('"'):
        return literal
    return literal.split("#", 1)[0].split("?", 1)[0] + '"'


def _map_distinct(values: pa.Array, fn: Callable[[str], str]) -> pa.Array:
    distinct = pc.unique(values)
    mapped = arrays.strings([fn(v) for v in distinct.to_pylist()])
    return pc.take(mapped, pc.index_in(values, value_set=distinct))


def _pseudonym(pseudonymize: Callable[[Any], str | None]) -> Callable[[str], str | None]:
    """JSON text of a value → its pseudonym, as ``pseudonymize(value)`` (str() of any type)."""
    return lambda text: pseudonymize(orjson.loads(text))


class _Pool:
    """Values as entries of a few arrays, picked by ``at`` (one index a value): a replaced
    value is a new entry, and the values are copied once, by ``take``, when they are read."""

    def __init__(self, first: pa.Array) -> None:
        self.pieces, self.size = [first], len(first)
        self.at = np.arange(len(first), dtype=np.int64)
        self._whole: pa.Array | None = first

    def add(self, positions: np.ndarray, values: pa.Array) -> int:
        """``values`` (one a position) at ``positions``; the index of the first one."""
        base = self.size
        self.pieces.append(values.cast(self.pieces[0].type))
        self.size += len(values)
        self.at[positions] = np.arange(base, self.size, dtype=np.int64)
        self._whole = None
        return base

    def take(self, indices: np.ndarray) -> pa.Array:
        """The entries at ``indices`` (-1: null)."""
        missing = indices < 0
        picks = arrays.int64s(indices, missing)
        if len(self.pieces) > 1 and (not len(indices) or indices.max() < len(self.pieces[0])):
            return self.pieces[0].take(picks)  # no need to join the pieces for these
        if self._whole is None:
            self._whole = pa.concat_arrays(self.pieces)
        return self._whole.take(picks)


def _null_where(values: pa.Array, empty: np.ndarray) -> pa.Array:
    """``values`` (no nulls) with null where ``empty`` is true (a validity bitmap, no copy)."""
    if not empty.any():
        return values
    bitmap = np.packbits(np.concatenate([np.ones(values.offset, bool), ~empty]),
                         bitorder="little")
    return pa.Array.from_buffers(values.type, len(values),
                                 [pa.py_buffer(bitmap), *values.buffers()[1:]],
                                 offset=values.offset)


def _offsets(values: pa.Array) -> np.ndarray:
    kind = np.int64 if pa.types.is_large_string(values.type) else np.int32
    return np.frombuffer(values.buffers()[1], kind)[values.offset:values.offset + len(values) + 1]


def _is_string(raw: pa.Array) -> np.ndarray:
    """Which values have the string shape: the prefix, the suffix and no other '"' (a string
    without a quote or an escaped one inside), as a NumPy mask."""
    offsets, data = _offsets(raw), raw.buffers()[2]
    if data is None or not len(raw):
        counts = np.zeros(len(raw), np.int64)
    else:  # only the bytes of these values (a slice shares a larger buffer)
        first = int(offsets[0])
        text = np.frombuffer(data, np.uint8, int(offsets[-1]) - first, first)
        counts = np.diff(np.searchsorted(np.flatnonzero(text == 34), offsets - first))
    shape = pc.and_(pc.starts_with(raw, _STRING_PREFIX), pc.ends_with(raw, _STRING_SUFFIX))
    return arrays.numpy(pc.fill_null(shape, arrays.FALSE)) & (counts == 4)


def _string_literals(raw: pa.Array) -> pa.Array:
    """Each value without its first 15 and last byte: a string-shaped value's literal (the
    prefix and suffix are ASCII, so bytes are characters there); other values' entries, which
    a byte cut may leave as invalid UTF-8, are never read. Cut as bytes, viewed as text again
    without a copy: a third of the time of cutting by code points."""
    return pc.binary_slice(raw.view(pa.binary()), 15, -1).view(pa.string())


class _Failed(ValueError):
    """Something the native path does not map as Python does: the statement fails."""


def _attributes(pseudonymize: Callable[[Any], str | None], keys_read: Sequence[str],
                span: bool) -> Callable[[pa.Array], pa.Array]:
    """The function behind ``_parallax_span_attributes`` / ``_parallax_resource_attributes``:
    a batch of attribute lists → STRUCT(json, one field per key read)."""
    from parallax.connectors.files.otlp import attribute_value

    personal_keys = frozenset(json.dumps(k) for k in PII_ATTRIBUTE_KEYS)
    free_text_keys = frozenset(json.dumps(k) for k in FREE_TEXT_KEYS)
    redact_text = getattr(pseudonymize, "redact_text", lambda text: text)
    wanted = [json.dumps(k) for k in keys_read]
    slot = {key: i for i, key in enumerate(wanted)}
    fields = [pa.field("json", pa.string()), *(pa.field(k, pa.string()) for k in keys_read)]

    def decode(raw: str) -> str:
        """A value of another shape, by the Python mapping itself (its errors fail the file)."""
        value = attribute_value(orjson.loads(raw))
        if isinstance(value, float) and not math.isfinite(value):
            return repr(value)  # 'nan', 'inf', '-inf': stored as null, but not None to Python
        return orjson.dumps(value).decode()

    def free_text(text: str) -> str:
        if not text.startswith('"'):
            return text
        return orjson.dumps(redact_text(orjson.loads(text))).decode()

    pseudonyms: dict[str, str] = {}  # across batches: ids and addresses repeat

    def personal(text: str) -> str:
        hit = pseudonyms.get(text)
        if hit is None:
            if text == "null":  # None stays None
                return "null"
            p = pseudonymize(float(text) if text in _NON_FINITE else orjson.loads(text))
            hit = "null" if p is None else f'"{p}"'
            if len(pseudonyms) < 1_000_000:
                pseudonyms[text] = hit
        return hit

    def apply(lists: pa.Array | pa.ChunkedArray) -> pa.Array:
        lists = _whole(lists)
        n = len(lists)
        keys, raw = lists.flatten().flatten()
        if keys.null_count or not _all(pc.starts_with(keys, '"')):
            raise _Failed("otlp-native: an attribute without a string key")
        parents = pc.list_parent_indices(lists)
        codes = pc.dictionary_encode(keys)
        parent_array = arrays.numpy(parents)
        code_array = arrays.numpy(codes.indices).astype(np.int64)
        names = codes.dictionary.to_pylist()
        width = len(names)
        pairs = parent_array * width + code_array  # (span, key) as one number
        if len(pairs) and (np.bincount(pairs).max() > 1 if n * width <= 1 << 22
                           else len(np.unique(pairs)) < len(pairs)):
            # Python keeps the last value of a repeated key, at the first one's place
            raise _Failed("otlp-native: an attribute key given twice")

        # Every value's JSON text is an entry of `pool`, picked by `at` (one number a value):
        # the values are written once, by one take at the end, however many are replaced.
        pool = _Pool(_string_literals(raw))
        is_string = _is_string(raw)
        rest = np.flatnonzero(~is_string)
        non_finite = None  # the pool entries that are a NaN or infinite float's repr
        if len(rest):
            others = raw.take(arrays.int64s(rest))
            is_null = _mask(pc.is_null(others))
            is_bool = _mask(pc.is_in(others, value_set=_BOOLS))
            is_int = _mask(pc.match_substring_regex(others, _INT))
            if is_null.any():
                pool.add(rest[is_null], arrays.strings(["null"] * int(is_null.sum())))
            if is_bool.any():
                pool.add(rest[is_bool],
                         pc.utf8_slice_codeunits(others.filter(arrays.bools(is_bool)), 13, -1))
            if is_int.any():  # the shape is ASCII throughout
                ints = pc.utf8_slice_codeunits(others.filter(arrays.bools(is_int)), 12, -1)
                pool.add(rest[is_int], pc.utf8_trim(ints, '"'))
            unusual = ~(is_null | is_bool | is_int)
            if unusual.any():
                mapped = _map_distinct(others.filter(arrays.bools(unusual)), decode)
                base = pool.add(rest[unusual], mapped)
                odd = _mask(pc.is_in(mapped, value_set=_NON_FINITE_TEXT))
                if odd.any():
                    non_finite = base + np.flatnonzero(odd)

        # The values the columns read, before they are scrubbed: one take for all keys.
        slot_of_code = np.array([slot.get(key, -1) for key in names], np.int64)
        slots = slot_of_code[code_array]
        hit = slots >= 0
        where = np.full(len(wanted) * n, -1, np.int64)
        where[slots[hit] * n + parent_array[hit]] = pool.at[hit]
        taken = pool.take(where)
        if non_finite is not None and np.isin(where, non_finite).any():
            raise _Failed("otlp-native: a NaN or infinite value in a key a column reads")
        out = [None, *(taken.slice(i * n, n) for i in range(len(wanted)))]

        # The stored object: personal values pseudonymised, NaN null, URLs cut, no url.query;
        # free text redacted and credential headers dropped (spans.SpanColumns.add, the same).
        def of_keys(selected: frozenset[str]) -> np.ndarray:
            return np.array([key in selected for key in names], bool)[code_array]

        mask = of_keys(personal_keys)
        if mask.any():
            which = np.flatnonzero(mask)
            pool.add(which, _map_distinct(pool.take(pool.at[which]), personal))
        if non_finite is not None:
            which = np.flatnonzero(np.isin(pool.at, non_finite))
            if len(which):
                pool.add(which, arrays.strings(["null"] * len(which)))
        lengths = arrays.numpy(pc.list_value_length(lists), null_as=0)
        per_list = lengths
        if span:
            which = np.flatnonzero(of_keys(_URL_KEYS))
            if len(which):
                urls = pool.take(pool.at[which])
                cut = _mask(pc.match_substring_regex(urls, "[?#]"))
                if cut.any():  # string literals cut at the first '?' or '#'
                    pool.add(which[cut],
                             _map_distinct(pc.filter(urls, arrays.bools(cut)), _cut_url))
            which = np.flatnonzero(of_keys(free_text_keys))
            if len(which):  # a statement or message quoting a person: redacted text
                pool.add(which, _map_distinct(pool.take(pool.at[which]), free_text))
            dropped = np.array([key == '"url.query"' or is_credential(json.loads(key))
                                for key in names], bool)
            # url.query, and captured credential headers: never stored
            if dropped.any() and (drop := dropped[code_array]).any():
                keep = np.flatnonzero(~drop)
                keys = keys.take(arrays.int64s(keep))
                pool.at = pool.at[keep]
                per_list = np.bincount(parent_array[keep], minlength=n)
        offsets = np.concatenate([[0], np.cumsum(per_list, dtype=np.int64)])
        entries = pc.binary_join_element_wise(keys, pool.take(pool.at), _COLON)
        joined = pc.binary_join(pa.LargeListArray.from_arrays(arrays.int64s(offsets), entries),
                                _COMMA)
        objects = pc.cast(pc.binary_join_element_wise(_OPEN, joined, _CLOSE, _EMPTY), pa.string())
        out[0] = _null_where(objects, lengths == 0)
        return pa.StructArray.from_arrays(out, fields=fields)

    return apply


def _struct_type(keys_read: Sequence[str]) -> duckdb.sqltypes.DuckDBPyType:
    # the object is JSON already (written from JSON text): stored without another parse
    fields = ", ".join(['"json" JSON', *(f'"{k}" VARCHAR' for k in keys_read)])
    return duckdb.sqltype(f"STRUCT({fields})")


def _host(url: str) -> str | None:
    return urlsplit(url).hostname  # a ValueError (bad IPv6 literal) fails the statement


def _route_staged(con: duckdb.DuckDBPyConnection, route: Callable[[str], str | None]) -> None:
    """``stage_spans.route`` from ``http_route``: each distinct value routed once, written
    back by one join (26,100 values for the 377,008 spans of the 20 k-session world)."""
    raws = [r for (r,) in con.execute("SELECT DISTINCT http_route FROM stage_spans "
                                      "WHERE http_route IS NOT NULL").fetchall()]
    pairs = [(raw, to) for raw in raws if (to := route(raw)) is not None]
    if not pairs:
        return
    con.register("_parallax_routes", pa.table({"raw": arrays.strings([p[0] for p in pairs]),
                                               "route": arrays.strings([p[1] for p in pairs])}))
    try:
        con.execute("UPDATE stage_spans SET route = m.route FROM _parallax_routes AS m "
                    "WHERE stage_spans.http_route = m.raw")
    finally:
        con.unregister("_parallax_routes")


def stage(con: duckdb.DuckDBPyConnection, source: Source, ctx: ParseContext,
          load_id: str) -> tuple[int, int] | None:
    """Stage the file's spans; (records read, rows staged), or None: parse it in Python."""
    if not enabled():
        return None
    text = duckdb.sqltype("VARCHAR")
    attributes = duckdb.sqltype("STRUCT(key JSON, value JSON)[]")
    functions = {  # name: (function, parameter types, return type)
        "_parallax_span_attributes": (_attributes(ctx.pseudonymize, SPAN_KEYS, True),
                                      [attributes], _struct_type(SPAN_KEYS)),
        "_parallax_resource_attributes": (_attributes(ctx.pseudonymize, RESOURCE_KEYS, False),
                                          [attributes], _struct_type(RESOURCE_KEYS)),
        "_parallax_pseudonym": (_distinct(_pseudonym(ctx.pseudonymize)), [text], text),
        "_parallax_host": (_distinct(_host), [text], text),
    }
    statements = [s for s in read_sql("models", _SQL).split(";\n") if sql_code(s)]
    params = {
        "file": str(source.path),
        "compression": "gzip" if source.gzipped else "none",
        "max_object_size": MAX_OBJECT_BYTES,
        "source": "otlp-jsonl",
        "load_id": load_id,
    }
    for name in functions:
        drop_function(con, name)
    try:
        for name, (fn, parameters, returns) in functions.items():
            con.create_function(  # type: ignore[call-overload]  # stubs want the enums
                name, fn, parameters, returns, type="arrow", null_handling="special",
                side_effects=False)
        # The route is written after the statement, from the distinct staged values
        # (_route_staged): in the statement it would be a Python call for every batch.
        con.execute(f"CREATE OR REPLACE TEMP MACRO {_ROUTE}(value) AS NULL::VARCHAR")
        con.execute("CREATE TEMP TABLE stage_spans AS SELECT * FROM spans LIMIT 0")
        rows = 0
        for stmt in statements:
            result = run_sql(con, stmt, params).fetchall()
            if sql_code(stmt).upper().startswith("INSERT"):
                rows = int(result[0][0])
        _route_staged(con, ctx.route)
    except duckdb.InterruptException:  # Ctrl-C: stop, do not parse the file again in Python
        raise KeyboardInterrupt from None
    except duckdb.Error as exc:
        log.info("%s: parsed in Python: %s", ctx.file, " ".join(str(exc).split())[:500])
        return None
    finally:
        for name in functions:
            drop_function(con, name)
        con.execute(f"DROP MACRO IF EXISTS temp.{_ROUTE}")
    if rows == 0:  # an empty file is an error, a file of empty requests is not: Python decides
        return None
    if source.on_read:
        source.on_read(source.path.stat().st_size)
    return rows, rows
