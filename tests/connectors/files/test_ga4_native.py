"""One GA4 mapping, two executions: every fixture runs through the native stage (DuckDB,
``ga4_native``) and through the Python parser (``ga4.py``), and the staged rows must be equal,
column by column (``properties`` compared as parsed JSON) — event keys included, so a file
loaded once through each path is one set of events. Files the native stage cannot read
exactly must fall back to the Python path as a whole, rejects reported per line as ever."""

from __future__ import annotations

import copy
import dataclasses
import gzip
import json
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parallax.connectors import stage
from parallax.connectors.base import ParseContext, Source
from parallax.connectors.files import ga4_native, get_format
from parallax.connectors.files.analytics_rows import dumps_json, loads_exact
from parallax.connectors.load import ingest_files
from tests.connectors.files.writers import int64s_as_numbers as _numbers

FIXTURE = Path(__file__).parents[2] / "fixtures" / "synthetic" / "ga4_events.ndjson"
LINES = FIXTURE.read_bytes().splitlines()
RECORDS = [orjson.loads(line) for line in LINES]
UPID_A, USER_A = "1197596843.1699990000", "CUST-000417"
FMT = get_format("analytics", "ga4-ndjson")


# --- fixtures: the synthetic export and variants of it -------------------------------------

def _params(rec: dict) -> dict:
    return {p["key"]: p for p in rec["event_params"]}


def _older(rec: dict) -> dict:
    """No batch fields (older exports): the params are part of the event's identity."""
    for k in ("batch_event_index", "batch_page_id", "batch_ordering_id"):
        rec.pop(k, None)
    return rec


def _no_device_id(rec: dict) -> dict:
    rec.pop("user_pseudo_id", None)
    return rec


def _personal(rec: dict) -> dict:
    """Personal params and user properties, as text, numbers and null."""
    have = _params(rec)
    rec["event_params"] += [p for p in (
        {"key": "email", "value": {"string_value": "Ann.Other@Example.com"}},
        {"key": "customer_id", "value": {"int_value": "4711"}},
        {"key": "ip", "value": {"string_value": None}},
        {"key": "user_id", "value": {"string_value": "  padded-user  "}},
    ) if p["key"] not in have]
    rec["user_properties"] = [
        {"key": "email", "value": {"string_value": "ann@example.com",
                                   "set_timestamp_micros": "1700000000000000"}},
        {"key": "customer_tier", "value": {"string_value": "gold"}},
        {"key": "visits", "value": {"int_value": 12}},
    ]
    rec["user_id"] = USER_A
    return rec


def _escapes(rec: dict) -> dict:
    """Text that needs escaping in JSON, and text outside ASCII."""
    rec["event_params"] = [p for p in rec["event_params"] if p["key"] != "page_title"]
    rec["event_params"] += [
        {"key": "page_title",
         "value": {"string_value": 'Ein "Zitat" \\ mit\tTab, é, 日本, \u2028'}},
        {"key": "sl/ash \"key\"", "value": {"string_value": "a/b</script>"}},
        {"key": "ctl", "value": {"string_value": "\x01\x1f\x7f"}},
    ]
    params = _params(rec)
    if "page_location" in params:
        params["page_location"]["value"]["string_value"] += "?q=é#frag\"x"
    if rec["event_name"] == "click":
        rec["event_name"] = 'cl"ick\\ é'
    return rec


def _odd_shapes(rec: dict) -> dict:
    """Shapes the Python path reads leniently, or as written."""
    rec["device"] = "desktop"  # not an object: no device
    rec.pop("geo", None)
    rec.pop("platform", None)
    rec["items"] = []
    rec["traffic_source"] = None
    rec["event_value_in_usd"] = "12.5"
    rec["ecommerce"] = None
    rec["event_params"] += [
        {"key": "ratio", "value": {"double_value": 0.1}},
        {"key": "ratio_text", "value": {"double_value": "2.5e3"}},
        {"key": "f", "value": {"float_value": 3}},
        {"key": "nothing", "value": {"string_value": None, "int_value": None}},
        {"key": "no_value", "value": None},
        {"key": "numeric_string", "value": {"string_value": 7}},
        {"key": "big", "value": {"int_value": "-900000000000000000"}},
    ]
    return rec


def _ids_as_numbers(rec: dict) -> dict:
    params = _params(rec)
    if "session_id" in params:
        params["session_id"]["value"] = {"int_value": "98765"}
    if "page_referrer" in params:
        params["page_referrer"]["value"] = {"int_value": 12}
    if isinstance(rec.get("user_pseudo_id"), str):
        rec["user_pseudo_id"] = 1197596843
    return rec


def _purchases(rec: dict) -> dict:
    if rec["event_name"] == "purchase":
        rec["ecommerce"] = {"purchase_revenue": "42.50", "transaction_id": "(not set)"}
        _params(rec).setdefault("currency", {"key": "currency",
                                             "value": {"string_value": "(not provided)"}})
    return rec


def _traceparent(rec: dict) -> dict:
    params = _params(rec)
    if "trace_id" in params:
        del params["trace_id"]
        params["traceparent"] = {"key": "traceparent", "value": {
            "string_value": "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"}}
        rec["event_params"] = list(params.values())
    return rec


def _beyond_64_bits(rec: dict) -> dict:
    """Integers orjson would read as floats, where the mapping keeps values as they are."""
    _older(rec)  # the params, big one included, are part of the event key
    rec["event_params"].append({"key": "big", "value": {"string_value": 2**64 + 1}})
    rec["user_properties"] = [{"key": "ltv", "value": {"string_value": -(2**65)}}]
    rec["traffic_source"] = {"name": "x", "n": 2**64}
    rec["items"] = [{"item_id": 3 * 2**63}]
    rec["geo"]["country"] = 2**64 + 7
    return rec


def _variant(fn) -> bytes:
    return b"".join(dumps_json(fn(copy.deepcopy(r))) + b"\n" for r in RECORDS)


def _demo(tmp_path: Path) -> bytes:
    from parallax.demo.ga4 import write_ga4
    from parallax.demo.spec import DEMO
    from parallax.demo.world import simulate

    path = tmp_path / "demo.ndjson"
    write_ga4(path, simulate(11, 150, DEMO), DEMO)
    return path.read_bytes()


NATIVE = {  # name → the file's bytes (tmp_path → bytes): each must stage natively
    "synthetic export": lambda tmp: FIXTURE.read_bytes(),
    "ints as numbers": lambda tmp: _variant(_numbers),
    "older export, no batch fields": lambda tmp: _variant(_older),
    "no user_pseudo_id": lambda tmp: _variant(_no_device_id),
    "personal params": lambda tmp: _variant(_personal),
    "escapes and unicode": lambda tmp: _variant(_escapes),
    "odd shapes": lambda tmp: _variant(_odd_shapes),
    "ids as numbers": lambda tmp: _variant(_ids_as_numbers),
    "purchases": lambda tmp: _variant(_purchases),
    "traceparent": lambda tmp: _variant(_traceparent),
    "integers beyond 64 bits": lambda tmp: _variant(_beyond_64_bits),
    "blank lines, CRLF, BOM": lambda tmp: b"\xef\xbb\xbf" + b"\r\n\n".join(LINES) + b"\r\n\n",
    "gzip": lambda tmp: gzip.compress(FIXTURE.read_bytes()),
    "demo world": _demo,
}


def _with_line(extra: bytes, at: int = 7) -> bytes:
    return b"\n".join([*LINES[:at], extra, *LINES[at:]]) + b"\n"


def _edit(i: int, fn) -> bytes:
    rec = copy.deepcopy(RECORDS[i])
    fn(rec)
    return _with_line(orjson.dumps(rec), i)


PYTHON = {  # name → bytes: the native stage must hand these to the Python path
    "invalid JSON line": lambda: _with_line(b'{"event_name": "x", '),
    "missing event_name": lambda: _with_line(b'{"event_timestamp": "1700000000000000"}'),
    "timestamp in seconds": lambda: _with_line(
        b'{"event_name":"x","event_timestamp":"1700000000"}'),
    "not an object": lambda: _with_line(b"[1, 2]"),
    "null line": lambda: _with_line(b"null"),
    "int_value not an integer": lambda: _edit(
        1, lambda r: r["event_params"].append({"key": "n", "value": {"int_value": "12a"}})),
    "int_value with leading zeros": lambda: _edit(
        1, lambda r: r["event_params"].append({"key": "n", "value": {"int_value": "007"}})),
    "param key given twice": lambda: _edit(
        1, lambda r: r["event_params"].append(r["event_params"][0])),
    "session id padded": lambda: _edit(
        6, lambda r: _params(r)["session_id"]["value"].update(string_value=" sess-7f3a9c ")),
    "ga_session_id a double": lambda: _edit(
        1, lambda r: _params(r)["ga_session_id"].update(value={"double_value": 1700000000.0})),
    "event_name a number": lambda: _edit(1, lambda r: r.update(event_name=5)),
    "user_pseudo_id a double": lambda: _edit(1, lambda r: r.update(user_pseudo_id=1.5)),
    "event params not a list": lambda: _edit(1, lambda r: r.update(event_params={"a": 1})),
    "load time as padded text": lambda: _edit(
        1, lambda r: _params(r)["page_load_ms"].update(value={"string_value": " 820"})),
    "duplicate JSON key": lambda: _with_line(LINES[1][:-1] + b',"event_name":"page_view"}'),
    # DuckDB's reader takes these, orjson refuses them: never stored from the native path
    "NaN among the items": lambda: _with_line(
        LINES[7][:-1].replace(b'"items":[', b'"items":[{"price":NaN},', 1) + b"}"),
    "Infinity in traffic_source": lambda: _with_line(
        LINES[1].replace(b'"traffic_source":{', b'"traffic_source":{"x":-Infinity,', 1)),
    "a string_value that is NaN": lambda: _with_line(
        LINES[1].replace(b'"event_params":[', b'"event_params":[{"key":"n","value":'
                                                b'{"string_value":NaN}},', 1)),
    "a number beyond a double": lambda: _with_line(
        LINES[1].replace(b'"event_params":[', b'"event_params":[{"key":"n","value":'
                                                b'{"double_value":1e400}},', 1)),
    "platform a number": lambda: _edit(1, lambda r: r.update(platform=1)),
}


# --- staging through one path or the other ---------------------------------------------------

@pytest.fixture
def ctx(ga4_opts):
    return ParseContext("f", ga4_opts.pseudonymize, ga4_opts.route, {}, ga4_opts.options)


@pytest.fixture
def ga4_opts(opts):
    return dataclasses.replace(opts, options={"session_param": "session_id"})


def _stage(con, path: Path, ctx: ParseContext, native: bool, monkeypatch) -> dict:
    """The staged rows of one path: {table: sorted rows}, properties parsed."""
    monkeypatch.setenv("PARALLAX_NATIVE", "1" if native else "0")
    staged, rejects, records, _ = stage.stage_all(con, FMT, Source(path), ctx, "L", 1.0)
    out = {"records": records, "rejects": [(r.location, r.reason) for r in rejects]}
    for table in ("events", "page_views", "sessions"):
        if table not in staged:
            out[table] = []
            continue
        cur = con.execute(f"SELECT * EXCLUDE (load_id) FROM stage_{table}")
        names = [d[0] for d in cur.description]
        # parsed exactly: an integer beyond 64 bits must keep its digits on both paths
        rows = [{n: loads_exact(v) if n == "properties" and v is not None else v
                 for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]
        out[table] = sorted(rows, key=lambda r: json.dumps(r, default=str, sort_keys=True))
    stage.drop_stage(con)
    return out


def _native_handles(con, path: Path, ctx: ParseContext, monkeypatch) -> bool:
    monkeypatch.setenv("PARALLAX_NATIVE", "1")
    stage.drop_stage(con)
    done = ga4_native.stage(con, Source(path), ctx, "L") is not None
    stage.drop_stage(con)
    return done


def _compare(con, path, ctx, monkeypatch) -> tuple[dict, dict]:
    python = _stage(con, path, ctx, False, monkeypatch)
    native = _stage(con, path, ctx, True, monkeypatch)
    for table in ("records", "rejects", "events", "page_views", "sessions"):
        assert native[table] == python[table], table
    return python, native


@pytest.mark.parametrize("name", NATIVE)
def test_native_stage_equals_python(con, ctx, tmp_path, monkeypatch, name):
    path = tmp_path / "export.ndjson"
    path.write_bytes(NATIVE[name](tmp_path))
    assert _native_handles(con, path, ctx, monkeypatch), f"{name}: fell back to Python"
    python, _ = _compare(con, path, ctx, monkeypatch)
    assert python["events"] and python["records"] == len(python["events"])


@pytest.mark.parametrize("name", PYTHON)
def test_what_only_python_reads_exactly_falls_back(con, ctx, tmp_path, monkeypatch, name):
    path = tmp_path / "export.ndjson"
    path.write_bytes(PYTHON[name]())
    assert not _native_handles(con, path, ctx, monkeypatch), f"{name}: staged natively"
    _compare(con, path, ctx, monkeypatch)
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE starts_with(table_name, "
                           "'stage_') OR table_name = '_ga4_rows'").fetchall()[0][0]


@pytest.mark.parametrize("options", [
    {"session_param": "visit_ref"},
    {"session_param": "session_id", "trace_param": "page_title",
     "load_param": "engagement_time_msec"},
    {"session_param": "session_id", "load_param": "no_such_param", "trace_param": "ga_session_id"},
])
def test_options_natively(con, opts, tmp_path, monkeypatch, options):
    ctx = ParseContext("f", opts.pseudonymize, opts.route, {}, options)
    path = tmp_path / "export.ndjson"
    path.write_bytes(FIXTURE.read_bytes())
    assert _native_handles(con, path, ctx, monkeypatch)
    _compare(con, path, ctx, monkeypatch)


def test_integers_beyond_64_bits_keep_their_digits(con, ctx, tmp_path, monkeypatch):
    path = tmp_path / "big.ndjson"
    path.write_bytes(_variant(_beyond_64_bits))
    python, native = _compare(con, path, ctx, monkeypatch)
    props = python["events"][0]["properties"]
    assert props["params"]["big"] == 2**64 + 1 and props["items"] == [{"item_id": 3 * 2**63}]
    assert props["user_properties"] == {"ltv": -(2**65)}
    assert {s["country"] for s in native["sessions"]} == {str(2**64 + 7)}


def test_loaded_through_either_path_is_one_set_of_events(con, ga4_opts, tmp_path, monkeypatch):
    """Event keys are the same bytes: a re-load through the other path changes nothing."""
    path = tmp_path / "older.ndjson"
    path.write_bytes(_variant(_older) + _variant(_personal))
    monkeypatch.setenv("PARALLAX_NATIVE", "0")
    [first] = ingest_files(con, "analytics", [path], ga4_opts)
    snapshot = {t: con.execute(f"SELECT * EXCLUDE (load_id) FROM {t} ORDER BY ALL").fetchall()
                for t in ("events", "page_views", "sessions")}
    monkeypatch.setenv("PARALLAX_NATIVE", "1")
    [again] = ingest_files(con, "analytics", [path], ga4_opts)
    # the two clicks of one microsecond are one event once their batch index is gone
    assert (first.rows_loaded, again.rows_loaded, again.duplicates) == (29, 0, 30)
    assert {t: con.execute(f"SELECT * EXCLUDE (load_id) FROM {t} ORDER BY ALL").fetchall()
            for t in ("events", "page_views", "sessions")} == snapshot


def test_a_bad_line_is_rejected_per_line(con, ga4_opts, tmp_path, monkeypatch):
    monkeypatch.setenv("PARALLAX_NATIVE", "1")
    path = tmp_path / "bad.ndjson"
    path.write_bytes(_with_line(b'{"event_name":"x","event_timestamp":"1700000000"}', 3))
    [s] = ingest_files(con, "analytics", [path], dataclasses.replace(ga4_opts,
                                                                     max_reject_rate=0.5))
    assert (s.rows_read, s.rows_loaded, s.rejected) == (16, 15, 1)
    assert con.execute("SELECT location, reason FROM rejects").fetchall() == [
        ("line 4", "event_timestamp 1700000000 is not microseconds since 1970")]


def test_raw_identifiers_are_never_stored(con, ga4_opts, tmp_path, monkeypatch):
    """Pseudonymised in flight: no table, temporary or not, ever holds a raw identifier."""
    monkeypatch.setenv("PARALLAX_NATIVE", "1")
    path = tmp_path / "personal.ndjson"
    path.write_bytes(_variant(_personal))
    seen: list[str] = []
    real = ga4_native.drop_function

    def look(c, name):  # runs while the stage's tables still exist
        if name == "_parallax_pseudonym":
            seen.extend(_table_texts(c))
        real(c, name)

    monkeypatch.setattr(ga4_native, "drop_function", look)
    [s] = ingest_files(con, "analytics", [path], ga4_opts)
    assert s.rows_loaded == 15 and seen
    seen.extend(_table_texts(con))
    for raw in (UPID_A, USER_A, "Ann.Other@Example.com", "ann.other@example.com",
                "ann@example.com", "padded-user", "4711", "alice%40example.com"):
        assert not any(raw in text for text in seen), raw


def _table_texts(con) -> list[str]:
    out = []
    for schema, table in con.execute("SELECT schema_name, table_name FROM duckdb_tables()"
                                     ).fetchall():
        rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
        out.extend(str(v) for row in rows for v in row)
    return out


def test_disabled_by_environment(con, ctx, tmp_path, monkeypatch):
    path = tmp_path / "export.ndjson"
    path.write_bytes(FIXTURE.read_bytes())
    for off in ("0", "false", "off"):
        monkeypatch.setenv("PARALLAX_NATIVE", off)
        assert ga4_native.stage(con, Source(path), ctx, "L") is None


# --- anything hypothesis makes of the fixture: native or not, the same rows ----------------

WEIRD = st.one_of(st.none(), st.booleans(), st.integers(-(2**65), 2**65),
                  st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
                  st.sampled_from(["", " x", "1.5", "0", "(not set)", "12", "-0", "1e3"]),
                  st.lists(st.integers(), max_size=2),
                  st.dictionaries(st.sampled_from(["a", "key", "value"]), st.integers(),
                                  max_size=2))


def _mutate(obj, draw, depth=0):
    if isinstance(obj, dict) and obj and depth < 8:
        key = draw(st.sampled_from(sorted(obj)))
        obj[key] = draw(WEIRD) if draw(st.booleans()) else _mutate(obj[key], draw, depth + 1)
        return obj
    if isinstance(obj, list) and obj and depth < 8:
        i = draw(st.integers(0, len(obj) - 1))
        obj[i] = _mutate(obj[i], draw, depth + 1) if draw(st.booleans()) else draw(WEIRD)
        return obj
    return draw(WEIRD)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_any_mutation_stages_the_same_rows(con, ctx, tmp_path, monkeypatch, data):
    records = copy.deepcopy(RECORDS)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(records) - 1))
        records[i] = _mutate(records[i], data.draw)
    path = tmp_path / "mutated.ndjson"
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records))
    try:
        python = _stage(con, path, ctx, False, monkeypatch)
    except Exception as exc:  # noqa: BLE001 - what the Python path raises, native must too
        stage.drop_stage(con)
        with pytest.raises(type(exc)):
            _stage(con, path, ctx, True, monkeypatch)
        return
    native = _stage(con, path, ctx, True, monkeypatch)
    assert native == python


@pytest.mark.parametrize("value", [-(2**63) - 1, 2**64, -(2**63), 12])
def test_a_number_where_text_belongs_stages_the_same_rows(con, ctx, tmp_path, monkeypatch,
                                                          value):
    """A geo field holding a number (beyond 64 bits too) reads as the same text both ways."""
    records = copy.deepcopy(RECORDS)
    for rec in records:
        rec["geo"]["country"] = value
    path = tmp_path / "number.ndjson"
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records))
    python = _stage(con, path, ctx, False, monkeypatch)
    native = _stage(con, path, ctx, True, monkeypatch)
    assert native["sessions"] == python["sessions"]
    assert native == python
    assert {s["country"] for s in python["sessions"]} == {str(value)}  # its digits, no float
