"""`parallax drill`: the rows behind a finding, down to one session's timeline and spans."""

from __future__ import annotations

import json

from parallax.cli import run
from parallax.db import connect


def _drill(reviewed, capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(["--db", str(reviewed.db), "drill", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _one(reviewed, sql: str, params: list | None = None):
    con = connect(reviewed.db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_route_lists_its_responses_poor_first(reviewed, capsys) -> None:
    route = next(d["subject"] for d in reviewed.findings
                 if d["subject_kind"] == "route" and d["verdict"] == "delivery")
    code, out, _ = _drill(reviewed, capsys, "route", route, "--format", "json", "--limit", "500")
    assert code == 0
    doc = json.loads(out)
    assert doc["finding"]["subject"] == route
    rows = doc["tables"][0]["rows"]
    [(n, poor)] = _one(reviewed, "SELECT count(*), count(*) FILTER (WHERE is_poor) "
                       "FROM exposure_responses WHERE route = ?", [route])
    assert len(rows) == min(n, 500) and sum(r["poor"] for r in rows) == poor
    flags = [r["poor"] for r in rows]
    assert flags == sorted(flags, reverse=True)
    # a failed dependency is only named for a customer's own page load
    assert all(r["failed_dependencies"] is None for r in rows if r["link"] == "route_time")


def test_dependency_lists_the_page_loads_that_called_it(reviewed, capsys) -> None:
    dep = next(d["subject"] for d in reviewed.findings if d["subject_kind"] == "dependency"
               and d["verdict"] == "delivery")
    code, out, _ = _drill(reviewed, capsys, "dependency", dep, "--format", "json")
    assert code == 0
    rows = json.loads(out)["tables"][0]["rows"]
    assert rows and rows[0]["failed"] is True  # failed calls first
    assert all(r["calls"] >= 1 for r in rows)


def test_session_timeline_holds_its_pages_answers_and_spans(reviewed, capsys, tmp_path) -> None:
    [(session, key, n_pages)] = _one(reviewed, """
        SELECT r.session_id, r.response_key,
               (SELECT count(*) FROM exposure_pages p WHERE p.session_id = r.session_id)
        FROM exposure_responses r WHERE r.link = 'session' AND r.is_poor
        ORDER BY r.response_key LIMIT 1""")
    html = tmp_path / "s.html"
    code, out, _ = _drill(reviewed, capsys, "session", session, "--format", "json",
                          "--html", str(html))
    assert code == 0
    [view] = json.loads(out)["sessions"]
    kinds = [r["what"] for r in view["timeline"]]
    assert kinds.count("page") == n_pages and key in [r["ref"] for r in view["timeline"]]
    traces = {r["ref"] for r in view["timeline"] if r["what"] == "page"}
    assert view["spans"] and {s["trace_id"] for s in view["spans"]} >= traces - {None}
    assert [s["offset_ms"] for s in view["spans"]] == sorted(s["offset_ms"]
                                                            for s in view["spans"])
    page = html.read_text()
    assert "<svg" in page and "<script" not in page and session in page
    # the same session, reached from its response
    code, out, _ = _drill(reviewed, capsys, "response", key, "--format", "json")
    assert code == 0 and json.loads(out)["sessions"][0]["session"] == session
    code, out, _ = _drill(reviewed, capsys, "session", session)  # the terminal view
    assert code == 0 and "waterfall" in out and "█" in out


def test_unknown_subjects_and_kinds_are_one_line_errors(reviewed, capsys) -> None:
    code, _, err = _drill(reviewed, capsys, "session", "no-such-session")
    assert code == 5 and err.count("\n") == 1 and "no-such-session" in err
    code, _, err = _drill(reviewed, capsys, "route", "/nowhere")
    assert code == 5 and "/nowhere" in err
    code, _, err = _drill(reviewed, capsys, "trace", "x")
    assert code == 2 and "route, dependency, response, session" in err
