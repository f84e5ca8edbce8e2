"""``ingest feedback … --to-parquet``, without Spark: the (1,000-session) demo world's survey
export lands in a lake as local ingest + export put it (every column but the load id), its
rejected row kept with the reason; loading it again changes no file; a response sent again in a
later file is merged as local ingest merges it; the vendors' own samples land too; a bad file
is refused in one line and leaves the lake as it was."""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from parallax.cli import run
from parallax.config import Config
from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.errors import IngestError
from parallax.lake import export_parquet
from parallax.lake_feedback import to_parquet
from parallax.options import ingest_options


def _rows(lake: Path, table: str = "feedback") -> list[tuple]:
    """A lake table as DuckDB reads it (day partition included), the load id left out."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute(
        "SELECT * EXCLUDE (load_id) FROM read_parquet(?, hive_partitioning = true, "
        "union_by_name = true) ORDER BY ALL",
        [str(lake / table / "**" / "*.parquet")]).fetchall()


def _types(lake: Path, table: str = "feedback") -> list[tuple]:
    return [r[:2] for r in duckdb.connect().execute(
        "DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = true)",
        [str(lake / table / "**" / "*.parquet")]).fetchall()]


def _files(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns)
                  for p in folder.rglob("*") if p.is_file())


def _assert_same_feedback(reference: Path, mapped: Path) -> None:
    assert _types(reference) == _types(mapped)
    want, got = _rows(reference), _rows(mapped)
    assert got == want


def _exported(loads: list[list[Path]], opts, tmp_path: Path) -> Path:
    """Local ingest of ``loads`` (one ingest each, in turn) into a new database, exported:
    the lake --to-parquet must equal."""
    con = connect(tmp_path / "local.duckdb")
    try:
        for files in loads:
            ingest_files(con, "feedback", files, opts)
        export_parquet(con, tmp_path / "exported")
    finally:
        con.close()
    return tmp_path / "exported"


@dataclass(frozen=True)
class Lakes:
    root: Path
    export: Path  # the survey export of the demo world
    key_of: Path  # the database whose key local ingest used


@pytest.fixture(scope="module")
def lakes(small_demo, tmp_path_factory):
    """The reference lake (local ingest, then export) and one exported without feedback, the
    survey export then added with --to-parquet (its route templates are the lake's)."""
    root = tmp_path_factory.mktemp("lake-feedback")
    shutil.copy(small_demo, root / "rest.duckdb")
    rest = connect(root / "rest.duckdb")
    duck = connect(small_demo, read_only=True)
    try:
        export_parquet(duck, root / "reference")
        rest.execute("DELETE FROM feedback")
        export_parquet(rest, root / "lake")
    finally:
        duck.close()
        rest.close()
    export = small_demo.parent / "files" / "feedback" / "qualtrics_export.csv"
    load = to_parquet([export], root / "lake", ingest_options(Config(), small_demo))
    assert not load.created and load.added > 100 and load.rejected == 1
    return Lakes(root, export, small_demo)


def test_feedback_lands_as_local_ingest_and_export_put_it(lakes):
    _assert_same_feedback(lakes.root / "reference", lakes.root / "lake")
    reference = {p.name for p in (lakes.root / "reference" / "feedback").iterdir()}
    assert {p.name for p in (lakes.root / "lake" / "feedback").iterdir()} == reference
    assert len(_rows(lakes.root / "lake")) > 100


def test_rejected_rows_are_kept_with_the_reason(lakes, small_demo):
    duck = duckdb.connect(str(small_demo), read_only=True)
    want = duck.execute("SELECT location, reason, raw FROM rejects "
                        "WHERE file LIKE '%qualtrics_export.csv' ORDER BY ALL").fetchall()
    got = duckdb.connect().execute(
        "SELECT location, reason, raw FROM read_parquet(?) ORDER BY ALL",
        [str(lakes.root / "lake" / "rejects" / "*.parquet")]).fetchall()
    assert got == want and len(want) == 1
    assert "survey preview" in got[0][1]


def test_the_load_is_in_the_lakes_ledger_as_local_ingest_records_it(lakes, small_demo):
    """One file added to DIR/loads: local ingest's own row for the survey export (the lake's
    copy of the database's ledger, exported, holds the database's)."""
    columns = "source, kind, file, sha256, format, status, error, rows_read, rows_loaded, " \
              "rows_duplicate, rows_rejected"
    added, = (lakes.root / "lake" / "loads").glob("load-*.parquet")
    got = duckdb.connect().execute(f"SELECT {columns} FROM read_parquet(?)",
                                   [str(added)]).fetchall()
    duck = duckdb.connect(str(small_demo), read_only=True)
    want = duck.execute(f"SELECT {columns} FROM loads WHERE file LIKE "
                        "'%qualtrics_export.csv'").fetchall()
    assert got == want and want[0][8] > 100


def test_loading_the_file_again_changes_no_file(lakes):
    before = _files(lakes.root / "lake")
    again = to_parquet([lakes.export], lakes.root / "lake",
                       ingest_options(Config(), lakes.key_of))
    assert again.summaries[0].rows_read > 100
    assert (again.added, again.days, again.rejected) == (0, 0, 0)
    assert _files(lakes.root / "lake") == before
    assert not [p for p in lakes.root.iterdir() if p.name.endswith(".partial")]


def _split(export: Path, folder: Path) -> tuple[Path, Path, set[str]]:
    """The export cut in two overlapping files (its three header rows in each): responses
    60-99 are in both, the second copy with another answer text."""
    lines = list(csv.reader(io.StringIO(export.read_text(encoding="utf-8"))))
    head, body = lines[:3], lines[3:]
    text = lines[0].index("Q2")
    resent = [list(r) for r in body[60:100]]
    for row in resent:
        row[text] = "sent again, changed"
    first, second = folder / "a.csv", folder / "b.csv"
    for path, rows in ((first, body[:100]), (second, resent + body[100:160])):
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(head + rows)
        path.write_text(out.getvalue(), encoding="utf-8")
    return first, second, {r[lines[0].index("ResponseId")] for r in resent}


def test_a_response_sent_again_is_merged_as_local_ingest_merges_it(lakes, tmp_path):
    first, second, resent = _split(lakes.export, tmp_path)
    opts = ingest_options(Config(), lakes.key_of)
    exported = _exported([[first], [second]], opts, tmp_path)
    for file in (first, second):
        to_parquet([file], tmp_path / "lake", opts)
    _assert_same_feedback(exported, tmp_path / "lake")
    kept = duckdb.connect().execute(
        "SELECT count(*), count(*) FILTER (verbatim = 'sent again, changed') FROM "
        "read_parquet(?) WHERE feedback_id IN (SELECT unnest(?))",
        [str(tmp_path / "lake" / "feedback" / "**" / "*.parquet"), sorted(resent)]).fetchone()
    assert kept == (len(resent), 0)  # once each, the first copy's answer


# a Qualtrics sample without an NPS question is read with its score column named
_RATING = ({"score": "Q1"}, {"metric": "rating", "timezone": "Europe/Zurich"})


@pytest.mark.parametrize(("files", "given"), [
    (["qualtrics_export_sample.csv"], _RATING),
    (["qualtrics_legacy_sample.csv"], _RATING),
    (["surveymonkey_318754279_responses_bulk.json", "surveymonkey_318754279_details.json"],
     ({}, {})),
])
def test_the_vendors_own_samples_land_as_local_ingest_puts_them(vendor, tmp_path, files, given):
    folder = tmp_path / "export"
    folder.mkdir()
    for name in files:  # the details beside the responses, under the name SurveyMonkey gives
        shutil.copy(vendor / name, folder / name.replace("surveymonkey_318754279_", ""))
    fields, options = given
    opts = ingest_options(Config(), tmp_path / "local.duckdb", fields, options)
    exported = _exported([sorted(folder.iterdir())], opts, tmp_path)
    load = to_parquet(sorted(folder.iterdir()), tmp_path / "lake", opts)
    assert load.created and load.added >= 1
    _assert_same_feedback(exported, tmp_path / "lake")


def test_a_bad_file_writes_nothing(lakes, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("feedback_id,submitted_at,nps\n" +
                   "".join(f"r{i},not a time,9\n" for i in range(20)))
    before = _files(lakes.root / "lake")
    with pytest.raises(IngestError, match="bad.csv") as err:
        # a good file first: all or nothing over the files of one command
        to_parquet([lakes.export, bad], lakes.root / "lake",
                   ingest_options(Config(), lakes.key_of))
    assert "\n" not in str(err.value)
    assert _files(lakes.root / "lake") == before
    with pytest.raises(IngestError):
        to_parquet([bad], tmp_path / "new-lake", ingest_options(Config(), lakes.key_of))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]  # no lake, no staging


def _copy_lake(lakes, into: Path) -> Path:
    shutil.copytree(lakes.root / "lake", into / "lake")
    return into / "lake"


def test_the_command_loads_in_one_line_and_refuses_in_one_line(lakes, isolated, capsys):
    """Exit codes and messages: 0 and one line loaded; 4 and one line for a bad file (the lake
    unchanged); 2 and one line for --spark-master, which this load does not use."""
    lake = _copy_lake(lakes, isolated)
    extra = isolated / "more.csv"
    extra.write_text("feedback_id,submitted_at,nps,page_url\n"
                     "n1,2026-10-05T10:00:00Z,3,https://shop.example.com/cart\n"
                     "n2,2026-10-06T11:00:00Z,10,https://shop.example.com/\n")
    assert run(["ingest", "feedback", str(extra), "--to-parquet", str(lake)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == (f"added to {lake}: 2 new responses of 2 in 1 file(s); 2 day "
                       f"partition(s) rewritten; 0 rejected row(s) added to {lake / 'rejects'}")
    assert {r[0] for r in _rows(lake)} >= {"n1", "n2"}

    bad = isolated / "bad.csv"
    bad.write_text("feedback_id,submitted_at,nps\n" +
                   "".join(f"r{i},not a time,9\n" for i in range(20)))
    before = _files(lake)
    assert run(["ingest", "feedback", str(bad), "--to-parquet", str(lake)]) == 4
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.csv" in err
    assert _files(lake) == before

    assert run(["ingest", "feedback", str(extra), "--to-parquet", str(lake),
                "--spark-master", "local[2]"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "runs locally, without Spark" in err
    assert _files(lake) == before


def test_ndjson_answers_without_a_time_land_in_the_undated_partition(tmp_path):
    """Generic NDJSON over two files: an answer without submitted_at goes to the partition of
    rows without a day (as export writes it), which the second file rewrites."""
    first, second = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    first.write_text(
        '{"id": "a1", "timestamp": "2026-10-05T10:00:00Z", "nps": 3, "user_id": "u1"}\n'
        '{"id": "a2", "nps": 9, "context": {"page": "https://shop.example.com/cart"}}\n')
    second.write_text(
        '{"id": "a2", "nps": 0}\n'
        '{"id": "b1", "nps": 7, "comment": "fine"}\n')
    opts = ingest_options(Config(), tmp_path / "local.duckdb")
    exported = _exported([[first], [second]], opts, tmp_path)
    loads = [to_parquet([file], tmp_path / "lake", opts) for file in (first, second)]
    assert [(x.added, x.days) for x in loads] == [(2, 2), (1, 1)]
    _assert_same_feedback(exported, tmp_path / "lake")
    undated = tmp_path / "lake" / "feedback" / "day=__HIVE_DEFAULT_PARTITION__"
    assert len(duckdb.connect().execute("SELECT * FROM read_parquet(?)",
                                        [str(undated / "*.parquet")]).fetchall()) == 2
