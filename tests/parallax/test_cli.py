"""The CLI end to end through its error boundary (`run`), on real files and a real DB."""

from __future__ import annotations

import duckdb
import pytest

from parallax.cli import run


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


def test_default_db_in_cwd_and_env_override(tmp_path, monkeypatch, capsys) -> None:
    assert run(["loads"]) == 0
    assert (tmp_path / "parallax.duckdb").exists()
    monkeypatch.setenv("PARALLAX_DB", str(tmp_path / "env.duckdb"))
    assert run(["loads", "--rejects"]) == 0
    assert (tmp_path / "env.duckdb").exists()


def test_usage_error_exit_code(capsys) -> None:
    assert run(["ingest", "nonsense"]) == 2
