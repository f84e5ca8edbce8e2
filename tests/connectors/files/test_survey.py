"""The shared survey rules: scales and the poor rule, score and time parsing, column lookup by
common names, and the row builder's derived ids and pseudonymisation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from parallax.connectors.base import ParseContext
from parallax.connectors.files import survey
from parallax.connectors.routes import RouteNormalizer
from parallax.errors import ConfigError, FormatError


@pytest.mark.parametrize(("metric", "lo", "hi", "poor"), [
    ("nps", 0, 10, 6), ("csat", 1, 5, 2), ("ces", 1, 7, 3), ("rating", 1, 5, 2),
])
def test_default_scales(metric, lo, hi, poor):
    s = survey.scales({}, {})[metric]
    assert (s.lo, s.hi, s.poor_at_most) == (lo, hi, poor)


@pytest.mark.parametrize(("observed", "lo", "hi", "poor"), [
    ((1, 4), 1, 5, 2), ((0, 5), 0, 5, 2), ((2, 6), 1, 7, 3), ((3, 9), 1, 10, 4),
    ((0, 10), 0, 10, 4), ((1, 80), 1, 100, 40), ((1, 250), 1, 250, 100),
])
def test_rating_scale_read_from_data(observed, lo, hi, poor):
    s = survey.scales({}, {"rating": observed})["rating"]
    assert (s.lo, s.hi, s.poor_at_most) == (lo, hi, poor)


def test_scale_options():
    s = survey.scales({"scale": "1-7", "poor_at_most": "4"}, {"rating": (1, 2)})
    assert (s["csat"].hi, s["csat"].poor_at_most) == (7, 4)
    assert (s["rating"].lo, s["rating"].hi) == (1, 7)
    assert (s["nps"].lo, s["nps"].hi, s["nps"].poor_at_most) == (0, 10, 6)  # nps is nps
    assert survey.scales({"scale": "0–10"}, {})["csat"].poor_at_most == 4
    with pytest.raises(ConfigError, match="scale '5-1'"):
        survey.scales({"scale": "5-1"}, {})
    with pytest.raises(ConfigError, match="poor_at_most 'low'"):
        survey.scales({"poor_at_most": "low"}, {})


@pytest.mark.parametrize(("value", "expected"), [
    ("7", 7.0), (" 4.5 ", 4.5), ("3,5", 3.5), (9, 9.0), (2.0, 2.0), ("", None), (None, None),
    ("10 - Extremely likely", 10.0), ("0 (Not at all likely)", 0.0), ("4 stars", 4.0),
])
def test_parse_score(value, expected):
    assert survey.parse_score(value) == expected


@pytest.mark.parametrize("value", ["Very satisfied", "nan", "inf", True, float("nan"), "5x"])
def test_parse_score_rejects_non_numbers(value):
    with pytest.raises(ValueError, match="is not a number"):
        survey.parse_score(value)


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-07-01 09:15:00", datetime(2026, 7, 1, 15, 15, tzinfo=UTC)),  # Denver, MDT
    ("2026-07-01T09:15:00Z", datetime(2026, 7, 1, 9, 15, tzinfo=UTC)),
    ("2026-07-01T11:15:00+02:00", datetime(2026, 7, 1, 9, 15, tzinfo=UTC)),
    ("7/18/2017 8:28", datetime(2017, 7, 18, 14, 28, tzinfo=UTC)),
    (1767225600, datetime(2026, 1, 1, tzinfo=UTC)),
    ("1767225600000", datetime(2026, 1, 1, tzinfo=UTC)),
    (1767225600000000, datetime(2026, 1, 1, tzinfo=UTC)),
    (1767225600000000000, datetime(2026, 1, 1, tzinfo=UTC)),
    ("", None), (None, None),
])
def test_parse_time(value, expected):
    assert survey.parse_time(value, ZoneInfo("America/Denver")) == expected


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", True, "1e400", "9" * 30])
def test_parse_time_rejects(value):
    with pytest.raises(ValueError, match="is not a date/time"):
        survey.parse_time(value, UTC)


def test_resolve_columns_by_common_names_and_fields():
    cols = ["Response_ID", "session.id", "userId", "PageURL", "Customer Segment", "NPS",
            "Your comments", "ctx.device"]
    found = survey.resolve_columns(cols, {}, "f.csv")
    assert found == {"feedback_id": "Response_ID", "score": "NPS", "verbatim": "Your comments",
                     "session_id": "session.id", "user_id": "userId", "page_url": "PageURL",
                     "device": "ctx.device", "segment": "Customer Segment"}
    over = survey.resolve_columns(cols, {"score": "usERID", "session_id": "PageURL"}, "f.csv")
    assert (over["score"], over["session_id"]) == ("userId", "PageURL")
    with pytest.raises(FormatError, match=r"f.csv: row 1: --field score=Q9: no column 'Q9'"):
        survey.resolve_columns(cols, {"score": "Q9"}, "f.csv")
    # A nested key never answers to a bare "id".
    assert "feedback_id" not in survey.resolve_columns(["user.id", "score"], {}, "f")


def test_check_fields_rejects_unknown_names_and_metrics(pseudonymize):
    def ctx(fields=None, options=None):
        return ParseContext("f", pseudonymize, RouteNormalizer(), fields or {}, options or {})

    assert survey.check_fields(ctx(options={"metric": "CSAT"})) == "csat"
    with pytest.raises(ConfigError, match="--field scor=…: unknown field"):
        survey.check_fields(ctx(fields={"scor": "Q1"}))
    with pytest.raises(ConfigError, match="--metric stars"):
        survey.check_fields(ctx(options={"metric": "stars"}))


def test_metric_of_name():
    assert [survey.metric_of_name(n) for n in ("NPS_Score", "csat", "CES_1", "Q3", "ltr")] == \
        ["nps", "csat", "ces", None, "nps"]


def test_rows_builder(pseudonymize):
    ctx = ParseContext("f", pseudonymize, RouteNormalizer())
    rules = survey.FileRules("test", "nps", survey.scales({}, {}), UTC,
                             pii=frozenset({"crm"}))
    rows = survey.FeedbackRows(ctx, rules)
    cols = {"score": "s", "user_id": "u", "page_url": "p"}
    rec = {"s": "6", "u": "alice", "p": "/a?email=x@y.z", "crm": "C-1", "ip": "1.2.3.4", "e": ""}
    rows.add("row 2", rec, cols, None)
    rows.add("row 3", dict(rec), cols, None)
    rows.add("row 4", {**rec, "s": "12"}, cols, "raw")
    chunk = rows.take()
    assert (chunk.records, len(chunk.rejects), chunk.frame.num_rows) == (3, 1, 2)
    assert chunk.rejects[0].reason == "score 12 is outside the nps scale 0–10 (column s)"
    data = chunk.frame.to_pylist()
    first_id, second_id = data[0]["feedback_id"], data[1]["feedback_id"]
    assert second_id == first_id + "#2" and first_id.startswith("sha256:")
    assert data[0]["user_id"] == pseudonymize("alice")
    assert (data[0]["page_url"], data[0]["route"], data[0]["is_poor"]) == ("/a", "/a", True)
    assert json.loads(data[0]["attributes"]) == {"crm": pseudonymize("C-1"),
                                                  "ip": pseudonymize("1.2.3.4")}
    # A fresh builder for the same file derives the same ids: reloads dedupe.
    again = survey.FeedbackRows(ctx, rules)
    again.add("row 2", rec, cols, None)
    assert again.take().frame.to_pylist()[0]["feedback_id"] == first_id
