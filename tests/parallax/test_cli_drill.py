"""`drill` in the terminal: a compact table for 100 columns that cuts no id, values for people
(yes/no, ms with thousands, times to the second), every column with --wide, and the nearest
name for a mistyped route or dependency."""

from __future__ import annotations

import pytest

from parallax.cli import run


def test_compact_route_table_fits_and_reads(demo_db, screen) -> None:
    assert run(["--db", str(demo_db), "drill", "route", "/cart", "--limit", "5"]) == 0
    out = screen.getvalue()
    table = [line for line in out.splitlines() if line.startswith(("┃", "│", "┏", "└"))]
    assert table and max(len(line) for line in table) <= 100
    assert "qualtrics:R_" in out and "…" not in out
    assert " ms " in out and "True" not in out and ".0 " not in out
    assert "metric" not in out  # a detail for --wide


def test_wide_shows_every_column_and_one_row_reads_as_fields(demo_db, screen) -> None:
    from parallax.commands import console

    console._out.width = 250  # --wide is for a wide terminal
    assert run(["--db", str(demo_db), "drill", "route", "/cart", "--limit", "2", "--wide"]) == 0
    assert "metric" in screen.getvalue() and "yes" in screen.getvalue()
    response = next(w for w in screen.getvalue().split() if w.startswith("qualtrics:R_"))
    screen.seek(0)
    screen.truncate(0)
    console._out.width = 100
    assert run(["--db", str(demo_db), "drill", "response", response]) == 0
    record = screen.getvalue()
    assert "│ submitted at " in record and "│ metric " in record  # field | value lines


@pytest.mark.parametrize(("kind", "typed", "nearest"), [
    ("route", "/chekout", "/checkout"), ("dependency", "inventory-bd", "inventory-db")])
def test_a_mistyped_name_gets_the_nearest(demo_db, kind, typed, nearest, capsys) -> None:
    assert run(["--db", str(demo_db), "drill", kind, typed]) == 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"(did you mean {nearest}?)" in err


def test_a_mistyped_query_name_gets_the_nearest(demo_db, capsys) -> None:
    assert run(["--db", str(demo_db), "query", "worst_route"]) == 2
    assert "no query named 'worst_route' (did you mean worst_routes?)" in (
        capsys.readouterr().err)
