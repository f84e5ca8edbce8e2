"""Segment factors beside device and country: customer type (``segment``) and survey channel.

Simulated responses with planted truths: new customers are unhappier at equal delivery (a
"design" gap: who they are), app-survey respondents are served slower pages and nothing else
(a "delivery" gap), loyal customers and the device are neutral. Plus: feedback.channel reaches
the models through exposure_responses.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.special import expit

from parallax.correlate.conclude import segment_findings
from parallax.correlate.frame import SEGMENT_FACTORS, Frame, read_responses
from parallax.correlate.settings import Settings
from parallax.correlate.verdicts import bh
from parallax.db import connect
from parallax.exposure import JoinSettings, build_exposure

N = 4000
SETTINGS = Settings(draws=300)


def _frame(**columns) -> Frame:
    empty = {f.name: {} for f in fields(Frame) if f.name not in columns}
    return Frame(**columns, **empty)


@pytest.fixture(scope="module")
def findings() -> dict[tuple[str, str], object]:
    rng = np.random.default_rng(11)
    route = rng.choice(np.array(["/", "/product", "/checkout"], dtype=object), N)
    segment = rng.choice(np.array(["new", "returning", "loyal"], dtype=object), N,
                         p=[0.3, 0.5, 0.2])
    channel = rng.choice(np.array(["web", "app"], dtype=object), N, p=[0.7, 0.3])
    device = rng.choice(np.array(["desktop", "mobile"], dtype=object), N)
    log_load = rng.normal(np.log(1.5), 0.35, N) + 0.9 * (channel == "app")
    error = (rng.random(N) < 0.02).astype(float)
    eta = -1.5 + 1.0 * log_load + 1.5 * error + 0.9 * (segment == "new")
    y = (rng.random(N) < expit(eta)).astype(float)
    frame = _frame(
        y=y, cluster=np.array([f"u{i}" for i in range(N)], dtype=object), route=route,
        controls={"device": device, "country": np.full(N, "(unknown)", dtype=object),
                  "segment": segment, "channel": channel},
        log_load=log_load, error=error, link=np.full(N, "session", dtype=object),
        extra={"metric": np.full(N, "nps", dtype=object)})
    return {(f.details["factor"], f.subject): f
            for f in segment_findings(frame, frame, SETTINGS)}


def test_every_factor_with_two_levels_gets_findings(findings) -> None:
    assert SEGMENT_FACTORS == ("device", "country", "segment", "channel")
    assert set(findings) == {("device", "desktop"), ("device", "mobile"), ("segment", "new"),
                             ("segment", "returning"), ("segment", "loyal"),
                             ("channel", "web"), ("channel", "app")}
    assert all(f.subject_kind == "segment" for f in findings.values())
    assert findings[("segment", "new")].n_responses > 1000


def test_customer_type_gap_remains_at_equal_delivery(findings) -> None:
    new = findings[("segment", "new")]
    assert new.verdict == "design"
    assert new.odds_ratio_adjusted is not None and new.odds_ratio_adjusted.low > 1.5
    assert "at equal delivery" in new.evidence
    assert findings[("segment", "loyal")].verdict in ("ok", "inconclusive")


def test_channel_gap_is_delivery(findings) -> None:
    app = findings[("channel", "app")]
    assert app.verdict == "delivery"
    assert app.explained_share > 0.7
    assert app.details["delivery_part_log_odds"].low > 0
    assert findings[("channel", "web")].verdict not in ("delivery", "design", "mixed")


def test_fdr_is_per_factor(findings) -> None:
    for factor in ("segment", "channel", "device"):
        mine = [f for (k, _), f in findings.items() if k == factor]
        assert [f.q_value for f in mine] == pytest.approx(bh([f.p_value for f in mine]))


def test_feedback_channel_reaches_the_models(tmp_path) -> None:
    con = connect(tmp_path / "c.duckdb")
    t0 = datetime(2026, 10, 5, 12, tzinfo=UTC)
    for i, channel in enumerate(("email", None)):
        con.execute(
            "INSERT INTO feedback (feedback_id, source, submitted_at, channel, metric, score, "
            "scale_min, scale_max, is_poor, segment, route, load_id) "
            "VALUES (?, 'test', ?, ?, 'nps', 3, 0, 10, true, 'loyal', '/cart', 'l1')",
            [f"r{i}", t0 + timedelta(minutes=i), channel])
    build_exposure(con, JoinSettings())
    frame = read_responses(con)
    assert frame.controls["channel"].tolist() == ["email", "(unknown)"]
    assert frame.controls["segment"].tolist() == ["loyal", "loyal"]
    con.close()
