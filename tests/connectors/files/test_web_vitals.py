"""Web vitals from the sources that collect them → the ``web_vitals`` view: GA4 export rows
(Google's web-vitals → gtag → BigQuery pattern), PostHog ``$web_vitals`` events, OpenTelemetry
browser spans, and the generic CSV / NDJSON. One row per metric_id (the last report wins),
routes as everything else's, ratings from Google's thresholds where the source gives none."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parallax.connectors.files import detect
from parallax.connectors.load import ingest_files
from parallax.errors import FormatError, RejectRateError

SYNTHETIC = Path(__file__).parents[2] / "fixtures" / "synthetic"
GA4 = SYNTHETIC / "ga4_web_vitals.ndjson"
POSTHOG = SYNTHETIC / "posthog_web_vitals.jsonl"
CSV = SYNTHETIC / "web_vitals.csv"


def _vitals(con) -> list[tuple]:
    return con.execute("SELECT session_id, route, metric, value, rating, source, metric_id "
                       "FROM web_vitals ORDER BY ALL").fetchall()


@pytest.mark.parametrize("native", ["1", "0"])
def test_ga4_export_rows_last_report_of_a_metric_id_wins(con, opts, monkeypatch, native):
    monkeypatch.setenv("PARALLAX_NATIVE", native)  # both GA4 paths store the same params
    [s] = ingest_files(con, "analytics", [GA4], opts)
    assert s.format == "ga4-ndjson" and s.rows_loaded == 5
    assert _vitals(con) == [
        ("sess-1", "/product/{id}", "CLS", 0.31, "poor", "ga4-ndjson", "v4-1791190800000-9999"),
        ("sess-1", "/product/{id}", "INP", 560.0, "poor", "ga4-ndjson", "v4-1791190800000-7777"),
        ("sess-1", "/product/{id}", "LCP", 3120.5, "needs-improvement", "ga4-ndjson",
         "v4-1791190800000-1234567890123"),
    ]
    [(at,)] = con.execute("SELECT measured_at FROM web_vitals WHERE metric = 'CLS'").fetchall()
    assert at == datetime(2026, 10, 5, 9, 0, 30, tzinfo=UTC)  # the later report's time
    ingest_files(con, "analytics", [GA4], opts)  # re-loading changes nothing
    assert len(_vitals(con)) == 3


def test_posthog_web_vitals_event_several_metrics_identifiers_pseudonymised(con, opts):
    assert detect("analytics", POSTHOG.read_bytes()[:65536]).name == "posthog-events"
    [s] = ingest_files(con, "analytics", [POSTHOG], opts)
    assert (s.rows_loaded, s.rejected) == (2, 0)
    assert _vitals(con) == [
        ("sess-2", "/cart", "CLS", 0.27, "poor", "posthog-events",
         "v4-1728118800000-2212345678901"),
        ("sess-2", "/cart", "LCP", 1712.5, "good", "posthog-events",
         "v4-1728118800000-8745112913265"),
    ]
    stored = " ".join(p for (p,) in con.execute("SELECT properties::VARCHAR FROM events")
                      .fetchall())
    assert "alice@example.com" not in stored and "coupon" not in stored  # nested URLs too
    assert con.execute("SELECT device FROM sessions").fetchall() == [("desktop",)]
    ingest_files(con, "analytics", [POSTHOG], opts)
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(2,)]


def test_posthog_events_api_page(con, opts, tmp_path):
    events = [json.loads(line) for line in POSTHOG.read_text().splitlines()]
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"next": None, "results": events[::-1]}, indent=2))
    [s] = ingest_files(con, "analytics", [page], opts)
    assert s.format == "posthog-events" and s.rows_loaded == 2
    assert [r[2] for r in _vitals(con)] == ["CLS", "LCP"]


def test_generic_csv_retired_metric_kept_out_by_policy(con, opts):
    assert detect("analytics", CSV.read_bytes()).name == "web-vitals-csv"
    [s] = ingest_files(con, "analytics", [CSV], opts)
    assert (s.rows_read, s.rows_loaded, s.rejected) == (4, 3, 1)
    assert _vitals(con) == [
        ("sess-3", "/checkout", "INP", 620.0, "poor", "web-vitals-csv", "v4-a"),  # computed
        ("sess-3", "/checkout", "LCP", 1900.0, "good", "web-vitals-csv", "v4-b"),
    ]
    [(reason,)] = con.execute("SELECT reason FROM rejects").fetchall()
    assert "FID is retired" in reason
    ingest_files(con, "analytics", [CSV], opts)
    assert len(_vitals(con)) == 2


def test_generic_ndjson_and_a_bad_row(con, opts, tmp_path):
    rows = [{"session_id": "s9", "page_url": "https://shop.example.com/search?q=x",
             "metric_name": "cls", "metric_value": 0.12, "ts": 1791190800}] * 1
    rows += [{"session_id": f"s{i}", "page_url": "https://shop.example.com/", "metric_name":
              "LCP", "metric_value": 1000 + i, "ts": 1791190800 + i} for i in range(150)]
    rows.append({"session_id": "s9", "page_url": "https://shop.example.com/",
                 "metric_name": "LCP", "metric_value": "slow", "ts": 1791190800})
    path = tmp_path / "v.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    [s] = ingest_files(con, "analytics", [path], opts)
    assert s.format == "web-vitals-ndjson" and (s.rows_loaded, s.rejected) == (151, 1)
    [(route, rating)] = con.execute("SELECT route, rating FROM web_vitals "
                                    "WHERE metric = 'CLS'").fetchall()
    assert (route, rating) == ("/search", "needs-improvement")
    [(where, reason)] = con.execute("SELECT location, reason FROM rejects").fetchall()
    assert where == "line 152" and "value is not a number" in reason


def test_generic_without_metric_column_is_refused_in_one_line(con, opts, tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("session,url,metric,value\ns1,https://x.example/,LCP,1200\n")
    with pytest.raises(FormatError, match="no measured_at column"):
        ingest_files(con, "analytics", [path], opts, format="web-vitals-csv")
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(0,)]


def test_too_many_bad_rows_leave_nothing(con, opts, tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("session,url,metric,value,timestamp\n"
                    "s1,https://x.example/,LCP,1200,2026-10-05T09:00:00Z\n"
                    "s1,https://x.example/,XYZ,1,2026-10-05T09:00:00Z\n")
    with pytest.raises(RejectRateError, match="line 3: metric 'XYZ'"):
        ingest_files(con, "analytics", [path], opts)
    assert con.execute("SELECT count(*) FROM web_vitals").fetchall() == [(0,)]


def _attr(key, value):
    kind = "doubleValue" if isinstance(value, float) else "stringValue"
    return {"key": key, "value": {kind: value}}


def _browser_span(i, name, attrs, at_ns):
    return {"traceId": f"{i + 1:032x}", "spanId": f"{i + 1:016x}", "name": name, "kind": 1,
            "startTimeUnixNano": str(at_ns), "endTimeUnixNano": str(at_ns),
            "attributes": [_attr("session.id", "sess-7"), *(_attr(k, v) for k, v in attrs)],
            "status": {}}


def test_otel_browser_spans_take_the_sessions_page_route(con, opts, tmp_path):
    views = tmp_path / "views.csv"
    views.write_text("session_id,timestamp,url\n"
                     "sess-7,2026-10-05T09:00:00Z,https://shop.example.com/product/77\n"
                     "sess-7,2026-10-05T09:05:00Z,https://shop.example.com/cart\n")
    ingest_files(con, "analytics", [views], opts)
    t0 = int(datetime(2026, 10, 5, 9, 1, tzinfo=UTC).timestamp()) * 10**9
    spans = [  # OTel semantic conventions (browser.web_vital.*), then Honeycomb's shape
        _browser_span(0, "web-vital", [("browser.web_vital.name", "INP"),
                                       ("browser.web_vital.value", 310.0),
                                       ("browser.web_vital.id", "v4-x")], t0),
        _browser_span(1, "web-vital", [("browser.web_vital.name", "INP"),
                                       ("browser.web_vital.value", 520.0),
                                       ("browser.web_vital.id", "v4-x")], t0 + 10**9),
        _browser_span(2, "cls", [("cls.value", 0.02), ("cls.rating", "good"),
                                 ("cls.id", "v4-y")], t0 + 300 * 10**9),
        _browser_span(3, "GET /api/cart", [("http.route", "/api/cart")], t0),
    ]
    path = tmp_path / "browser.jsonl"
    path.write_text(json.dumps({"resourceSpans": [{
        "resource": {"attributes": [_attr("service.name", "shop-web")]},
        "scopeSpans": [{"scope": {"name": "web"}, "spans": spans}]}]}) + "\n")
    ingest_files(con, "traces", [path], opts)
    assert [r[1:] for r in _vitals(con)] == [
        ("/cart", "CLS", 0.02, "good", "otlp-jsonl", "v4-y"),
        ("/product/{id}", "INP", 520.0, "poor", "otlp-jsonl", "v4-x"),
    ]


def test_vitals_follow_templates_learned_later(con, opts, shop, tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("session,url,metric,value,timestamp\n"
                    "s1,https://shop.example.com/category/tents,CLS,0.3,2026-10-02T12:00:00Z\n")
    ingest_files(con, "analytics", [path], opts)
    assert _vitals(con)[0][1] == "/category/tents"
    ingest_files(con, "traces", [shop.traces(tmp_path / "spans.jsonl")], opts)
    assert _vitals(con)[0][1] == "/category/{slug}"
