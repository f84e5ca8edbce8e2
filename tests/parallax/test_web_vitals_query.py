"""The named query `web_vitals`: p75 per route and device (and over all devices) with its
rating, and the shares rated good / needs improvement / poor by Google's thresholds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from parallax.cli import run
from parallax.connectors.load import ingest_files
from parallax.named_queries import run_query


@pytest.fixture
def loaded(con, opts, tmp_path):
    rng = np.random.default_rng(5)
    rows, n = [], 0
    for device, inp in (("mobile", rng.lognormal(np.log(300), 0.5, 80)),
                        ("desktop", rng.lognormal(np.log(120), 0.4, 40))):
        for v in inp:
            n += 1
            rows.append({"session_id": f"{device}-{n}", "url": "https://shop.example.com/cart",
                         "metric": "INP", "value": round(float(v), 1), "ts": 1791190800 + n,
                         "device": device})
    path = tmp_path / "v.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ingest_files(con, "analytics", [path], opts)
    return rows


def test_p75_and_rating_shares_per_device(con, loaded):
    out = {r[1]: r for r in run_query(con, "web_vitals", {}).fetchall()}
    assert set(out) == {"(all devices)", "mobile", "desktop"}
    for device, row in out.items():
        values = np.array([r["value"] for r in loaded if device in (r["device"], "(all devices)")])
        route, _, metric, n, p75, unit, rating, good, ni, poor = row
        assert (route, metric, unit, n) == ("/cart", "INP", "ms", len(values))
        assert p75 == pytest.approx(np.quantile(values, 0.75), abs=1e-3)
        assert rating == ("good" if p75 <= 200 else "needs-improvement" if p75 <= 500
                          else "poor")
        assert good == pytest.approx(round(100 * np.mean(values <= 200), 1))
        assert poor == pytest.approx(round(100 * np.mean(values > 500), 1))
        assert good + ni + poor == pytest.approx(100, abs=0.2)
    assert out["mobile"][6] != out["desktop"][6]  # the devices differ, as planted


def test_min_measurements_and_the_cli(con, loaded, db_path, capsys):
    assert {r[1] for r in run_query(con, "web_vitals", {"min_measurements": "50"})
            .fetchall()} == {"(all devices)", "mobile"}
    con.close()
    assert run(["--db", str(db_path), "query", "web_vitals", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
