"""Incremental state: the cursor commits with the rows, so interrupted pulls resume without
loss or duplicates; a second run fetches only what is new; --full-refresh and --since."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from werkzeug import Response

from parallax.connectors.pull import state
from parallax.connectors.pull.retry import FetchError
from tests.connectors.pull.conftest import cursor, rows

SYNTHETIC = Path(__file__).parents[2] / "fixtures" / "synthetic" / "ga4_events.ndjson"


def answer(i: int) -> dict:
    return {"id": f"a{i:02d}", "created_at": f"2026-11-{i:02d}T10:00:00Z", "nps": i % 11}


class Api:
    """Pages of 2 answers since ``since``, by next link; ``fail_at`` page answers 500."""

    def __init__(self, httpserver, n: int) -> None:
        self.data = [answer(i) for i in range(1, n + 1)]
        self.fail_at: int | None = None
        self.seen: list[dict] = []
        httpserver.expect_request("/answers").respond_with_handler(self)

    def __call__(self, req):
        self.seen.append(dict(req.args))
        page = int(req.args.get("p", 1))
        if page == self.fail_at:
            return Response("boom", 500)
        since = req.args.get("since", "")
        items = [a for a in self.data if a["created_at"] >= since]
        chunk = items[(page - 1) * 2:page * 2]
        more = page * 2 < len(items)
        return Response(orjson.dumps({"items": chunk, "next": f"/answers?p={page + 1}&since="
                                      f"{since}" if more else None}),
                        content_type="application/json")


SOURCE = {"type": "json", "path": "/answers", "records": "items", "paginator": "next_link",
          "next": "next", "since_field": "created_at", "since_param": "since", "ordered": True,
          "since": "2026-11-01"}


def stored(con) -> list[str]:
    return [r[0] for r in rows(con, "SELECT feedback_id FROM feedback ORDER BY 1")]


def test_an_interrupted_pull_resumes_without_loss_or_duplicates(run, con, httpserver, policy):
    api = Api(httpserver, 7)
    api.fail_at = 3
    with pytest.raises(FetchError, match="HTTP 500, 1 attempts"):
        run(SOURCE, policy=dataclasses.replace(policy, attempts=1))
    assert stored(con) == ["a01", "a02", "a03", "a04"]  # pages 1 and 2 committed
    assert cursor(con) == "2026-11-04T10:00:00.000000Z"  # … with their cursor
    api.fail_at, api.seen = None, []
    result = run(SOURCE)
    assert api.seen[0]["since"] == "2026-11-04T10:00:00Z"  # resumes where it stopped
    assert stored(con) == [f"a{i:02d}" for i in range(1, 8)]
    assert (result.rows_loaded, result.duplicates) == (3, 1)  # the boundary answer, dropped
    assert rows(con, "SELECT count(*), count(DISTINCT feedback_id) FROM feedback") == [(7, 7)]


def test_a_kill_inside_the_commit_keeps_rows_and_cursor_together(run, con, httpserver,
                                                                  monkeypatch):
    Api(httpserver, 5)
    real, calls = state.save_cursor, []

    def dying(con_, *args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed after page 2's rows were merged, before COMMIT
        real(con_, *args)
    monkeypatch.setattr(state, "save_cursor", dying)
    with pytest.raises(KeyboardInterrupt):
        run(SOURCE)
    assert stored(con) == ["a01", "a02"] and cursor(con) == "2026-11-02T10:00:00.000000Z"
    assert rows(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'stage_%'") \
        == [(0,)]
    monkeypatch.setattr(state, "save_cursor", real)
    run(SOURCE)
    assert stored(con) == [f"a{i:02d}" for i in range(1, 6)]


def test_a_second_run_fetches_only_new_data(run, con, httpserver):
    api = Api(httpserver, 4)
    first = run(SOURCE)
    assert (first.rows_loaded, first.pages) == (4, 2)
    api.data += [answer(5), answer(6)]
    api.seen = []
    second = run(SOURCE, now=datetime(2026, 11, 20, tzinfo=UTC))
    assert [s["since"] for s in api.seen] == ["2026-11-04T10:00:00Z", "2026-11-04T10:00:00Z"]
    assert (second.rows_loaded, second.duplicates) == (2, 1)
    assert stored(con) == [f"a{i:02d}" for i in range(1, 7)]
    loaded = rows(con, "SELECT sum(rows_loaded) FROM loads WHERE source = 'pull:src'")
    assert loaded == [(6,)]


def test_full_refresh_and_since_override_the_cursor(run, con, httpserver):
    api = Api(httpserver, 4)
    run(SOURCE)
    api.seen = []
    again = run(SOURCE, full_refresh=True)
    assert api.seen[0]["since"] == "2026-11-01T00:00:00Z"  # the source's start again
    assert (again.rows_loaded, again.duplicates) == (0, 4)
    api.seen = []
    run(SOURCE, since=datetime(2026, 11, 3, tzinfo=UTC))
    assert api.seen[0]["since"] == "2026-11-03T00:00:00Z"
    assert stored(con) == ["a01", "a02", "a03", "a04"]


def test_an_unordered_source_moves_its_cursor_only_at_the_end(run, con, httpserver, policy):
    api = Api(httpserver, 6)
    api.data.reverse()  # newest first: page 1 holds the newest answers
    api.fail_at = 2
    source = {**SOURCE, "ordered": False}
    with pytest.raises(FetchError):
        run(source, policy=dataclasses.replace(policy, attempts=1))
    assert stored(con) == ["a05", "a06"] and cursor(con) is None  # older pages not read yet
    api.fail_at = None
    run(source)
    assert stored(con) == [f"a{i:02d}" for i in range(1, 7)]
    assert cursor(con) == "2026-11-06T10:00:00.000000Z"


def test_ga4_folder_incremental_by_the_date_in_the_file_name(run, con, tmp_path):
    folder = tmp_path / "ga4"
    folder.mkdir()
    shutil.copy(SYNTHETIC, folder / "events_20231114.ndjson")
    shutil.copy(SYNTHETIC, folder / "events_intraday_20231115.ndjson")  # partial: skipped
    source = {"type": "ga4", "folder": str(folder)}
    first = run(source)
    assert first.pages == 1 and first.rows_loaded > 0 and cursor(con) == "20231114"
    assert run(source).pages == 0  # nothing new
    day2 = SYNTHETIC.read_text().replace("20231114", "20231115").replace(
        '"event_timestamp":"17', '"event_timestamp":"18')
    (folder / "events_20231115.ndjson").write_text(day2)
    second = run(source)
    assert second.pages == 1 and second.rows_loaded > 0 and cursor(con) == "20231115"
    assert rows(con, "SELECT file FROM loads WHERE source = 'pull:src' ORDER BY started_at") == [
        ("src: events_20231114.ndjson",), ("src: events_20231115.ndjson",)]
    again = run(source, since=datetime(2023, 11, 15, tzinfo=UTC))
    assert again.pages == 1 and again.rows_loaded == 0
