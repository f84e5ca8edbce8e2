"""`parallax incident`: the counterfactual on synthetic series with a known jump (and none),
which sessions the conversion series counts, and end to end on the demo world's planted
database crash (the interval coverage itself: test_counterfactual.py)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pytest

from parallax.correlate import incident
from parallax.correlate.incident import counterfactual, incident_impact
from parallax.correlate.settings import Settings
from parallax.errors import ConfigError, NoDataError

HOURS = np.array([1, .6, .4, .3, .3, .5, 1, 2, 3, 3.5, 4, 4, 4.5, 4.5, 4, 4, 4, 4.5, 5, 5.5,
                  5.5, 4.5, 3, 2])


def _series(rate_during: float, seed: int, shock: np.ndarray | None = None):
    """Seven days of hourly page loads with a daily cycle, then a five-hour window."""
    rng = np.random.default_rng(seed)
    n = 7 * 24 + 5
    pages = rng.poisson(40 * np.tile(HOURS, 8)[:n]).astype(float)
    rate = np.full(n, 0.03) * (1.0 if shock is None else shock)
    window = np.arange(n) >= n - 5
    rate[window] = rate_during
    poor = rng.binomial(pages.astype(int), rate).astype(float)
    expected = float((pages[window] * (0.03 if shock is None else 0.03 * shock[window])).sum())
    return poor, pages, ~window, window, expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_known_jump_is_measured_and_its_interval_covers_the_truth(seed) -> None:
    poor, pages, pre, window, expected = _series(0.15, seed)
    cf = counterfactual(poor, pages, pre, window, None)
    planted = float((pages[window] * (0.15 - 0.03)).sum())  # expected with minus without
    realised = poor[window].sum() - expected  # what the counterfactual alone must get right
    low, high = cf.extra[1], cf.extra[2]
    assert cf.observed == poor[window].sum() and cf.exposure == pages[window].sum()
    assert low <= planted <= high
    assert low > 0 and abs(cf.extra[0] - realised) / realised < 0.2
    assert cf.model == "constant level"  # no drift: the random walk does not earn its keep


def test_no_jump_gives_an_interval_around_zero() -> None:
    poor, pages, pre, window, _ = _series(0.03, 4)
    cf = counterfactual(poor, pages, pre, window, None)
    assert cf.extra[1] < 0 < cf.extra[2]


def test_other_routes_join_the_model_when_they_track_a_common_shock() -> None:
    rng = np.random.default_rng(5)
    n = 7 * 24 + 5
    shock = np.exp(np.cumsum(rng.normal(0, 0.15, n)))  # a drifting level all routes share
    shock = np.clip(shock / shock.mean(), 0.2, 5.0)
    poor, pages, pre, window, expected = _series(0.0, 5, shock)
    poor[window] = rng.binomial(pages[window].astype(int), 0.03 * shock[window] + 0.1)
    other_pages = rng.poisson(400 * np.tile(HOURS, 8)[:n]).astype(float)
    other = rng.binomial(other_pages.astype(int), 0.03 * shock) / np.maximum(other_pages, 1)
    with_x = counterfactual(poor, pages, pre, window, other)
    assert with_x.model == "local level + other routes"  # the level drifts, the others follow
    alone = counterfactual(poor, pages, pre, window, None)
    assert alone.model == "local level"
    planted = float((pages[window] * 0.1).sum())  # the window's rate is the shock's + 0.1
    assert with_x.extra[1] <= planted <= with_x.extra[2]
    assert alone.extra[1] <= planted <= alone.extra[2]
    assert with_x.expected_sd < alone.expected_sd  # the common shock, explained


CRASH = (datetime(2026, 10, 8, 17, tzinfo=UTC), datetime(2026, 10, 8, 22, tzinfo=UTC))


def test_every_session_on_the_routes_counts_for_conversion() -> None:
    """The sessions a crash kept from the checkout are lost conversions too: one that left
    after the product page, one the analytics export never saw (an untagged error page), and
    one whose first product page came just before the window all count in the window."""
    con = duckdb.connect()
    con.execute("CREATE TABLE exposure_pages (started_at TIMESTAMPTZ, route VARCHAR, "
                "session_id VARCHAR)")
    con.execute("CREATE TABLE feedback (submitted_at TIMESTAMPTZ, route VARCHAR, "
                "is_poor BOOLEAN, metric VARCHAR)")
    con.execute("CREATE TABLE sessions (session_id VARCHAR, converted BOOLEAN, revenue DOUBLE)")
    t = CRASH[0]
    pages = [(10, "/product/{id}", "left"), (20, "/product/{id}", "untracked"),
             (30, "/product/{id}", "bought"), (31, "/cart", "bought"),
             (33, "/checkout", "bought"), (-5, "/product/{id}", "edge"),
             (5, "/product/{id}", "edge"), (-110, "/cart", "before"),
             (40, "/checkout", "elsewhere"), (45, "/product/{id}", None)]
    con.executemany("INSERT INTO exposure_pages VALUES (?, ?, ?)",
                    [(t + timedelta(minutes=m), r, s) for m, r, s in pages])
    con.executemany("INSERT INTO sessions VALUES (?, ?, ?)",
                    [("left", False, 0.0), ("bought", True, 80.0), ("edge", False, 0.0),
                     ("before", True, 50.0), ("elsewhere", True, 60.0)])
    s = incident._series(con, ["/product/{id}", "/cart"], t, 60, t - timedelta(hours=3),
                t + timedelta(hours=1))
    at = {int(b): i for i, b in enumerate(s["bin"])}
    assert s["sessions"][at[0]] == 4 and s["conversions"][at[0]] == 1  # left, untracked,
    assert s["revenue"][at[0]] == 80.0  # bought, edge — not "elsewhere", not the null session
    assert s["sessions"][at[-1]] == 0  # "edge" belongs to the window it was hit in
    assert (s["sessions"][at[-2]], s["conversions"][at[-2]]) == (1, 1)


def test_the_demo_database_crash(demo_run) -> None:
    r = incident_impact(demo_run.con, dependency="inventory-db", starts=CRASH[0], ends=CRASH[1])
    truth = demo_run.truth["workflows"]["incident"]
    assert r.verdict == "measured" and set(r.routes) == set(truth["routes"])
    assert r.responses == truth["responses"] and r.poor.observed == truth["poor_responses"]
    est, low, high = r.poor.extra
    assert low <= truth["expected_extra_poor_responses"] <= high  # the planted effect
    assert 0.5 * truth["extra_poor_responses"] < est < 2 * truth["extra_poor_responses"]
    assert high - low > 2 * 1.96 * r.poor.observed ** 0.5 * 0.9  # the answers' own chance
    assert r.poor_rate > r.poor_rate_before + 0.3
    assert r.nps_points is not None and r.nps_points[0] == pytest.approx(100 * est / r.responses)
    assert r.nps_points[2] <= 100.0
    assert (r.responses < 20) == any(n.startswith("thin: ") for n in r.notes)
    lost = tuple(-x for x in r.conversions.extra)  # expected − observed
    assert min(lost[1:]) <= truth["expected_lost_conversions"] <= max(lost[1:])
    # every session on the routes, consenting to analytics or not (4 % do not)
    assert truth["sessions"] <= r.conversions.exposure <= 1.1 * truth["sessions"]
    assert r.conversions.observed == truth["conversions"]
    dep = next(d for d in r.delivery if d["subject"] == "inventory-db")
    assert dep["degraded"] and dep["during"]["failure_rate"] > 0.8 > 0.1 > \
        dep["before"]["failure_rate"]
    assert not next(d for d in r.delivery if d["subject"] == "pricing-service")["degraded"]
    assert {s["level"] for s in r.segments if s["factor"] == "device"} <= {"mobile", "desktop"}
    doc = r.to_json()
    assert doc["poor_responses"]["extra"]["estimate"] == pytest.approx(est, abs=1e-5)


def test_too_thin_and_nothing_to_measure(demo_run) -> None:
    start = datetime(2026, 10, 5, 2, tzinfo=UTC)  # the first night: no pre-period at all
    thin = incident_impact(demo_run.con, route="/checkout", starts=start,
                           ends=start + timedelta(hours=4))
    assert thin.verdict == "too thin" and thin.poor is None and "pre-period" in thin.reason
    with pytest.raises(NoDataError, match="no page loads touched no-such-db"):
        incident_impact(demo_run.con, dependency="no-such-db", starts=CRASH[0], ends=CRASH[1])
    with pytest.raises(ConfigError):
        incident_impact(demo_run.con, dependency="inventory-db", starts=CRASH[1], ends=CRASH[0])
    with pytest.raises(ConfigError, match="no annotation"):
        incident_impact(demo_run.con, id="INC-404")


def test_incidents_going_on_through_the_window_set_the_conversion_baseline(
        demo_run, tmp_path) -> None:
    """With the tracker loaded, the payment outage and the checkout slowdown (both on the way
    to the conversion, both going on through the crash) confine the conversion baseline to
    the hours under them: a level learnt there, not a random walk across the clean days."""
    from parallax.db import connect
    from parallax.demo.workflows import write_tracker
    from parallax.records.annotations import import_csv

    demo_run.con.execute("CHECKPOINT")
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(demo_run.db_path, copy)
    write_tracker(tmp_path / "incidents.csv")
    con = connect(copy)
    try:
        import_csv(con, tmp_path / "incidents.csv")
        with_notes = incident_impact(con, id="inventory-db-crash")
    finally:
        con.close()
    blind = incident_impact(demo_run.con, dependency="inventory-db", starts=CRASH[0],
                            ends=CRASH[1])
    truth = demo_run.truth["workflows"]["incident"]
    note = next(n for n in with_notes.notes if n.startswith("conversions: "))
    assert "psp-outage" in note and "checkout-backend-slow" in note and "35 " in note
    c = with_notes.conversions
    assert c.model == "constant level" and c.expected_sd < blind.conversions.expected_sd
    assert -c.extra[2] <= truth["expected_lost_conversions"] <= -c.extra[1]
    assert with_notes.poor.extra == blind.poor.extra  # neither touches the crash's routes


def test_the_thresholds_are_settings(demo_run) -> None:
    """[correlate] incident_* decide when the window can say anything, like every threshold."""
    strict = Settings(incident_min_window_responses=10_000, incident_thin_window_responses=10_000)
    r = incident_impact(demo_run.con, dependency="inventory-db", starts=CRASH[0], ends=CRASH[1],
                        settings=strict)
    assert r.verdict == "too thin" and "at least 10000 needed" in r.reason
    nothing = Settings(incident_min_pre_sessions=10**9)
    r = incident_impact(demo_run.con, dependency="inventory-db", starts=CRASH[0], ends=CRASH[1],
                        settings=nothing)
    assert r.verdict == "measured" and r.conversions is None


@pytest.mark.parametrize("bad", [{"incident_min_pre_bins": 0}, {"incident_path_share": 1.5},
                                 {"incident_thin_window_responses": 2},
                                 {"incident_thin_conversions": -1}])
def test_incident_settings_are_checked(bad) -> None:
    with pytest.raises(ConfigError, match=r"\[correlate\]: incident_"):
        Settings.from_mapping(bad)
    assert Settings.from_mapping({"incident_path_share": 0.8}).incident_path_share == 0.8
