"""The native stage of ``ga4-ndjson``: DuckDB reads the export and maps the events into
``stage_events``, ``stage_page_views`` and ``stage_sessions`` (``models/stage/ga4_ndjson.sql``),
on every core.

It is the same mapping as the Python parser (``ga4.py``, whose docstring holds the rules),
written in SQL; the two are kept equal by a table-driven test that runs every fixture through
both. Python keeps what SQL cannot do, applied to each batch's *distinct* values (Arrow
``dictionary_encode``; the pseudonymiser and the route normaliser cache across batches): the
keyed pseudonym of user_pseudo_id, user_id and personal params, and the route normalisation of
page_location. They run inside the statement as vectorised functions, so a raw identifier
never lands in any table, not even a temporary one. The event key is hashed in Python too,
over exactly the bytes the Python path hashes (the SQL writes the material as orjson does
where that is plain text), so either path's keys meet in one database.

Any record the Python path would reject (bad JSON, no event_name, a timestamp that is not µs,
an int_value that is not an integer, …) and any value in a shape the SQL does not decode
exactly (an id padded with spaces or written as a double, a number as text other than plainly,
a param key given twice, …) makes the statement fail. Then ``stage`` returns None and the
loader parses the whole file in Python, which reports each reject with its line: the native
path never decides a reject. ``PARALLAX_NATIVE=0`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from parallax.connectors.arrays import strings  # pa.array would import pandas (arrays.py)
from parallax.connectors.base import ParseContext, Source
from parallax.connectors.files.analytics_rows import dumps_json, loads_exact, mac_key
from parallax.connectors.files.ga4_fields import LOAD_PARAMS, SESSION_PARAM, TRACE_PARAM
from parallax.connectors.privacy import PII_ATTRIBUTE_KEYS
from parallax.db import drop_function, read_sql, run_sql, sql_code

__all__ = ["MAX_OBJECT_BYTES", "enabled", "stage", "stage_params"]

log = logging.getLogger("parallax.ingest")

NAME = "ga4-ndjson"
# The longest line DuckDB reads (one event); a longer one falls back to Python.
MAX_OBJECT_BYTES = 16 << 20
_SQL = "stage/ga4_ndjson.sql"
_TABLES = ("events", "page_views", "sessions")


def enabled() -> bool:
    """False when ``$PARALLAX_NATIVE`` is 0/false/no/off."""
    return os.environ.get("PARALLAX_NATIVE", "1").strip().lower() not in ("0", "false", "no", "off")


def _distinct(fn: Callable[[str], Any]) -> Callable[[pa.Array], pa.Array]:
    """A vectorised function: ``fn`` on each distinct value of the batch, mapped back."""

    def apply(values: pa.Array | pa.ChunkedArray) -> pa.Array:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        encoded = values.dictionary_encode()  # one hash pass: the distinct values + indices
        mapped = strings([fn(v) for v in encoded.dictionary.to_pylist()])
        return pc.take(mapped, encoded.indices)  # a NULL index (NULL value) gives NULL

    return apply


def _event_keys(key: bytes) -> Callable[..., pa.Array]:
    """``analytics_rows.event_key`` of each event: [upid, ts, name, *batch] (+ the params
    when there is no batch field or no user_pseudo_id) hashed as the Python path hashes it.
    The SQL writes that material as orjson writes it where that is plain text (``material``);
    elsewhere (NULL) it is made here from the columns."""
    blake2b = hashlib.blake2b

    def apply(materials: pa.Array, upids: pa.Array, tss: pa.Array, names: pa.Array,
              b0s: pa.Array, b1s: pa.Array, b2s: pa.Array, paramss: pa.Array) -> pa.Array:
        texts = materials.to_pylist()
        if None in texts:
            columns = [c.to_pylist() for c in (upids, tss, names, b0s, b1s, b2s, paramss)]
            for i, text in enumerate(texts):
                if text is None:
                    upid, ts, name, b0, b1, b2, params = (c[i] for c in columns)
                    material = [upid, ts, name, b0, b1, b2]
                    if params is not None:
                        material.append(loads_exact(params))
                    texts[i] = dumps_json(material, sort=True)
        return strings([blake2b(t.encode() if isinstance(t, str) else t, key=key,
                                digest_size=16).hexdigest() for t in texts])

    return apply


def stage_params(ctx: ParseContext, load_id: str, *, file: str = "", compression: str = "none",
                 max_object_size: int = 0) -> dict[str, object]:
    """The stage SQL's parameters for a load with ``ctx``'s options (Spark's lake ingest binds
    them too, with no file: Spark reads it)."""
    opts = ctx.options
    load_params = [opts["load_param"]] if opts.get("load_param") else LOAD_PARAMS
    return {
        "file": file,
        "compression": compression,
        "max_object_size": max_object_size,
        "pii": [json.dumps(k) for k in sorted(PII_ATTRIBUTE_KEYS)],  # keys as JSON text
        "session_param": opts.get("session_param") or SESSION_PARAM,
        "trace_param": opts.get("trace_param") or TRACE_PARAM,
        "load_params": list(load_params),
        "source": NAME,
        "load_id": load_id,
    }


def stage(con: duckdb.DuckDBPyConnection, source: Source, ctx: ParseContext,
          load_id: str) -> tuple[int, Mapping[str, int]] | None:
    """Stage the file's events, page views and sessions; (records read, rows staged per
    table), or None: parse it in Python."""
    if not enabled() or ctx.fields:  # --field: the Python path refuses it with its message
        return None
    varchar, bigint = duckdb.sqltype("VARCHAR"), duckdb.sqltype("BIGINT")
    functions = {
        "_parallax_pseudonym": (_distinct(ctx.pseudonymize), [varchar]),
        "_parallax_route": (_distinct(ctx.route), [varchar]),
        "_parallax_event_key": (_event_keys(mac_key(ctx.pseudonymize.key)),
                                [varchar, varchar, bigint, varchar, bigint, bigint, bigint,
                                 varchar]),
    }
    params = stage_params(ctx, load_id, file=str(source.path),
                          compression="gzip" if source.gzipped else "none",
                          max_object_size=MAX_OBJECT_BYTES)
    statements = [s for s in read_sql("models", _SQL).split(";\n") if sql_code(s)]
    for name in functions:
        drop_function(con, name)
    try:
        for name, (fn, args) in functions.items():
            # "special": NULL arguments are passed on (an event key's params are NULL when
            # the batch fields identify it), not answered with NULL
            con.create_function(  # type: ignore[call-overload]  # stubs want the enums
                name, fn, args, varchar, type="arrow", side_effects=False,
                null_handling="special")
        for stmt in statements:
            run_sql(con, stmt, params).fetchall()
        staged = {t: con.execute(f"SELECT count(*) FROM stage_{t}").fetchall()[0][0]
                  for t in _TABLES}
    except duckdb.Error as exc:
        log.info("%s: parsed in Python: %s", ctx.file, str(exc).strip().splitlines()[0])
        return None
    finally:
        for name in functions:
            drop_function(con, name)
    if staged["events"] == 0:  # an empty file is an error: Python names it
        return None
    if source.on_read:
        source.on_read(source.path.stat().st_size)
    return staged["events"], staged
