"""Files the commands write: whole or not at all (parallax/files.py)."""

from __future__ import annotations


def test_every_page_and_file_refuses_a_path_it_cannot_write(demo_db, tmp_path, capsys) -> None:
    """review, drill, incident, design-check and query write whole or not at all: a path that
    cannot be written is one line and exit 2, no traceback, no temporary file left."""
    import shutil

    from parallax.cli import run

    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, db)
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
