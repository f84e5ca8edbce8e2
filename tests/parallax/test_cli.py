"""The CLI end to end through its error boundary (`run`), on real files and a real DB."""

from __future__ import annotations

import duckdb
import pytest

from parallax.cli import run
from parallax.db import connect


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PARALLAX_DB", raising=False)
    monkeypatch.delenv("PARALLAX_CONFIG", raising=False)
    monkeypatch.setenv("PARALLAX_KEY", "cli-test-key-0123456789abcdef")
    monkeypatch.setenv("COLUMNS", "200")


def test_help_lists_commands(capsys) -> None:
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    assert "ingest" in out and "loads" in out


def test_bad_file_one_line_nonzero_exit_and_nothing_stored(tmp_path, capsys) -> None:
    bad = tmp_path / "garbage.json"
    bad.write_text("this is not a trace file\n")
    code = run(["--db", "x.duckdb", "ingest", "traces", str(bad)])
    err = capsys.readouterr().err.strip()
    assert code == 4
    assert err.count("\n") == 0 and "garbage.json" in err and err.startswith("parallax: error:")
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    assert con.execute("SELECT count(*) FROM spans").fetchone() == (0,)
    assert con.execute("SELECT status FROM loads").fetchall() == [("failed",)]


def test_missing_file_and_bad_field(capsys) -> None:
    assert run(["ingest", "traces", "nope/*.json"]) == 4
    assert "nope/*.json: no such file" in capsys.readouterr().err
    assert run(["ingest", "feedback", "--field", "score", __file__]) == 2
    assert "expected canonical=column" in capsys.readouterr().err


def test_default_db_in_cwd_and_env_override(tmp_path, monkeypatch, vendor, capsys) -> None:
    assert run(["ingest", "traces", str(vendor / "zipkin_v2_yelp.json")]) == 0
    assert run(["loads"]) == 0
    assert (tmp_path / "parallax.duckdb").exists()
    monkeypatch.setenv("PARALLAX_DB", str(tmp_path / "env.duckdb"))
    assert run(["ingest", "traces", str(vendor / "zipkin_v2_yelp.json")]) == 0
    assert run(["loads", "--rejects"]) == 0
    assert (tmp_path / "env.duckdb").exists()


@pytest.mark.parametrize("argv", [["loads"], ["findings"], ["overview"], ["routes"],
                                  ["drill", "route", "/checkout"], ["annotate", "list"],
                                  ["incident", "x"], ["query", "loads"], ["score"]])
def test_commands_that_load_nothing_refuse_a_missing_database(tmp_path, argv, capsys) -> None:
    """A mistyped --db: one line naming it, no folder and no empty database left behind."""
    db = tmp_path / "typo" / "parallax.duckdb"
    assert run(["--db", str(db), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{db}: no such database" in err
    assert not (tmp_path / "typo").exists()


def test_usage_error_exit_code(capsys) -> None:
    assert run(["ingest", "nonsense"]) == 2


def test_ingest_twice_reports_duplicates_skipped(vendor, capsys) -> None:
    sample = str(vendor / "zipkin_v2_yelp.json")
    assert run(["ingest", "traces", sample]) == 0
    first = capsys.readouterr().out
    assert "zipkin" in first and "16 rows loaded from 1 file(s); 0 duplicates skipped" in first
    assert run(["ingest", "traces", sample]) == 0
    assert "0 rows loaded from 1 file(s); 16 duplicates skipped" in capsys.readouterr().out


def test_feedback_field_and_option_reach_the_parser(vendor, capsys) -> None:
    sample = str(vendor / "qualtrics_export_sample.csv")
    assert run(["ingest", "feedback", sample]) == 4  # no NPS question: one clear line
    assert "use --field score=COLUMN" in capsys.readouterr().err
    code = run(["ingest", "feedback", sample, "--field", "score=Q1", "--metric", "rating",
                "--option", "timezone=Europe/Zurich"])
    assert code == 0, capsys.readouterr().err
    con = connect("parallax.duckdb")  # session time zone UTC
    [(fid, submitted)] = con.execute(
        "SELECT feedback_id, strftime(submitted_at, '%H:%M') FROM feedback").fetchall()
    assert (fid, submitted) == ("R_2YPOQ602ER1jkf1", "06:28")


def test_demo_builds_loads_and_reruns_idempotently(tmp_path, capsys) -> None:
    args = ["demo", "--out", str(tmp_path / "d"), "--sessions", "200", "--seed", "3"]
    assert run(args) == 0
    out = capsys.readouterr().out
    assert "otlp-jsonl" in out and "qualtrics-csv" in out and "ga4-ndjson" in out
    assert "amazon-connect-ctr" in out  # the contact centre
    assert "0 duplicates skipped" in out and "database:" in out
    assert (tmp_path / "d" / "truth.json").exists()
    assert run(args) == 0
    assert "\n0 rows loaded from 4 file(s)" in capsys.readouterr().out


def test_format_given_still_skips_the_companion_details(tmp_path, vendor, capsys) -> None:
    """--format names the responses' format; the survey's details beside them are read with
    them, not parsed as responses (which would fail the folder)."""
    import shutil

    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(vendor / "surveymonkey_318754279_responses_bulk.json", folder / "responses.json")
    shutil.copy(vendor / "surveymonkey_318754279_details.json", folder / "details.json")
    assert run(["--db", "x.duckdb", "ingest", "feedback", str(folder),
                "--format", "surveymonkey-json"]) == 0
    assert "skipped: read beside the data by surveymonkey-json" in capsys.readouterr().out
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    assert con.execute("SELECT count(*) FROM feedback").fetchone() == (2,)
    assert con.execute("SELECT format FROM loads ORDER BY format").fetchall() == [
        ("surveymonkey-json",)]
