"""`parallax drill interaction ID`: one contact, the customer's page loads in the day before it
and those sessions' timelines (terminal, JSON and the self-contained page)."""

from __future__ import annotations

import json

from parallax.cli import run
from parallax.db import connect


def _drill(reviewed, capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(["--db", str(reviewed.db), "drill", "interaction", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _caused_contact(reviewed) -> tuple[str, str, int]:
    """An order-problem call whose customer hit a failed page in the 24 h before it."""
    con = connect(reviewed.db, read_only=True)
    try:
        return con.execute("""
            SELECT i.interaction_id, i.source, count(*) AS pages
            FROM interactions AS i
            JOIN exposure_pages AS p
              ON p.user_id = i.user_id AND p.started_at < i.started_at
             AND p.started_at >= i.started_at - INTERVAL 24 HOUR
            WHERE i.reason = 'order problem' AND i.initiation = 'inbound'
            GROUP BY ALL
            HAVING bool_or(p.error_seen)
            ORDER BY i.interaction_id LIMIT 1""").fetchall()[0]
    finally:
        con.close()


def test_interaction_shows_the_contact_and_the_failed_pages_before_it(reviewed, capsys,
                                                                       tmp_path) -> None:
    cid, source, n_pages = _caused_contact(reviewed)
    html = tmp_path / "i.html"
    code, out, _ = _drill(reviewed, capsys, cid, "--format", "json", "--html", str(html))
    assert code == 0
    doc = json.loads(out)
    contact, pages = doc["tables"]
    assert contact["rows"][0]["interaction"] == f"{source}:{cid}"
    assert contact["rows"][0]["reason"] == "order problem"
    assert len(pages["rows"]) == n_pages  # every load of the customer in the window
    assert any(r["error"] for r in pages["rows"])
    assert all(0 < r["seconds_before_contact"] <= 86_400 for r in pages["rows"])
    times = [r["started_at"] for r in pages["rows"]]
    assert times == sorted(times, reverse=True)
    # the most recent sessions before it, with their timelines
    sessions = list(dict.fromkeys(r["session"] for r in pages["rows"]))[:3]
    assert [v["session"] for v in doc["sessions"]] == sessions
    page = html.read_text()
    assert cid in page and "<script" not in page
    # by source:id too, and the terminal view
    code, out, _ = _drill(reviewed, capsys, f"{source}:{cid}")
    assert code == 0 and f"Interaction {source}:{cid}" in out and "waterfall" in out


def test_unknown_interaction_is_a_one_line_error(reviewed, capsys) -> None:
    code, _, err = _drill(reviewed, capsys, "no-such-contact")
    assert code != 0 and "no interaction 'no-such-contact'" in err
