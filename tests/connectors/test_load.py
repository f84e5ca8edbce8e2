"""The loader's contract, checked with a toy JSON-lines span format so that failures point at
the loader, not at a vendor parser: one transaction per file, idempotent re-loads, rejects kept
with their reason, the reject-rate limit, and a ledger row for every attempt."""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime

import orjson
import pytest

from parallax.connectors.base import Chunk, FileFormat, Reject
from parallax.connectors.load import expand_paths, ingest_files
from parallax.errors import FormatError, IngestError, RejectRateError


def _parse(source, ctx):
    cols = {k: [] for k in ("trace_id", "span_id", "kind", "started_at", "is_error", "source")}
    rejects, n = [], 0
    with source.open() as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            n += 1
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                if lineno == 1:
                    raise FormatError(ctx.file, "not JSON", f"line {lineno}") from None
                rejects.append(Reject(f"line {lineno}", f"invalid JSON: {exc}", line.decode()))
                continue
            if "id" not in rec:
                rejects.append(Reject(f"line {lineno}", "missing id", line.decode()))
                continue
            cols["trace_id"].append("t1")
            cols["span_id"].append(rec["id"])
            cols["kind"].append("server")
            cols["started_at"].append(datetime(2026, 1, 1, tzinfo=UTC))
            cols["is_error"].append(False)
            cols["source"].append("toy")
    yield Chunk("spans", cols, records=n, rejects=tuple(rejects))


TOY = FileFormat("toy", "traces", "spans", lambda head: head.startswith(b"{"), _parse)


def _write(path, lines, gz=False):
    data = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _count(con, table):
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_load_then_reload_changes_nothing(con, opts, tmp_path):
    f = _write(tmp_path / "a.jsonl", ['{"id": "a"}', '{"id": "b"}', '{"id": "a"}'])
    [first] = ingest_files(con, "traces", [f], opts, format=TOY)
    assert (first.rows_read, first.rows_loaded, first.duplicates, first.rejected) == (3, 2, 1, 0)
    [again] = ingest_files(con, "traces", [f], opts, format=TOY)
    assert (again.rows_loaded, again.duplicates) == (0, 3)
    assert _count(con, "spans") == 2
    statuses = con.execute("SELECT status, rows_loaded, sha256 FROM loads "
                           "ORDER BY started_at").fetchall()
    sha = hashlib.sha256(f.read_bytes()).hexdigest()
    assert statuses == [("ok", 2, sha), ("ok", 0, sha)]


def test_gzip_is_transparent(con, opts, tmp_path):
    f = _write(tmp_path / "a.jsonl.gz", ['{"id": "a"}'], gz=True)
    [s] = ingest_files(con, "traces", [f], opts, format=TOY)
    assert s.rows_loaded == 1


def test_rejects_are_kept_with_reason(con, opts, tmp_path):
    lines = [f'{{"id": "{i}"}}' for i in range(200)] + ['{"no": 1}']
    f = _write(tmp_path / "a.jsonl", lines)
    [s] = ingest_files(con, "traces", [f], opts, format=TOY)
    assert (s.rows_loaded, s.rejected) == (200, 1)
    row = con.execute("SELECT location, reason, raw, file FROM rejects").fetchone()
    assert row == ("line 201", "missing id", '{"no": 1}\n', str(f))
    [again] = ingest_files(con, "traces", [f], opts, format=TOY)
    assert again.rejected == 1  # reported again, but the same reject is not stored twice
    assert _count(con, "rejects") == 1


def test_reject_rate_fails_whole_file(con, opts, tmp_path):
    f = _write(tmp_path / "a.jsonl", ['{"id": "a"}', '{"no": 1}', "{broken"])
    with pytest.raises(RejectRateError, match=r"a\.jsonl: 2 of 3 records rejected.*line 2"):
        ingest_files(con, "traces", [f], opts, format=TOY)
    assert _count(con, "spans") == 0 and _count(con, "rejects") == 0
    status, error, sha = con.execute("SELECT status, error, sha256 FROM loads").fetchone()
    assert status == "failed" and "2 of 3" in error
    assert sha == hashlib.sha256(f.read_bytes()).hexdigest()  # hashed beside the parsing
    assert _stage_tables(con) == []


def _stage_tables(con):
    return con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'stage_%'").fetchall()


def test_staged_rows_stay_out_of_the_database_file(con, opts, tmp_path):
    # Staged rows live in the connection's temporary tables until the merge: never written to
    # the file (then read back) only to be copied into the canonical tables.
    seen = []
    f = _write(tmp_path / "a.jsonl", ['{"id": "a"}', '{"id": "b"}'])
    ingest_files(con, "traces", [f], opts, format=TOY, in_transaction=lambda c, _: seen.extend(
        c.execute("SELECT table_name, database_name, temporary FROM duckdb_tables() "
                  "WHERE starts_with(table_name, 'stage_')").fetchall()))
    assert seen == [("stage_spans", "temp", True)]
    assert _stage_tables(con) == []


def test_stage_left_by_a_crashed_load_is_cleared(con, opts, tmp_path):
    # A process killed while staging (by a version that staged into the database file) leaves
    # a stage table behind; the next load drops it and its rows never reach the canonical
    # tables.
    con.execute("CREATE TABLE stage_spans AS SELECT * FROM spans LIMIT 0")
    con.execute("INSERT INTO stage_spans (trace_id, span_id, kind, started_at, is_error, source, "
                "load_id) VALUES ('dead', 'beef', 'server', now(), false, 'toy', 'crashed')")
    f = _write(tmp_path / "a.jsonl", ['{"id": "a"}'])
    [s] = ingest_files(con, "traces", [f], opts, format=TOY)
    assert s.rows_loaded == 1
    assert con.execute("SELECT span_id FROM spans").fetchall() == [("a",)]
    assert _stage_tables(con) == []


def test_format_error_leaves_nothing(con, opts, tmp_path):
    f = _write(tmp_path / "a.jsonl", ["{broken"])
    with pytest.raises(FormatError, match=r"a\.jsonl: line 1: not JSON"):
        ingest_files(con, "traces", [f], opts, format=TOY)
    assert _count(con, "spans") == 0


def test_truncated_gzip_is_one_clear_error(con, opts, tmp_path):
    f = tmp_path / "a.jsonl.gz"
    f.write_bytes(gzip.compress(b'{"id": "a"}\n' * 1000)[:40])
    with pytest.raises(FormatError, match="a.jsonl.gz: cannot read file"):
        ingest_files(con, "traces", [f], opts, format=TOY)
    assert _count(con, "spans") == 0


def test_expand_paths_globs_and_folders(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    a = _write(tmp_path / "d" / "a.json", ["{}"])
    b = _write(tmp_path / "d" / "sub" / "b.json", ["{}"])
    _write(tmp_path / "d" / ".hidden", ["{}"])
    assert expand_paths([str(tmp_path / "d")]) == [a, b]
    assert expand_paths([str(tmp_path / "d" / "*.json"), str(a)]) == [a]
    with pytest.raises(IngestError, match="no such file"):
        expand_paths([str(tmp_path / "missing*.json")])


def test_label_and_in_transaction_hook_commit_with_the_rows(con, opts, tmp_path):
    """What pull connectors rely on: their cursor commits with the rows, or neither does."""
    con.execute("CREATE TABLE cursor_state (path VARCHAR)")
    f = _write(tmp_path / "page.jsonl", ['{"id": "a"}'])

    def save_cursor(c, path):
        c.execute("INSERT INTO cursor_state VALUES (?)", [path.name])

    [s] = ingest_files(con, "traces", [f], opts, format=TOY,
                       labels={f: "vendor:page 1"}, in_transaction=save_cursor)
    assert s.file == "vendor:page 1"
    assert con.execute("SELECT file FROM loads").fetchall() == [("vendor:page 1",)]
    assert _count(con, "cursor_state") == 1

    g = _write(tmp_path / "page2.jsonl", ['{"id": "b"}'])

    def fail(c, path):
        c.execute("INSERT INTO cursor_state VALUES (?)", [path.name])
        raise IngestError("cursor store failed")

    with pytest.raises(IngestError):
        ingest_files(con, "traces", [g], opts, format=TOY, in_transaction=fail)
    assert _count(con, "cursor_state") == 1 and _count(con, "spans") == 1
