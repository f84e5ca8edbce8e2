"""Parallel parsing of a large JSON-lines file gives exactly what parsing it in one process
gives: the same rows, the same rejects at the same (absolute) line numbers."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import orjson
import pytest

from parallax.connectors.base import Source
from parallax.connectors.files import parallel
from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.errors import FormatError


def _write_collector_file(path, vendor, lines: int, bad_at: set[int]) -> None:
    doc = json.loads((vendor / "otlp_proto_examples_trace.json").read_text())
    out = []
    for i in range(1, lines + 1):
        if i in bad_at:
            out.append('{"resourceSpans": [ this line is broken')
            continue
        span = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
        span["traceId"] = f"{i:032x}"
        span["spanId"] = f"{i:016x}"
        out.append(json.dumps(doc))
    path.write_text("\n".join(out) + "\n")


def _rows(con):
    spans = con.execute("SELECT * EXCLUDE (load_id) FROM spans ORDER BY trace_id").fetchall()
    rejects = con.execute("SELECT location, reason FROM rejects ORDER BY location").fetchall()
    return spans, rejects


def test_line_ranges_cover_the_file_at_line_boundaries(tmp_path) -> None:
    f = tmp_path / "x.jsonl"
    f.write_bytes(b"".join(b"%d %s\n" % (i, b"x" * (i % 37)) for i in range(2000)))
    data = f.read_bytes()
    ranges = parallel.line_ranges(f, len(data), segment=1000)
    assert len(ranges) > 10 and ranges[0][0] == 0 and ranges[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert all(data[end - 1:end] == b"\n" for _, end in ranges)


def test_parallel_equals_sequential(con, opts, tmp_path, vendor, monkeypatch, db_path) -> None:
    f = tmp_path / "spans.jsonl"
    _write_collector_file(f, vendor, lines=3000, bad_at={1500, 2999})
    monkeypatch.setenv("PARALLAX_WORKERS", "1")
    [seq] = ingest_files(con, "traces", [f], opts)
    expected = _rows(con)
    assert expected[1] == [("line 1500", expected[1][0][1]), ("line 2999", expected[1][1][1])]

    monkeypatch.setenv("PARALLAX_WORKERS", "2")
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "SEGMENT_BYTES", 64 << 10)  # many segments
    assert parallel.use_parallel(Source(f))
    other = connect(tmp_path / "parallel.duckdb")
    [par] = ingest_files(other, "traces", [f], opts)
    assert (par.rows_read, par.rows_loaded, par.rejected) == (
        seq.rows_read, seq.rows_loaded, seq.rejected) == (3000, 2998, 2)
    assert _rows(other) == expected
    other.close()


def test_garbage_first_line_is_fatal_in_parallel_too(opts, tmp_path, monkeypatch, db_path):

    f = tmp_path / "spans.jsonl"
    f.write_text('{"resourceSpans": [ broken\n' + '{"resourceSpans": []}\n' * 5000)
    monkeypatch.setenv("PARALLAX_WORKERS", "2")
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "SEGMENT_BYTES", 4 << 10)
    con = connect(db_path)
    with pytest.raises(FormatError, match="spans.jsonl: line 1: not OTLP/JSON lines"):
        ingest_files(con, "traces", [f], opts, format="otlp-jsonl")
    con.close()


def test_ga4_parallel_equals_sequential(opts, tmp_path, monkeypatch) -> None:
    src = (Path(__file__).parents[2] / "fixtures" / "synthetic" / "ga4_events.ndjson"
           ).read_bytes().splitlines()
    lines = []
    for copy in range(60):  # 60 copies of the fixture's users, an hour apart
        for raw in src:
            rec = orjson.loads(raw)
            rec["event_timestamp"] = str(int(rec["event_timestamp"]) + copy * 3_600_000_000)
            rec["user_pseudo_id"] = f"{copy}.{rec['user_pseudo_id']}"
            lines.append(orjson.dumps(rec))
    lines.insert(500, b'{"event_name": "page_view", broken')
    f = tmp_path / "ga4.ndjson"
    f.write_bytes(b"\n".join(lines) + b"\n")
    ga4 = dataclasses.replace(opts, options={"session_param": "session_id"})

    def load(db, workers):
        monkeypatch.setenv("PARALLAX_WORKERS", str(workers))
        con = connect(tmp_path / db)
        [s] = ingest_files(con, "analytics", [f], ga4)
        tables = {t: con.execute(f"SELECT * EXCLUDE (load_id) FROM {t} ORDER BY ALL").fetchall()
                  for t in ("events", "page_views", "sessions")}
        tables["rejects"] = con.execute("SELECT location, reason FROM rejects").fetchall()
        con.close()
        return s, tables

    seq, expected = load("seq.duckdb", 1)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "SEGMENT_BYTES", 32 << 10)
    par, got = load("par.duckdb", 2)
    assert (par.rows_read, par.rows_loaded, par.rejected) == (
        seq.rows_read, seq.rows_loaded, seq.rejected) == (901, 900, 1)
    assert expected["rejects"][0][0] == "line 501"
    assert got == expected
