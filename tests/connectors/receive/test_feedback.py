"""POST /v1/feedback: validated answers land in ``feedback`` through the generic mapping."""

from __future__ import annotations

import httpx
import pytest

from parallax.connectors.receive.feedback import parse_feedback
from parallax.connectors.receive.protocol import ReceiveError
from tests.connectors.receive.conftest import query


def test_answers_are_stored_and_bad_ones_refused(serve, db_path):
    with serve() as (url, receiver):
        a = httpx.post(f"{url}/v1/feedback", json={
            "score": 3, "metric": "nps", "verbatim": "slow checkout, mail me at a@b.example",
            "session_id": "s1", "user_id": "u-42",
            "page_url": "https://shop.example/checkout?token=x", "submitted_at":
            "2026-11-25T10:00:00+01:00"})
        b = httpx.post(f"{url}/v1/feedback", json={"score": 4, "feedback_id": "w-1"})
        assert a.status_code == b.status_code == 200
        assert b.json() == {"feedback_id": "w-1"}
        bad = httpx.post(f"{url}/v1/feedback", json={"score": 99})
        assert bad.status_code == 400
        assert "outside the rating scale 1-5" in bad.json()["message"]
        wrong_type = httpx.post(f"{url}/v1/feedback", content=b"score=3",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert wrong_type.status_code == 415
        assert (receiver.stats.feedback_accepted, receiver.stats.feedback_rejected) == (2, 1)
    rows = query(db_path, "SELECT feedback_id, source, metric, score, is_poor, scale_max, "
                 "session_id, user_id, route, page_url, channel, verbatim, submitted_at "
                 "FROM feedback ORDER BY metric")
    nps, rating = rows
    assert nps[0] == a.json()["feedback_id"] and nps[1] == "feedback:receiver"
    assert nps[2:7] == ("nps", 3.0, True, 10.0, "s1")
    assert nps[7] and nps[7] != "u-42"
    assert (nps[8], nps[9], nps[10]) == ("/checkout", "https://shop.example/checkout", "web")
    assert "a@b.example" not in nps[11]
    assert nps[12].isoformat().startswith("2026-11-25T09:00:00")
    assert rating[:6] == ("w-1", "feedback:receiver", "rating", 4.0, False, 5.0)


@pytest.mark.parametrize(("body", "message"), [
    (b"nope", "not JSON"),
    (b"[1]", "one JSON object"),
    (b'{"score": 11, "metric": "nps"}', "outside the nps scale 0-10"),
    (b'{"score": "7"}', "expected a number"),
    (b'{"score": 2, "metric": "stars"}', "metric 'stars'"),
    (b'{"score": 2, "sesion_id": "x"}', "unknown field 'sesion_id'"),
    (b'{"score": 2, "submitted_at": "yesterday"}', "submitted_at 'yesterday'"),
    (b'{"score": 2, "started_at": "at lunch"}', "started_at 'at lunch'"),
    (b'{"score": 2, "session_id": 5}', "session_id: expected a string"),
])
def test_bad_answers_get_one_clear_message(body, message):
    with pytest.raises(ReceiveError, match=message) as info:
        parse_feedback(body, (1.0, 5.0))
    assert info.value.status == 400



def test_the_time_the_survey_was_shown_is_kept():
    answer = parse_feedback(b'{"score": 2, "started_at": "2026-11-25T09:59:10Z", '
                            b'"submitted_at": "2026-11-25T10:00:00Z"}', (1.0, 5.0))
    assert b'"started_at":"2026-11-25T09:59:10+00:00"' in answer.line


def test_a_repeated_feedback_id_is_answered_as_a_duplicate(serve, db_path, settings):
    first = {"score": 2, "metric": "csat", "verbatim": "slow", "feedback_id": "w-7"}
    with serve() as (url, receiver):
        a = httpx.post(f"{url}/v1/feedback", json=first)
        retry = httpx.post(f"{url}/v1/feedback", json=first)
        changed = httpx.post(f"{url}/v1/feedback", json={**first, "score": 5})
        again = httpx.post(f"{url}/v1/feedback", json={**first, "verbatim": "fast"})
        assert a.status_code == 200 and a.json() == {"feedback_id": "w-7"}
        assert retry.status_code == 200
        assert retry.json() == {"feedback_id": "w-7", "duplicate": True}
        for r in (changed, again):
            assert r.status_code == 409
            assert "'w-7' was already received with a different answer" in r.json()["message"]
        st = receiver.stats
        assert (st.feedback_accepted, st.feedback_duplicates) == (1, 3)
    assert query(db_path, "SELECT score, verbatim FROM feedback") == [(2.0, "slow")]
    # After a restart the id is known from the database (its content is not: a duplicate).
    with serve() as (url, _):
        r = httpx.post(f"{url}/v1/feedback", json={**first, "score": 4})
        assert r.status_code == 200 and r.json()["duplicate"] is True
        assert httpx.post(f"{url}/v1/feedback", json={"score": 4, "feedback_id": "w-8"}
                          ).json() == {"feedback_id": "w-8"}
    assert query(db_path, "SELECT count(*) FROM feedback") == [(2,)]


def test_a_failed_write_does_not_claim_the_id(serve):
    with serve() as (url, receiver):
        receiver.disk.free = lambda: 0
        body = {"score": 4, "feedback_id": "w-9"}
        assert httpx.post(f"{url}/v1/feedback", json=body).status_code == 503
        receiver.disk.free = lambda: 10 << 30
        receiver.disk._checked = float("-inf")
        r = httpx.post(f"{url}/v1/feedback", json=body)
        assert r.status_code == 200 and r.json() == {"feedback_id": "w-9"}
