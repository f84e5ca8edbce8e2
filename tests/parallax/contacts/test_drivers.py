"""Call drivers on a hand-built world whose answer is worked out by hand: twelve logged-in
sessions whose payment call failed (on two routes), one where the inventory failed too, eight
anonymous ones, twenty clean ones and one slow checkout."""

from __future__ import annotations

import json

import pytest

from parallax.cli import run
from parallax.config import Config
from parallax.contacts.drivers import call_drivers, cost_per_minute
from parallax.errors import ConfigError, NoDataError
from parallax.exposure import JoinSettings, refresh_pages

T0 = "2026-03-02 10:00:00+00"


def _page(con, session: str, user: str | None, *, psp_failed: bool = False,
          inv_failed: bool | None = None, load_ms: float = 800.0, route: str = "/checkout",
          hours: float = 0.0) -> None:
    deps = [{"peer": "psp", "calls": 1, "ms": 300.0, "failed": psp_failed}]
    if inv_failed is not None:
        deps.append({"peer": "inv", "calls": 1, "ms": 20.0, "failed": inv_failed})
    con.execute(
        "INSERT INTO exposure_pages (page_key, session_id, user_id, route, started_at, load_ms, "
        "error_seen, deps) VALUES (?, ?, ?, ?, CAST(? AS TIMESTAMPTZ) + to_seconds(?), ?, "
        "false, ?::STRUCT(peer VARCHAR, calls BIGINT, ms DOUBLE, failed BOOLEAN)[])",
        [f"p-{session}-{hours}", session, user, route, T0, hours * 3600, load_ms, deps])


def _contact(con, cid: str, user: str | None, reason: str, hours: float, *,
             initiation: str = "inbound", handle_s: float = 300.0,
             previous: str | None = None) -> None:
    con.execute(
        "INSERT INTO interactions (source, interaction_id, channel, user_id, reason, started_at, "
        "initiation, handle_s, abandoned, previous_interaction_id) VALUES ('cc', ?, 'call', ?, "
        "?, CAST(? AS TIMESTAMPTZ) + to_seconds(?), ?, ?, false, ?)",
        [cid, user, reason, T0, hours * 3600, initiation, handle_s, previous])


@pytest.fixture
def world(con):
    refresh_pages(con, JoinSettings())  # creates the (empty) page-level join model
    for i in range(10):
        _page(con, f"e{i}", f"e{i}", psp_failed=True)
    for i in range(2):
        _page(con, f"f{i}", f"f{i}", psp_failed=True, route="/pay")
    _page(con, "m0", "m0", psp_failed=True, inv_failed=True)  # two failures: not alone
    for i in range(8):
        _page(con, f"a{i}", None, psp_failed=True)  # anonymous: no contact can be linked
    for i in range(20):
        _page(con, f"c{i}", f"c{i}")
    _page(con, "s0", "s0", load_ms=4000.0)  # slow: the route's, not the dependency's
    for i in range(5):  # five of the twelve call about payment an hour later
        _contact(con, f"pe{i}", f"e{i}", "payment", 1)
    _contact(con, "pe0-again", "e0", "payment", 49)  # a repeat two days later: same problem
    _contact(con, "pc0", "c0", "payment", 2)  # two of the twenty clean ones do too
    _contact(con, "pc1", "c1", "payment", 2)
    _contact(con, "pm0", "m0", "payment", 1)  # not read: its session had two failures
    _contact(con, "late", "e5", "payment", 30)  # first contact outside the 24 h window
    _contact(con, "leg", "e1", "payment", 1.2, initiation="transfer", handle_s=600.0,
             previous="pe1")  # a leg is part of pe1, not a contact
    _contact(con, "early", "e7", "payment", -1)  # before the failure: not caused by it
    for i in range(3):
        _contact(con, f"anon{i}", None, "payment", 3)
    _contact(con, "dc2", "c2", "delivery", 3)
    return con


def _row(drivers, reason, kind, subject):
    return next(d for d in drivers if (d.reason, d.subject_kind, d.subject)
                == (reason, kind, subject))


def test_excess_applied_to_every_session_that_met_the_failure(world) -> None:
    drivers = call_drivers(world, cost_per_min=2.0)
    d = _row(drivers, "payment", "dependency", "psp")
    # one driver for the dependency, listing the routes its failures were on
    assert sum((x.reason, x.subject) == ("payment", "psp") for x in drivers) == 1
    assert d.routes == (("/checkout", 19), ("/pay", 2))
    assert (d.exposed_sessions, d.linked_exposed, d.sole_exposed) == (21, 13, 12)
    # e0's repeat belongs to its problem: 6 contacts over the 12 sessions read, 2 over 20
    assert (d.sole_exposed_contacts, d.clean_sessions, d.clean_contacts) == (6, 20, 2)
    assert d.excess_rate == pytest.approx(6 / 12 - 2 / 20)
    assert d.avoidable_contacts == pytest.approx(0.4 * 21)
    # all payment contacts: 5 + repeat + 2 clean + m0 + late + early + 3 anonymous (no leg)
    assert d.reason_contacts == 14
    assert d.attributable_share == pytest.approx(0.4 * 21 / 14)
    lo, hi = d.avoidable_ci
    # wider than the rate's interval times the sessions (the unlinked sessions' chance too),
    # and never more than all the reason's contacts
    assert lo <= d.excess_rate_ci[0] * 21 < 0.4 * 21 < hi == 14
    assert d.attributable_share_ci == pytest.approx((lo / 14, hi / 14))
    # cost: the mean handle of an answered payment contact, pe1 with its leg (900 s) included
    aht = (13 * 300 + 900) / 14
    assert d.aht_s == pytest.approx(aht)
    assert d.cost == pytest.approx(0.4 * 21 * aht / 60 * 2.0)
    # the slow checkout is the route's: one exposed session, no contact after it
    r = _row(drivers, "payment", "route", "/checkout")
    assert (r.exposed_sessions, r.sole_exposed, r.excess_rate) == (1, 1, pytest.approx(-0.1))
    assert r.avoidable_contacts == 0.0 and r.thin
    assert drivers[0] is d  # ranked by avoidable contacts


def test_fcr_window_decides_what_a_repeat_is(world) -> None:
    d = _row(call_drivers(world, fcr_days=1), "payment", "dependency", "psp")
    assert d.sole_exposed_contacts == 5  # 49 h later is a new problem, outside the window


def test_a_contact_counts_once_for_the_latest_session_before_it(con) -> None:
    refresh_pages(con, JoinSettings())
    _page(con, "x1", "x", psp_failed=True)
    _page(con, "x2", "x", psp_failed=True, hours=2)
    _page(con, "c", "c")
    _contact(con, "k", "x", "payment", 3)
    d = _row(call_drivers(con), "payment", "dependency", "psp")
    assert (d.sole_exposed, d.sole_exposed_contacts) == (2, 1)


def test_a_failure_elsewhere_for_the_same_customer_is_not_read(con) -> None:
    refresh_pages(con, JoinSettings())
    _page(con, "y1", "y", psp_failed=True)
    _page(con, "y2", "y", inv_failed=True, route="/product", hours=1)  # another session
    _page(con, "z1", "z", psp_failed=True)
    _page(con, "c", "c")
    _contact(con, "k", "y", "payment", 3)
    d = _row(call_drivers(con), "payment", "dependency", "psp")
    assert (d.exposed_sessions, d.sole_exposed, d.sole_exposed_contacts) == (2, 1, 0)


def test_cli_json_table_limit_and_summary(world, db_path, capsys) -> None:
    world.close()
    capsys.readouterr()
    assert run(["--db", str(db_path), "contacts", "drivers", "--format", "json",
                "--cost-per-minute", "2", "--window", "24h"]) == 0
    doc = json.loads(capsys.readouterr().out)
    first = doc[0]
    assert list(first)[:9] == ["reason", "subject_kind", "subject", "routes",
                               "avoidable_contacts", "attributable_share", "excess_rate",
                               "cost", "reason_contacts"]
    assert set(first["excess_rate"]) == {"estimate", "ci_low", "ci_high"}
    assert (first["reason"], first["subject"], first["avoidable_contacts"]["estimate"]) \
        == ("payment", "psp", 8.4)
    assert first["routes"] == [{"route": "/checkout", "sessions": 19},
                               {"route": "/pay", "sessions": 2}]
    assert run(["--db", str(db_path), "contacts", "drivers", "--window", "soon"]) != 0
    capsys.readouterr()
    assert run(["--db", str(db_path), "contacts", "drivers", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    summary = out.splitlines()[0]
    assert summary.startswith("15 contacts;")  # 14 payment + 1 delivery
    assert "Top: payment contacts after failures of dependency psp — ≈ 8.4 (" in summary
    assert f"Showing 2 of {len(doc)}" in summary
    assert "/checkout (19), /pay (2)" in out and "60% (" in out  # 8.4 of 14
    assert sum(line.startswith("│ ") and line[2].isdigit() for line in out.splitlines()) == 2


def test_config_cost_and_errors(con) -> None:
    assert cost_per_minute(Config(extra={"contacts": {"cost_per_minute": 0.8}})) == 0.8
    assert cost_per_minute(Config(), 1.5) == 1.5 and cost_per_minute(Config()) == 1.0
    with pytest.raises(ConfigError):
        cost_per_minute(Config(extra={"contacts": {"cost_per_minute": "cheap"}}))
    with pytest.raises(ConfigError):
        cost_per_minute(Config(), -1.0)
    with pytest.raises(NoDataError):
        call_drivers(con)


_HOSTILE = "<script>alert(1)</script> [bold]refund[/bold]"


def test_cli_html_keeps_untrusted_text_text(world, db_path, tmp_path, capsys) -> None:
    _page(world, "h0", "h0", load_ms=4000.0, route="/<img src=x onerror=alert(1)>")
    for i in range(4):  # callers about a hostile reason after the payment failure
        _contact(world, f"h{i}", f"e{i + 5}", _HOSTILE, 1)
    world.close()
    page = tmp_path / "drivers.html"
    capsys.readouterr()
    assert run(["--db", str(db_path), "contacts", "drivers", "--limit", "0", "--html",
                str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "<img" not in html and "[bold]" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; [bold]refund[/bold]" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count("<svg") == 1 and "<foreignObject" not in html


def test_cli_html_refuses_a_path_it_cannot_write(world, db_path, tmp_path, capsys) -> None:
    world.close()
    for path in (tmp_path / "missing" / "d.html", tmp_path):
        capsys.readouterr()
        assert run(["--db", str(db_path), "contacts", "drivers", "--html", str(path)]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1
        assert err.startswith(f"parallax: error: --html {path}: cannot write it")
    assert list(tmp_path.glob(".*.tmp")) == []
