"""The composite score on a hand-built database whose components are worked out by hand
(comments), its weights and sensitivity, and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from parallax.cli import run
from parallax.db import connect
from parallax.errors import ConfigError
from parallax.insights.score import ScoreSettings, composite, load_weights, quality_score

T0 = datetime(2026, 10, 5, 12, tzinfo=UTC)
# Perceived needs min_responses answers; a contact rate of 0.5 is worth 0 effort points.
S = ScoreSettings(min_responses=1, contact_rate_ceiling=0.5)


def _page(con, session: str, user: str, route: str, load_ms: float, status: int = 200) -> None:
    trace = f"t-{session}-{route}-{load_ms}"
    for span, kind, ms, st in (("1", "internal", load_ms, None), ("2", "server", 50.0, status)):
        con.execute(
            "INSERT INTO spans (trace_id, span_id, kind, name, started_at, duration_ms, "
            "is_error, status_code, route, session_id, user_id, service, source, load_id) "
            "VALUES (?, ?, ?, ?, ?, ?, false, ?, ?, ?, ?, 'shop', 'test', 'l1')",
            [trace, span, kind, "documentLoad" if kind == "internal" else "GET", T0, ms, st,
             route, session, user])


def _answer(con, i: int, session: str, route: str, score: int) -> None:
    con.execute(
        "INSERT INTO feedback (feedback_id, source, submitted_at, channel, metric, score, "
        "scale_min, scale_max, is_poor, session_id, route, segment, load_id) "
        "VALUES (?, 'test', ?, 'web', 'nps', ?, 0, 10, ?, ?, ?, 'new', 'l1')",
        [f"r{i}", T0 + timedelta(minutes=5), score, score <= 6, session, route])


def _contact(con, cid: str, user: str, days: float, reason: str = "billing") -> None:
    con.execute(
        "INSERT INTO interactions (interaction_id, source, channel, user_id, started_at, "
        "reason, initiation, abandoned, load_id) "
        "VALUES (?, 'crm', 'call', ?, ?, ?, 'inbound', false, 'l1')",
        [cid, user, T0 + timedelta(days=days), reason])


@pytest.fixture
def world(tmp_path):
    path = tmp_path / "s.duckdb"
    con = connect(path)
    # /a: loads 1 s, 1 s, 5 s (tolerating), 12 s (frustrated): Apdex (2 + 0.5) / 4 = 0.625.
    for i, ms in enumerate((1000.0, 1000.0, 5000.0, 12000.0), start=1):
        _page(con, f"s{i}", f"u{i}", "/a", ms)
    # /b: 1 s, and an error page: Apdex 1 / 2.
    _page(con, "s5", "u5", "/b", 1000.0)
    _page(con, "s6", "u6", "/b", 1000.0, status=503)
    # /c: one fast page.
    _page(con, "s7", "u7", "/c", 500.0)
    # NPS /a: 10, 9, 3, 7 → (2 − 1) / 4 = 25 → 62.5. /b: 10, 0 → 0 → 50.
    # /c: one promoter, seven detractors → −75 → 12.5.
    answers = [("s1", "/a", 10), ("s2", "/a", 9), ("s3", "/a", 3), ("s4", "/a", 7),
               ("s5", "/b", 10), ("s6", "/b", 0), ("s7", "/c", 10)] + [("s7", "/c", 2)] * 7
    for i, (session, route, score) in enumerate(answers):
        _answer(con, i, session, route, score)
    yield con, path
    con.close()


def _contacts(con) -> None:
    # u1 calls a day after its session and never again: a resolved first contact.
    # u5 calls twice about the same reason: the first is not resolved, the second a repeat.
    _contact(con, "c1", "u1", 1)
    _contact(con, "c2", "u5", 2)
    _contact(con, "c3", "u5", 3)
    _contact(con, "c4", "u2", 30)  # too late to follow u2's session


def test_components_without_contacts_redistribute_effort(world) -> None:
    con, _ = world
    report = quality_score(con, settings=S)
    assert not report.effort_data
    g = {x.group: x for x in report.groups}
    assert g["/a"].components == {"delivery": 62.5, "perceived": 62.5, "effort": None}
    assert g["/b"].components == {"delivery": 50.0, "perceived": 50.0, "effort": None}
    assert g["/a"].weights_used == {"delivery": 0.5, "perceived": 0.5, "effort": 0.0}
    assert g["/a"].total == pytest.approx(62.5)
    assert g["/c"].total == pytest.approx((100 + 12.5) / 2)


def test_effort_from_contacts_after_sessions_and_fcr(world) -> None:
    con, _ = world
    _contacts(con)
    report = quality_score(con, settings=S)
    assert report.effort_data
    g = {x.group: x for x in report.groups}
    # /a: 1 of 4 sessions followed (0.25 → 50 points), FCR 1/1 → effort 75.
    assert (g["/a"].detail["contact_rate"], g["/a"].detail["fcr"]) == (0.25, 1.0)
    assert g["/a"].components["effort"] == pytest.approx(75.0)
    assert g["/a"].total == pytest.approx((62.5 + 62.5 + 75) / 3)
    # /b: 1 of 2 sessions (0.5 → 0 points), two contacts, one first contact, unresolved.
    assert (g["/b"].detail["contacts"], g["/b"].detail["first_contacts"]) == (2, 1)
    assert g["/b"].components["effort"] == pytest.approx(0.0)
    # /c: no contact after its session: 100, no FCR.
    assert g["/c"].components["effort"] == pytest.approx(100.0)
    assert [x.group for x in report.groups] == ["/c", "/a", "/b"]
    assert [x.rank for x in report.groups] == [1, 2, 3]


def test_rank_moves_when_a_weight_moves(world) -> None:
    con, _ = world
    _contacts(con)
    report = quality_score(con, settings=S)
    g = {x.group: x for x in report.groups}
    # /c (100, 12.5, 100) leads /a (62.5, 62.5, 75) by 70.8 to 66.7 at equal weights; with
    # perceived ×1.5 /c falls to 62.5 and /a to 65.4, with delivery ×0.5 /c 65 and /a 67.5.
    assert g["/c"].ranks["perceived+50%"] == 2 and g["/a"].ranks["perceived+50%"] == 1
    assert g["/c"].ranks["delivery-50%"] == 2
    assert g["/c"].rank_range == (1, 2) and g["/b"].rank_range == (3, 3)
    assert report.rank_changes["perceived+50%"] == 2
    assert report.rank_changes["perceived-50%"] == 0


def test_by_segment_and_channel(world) -> None:
    con, _ = world
    # Sessions carry no segment; the answers do, and name their sessions' customers.
    [seg] = quality_score(con, by="segment", settings=S).groups
    assert (seg.group, seg.detail["pages"], seg.detail["responses"]) == ("new", 7, 14)
    [chan] = quality_score(con, by="channel", settings=S).groups
    assert chan.group == "web" and chan.detail["responses"] == 14
    with pytest.raises(ConfigError):
        quality_score(con, by="queue")


def test_composite_and_weights(tmp_path) -> None:
    total, used = composite({"delivery": 80.0, "perceived": 40.0, "effort": None},
                            {"delivery": 2.0, "perceived": 1.0, "effort": 1.0})
    assert total == pytest.approx((2 * 80 + 40) / 3)
    assert used == pytest.approx({"delivery": 2 / 3, "perceived": 1 / 3, "effort": 0.0})
    f = tmp_path / "w.toml"
    f.write_text("[score]\ndelivery = 2\neffort = 0.5\n")
    s = load_weights(f, ScoreSettings(good_load_ms=3000))
    assert (s.delivery, s.perceived, s.effort, s.good_load_ms) == (2.0, 1.0, 0.5, 3000.0)
    f.write_text("delivery = -1\n")
    with pytest.raises(ConfigError):
        load_weights(f, ScoreSettings())
    with pytest.raises(ConfigError):
        ScoreSettings.from_mapping({"speed": 1})


def test_cli(world, capsys, tmp_path) -> None:
    con, path = world
    con.close()
    cfg = tmp_path / "parallax.toml"
    cfg.write_text("[score]\nmin_responses = 1\n")
    assert run(["--db", str(path), "--config", str(cfg), "score", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["effort_data"] is False and doc["by"] == "route"
    assert [x["group"] for x in doc["groups"]] == ["/a", "/c", "/b"]
    assert doc["groups"][0]["components"]["effort"] is None
    assert run(["--db", str(path), "--config", str(cfg), "score"]) == 0
    out = capsys.readouterr().out
    assert "no data" in out and "shared out" in out
