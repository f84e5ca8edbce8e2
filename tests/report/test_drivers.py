"""`contacts drivers --html`: on the demo, a bar per row the terminal prints, in its order, each
with its interval; in Chromium the bar labels are whole and apart."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from parallax.cli import run
from tests.browser import launch, missing

_BAR = re.compile(r'<path aria-label="[^"]*; label: ([^"]*)" role="graphics-symbol" '
                  r'aria-roledescription="bar"')


def bars(page: str) -> list[str]:
    """The labels of the page's bars, in drawing order (top to bottom)."""
    return [htmllib.unescape(m) for m in _BAR.findall(page)]


def axis_labels(page: str) -> list[str]:
    """The bar chart's row labels (its y axis), top to bottom."""
    axis = page[page.index("role-axis-label", page.index("Y-axis")):]
    axis = axis[:axis.index("</g>")]
    return [htmllib.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", axis)]


def printed_rows(out: str) -> list[tuple[str, str, str]]:
    """(#, reason, failure of) of the terminal table's rows (their first lines)."""
    cells = [[c.strip() for c in line.split("│")[1:4]] for line in out.splitlines()
             if line.startswith("│ ") and line[2].isdigit()]
    return [(n, reason, subject) for n, reason, subject in cells]


@pytest.fixture(scope="module")
def drivers_page(demo_db, tmp_path_factory):
    page = tmp_path_factory.mktemp("drivers") / "drivers.html"
    return page


def test_a_bar_per_printed_row_in_the_printed_order(demo_db, drivers_page, capsys) -> None:
    capsys.readouterr()
    assert run(["--db", str(demo_db), "contacts", "drivers", "--limit", "8", "--html",
                str(drivers_page)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(f"html: {drivers_page}")
    page = drivers_page.read_text(encoding="utf-8")
    rows = printed_rows(out)
    assert len(rows) == 8
    labels = axis_labels(page)
    assert len(labels) == 8
    for (n, reason, _), label in zip(rows, labels, strict=True):  # subjects wrap in the table
        assert label.startswith(f"{n}. {reason} · "), (label, n, reason)
    drawn = bars(page)
    assert drawn == [label for label in labels if label in drawn] and len(drawn) >= 3
    # the summary the terminal printed first, and the table below the chart
    summary = out.splitlines()[0]
    assert htmllib.escape(summary, quote=False) in page
    assert page.index("<svg") < page.index("<table") and "<script" not in page
    assert page.count("<tr>") == 1 + 8  # the header and the rows shown
    # error bars: one interval line per bar
    rules = page[page.index("layer_1_marks"):]
    assert rules[:rules.index("</g>")].count("<line") == len(drawn)


def test_limit_zero_draws_every_row(demo_db, tmp_path, capsys) -> None:
    page = tmp_path / "all.html"
    assert run(["--db", str(demo_db), "contacts", "drivers", "--limit", "0", "--format",
                "json", "--html", str(page)]) == 0
    out = capsys.readouterr()
    assert out.out.lstrip().startswith("[") and f"html: {page}" in out.err
    import json

    assert len(axis_labels(page.read_text(encoding="utf-8"))) == len(json.loads(out.out))


@pytest.mark.skipif(missing() is not None, reason=missing() or "")
def test_bar_labels_are_whole_and_do_not_overlap(demo_db, tmp_path, capsys) -> None:
    from playwright.sync_api import sync_playwright

    page = tmp_path / "drivers.html"
    assert run(["--db", str(demo_db), "contacts", "drivers", "--limit", "0", "--html",
                str(page)]) == 0
    with sync_playwright() as p:
        browser = launch(p)
        try:
            pg = browser.new_page(viewport={"width": 1200, "height": 900})
            pg.goto(page.as_uri())
            svg = pg.query_selector("figure#drivers svg")
            box = svg.bounding_box()
            texts = svg.evaluate("""svg => [...svg.querySelectorAll(
                '.role-axis-label text, .layer_2_marks text')].map(t => {
                const r = t.getBoundingClientRect();
                return {text: t.textContent, left: r.left, right: r.right, top: r.top,
                        bottom: r.bottom, row: t.closest('.role-axis') !== null};
            })""")
            main = pg.evaluate("document.querySelector('figure#drivers').clientWidth")
        finally:
            browser.close()
    labels = [t for t in texts if t["row"] and not t["text"].replace(",", "").isdigit()]
    assert len(labels) >= 10
    overlap = [(a["text"], b["text"]) for i, a in enumerate(texts) for b in texts[i + 1:]
               if min(a["right"], b["right"]) - max(a["left"], b["left"]) > 1
               and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 1]
    assert overlap == []
    x0, x1 = box["x"] - 0.5, box["x"] + box["width"] + 0.5
    assert [t["text"] for t in texts if t["left"] < x0 or t["right"] > x1] == []
    assert box["width"] >= 0.8 * main
