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
  fragment and ``url.query`` is left out. (DuckDB's list lambdas run this several times slower.)
* ``_parallax_pseudonym``: a user id's pseudonym; ``_parallax_route``: the route normalisation;
  ``_parallax_host``: ``urlsplit(url).hostname`` for a client span's peer.

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

from parallax.connectors.base import ParseContext, Source
from parallax.connectors.privacy import FREE_TEXT_KEYS, PII_ATTRIBUTE_KEYS, is_credential
from parallax.db import drop_function, read_sql, sql_code, sql_params

__all__ = ["MAX_OBJECT_BYTES", "RESOURCE_KEYS", "SPAN_KEYS", "enabled", "stage"]

log = logging.getLogger("parallax.ingest")

# The longest line DuckDB reads (one export request); a longer one falls back to Python.
MAX_OBJECT_BYTES = 16 << 20
_SQL = "stage/otlp_jsonl.sql"

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
_URL_KEYS = pa.array(['"url.full"', '"http.url"', '"http.target"'])

# The two value shapes handled by kernels ('"' counted: a string without a quote inside).
_STRING_PREFIX, _STRING_SUFFIX = '{"stringValue":"', '"}'
_INT = r'^\{"intValue":(?:"(?:0|-?[1-9][0-9]{0,17})"|(?:0|-?[1-9][0-9]{0,17}))\}$'
_BOOLS = pa.array(['{"boolValue":true}', '{"boolValue":false}'], pa.string())
# A NaN or infinite float is carried as its repr (not JSON: never taken for a value of another
# type), stored as null as orjson writes it, and falls back where a column would read it.
_NON_FINITE = ("nan", "inf", "-inf")
_NON_FINITE_TEXT = pa.array(_NON_FINITE, pa.string())


def enabled() -> bool:
    """False when ``$PARALLAX_NATIVE`` is 0/false/no/off."""
    return os.environ.get("PARALLAX_NATIVE", "1").strip().lower() not in ("0", "false", "no", "off")


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(mask, min_count=0).as_py())


def _all(mask: pa.Array) -> bool:
    return bool(pc.all(mask, min_count=0).as_py())


def _whole(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _distinct(fn: Callable[[str], Any]) -> Callable[[pa.Array], pa.Array]:
    """A vectorised function: ``fn`` on each distinct value of the batch, mapped back."""

    def apply(values: pa.Array | pa.ChunkedArray) -> pa.Array:
        values = _whole(values)
        distinct = pc.unique(values)
        mapped = pa.array([None if v is None else fn(v) for v in distinct.to_pylist()],
                          pa.string())
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
    mapped = pa.array([fn(v) for v in distinct.to_pylist()], pa.string())
    return pc.take(mapped, pc.index_in(values, value_set=distinct))


def _pseudonym(pseudonymize: Callable[[Any], str | None]) -> Callable[[str], str | None]:
    """JSON text of a value → its pseudonym, as ``pseudonymize(value)`` (str() of any type)."""
    return lambda text: pseudonymize(orjson.loads(text))


class _Failed(ValueError):
    """Something the native path does not map as Python does: the statement fails."""


def _attributes(pseudonymize: Callable[[Any], str | None], keys_read: Sequence[str],
                span: bool) -> Callable[[pa.Array], pa.Array]:
    """The function behind ``_parallax_span_attributes`` / ``_parallax_resource_attributes``:
    a batch of attribute lists → STRUCT(json, one field per key read)."""
    from parallax.connectors.files.otlp import attribute_value

    personal_keys = pa.array(sorted(json.dumps(k) for k in PII_ATTRIBUTE_KEYS), pa.string())
    free_text_keys = pa.array(sorted(json.dumps(k) for k in FREE_TEXT_KEYS), pa.string())
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

    def personal(text: str) -> str:
        if text == "null":  # None stays None
            return "null"
        p = pseudonymize(float(text) if text in _NON_FINITE else orjson.loads(text))
        return "null" if p is None else f'"{p}"'

    def apply(lists: pa.Array | pa.ChunkedArray) -> pa.Array:
        lists = _whole(lists)
        n = len(lists)
        keys, raw = lists.flatten().flatten()
        if keys.null_count or not _all(pc.starts_with(keys, '"')):
            raise _Failed("otlp-native: an attribute without a string key")
        parents = pc.list_parent_indices(lists)
        codes = pc.dictionary_encode(keys)
        parent_array = parents.to_numpy(zero_copy_only=False)
        code_array = codes.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        width = len(codes.dictionary)
        pairs = parent_array * width + code_array  # (span, key) as one number
        if len(pairs) and (np.bincount(pairs).max() > 1 if n * width <= 1 << 22
                           else len(np.unique(pairs)) < len(pairs)):
            # Python keeps the last value of a repeated key, at the first one's place
            raise _Failed("otlp-native: an attribute key given twice")

        non_finite = False  # a NaN or infinite float, carried by its repr (see _NON_FINITE)
        # Values → JSON text of the Python value: a string's literal is the raw text without
        # its first 15 and last characters (ASCII, so cut as bytes); ints and bools by kernels;
        # any other shape by the Python mapping, once per distinct raw value.
        is_string = pc.and_(pc.and_(pc.starts_with(raw, _STRING_PREFIX),
                                    pc.ends_with(raw, _STRING_SUFFIX)),
                            pc.equal(pc.count_substring(raw, '"'), 4))
        is_string = pc.fill_null(is_string, False)
        rest = pc.invert(is_string)
        if _all(is_string):
            values = _text(pc.binary_slice(raw.cast(pa.binary()), 15, -1))
        else:  # cut only what has the shape: elsewhere byte 15 may fall inside a character
            values = pc.replace_with_mask(
                pa.nulls(len(raw), pa.string()), is_string,
                _text(pc.binary_slice(pc.filter(raw, is_string).cast(pa.binary()), 15, -1)))
        if _any(rest):
            others = pc.filter(raw, rest)
            is_int = pc.fill_null(pc.match_substring_regex(others, _INT), False)
            decoded = pc.if_else(pc.is_null(others), pa.scalar("null"),
                                 pc.if_else(pc.is_in(others, value_set=_BOOLS),
                                            pc.utf8_slice_codeunits(others, 13, -1),
                                            pa.scalar(None, pa.string())))
            if _any(is_int):  # the shape is ASCII throughout: cut as bytes
                ints = _text(pc.binary_slice(pc.filter(others, is_int).cast(pa.binary()), 12, -1))
                decoded = pc.replace_with_mask(decoded, is_int, pc.utf8_trim(ints, '"'))
            unusual = pc.is_null(decoded)
            if _any(unusual):
                mapped = _map_distinct(pc.filter(others, unusual), decode)
                non_finite = _any(pc.is_in(mapped, value_set=_NON_FINITE_TEXT))
                decoded = pc.replace_with_mask(decoded, unusual, mapped)
            values = pc.replace_with_mask(values, rest, decoded)

        # The values the columns read, before they are scrubbed: one take for all keys.
        slot_of_code = np.full(width, -1, np.int64)
        for code, key in enumerate(codes.dictionary.to_pylist()):
            slot_of_code[code] = slot.get(key, -1)
        slots = slot_of_code[code_array]
        hit = slots >= 0
        at = np.full(len(wanted) * n, -1, np.int64)
        at[slots[hit] * n + parent_array[hit]] = np.flatnonzero(hit)
        taken = pc.take(values, pa.array(at, mask=at < 0))
        if non_finite and _any(pc.is_in(taken, value_set=_NON_FINITE_TEXT)):
            raise _Failed("otlp-native: a NaN or infinite value in a key a column reads")
        out = [None, *(taken.slice(i * n, n) for i in range(len(wanted)))]

        # The stored object: personal values pseudonymised, NaN null, URLs cut, no url.query;
        # free text redacted and credential headers dropped (spans.SpanColumns.add, the same).
        mask = pc.is_in(keys, value_set=personal_keys)
        if _any(mask):
            values = pc.replace_with_mask(values, mask,
                                          _map_distinct(pc.filter(values, mask), personal))
        if non_finite:
            values = pc.if_else(pc.is_in(values, value_set=_NON_FINITE_TEXT),
                                pa.scalar("null"), values)
        lengths = pc.fill_null(pc.list_value_length(lists), 0)
        per_list = lengths.to_numpy(zero_copy_only=False)
        if span:
            mask = pc.is_in(keys, value_set=_URL_KEYS)
            if _any(mask):
                urls = pc.filter(values, mask)
                cut = pc.match_substring_regex(urls, "[?#]")
                if _any(cut):  # string literals cut at the first '?' or '#'
                    mask = pc.replace_with_mask(mask, mask, cut)
                    values = pc.replace_with_mask(
                        values, mask, _map_distinct(pc.filter(urls, cut), _cut_url))
            mask = pc.is_in(keys, value_set=free_text_keys)
            if _any(mask):  # a statement or message quoting a person: redacted text
                values = pc.replace_with_mask(values, mask,
                                              _map_distinct(pc.filter(values, mask), free_text))
            keep = pc.not_equal(keys, '"url.query"')
            credentials = [i for i, k in enumerate(codes.dictionary.to_pylist())
                           if is_credential(json.loads(k))]
            if credentials:  # captured credential headers: never stored
                keep = pc.and_(keep, pc.invert(pc.is_in(codes.indices,
                                                        value_set=pa.array(credentials,
                                                                           codes.indices.type))))
            if not _all(keep):
                keys, values = pc.filter(keys, keep), pc.filter(values, keep)
                per_list = np.bincount(pc.filter(parents, keep).to_numpy(), minlength=n)
        offsets = np.concatenate([[0], np.cumsum(per_list, dtype=np.int64)])
        entries = pc.binary_join_element_wise(keys, values, ":")
        joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), entries), ",")
        objects = pc.cast(pc.binary_join_element_wise("{", joined, "}", ""), pa.string())
        out[0] = pc.if_else(pc.greater(lengths, 0), objects, pa.scalar(None, pa.string()))
        return pa.StructArray.from_arrays(out, fields=fields)

    return apply


def _struct_type(keys_read: Sequence[str]) -> duckdb.sqltypes.DuckDBPyType:
    # the object is JSON already (written from JSON text): stored without another parse
    fields = ", ".join(['"json" JSON', *(f'"{k}" VARCHAR' for k in keys_read)])
    return duckdb.sqltype(f"STRUCT({fields})")


def _host(url: str) -> str | None:
    return urlsplit(url).hostname  # a ValueError (bad IPv6 literal) fails the statement


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
        "_parallax_route": (_distinct(ctx.route), [text], text),
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
        con.execute("CREATE TEMP TABLE stage_spans AS SELECT * FROM spans LIMIT 0")
        rows = 0
        for stmt in statements:
            used = {k: v for k, v in params.items() if k in sql_params(stmt)}
            result = con.execute(stmt, used).fetchall()
            if sql_code(stmt).upper().startswith("INSERT"):
                rows = int(result[0][0])
    except duckdb.InterruptException:  # Ctrl-C: stop, do not parse the file again in Python
        raise KeyboardInterrupt from None
    except duckdb.Error as exc:
        log.info("%s: parsed in Python: %s", ctx.file, " ".join(str(exc).split())[:500])
        return None
    finally:
        for name in functions:
            drop_function(con, name)
    if rows == 0:  # an empty file is an error, a file of empty requests is not: Python decides
        return None
    if source.on_read:
        source.on_read(source.path.stat().st_size)
    return rows, rows
