"""`parallax routes`: the templates and what each absorbed, the URLs none matched, the shares
that landed on a template (also in link coverage and the overview), and routes typed by a
user meeting the same templates."""

from __future__ import annotations

import json

import pytest

from parallax.cli import run
from parallax.db import connect
from parallax.exposure import JoinSettings, build_exposure
from parallax.named_queries import run_query

# A page view whose URL holds what Rich would read as a markup tag: printed as text.
ODD = "/lookbook/[link=x]summer"


@pytest.fixture(scope="module")
def db(tmp_path_factory, shop):
    tmp = tmp_path_factory.mktemp("routes")
    path = tmp / "p.duckdb"
    files = [("analytics", shop.ga4(tmp / "ga4.ndjson", [*shop.views, ODD])),
             ("feedback", shop.qualtrics(tmp / "SV_shop.csv")),
             ("traces", shop.traces(tmp / "spans.jsonl"))]
    for kind, file in files:
        assert run(["--db", str(path), "ingest", kind, str(file)]) == 0
    return path


def _json(capsys, *argv) -> dict:
    assert run(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_templates_with_what_they_absorbed(db, capsys) -> None:
    doc = _json(capsys, "--db", str(db), "routes", "--format", "json")
    rows = {r["template"]: r for r in doc["templates"]}
    assert set(rows) == {"/category/{slug}", "/category/new-arrivals", "/product/{id}",
                         "/blog/{slug}"}
    slug = rows["/category/{slug}"]
    assert (slug["source"], slug["taught_by_spans"], slug["page_views"], slug["responses"],
            slug["urls"], slug["written"]) == ("learned", 2, 3, 2, 3, "/category/:slug")
    assert doc["templates"][0]["template"] == "/category/{slug}"  # most used first
    assert doc["coverage"] == {
        "templates": 4, "learned": 4, "declared": 0,
        "page_views": 8, "page_views_on_template": 6, "page_views_pct": 75.0,
        "responses": 4, "responses_on_template": 3, "responses_pct": 75.0}


def test_unmatched_lists_what_fell_back_to_the_heuristic(db, capsys) -> None:
    doc = _json(capsys, "--db", str(db), "routes", "--unmatched", "--format", "json")
    rows = {r["route"]: r for r in doc["unmatched"]}
    assert set(rows) == {"/about-us", ODD, "/search/{q}", "/api/items/{id}"}
    about = rows["/about-us"]
    assert (about["page_views"], about["responses"], about["spans"], about["urls"]) == (
        1, 1, 0, 1)
    assert rows["/search/{q}"]["spans"] == 1  # a server span no concrete path confirmed
    assert doc["unmatched"][0]["route"] == "/about-us"  # most frequent first
    assert run(["--db", str(db), "routes", "--unmatched", "--limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "on a template route: 75.0% of 8 page views, 75.0% of 4 responses" in out
    assert f"https://shop.example.com{ODD}" in out  # brackets kept: not Rich markup


def test_declared_templates_apply_without_new_data(db, tmp_path, capsys) -> None:
    copy = tmp_path / "p.duckdb"
    copy.write_bytes(db.read_bytes())
    (tmp_path / "p.duckdb.key").write_bytes(db.with_name("p.duckdb.key").read_bytes())
    cfg = tmp_path / "parallax.toml"
    cfg.write_text('[routes]\ntemplates = ["/about-us", "/lookbook/{look}"]\n')
    doc = _json(capsys, "--db", str(copy), "--config", str(cfg), "routes", "--unmatched",
                "--format", "json")
    assert {r["route"] for r in doc["unmatched"]} == {"/search/{q}", "/api/items/{id}"}
    assert doc["coverage"]["page_views_pct"] == 100.0
    assert doc["coverage"]["declared"] == 2
    con = connect(copy)
    try:
        assert con.execute("SELECT route FROM page_views WHERE url LIKE '%lookbook%'"
                           ).fetchall() == [("/lookbook/{look}",)]
    finally:
        con.close()
    assert run(["--db", str(copy), "--config", str(cfg), "routes", "--unmatched"]) == 0
    assert "/about-us" not in capsys.readouterr().out


def test_bad_route_settings_are_one_line(db, tmp_path, capsys) -> None:
    cfg = tmp_path / "parallax.toml"
    cfg.write_text('[routes]\ntemplates = ["about-us"]\n')
    assert run(["--db", str(db), "--config", str(cfg), "routes"]) == 2
    err = capsys.readouterr().err
    assert "[routes] templates: 'about-us' is not a path template" in err
    assert err.count("\n") == 1


def test_link_coverage_reports_template_shares(db) -> None:
    con = connect(db)
    try:
        cov = build_exposure(con, JoinSettings())
        assert (cov.responses, cov.responses_on_template) == (4, 3)
        assert (cov.page_views, cov.page_views_on_template) == (8, 6)
        assert cov.page_view_template_share == pytest.approx(0.75)
        rows = run_query(con, "link_coverage", {}).fetchall()
        cols = [d[0] for d in run_query(con, "link_coverage", {}).description]
        total = dict(zip(cols, rows[0], strict=True))
        assert (total["route"], total["responses"], total["page_views"],
                total["template_responses_pct"], total["template_page_views_pct"]) == (
            "(all routes)", 4, 8, 75.0, 75.0)
        per_route = {r[0]: dict(zip(cols, r, strict=True)) for r in rows[1:]}
        assert per_route["/about-us"]["template_responses_pct"] == 0.0
        assert per_route["/category/{slug}"]["page_views"] == 3
        from datetime import UTC, datetime

        later = build_exposure(con, JoinSettings(), since=datetime(2027, 1, 1, tzinfo=UTC))
        assert (later.responses, later.page_views) == (0, 0)
        overview = {m: v for _, m, v in run_query(con, "overview", {}).fetchall()}
        assert overview["page views on a route template"] == "75.0 %"
        assert overview["responses on a route template"] == "75.0 %"
        assert overview["templates (learned, declared)"] == "4, 0"
    finally:
        con.close()


@pytest.mark.parametrize("typed", ["/category/base-layers", "/category/:slug",
                                   "https://shop.example.com/Category/tents?x=1"])
def test_a_typed_route_meets_the_templates(db, tmp_path, capsys, typed) -> None:
    copy = tmp_path / "p.duckdb"
    copy.write_bytes(db.read_bytes())
    assert run(["--db", str(copy), "annotate", "add", "--kind", "deploy", "--id", "d1",
                "--start", "2026-10-02T10:00", "--route", typed]) == 0
    assert capsys.readouterr().out == "stored: d1\n"
    doc = _json(capsys, "--db", str(copy), "annotate", "list", "--format", "json")
    assert [a["route"] for a in doc] == ["/category/{slug}"]


def test_drill_and_incident_take_a_typed_route(db, tmp_path, capsys) -> None:
    copy = tmp_path / "p.duckdb"
    copy.write_bytes(db.read_bytes())
    assert run(["--db", str(copy), "correlate"]) == 0
    capsys.readouterr()
    doc = _json(capsys, "--db", str(copy), "drill", "route", "/category/base-layers",
                "--format", "json")
    assert (doc["subject"], doc["finding"]["n_responses"]) == ("/category/{slug}", 2)
    assert run(["--db", str(copy), "incident", "--route", "/category/:slug",
                "--start", "2026-10-02T11:00", "--end", "2026-10-02T13:00"]) != 0
    assert "no page loads touched /category/{slug} between" in capsys.readouterr().err


RAW = "https://shop.example.com/Category/tents?x=1"  # a URL pasted from a browser


@pytest.fixture(scope="module")
def correlated(db, tmp_path_factory):
    copy = tmp_path_factory.mktemp("typed") / "p.duckdb"
    copy.write_bytes(db.read_bytes())
    copy.with_name("p.duckdb.key").write_bytes(db.with_name("p.duckdb.key").read_bytes())
    assert run(["--db", str(copy), "correlate"]) == 0
    return copy


@pytest.mark.parametrize("argv", [
    ["drill", "route", RAW, "--format", "json"],
    ["verbatims", "--route", RAW, "--format", "json"],
    ["incident", "--route", RAW, "--start", "2026-10-02T11:00", "--end", "2026-10-02T13:00"],
    ["design-check", "--route", RAW, "--changed-at", "2026-10-02T12:00"],
    ["design-check", "--route", "/about-us", "--control-routes", f"/blog/x,{RAW}",
     "--changed-at", "2026-10-02T12:00"],
    ["annotate", "add", "--kind", "deploy", "--id", "typed", "--start", "2026-10-02T10:00",
     "--route", RAW],
], ids=["drill", "verbatims", "incident", "design-check", "control-routes", "annotate"])
def test_a_raw_url_reaches_the_same_template_in_every_command(correlated, capsys, monkeypatch,
                                                              argv) -> None:
    from parallax.correlate import design_check
    from parallax.errors import NoDataError

    def reached(con, route, at, controls=None, **_) -> None:  # what the command passed on
        raise NoDataError(f"reached {route} against {controls}")

    monkeypatch.setattr(design_check, "design_check", reached)
    run(["--db", str(correlated), *argv])
    if argv[0] == "annotate":  # what it stored
        run(["--db", str(correlated), "annotate", "list", "--format", "json"])
    out, err = capsys.readouterr()
    assert "/category/{slug}" in out + err
    assert "tents" not in out + err  # the URL's own path is nowhere: it met the template
