"""The review page opened in headless Chromium (Debian's, driven by Playwright): no console
error, no request leaves the file, every figure equals the findings JSON it came from."""

from __future__ import annotations

import re

import pytest

from parallax.report.render import lookup
from tests.browser import launch, missing

# Marked, not skipped in a fixture: the session-wide demo world is not built for nothing.
pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")


@pytest.fixture(scope="module")
def page(reviewed, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        pg = browser.new_page(viewport={"width": 1200, "height": 900})
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("request", lambda r: requests.append(r.url))
        pg.goto(reviewed.html.as_uri())
        pg.wait_for_load_state("load")
        shot = tmp_path_factory.mktemp("shots") / "review.png"
        pg.screenshot(path=str(shot), full_page=True)
        yield pg, errors, requests, shot
        browser.close()


def test_opens_without_console_errors_or_outside_requests(page) -> None:
    pg, errors, requests, shot = page
    assert errors == []
    assert [u for u in requests if not u.startswith("file://")] == []
    assert shot.stat().st_size > 100_000  # a full-page screenshot of a real page
    assert pg.evaluate("document.querySelectorAll('script').length") == 0
    assert pg.evaluate("document.querySelectorAll('figure svg').length") >= 3


def _number(text: str) -> float:
    """The figure as displayed: '1,414', '23.5%', '2,625 ms', '≈ 29', '-0.5', '-€12'."""
    m = re.search(r"-?[\d,]*\.?\d+", re.sub(r"-[^\d.]+(?=\d)", "-", text.replace("−", "-")))
    assert m, text
    return float(m.group(0).replace(",", ""))


# How far a displayed figure may be from the exact value, by format (display rounding).
_TOLERANCE = {"int": 0.5, "num1": 0.05, "pct": 0.5, "pct1": 0.05, "ms": 0.5, "or": 0.005,
              "money": 0.5, "num": 0.005}


def _check(value: float, text: str, style: str) -> None:
    shown = _number(text)
    exact = value * 100 if style in ("pct", "pct1") else value
    assert abs(shown - exact) <= _TOLERANCE[style] + 1e-9, (text, value, style)


def test_every_figure_equals_the_findings_json(page, reviewed) -> None:
    pg, *_ = page
    figs = pg.eval_on_selector_all(
        ".fig[data-subject]:not([data-sum])",
        "els => els.map(e => ({...e.dataset, text: e.textContent}))")
    docs = {(d["subject_kind"], d["subject"]): d for d in reviewed.findings}
    assert len(figs) > 200
    checked = 0
    for f in figs:
        doc = docs[(f["kind"], f["subject"])]
        expected = lookup(doc, f["field"])
        if expected is None:
            assert f["value"] == "" and f["text"] == "–", f
            continue
        assert float(f["value"]) == pytest.approx(expected, rel=1e-12, abs=1e-12), f
        _check(expected, f["text"], f["style"])
        checked += 1
    assert checked > 150


def test_headline_sums_are_the_sums_of_the_delivery_caused_routes(page, reviewed) -> None:
    pg, *_ = page
    sums = pg.eval_on_selector_all(
        ".fig[data-sum]", "els => els.map(e => ({...e.dataset, text: e.textContent}))")
    caused = [d for d in reviewed.findings
              if d["subject_kind"] == "route" and d["verdict"] in ("delivery", "mixed")]
    assert caused, "the demo world plants delivery-caused routes"
    assert len(sums) == 3
    for s in sums:
        assert sorted(s["subjects"].split(",")) == sorted(d["subject"] for d in caused)
        expected = sum(lookup(d, s["field"]) or 0 for d in caused)
        assert float(s["value"]) == pytest.approx(expected)
        _check(expected, s["text"], s["style"])


def test_a_card_per_route_and_dependency_with_its_verdict(page, reviewed) -> None:
    pg, *_ = page
    cards = pg.eval_on_selector_all(
        "article.card", "els => els.map(e => [e.dataset.kind, e.dataset.subject, "
                        "e.dataset.verdict])")
    expected = [[d["subject_kind"], d["subject"], d["verdict"]] for d in reviewed.findings
                if d["subject_kind"] in ("route", "dependency")]
    assert sorted(cards) == sorted(expected)
    fp = pg.eval_on_selector_all("#false-positives + p + table tbody tr td:first-child",
                                 "els => els.map(e => e.textContent)")
    assert fp == [d["subject"] for d in reviewed.findings
                  if d["subject_kind"] == "route" and d["verdict"] == "delivery"]


def test_every_internal_link_lands_and_sessions_have_waterfalls(page) -> None:
    pg, *_ = page
    broken = pg.evaluate("""() => [...document.querySelectorAll('a[href^="#"]')]
        .map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
        .filter(id => !document.getElementById(id))""")
    assert broken == []
    sessions = pg.evaluate("document.querySelectorAll('section.session').length")
    waterfalls = pg.evaluate("document.querySelectorAll('section.session figure svg').length")
    assert sessions >= 3 and waterfalls == sessions


def test_prints(page, tmp_path) -> None:
    pg, *_ = page
    pg.emulate_media(media="print")
    pdf = pg.pdf(format="A4", print_background=False)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") > 3


def test_annotated_incidents_and_changes_are_listed_and_drawn(page, reviewed) -> None:
    from parallax.db import connect

    pg, *_ = page
    con = connect(reviewed.db, read_only=True)
    try:
        ids = [i for (i,) in con.execute("SELECT id FROM annotations ORDER BY starts_at, id")
               .fetchall()]
    finally:
        con.close()
    assert ids, "the demo world's incident tracker export is imported"
    listed = pg.eval_on_selector_all("#annotations + table tbody tr td:first-child",
                                     "els => els.map(e => e.textContent)")
    assert listed == ids
    timeline = pg.evaluate("[...document.querySelectorAll('figure svg')].map(s => "
                           "s.textContent).join(' ')")
    assert all(f": {i}" in timeline for i in ids)  # the error-rate plot marks each one


_TEXTS = """svg => [...svg.querySelectorAll('text')].filter(t => t.textContent.trim()).map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
})"""


def _figure(pg, caption_word: str):
    """The plot whose caption holds ``caption_word``: its box and the boxes of its texts, as
    on a screen (test_prints leaves the page in print media)."""
    pg.emulate_media(media="screen")
    for fig in pg.query_selector_all("#plots ~ figure"):
        if caption_word in " ".join(fig.query_selector("figcaption").text_content().split()):
            svg = fig.query_selector("svg")
            return svg.bounding_box(), svg.evaluate(_TEXTS)
    raise AssertionError(f"no plot about {caption_word!r}")


def _overlap(a: dict, b: dict) -> bool:
    return (min(a["right"], b["right"]) - max(a["left"], b["left"]) > 1
            and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 1)


def test_plot_text_is_inside_its_picture_and_plots_use_the_width(page) -> None:
    pg, *_ = page
    pg.emulate_media(media="screen")
    main = pg.query_selector("#plots ~ figure").bounding_box()["width"]  # the content's width
    for word in ("Odds of a poor answer", "Poor answers", "distribution", "error over time"):
        box, texts = _figure(pg, word)
        assert box["width"] >= 0.8 * main, (word, box["width"], main)
        x0, x1 = box["x"] - 0.5, box["x"] + box["width"] + 0.5
        clipped = [t["text"] for t in texts if t["left"] < x0 or t["right"] > x1]
        assert clipped == [], (word, clipped)  # legends, axis labels: whole


def test_annotation_labels_do_not_overlap_and_axis_titles_are_not_repeated(page) -> None:
    pg, *_ = page
    _, texts = _figure(pg, "error over time")
    labels = [t for t in texts if t["text"].startswith(("incident:", "design-change:",
                                                        "deploy:"))]
    assert len(labels) >= 4  # the demo's tracker export
    assert [(a["text"], b["text"]) for i, a in enumerate(labels) for b in labels[i + 1:]
            if _overlap(a, b)] == []
    ticks = [t for t in texts if t["top"] > max(label["bottom"] for label in labels)]
    assert [(a["text"], b["text"]) for i, a in enumerate(ticks) for b in ticks[i + 1:]
            if _overlap(a, b)] == []
    _, texts = _figure(pg, "distribution")
    assert not [t for t in texts if "page load" in t["text"]]  # named once, in the caption
    routes = pg.evaluate("document.querySelectorAll('article.card[data-kind=route]').length")
    # the bottom row draws one x axis (its "8" tick) a column, an empty cell's too: whole rows
    columns = len([t for t in texts if t["text"] == "8"])
    assert 2 <= columns <= 4 and routes % columns == 0


def test_forest_plot_has_a_row_per_odds_ratio(page, reviewed) -> None:
    pg, *_ = page
    _, texts = _figure(pg, "Odds of a poor answer")
    shown = {t["text"] for t in texts}
    expected = {f"{d['subject_kind']} {d['subject']}" for d in reviewed.findings
                if d["subject_kind"] in ("route", "dependency")
                and (d.get("odds_ratio_adjusted") or {}).get("ci_low")}
    assert expected and expected <= shown


def test_evidence_appendix_is_collapsed_and_opens_on_a_link(page) -> None:
    pg, *_ = page
    pg.emulate_media(media="screen")
    assert pg.evaluate("document.querySelector('details#appendix').open") is False
    assert pg.evaluate("document.querySelectorAll('details#appendix section.session')"
                       ".length") >= 3
    page_height = pg.evaluate("document.body.scrollHeight")
    pg.evaluate("document.querySelector('details#appendix').open = true")
    assert pg.evaluate("document.body.scrollHeight") > 2 * page_height  # the bulk is there
    box = pg.query_selector("section.session figure svg").bounding_box()
    texts = pg.query_selector("section.session figure svg").evaluate(_TEXTS)
    assert [t["text"] for t in texts if t["left"] < box["x"] - 0.5
            or t["right"] > box["x"] + box["width"] + 0.5] == []  # waterfall labels whole
    axis = [t for t in texts if t["text"].replace(",", "").isdigit()]
    assert [(a["text"], b["text"]) for i, a in enumerate(axis) for b in axis[i + 1:]
            if _overlap(a, b)] == []
    pg.evaluate("document.querySelector('details#appendix').open = false")


def test_money_has_no_negative_zero_and_says_its_currency(page) -> None:
    pg, *_ = page
    money = pg.eval_on_selector_all(".fig[data-style=money]", "els => els.map(e => e.textContent)")
    assert money and not [m for m in money if re.fullmatch(r"-\D*0", m.strip())]
    assert "set [report] currency" in pg.evaluate("document.querySelector('#headline')"
                                                   ".textContent")
