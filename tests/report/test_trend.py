"""`incident --html` and `design-check --html`: a page with before/after trends on the routes
concerned (poor answers, errors, load time), the incident shaded or the change marked."""

from __future__ import annotations

import shutil

import pytest

from parallax.cli import run


@pytest.fixture
def db(demo_db, tmp_path):
    copy = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, copy)
    shutil.copy(demo_db.with_name(demo_db.name + ".key"), tmp_path / "demo.duckdb.key")
    return copy


@pytest.mark.parametrize(("args", "title", "marker"), [
    (["incident", "inventory-db-crash"], "Incident inventory-db-crash", "The shaded band"),
    (["design-check", "--route", "/checkout", "--changed-at", "2026-10-07"],
     "Design change on /checkout", "The dashed line is the change")])
def test_before_after_page(db, tmp_path, args, title, marker, capsys) -> None:
    page = tmp_path / "trend.html"
    assert run(["--db", str(db), *args, "--html", str(page)]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"html: {page}")
    html = page.read_text()
    assert f"<h1>{title}</h1>" in html and marker in html and "<script" not in html
    svg = html[html.index("<svg"):html.rindex("</svg>")]
    for panel in ("poor answers", "page loads with an error", "p75 page load, s"):
        assert panel in svg
    # the incident's window is a shaded band (#c62828); a change is a moment, not a band
    assert ("#c62828" in svg) == (args[0] == "incident")


def test_json_stays_json_with_the_page_named_on_stderr(db, tmp_path, capsys) -> None:
    page = tmp_path / "i.html"
    assert run(["--db", str(db), "incident", "inventory-db-crash", "--format", "json",
                "--html", str(page)]) == 0
    out = capsys.readouterr()
    assert out.out.lstrip().startswith("{") and f"html: {page}" in out.err and page.is_file()
