"""Query results out: a terminal table, JSON, CSV or Parquet, to stdout or a file (a file
through ``parallax.files.write_whole``, the one way results and pages alike are written).

One place for every command that returns rows (``query``, ``sql``). Parquet needs ``--out``
(it is binary); the others go to stdout unless a file is named.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import orjson

from parallax.db import fetch_dicts
from parallax.errors import ConfigError, QueryError
from parallax.files import write_whole
from parallax.terminal import json_bytes, safe_text

__all__ = ["FORMATS", "write_result"]

FORMATS = ("table", "json", "csv", "parquet")


def write_result(rel: duckdb.DuckDBPyRelation, fmt: str, out: Path | None) -> int:
    """Write the relation's rows; return how many there were."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if fmt == "parquet" and out is None:
        raise ConfigError("--format parquet writes a binary file: add --out FILE.parquet")
    if fmt in ("json", "table"):  # rows as Python values: no Arrow (nor numpy) to import
        try:
            columns, rows = fetch_dicts(rel)
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {str(exc).strip().splitlines()[0]}") from None
        if fmt == "table" and out is None:
            from parallax.commands.console import print_rows

            print_rows(columns, [tuple(r.values()) for r in rows])
            return len(rows)
        _write(json_bytes(rows) + b"\n", out)
        return len(rows)
    try:
        table = rel.to_arrow_table()
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {str(exc).strip().splitlines()[0]}") from None
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, out)
        return table.num_rows
    import io

    import pyarrow.csv as pacsv

    buf = io.BytesIO()
    pacsv.write_csv(_flat_for_csv(table), buf)
    data = buf.getvalue()
    if out is None and sys.stdout.isatty():  # for eyes, not a CSV reader: nothing to act on
        data = safe_text(data.decode("utf-8", "replace")).encode()
    _write(data, out)
    return table.num_rows


def _write(data: bytes, out: Path | None) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_whole(Path(out), data, "--out")


def _flat_for_csv(table):
    """CSV has no nested values: lists become '; '-joined text, structs their JSON."""
    import pyarrow as pa

    columns = []
    for col in table.columns:
        if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            col = pa.array(["; ".join(map(str, v)) if v is not None else None
                            for v in col.to_pylist()], pa.string())
        elif pa.types.is_struct(col.type) or pa.types.is_map(col.type):
            col = pa.array([None if v is None else orjson.dumps(v, default=str).decode()
                            for v in col.to_pylist()], pa.string())
        columns.append(col)
    return pa.table(columns, names=table.column_names)
