"""Loading one feedback file and reading back what was stored, as the feedback parsers'
tests (generic CSV/NDJSON, Qualtrics) all do."""

from __future__ import annotations

import dataclasses
from typing import Any

from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.errors import ParallaxError

COLS = ("feedback_id, source, submitted_at, channel, metric, score, scale_min, scale_max, "
        "is_poor, verbatim, session_id, user_id, page_url, route, device, country, segment, "
        "attributes")


def load(con, opts, path, fields=None, options=None, rate=None, format=None) -> Any:
    """The one file's ingest summary."""
    o = dataclasses.replace(opts, fields=fields or {}, options=options or {},
                            max_reject_rate=opts.max_reject_rate if rate is None else rate)
    [summary] = ingest_files(con, "feedback", [path], o, format=format)
    return summary


def rows(con, order: str = "feedback_id") -> list[dict]:
    """The stored answers as dicts, in a fixed order (a constant of the test, not input)."""
    cur = con.execute(f"SELECT {COLS} FROM feedback ORDER BY {order}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def damaged_is_one_line_or_loads(opts, data: bytes, at: int, junk: bytes, path, empty_db,
                                 format=None) -> None:
    """``junk`` written over ``data`` at ``at`` (wrapped to its length): the file loads, or
    fails with one line and stores no answer — never a traceback, never half a load.
    ``empty_db``: the conftest fixture (a new, empty database for each file)."""
    at %= len(data)
    path.write_bytes(data[:at] + junk + data[at + len(junk):])
    con = connect(empty_db(path.parent / "db.duckdb"))
    try:
        load(con, opts, path, rate=1.0, format=format)
    except ParallaxError as exc:
        assert "\n" not in str(exc)
        assert con.execute("SELECT count(*) FROM feedback").fetchone() == (0,)
    finally:
        con.close()
