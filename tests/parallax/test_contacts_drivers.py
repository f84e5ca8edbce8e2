"""Call drivers on a hand-built world whose answer is worked out by hand: ten customers whose
checkout's payment call failed, twenty whose checkout was clean, one whose checkout was slow."""

from __future__ import annotations

import json

import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from parallax.cli import run
from parallax.config import Config
from parallax.drivers import call_drivers, cost_per_minute, newcombe
from parallax.errors import ConfigError, NoDataError
from parallax.exposure import JoinSettings, refresh_pages

T0 = "2026-03-02 10:00:00+00"


def _page(con, user: str, *, failed: bool = False, load_ms: float = 800.0,
          route: str = "/checkout") -> None:
    con.execute(
        "INSERT INTO exposure_pages (page_key, session_id, user_id, route, started_at, load_ms, "
        "error_seen, deps) VALUES (?, ?, ?, ?, CAST(? AS TIMESTAMPTZ), ?, false, "
        "[{'peer': 'psp', 'calls': 1, 'ms': 300.0, 'failed': ?}])",
        [f"p-{user}", f"s-{user}", user, route, T0, load_ms, failed])


def _contact(con, cid: str, user: str, reason: str, hours: float, *,
             initiation: str = "inbound", handle_s: float = 300.0) -> None:
    con.execute(
        "INSERT INTO interactions (source, interaction_id, channel, user_id, reason, started_at, "
        "initiation, handle_s, abandoned) VALUES ('cc', ?, 'call', ?, ?, "
        "CAST(? AS TIMESTAMPTZ) + to_seconds(?), ?, ?, false)",
        [cid, user, reason, T0, hours * 3600, initiation, handle_s])


@pytest.fixture
def world(con):
    refresh_pages(con, JoinSettings())  # creates the (empty) page-level join model
    for i in range(10):
        _page(con, f"e{i}", failed=True)
    for i in range(20):
        _page(con, f"c{i}")
    _page(con, "s0", load_ms=4000.0)  # slow: in the route row only
    for i in range(5):  # half the failed customers call about payment an hour later
        _contact(con, f"pe{i}", f"e{i}", "payment", 1)
    _contact(con, "pc0", "c0", "payment", 2)  # two of the twenty clean ones do too
    _contact(con, "pc1", "c1", "payment", 2)
    _contact(con, "late", "e5", "payment", 30)  # outside the 24 h window
    _contact(con, "leg", "e6", "payment", 1, initiation="transfer")  # a leg is no contact
    _contact(con, "dc2", "c2", "delivery", 3, handle_s=600.0)
    _contact(con, "early", "e7", "payment", -1)  # before the page: not caused by it
    return con


def _row(drivers, reason, route, dep):
    return next(d for d in drivers if (d.reason, d.route, d.dependency) == (reason, route, dep))


def test_excess_avoidable_and_cost_worked_out_by_hand(world) -> None:
    drivers = call_drivers(world, cost_per_min=2.0)
    d = _row(drivers, "payment", "/checkout", "psp")
    assert (d.exposed_sessions, d.exposed_with_contact) == (10, 5)
    assert (d.clean_sessions, d.clean_with_contact) == (20, 2)
    assert d.excess == pytest.approx(0.5 - 0.1)
    lo, hi = confint_proportions_2indep(5, 10, 2, 20, method="newcomb", compare="diff")
    assert d.excess_ci == pytest.approx((lo, hi), abs=1e-9)
    assert d.avoidable_contacts == pytest.approx(4.0)
    # payment AHT: all answered payment records (the leg too) handled 300 s = 5 minutes
    assert d.cost == pytest.approx(4.0 * 5 * 2.0)
    # linked: the 5 callers after failure and 2 clean callers (early/late/leg are not)
    assert (d.contacts, d.after_failure) == (7, 5)
    assert d.to_json()["share_after_failure"] == pytest.approx(round(5 / 7, 4))
    # the route row counts the slow checkout as exposed too
    r = _row(drivers, "payment", "/checkout", None)
    assert (r.exposed_sessions, r.exposed_with_contact, r.clean_sessions) == (11, 5, 20)
    assert r.excess == pytest.approx(5 / 11 - 0.1)
    # no delivery contact followed a failure: no excess, nothing avoidable
    dl = _row(drivers, "delivery", "/checkout", "psp")
    assert dl.excess == pytest.approx(0 - 1 / 20) and dl.avoidable_contacts == 0.0
    assert drivers[0].avoidable_contacts >= drivers[-1].avoidable_contacts  # ranked


def test_a_shorter_window_misses_later_contacts(world) -> None:
    d = _row(call_drivers(world, window_s=5400), "payment", "/checkout", "psp")
    assert (d.exposed_with_contact, d.clean_with_contact) == (5, 0)  # clean calls at 2 h


def test_newcombe_matches_statsmodels_and_handles_edges() -> None:
    for a1, n1, a0, n0 in ((0, 10, 0, 10), (10, 10, 0, 5), (3, 40, 7, 25)):
        lo, hi = confint_proportions_2indep(a1, n1, a0, n0, method="newcomb", compare="diff")
        assert newcombe(a1, n1, a0, n0) == pytest.approx((lo, hi), abs=1e-9)
    assert newcombe(1, 0, 1, 5) is None


def test_cli_json_is_the_documented_list(world, db_path, capsys) -> None:
    world.close()
    capsys.readouterr()
    assert run(["--db", str(db_path), "contacts", "drivers", "--format", "json",
                "--cost-per-minute", "2", "--window", "24h"]) == 0
    doc = json.loads(capsys.readouterr().out)
    first = doc[0]
    assert list(first)[:8] == ["reason", "route", "dependency", "contacts",
                               "share_after_failure", "excess_share", "avoidable_contacts",
                               "cost"]
    assert set(first["excess_share"]) == {"estimate", "ci_low", "ci_high"}
    assert (first["reason"], first["dependency"], first["cost"]) == ("payment", "psp", 40.0)
    assert run(["--db", str(db_path), "contacts", "drivers", "--window", "soon"]) != 0
    assert run(["--db", str(db_path), "contacts", "drivers"]) == 0
    assert "payment" in capsys.readouterr().out


def test_config_cost_and_errors(con) -> None:
    assert cost_per_minute(Config(extra={"contacts": {"cost_per_minute": 0.8}})) == 0.8
    assert cost_per_minute(Config(), 1.5) == 1.5 and cost_per_minute(Config()) == 1.0
    with pytest.raises(ConfigError):
        cost_per_minute(Config(extra={"contacts": {"cost_per_minute": "cheap"}}))
    with pytest.raises(ConfigError):
        cost_per_minute(Config(), -1.0)
    with pytest.raises(NoDataError):
        call_drivers(con)
