"""Files the commands write: whole or not at all (parallax/files.py)."""

from __future__ import annotations


def test_every_page_and_file_refuses_a_path_it_cannot_write(demo_db, tmp_path, capsys) -> None:
    """review, drill, incident, design-check and query write whole or not at all: a path that
    cannot be written is one line and exit 2, no traceback, no temporary file left — and it is
    refused before any work (review stores no correlate run)."""
    import shutil

    import duckdb

    from parallax.cli import run

    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, db)
    runs = "SELECT count(*) FROM correlate_runs"
    with duckdb.connect(str(db), read_only=True) as con:
        before = con.execute(runs).fetchall()
    for kind in ("missing", "folder"):
        path = tmp_path / "missing" / "p.html" if kind == "missing" else tmp_path
        for flag, command in (
                ("--out", ["review", "--out", str(path)]),
                ("--html", ["drill", "route", "/cart", "--html", str(path)]),
                ("--html", ["incident", "inventory-db-crash", "--html", str(path)]),
                ("--html", ["design-check", "--route", "/checkout", "--changed-at",
                            "2026-10-07", "--html", str(path)]),
                ("--out", ["query", "apdex", "--format", "csv", "--out", str(path)])):
            capsys.readouterr()
            assert run(["--db", str(db), *command]) == 2, command
            out, err = capsys.readouterr()
            assert err.startswith(f"parallax: error: {flag} {path}: cannot write it"), err
            assert err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.glob(".*.tmp")) == []
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(runs).fetchall() == before


def test_the_early_check_and_the_write_refuse_alike(tmp_path) -> None:
    """What the option check refuses before any work, the write itself refuses too, in the
    same words: a missing folder, a folder in the file's place, a file in the folder's place."""
    import pytest

    from parallax.errors import ConfigError
    from parallax.files import check_writable, write_whole

    (tmp_path / "a-file").write_text("x")
    for path in (tmp_path / "missing" / "p.html", tmp_path, tmp_path / "a-file" / "p.html"):
        with pytest.raises(ConfigError) as early:
            check_writable(path, "--out")
        with pytest.raises(ConfigError) as late:
            write_whole(path, "<p>", "--out")
        assert str(early.value) == str(late.value), path
        assert str(early.value).startswith(f"--out {path}: cannot write it (")
    check_writable(tmp_path / "p.html", "--out")  # a writable path passes, and is written
    write_whole(tmp_path / "p.html", "<p>", "--out")
    assert (tmp_path / "p.html").read_text() == "<p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "p.html"]
