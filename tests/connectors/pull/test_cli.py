"""``parallax pull`` and ``parallax sources`` through the CLI's error boundary."""

from __future__ import annotations

from pathlib import Path

import pytest

from parallax.cli import run
from tests.connectors.pull.conftest import SECRET

ANSWERS = {"items": [{"id": "a1", "created_at": "2026-11-09T10:00:00Z", "nps": 9,
                      "email": "x@example.com"}], "next": None}


@pytest.fixture
def setup(tmp_path: Path, httpserver, monkeypatch):
    monkeypatch.setenv("PX_TEST_TOKEN", SECRET)
    cfg = tmp_path / "parallax.toml"
    cfg.write_text(f"""
[sources.answers]
type = "json"
base_url = "{httpserver.url_for('/').rstrip('/')}"
path = "/answers"
records = "items"
paginator = "next_link"
token_env = "PX_TEST_TOKEN"
since_field = "created_at"
since_param = "since"
ordered = true

[sources.later]
type = "json"
base_url = "{httpserver.url_for('/').rstrip('/')}"
path = "/later"
enabled = false
""")
    db = tmp_path / "p.duckdb"
    return ["--db", str(db), "--config", str(cfg)], db


def _everything_written(db: Path, out: str) -> str:
    data = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.is_file()
                    and p.name.startswith(db.name))
    return data.decode("latin-1") + out


def test_pull_then_sources(setup, httpserver, capsys):
    args, db = setup
    httpserver.expect_request("/answers", headers={"Authorization": f"Bearer {SECRET}"}
                              ).respond_with_json(ANSWERS)
    assert run([*args, "pull"]) == 0
    out = capsys.readouterr()
    assert "answers: page 1 · 1 records · 1 new · 0 duplicates" in out.err  # progress
    assert "answers" in out.out and "later" not in out.out  # disabled: not pulled
    assert run([*args, "sources"]) == 0
    table = capsys.readouterr().out
    assert "answers" in table and "2026-11-09T10:00:00.000000Z" in table
    assert "later" in table and "never pulled" in table
    assert SECRET not in _everything_written(db, out.out + out.err + table)


def test_401_is_one_line_and_a_non_zero_exit(setup, httpserver, capsys):
    args, db = setup
    httpserver.expect_request("/answers").respond_with_data(
        f"invalid token {SECRET}", status=401)
    code = run([*args, "pull", "answers"])
    err = capsys.readouterr().err
    assert code == 4
    last = err.strip().splitlines()[-1]
    assert last == ("parallax: error: source answers: GET /answers: the API refused the "
                    "credentials (401): check the token (token_env or token)")
    assert err.count("refused the credentials") == 1
    assert SECRET not in _everything_written(db, err)


def test_configuration_mistakes_are_one_line(setup, tmp_path, capsys, monkeypatch):
    args, _ = setup
    assert run([*args, "pull", "nope"]) == 2
    assert "no source 'nope' in [sources] (answers, later)" in capsys.readouterr().err
    monkeypatch.delenv("PX_TEST_TOKEN")
    assert run([*args, "pull", "answers"]) == 2
    assert ("[sources.answers] token_env: environment variable PX_TEST_TOKEN is not set"
            in capsys.readouterr().err)
    bad = tmp_path / "bad.toml"
    bad.write_text('[sources.x]\ntype = "salesforce"\n')
    assert run(["--db", str(tmp_path / "b.duckdb"), "--config", str(bad), "pull"]) == 2
    assert "type = 'salesforce': expected one of qualtrics" in capsys.readouterr().err
    assert run([*args, "pull", "--since", "yesterday"]) == 2
