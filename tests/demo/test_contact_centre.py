"""The demo's contact centre: Amazon Connect contact records whose customers are the site's
logged-in users, with the planted truth (caused calls, repeats, handle times) in truth.json."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import orjson

from parallax.config import Config
from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.demo import build_world
from parallax.demo.contacts import CENTRE
from parallax.exposure import JoinSettings, refresh_pages
from parallax.options import ingest_options


def _records(files) -> list[dict]:
    return [orjson.loads(line) for line in files.interactions[0].read_bytes().splitlines()]


def test_ctr_lines_carry_the_sites_login_ids(world, spans) -> None:
    files, truth = world
    cc = truth["contact_centre"]
    recs = _records(files)
    assert len(recs) == cc["counts"]["records"] > 300
    assert all(r["ContactId"] and r["InitiationMethod"] in ("INBOUND", "TRANSFER")
               and r["Channel"] == "VOICE" for r in recs)
    logins = {a["enduser.id"] for _, _, a in spans if "enduser.id" in a}
    customers = {r["Attributes"]["customer_id"] for r in recs if "customer_id" in r["Attributes"]}
    assert customers and customers <= logins  # the same id the site sends
    legs = [r for r in recs if r["InitiationMethod"] == "TRANSFER"]
    ids = {r["ContactId"] for r in recs}
    assert legs and all(r["PreviousContactId"] in ids for r in legs)
    abandoned = [r for r in recs if r["Agent"] is None]
    assert len(abandoned) == cc["counts"]["abandoned"] > 0
    assert truth["files"]["interactions"] == ["contact-centre/ctr.jsonl"]


def test_planted_truth_is_stated_and_consistent(world) -> None:
    cc = world[1]["contact_centre"]
    c = cc["counts"]
    assert c["contacts"] + c["transfer_legs"] == c["records"]
    assert sum(c[f"origin_{o}"] for o in ("baseline", "caused", "repeat", "retry")) \
        == c["contacts"]
    assert c["origin_caused"] > 50 and c["origin_repeat"] > 20
    m = cc["metrics"]["all"]
    assert 0.5 < m["fcr"] < 0.9 and 300 < m["aht_s"] < 500
    assert m["abandonment_inbound"] > 0 and m["aht_contact_s"] > m["aht_s"]  # legs summed
    rows = {(r["reason"], r["subject"]): r for r in cc["drivers"]["rows"]}
    psp = rows[("payment", "payments.example-psp.com")]
    # anonymous visitors who met the failure call too: caused calls the centre cannot link
    assert 0 < psp["caused_contacts_linked"] < psp["caused_contacts"]
    assert psp["exposed_sessions_linked"] < psp["exposed_sessions"]
    assert psp["attributable_share"] == round(psp["caused_contacts"] / c["by_reason"]["payment"],
                                              6)
    assert rows[("delivery", "inventory-db")]["caused_contacts"] == 0
    assert c["without_customer"] > 0
    assert set(cc["planted"]["baseline_per_day"]) == set(CENTRE["baseline_per_day"])


def test_order_calls_cluster_after_the_inventory_incident(world) -> None:
    files, _ = world
    by_day = Counter(datetime.fromisoformat(r["InitiationTimestamp"]).date().isoformat()
                     for r in _records(files) if r["Attributes"]["reason"] == "order problem"
                     and r["InitiationMethod"] == "INBOUND")
    # inventory-db fails from Oct 9 12:00 to Oct 12: more order calls than the quiet days
    assert by_day["2026-10-10"] > 3 * max(by_day["2026-10-05"], 1)


def test_contacts_meet_the_same_customers_sessions_after_ingest(tmp_path) -> None:
    files = build_world(tmp_path / "w", seed=3, sessions=300)
    db = tmp_path / "p.duckdb"
    con = connect(db)
    try:
        opts = ingest_options(Config(), db)
        for kind in ("traces", "interactions"):
            [s] = ingest_files(con, kind, list(getattr(files, kind)), opts)
            assert s.rejected == 0
        refresh_pages(con, JoinSettings())
        [(known, linked, raw)] = con.execute("""
            SELECT count(*) FILTER (WHERE user_id IS NOT NULL),
                   count(*) FILTER (WHERE user_id IN (SELECT user_id FROM exposure_pages)),
                   count(*) FILTER (WHERE user_id LIKE 'cust-%')
            FROM interactions""").fetchall()
    finally:
        con.close()
    assert known > 0 and linked == known and raw == 0  # pseudonymised to the same value
