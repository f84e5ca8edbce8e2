"""Values from data reach the terminal as plain text (issue 16): no Rich markup, no emoji codes,
no control characters — in every command, tables, lines, JSON and error messages alike."""

from __future__ import annotations

import json
import sys

import duckdb
import orjson
import pytest

from parallax.cli import run
from parallax.db import connect
from parallax.terminal import echo, json_bytes, safe_text

# What a survey answer, a URL or an attribute may carry: markup that crashed Rich, a link it
# would render, an emoji code, an OSC 8 hyperlink, a colour (7-bit and 8-bit CSI) and a
# right-to-left override.
EVIL = ("[/bold] [link=evil.example]x[/link] :x: \x1b]8;;evil.example\x1b\\ \x1b[31m \x9b31m "
        "\u202e")
EVIL_ROUTE = "/cart" + EVIL.replace(" ", "")
EVIL_PEER = "inventory-db" + EVIL.replace(" ", "")
SHOWN = ("[/bold]", "[link=evil.example]x[/link]", ":x:", "\\x1b]8;;evil.example\\x1b\\",
         "\\x1b[31m", "\\x9b31m", "\\u202e")


def test_safe_text_writes_out_control_characters() -> None:
    assert safe_text(EVIL) == ("[/bold] [link=evil.example]x[/link] :x: \\x1b]8;;evil.example"
                               "\\x1b\\ \\x1b[31m \\x9b31m \\u202e")
    assert safe_text("a\tb\nc\rd\x00\x07\x08\x7f") == "a\tb\nc\\rd\\x00\\x07\\x08\\x7f"
    assert safe_text("a\tb\nc", one_line=True) == "a\\tb\\nc"
    assert safe_text(None) == "" and safe_text(3.5) == "3.5" and safe_text("é ü 中 🙂") == (
        "é ü 中 🙂")


def test_json_keeps_every_value_and_escapes_what_a_terminal_acts_on() -> None:
    doc = {"v": EVIL + "\x7f\u2066", "n": 1, 2: None}
    data = json_bytes(doc)
    assert json.loads(data) == {"v": EVIL + "\x7f\u2066", "n": 1, "2": None}
    assert b"\x1b" not in data and "\x9b".encode() not in data and b"\x7f" not in data
    assert "\u202e".encode() not in data and b"\\u009b" in data
    assert json_bytes({"a": "é"}) == orjson.dumps({"a": "é"}, option=orjson.OPT_INDENT_2)


def test_echo(capsys) -> None:
    echo(EVIL + "\nsecond line")
    echo("to stderr \x1b[2J", err=True)
    out, err = capsys.readouterr()
    assert out == safe_text(EVIL) + "\nsecond line\n"
    assert err == "to stderr \\x1b[2J\n"


# --- every command, on a demo database carrying hostile values --------------------------------

@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The demo, then /cart and inventory-db renamed to hostile names everywhere, hostile
    verbatims, reasons, descriptions and a hostile rejected record; correlated again."""
    tmp = tmp_path_factory.mktemp("hostile")
    db = tmp / "h.duckdb"
    assert run(["--db", str(db), "demo", "--out", str(tmp / "demo"), "--sessions", "400"]) == 0
    con = duckdb.connect(str(db))
    try:
        tables = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                             "WHERE column_name IN ('route', 'peer', 'subject', 'dependency') "
                             "AND table_name NOT LIKE 'duckdb%' AND table_name IN (SELECT "
                             "table_name FROM information_schema.tables WHERE table_type = "
                             "'BASE TABLE')").fetchall()  # views (web_vitals) follow them
        for table, column in tables:
            for old, new in (("/cart", EVIL_ROUTE), ("inventory-db", EVIL_PEER)):
                con.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE "{column}" = ?',
                            [new, old])
        lists = con.execute("SELECT table_name, column_name, data_type FROM "
                            "information_schema.columns WHERE column_name IN ('deps', "
                            "'related')").fetchall()
        for table, column, kind in lists:  # the join model's dependency lists
            rename = ("CASE WHEN x = $old THEN $new ELSE x END" if kind == "VARCHAR[]" else
                      "struct_update(x, peer := CASE WHEN x.peer = $old THEN $new "
                      "ELSE x.peer END)")
            con.execute(f'UPDATE "{table}" SET "{column}" = list_transform("{column}", '
                        f"lambda x: {rename})", {"old": "inventory-db", "new": EVIL_PEER})
        con.execute("UPDATE feedback SET verbatim = ? || ' ' || coalesce(verbatim, '') "
                    "WHERE route = ?", [EVIL, EVIL_ROUTE])
        con.execute("UPDATE interactions SET reason = ?, verbatim = ? WHERE interaction_id IN "
                    "(SELECT interaction_id FROM interactions ORDER BY 1 LIMIT 20)", [EVIL, EVIL])
        con.execute("UPDATE annotations SET description = ?", [EVIL])
        load_id = con.execute("SELECT load_id FROM loads LIMIT 1").fetchall()[0][0]
        con.execute("INSERT INTO rejects (load_id, file, location, reason, raw) "
                    "SELECT ?, ?, 'line 1', ?, ?", [load_id, EVIL, EVIL, EVIL])
        response = con.execute("SELECT feedback_id, session_id FROM feedback WHERE route = ? "
                               "AND session_id IS NOT NULL LIMIT 1", [EVIL_ROUTE]).fetchall()[0]
    finally:
        con.close()
    from parallax.correlate import correlate
    from parallax.correlate.settings import Settings
    from parallax.exposure import JoinSettings

    con = connect(db)
    try:  # the findings (subjects, evidence) name the hostile route and dependency
        correlate(con, settings=Settings.from_mapping({}), join=JoinSettings.from_mapping({}))
    finally:
        con.close()
    return db, response


COMMANDS = [
    ["sql", "SELECT verbatim, route FROM feedback WHERE route LIKE '/cart%' LIMIT 3"],
    ["sql", f'SELECT 1 AS "{EVIL}"'],  # a column name is data too
    ["sql", "SELECT verbatim FROM feedback WHERE route LIKE '/cart%' LIMIT 3", "--format",
     "json"],
    ["query", "worst_routes"],
    ["query", "dependency_budget", "--format", "json"],
    ["query", "detractor_paths", "--param", "min_responses=1"],
    ["drill", "route", EVIL_ROUTE],
    ["drill", "dependency", EVIL_PEER],
    ["drill", "response", "{response}"],
    ["drill", "session", "{session}"],
    ["drill", "route", EVIL_ROUTE, "--format", "json"],
    ["loads"],
    ["loads", "--rejects"],
    ["overview"],
    ["findings"],
    ["findings", "--format", "json"],
    ["findings", "--format", "csv"],
    ["correlate"],
    ["verbatims"],
    ["verbatims", "--format", "json"],
    ["routes"],
    ["routes", "--unmatched"],
    ["score"],
    ["contacts", "metrics", "--by", "reason"],
    ["contacts", "drivers"],
    ["annotate", "list"],
    ["design-check", "--route", "/checkout", "--changed-at", "2026-10-07"],  # controls: /cart…
    ["incident", "inventory-db-crash"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:3])[:40])
def test_every_command_prints_data_as_plain_text(hostile, capsys, argv) -> None:
    db, (response, session) = hostile
    argv = [a.format(response=response, session=session) for a in argv]
    code = run(["--db", str(db), *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "MarkupError" not in err, err
    assert code == 0, err
    for stream in (out, err) if "csv" not in argv else (err,):  # CSV piped: the data as is
        assert "\x1b" not in stream and "\x9b" not in stream and "\u202e" not in stream
        assert "❌" not in stream  # :x: stays :x:
    if "--format" not in argv:  # a table or lines: the text as written
        shown = [s for s in SHOWN if s in out]
        assert shown in ([], list(SHOWN)), shown  # all or none of the hostile value


def test_markup_in_a_shown_value_is_literal(hostile, capsys) -> None:
    db, _ = hostile
    assert run(["--db", str(db), "sql", "SELECT ? AS v".replace("?", "'" + EVIL.replace(
        "'", "''") + "'")]) == 0
    out = capsys.readouterr().out
    for s in SHOWN:
        assert s in out


def test_error_messages_quoting_data_are_one_safe_line(hostile, capsys) -> None:
    db, _ = hostile
    assert run(["--db", str(db), "sql", "SELECT CAST(verbatim AS INTEGER) FROM feedback "
                "WHERE route LIKE '/cart%'"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\x9b" not in err


@pytest.mark.parametrize("argv", [
    ["sql", "SELECT verbatim FROM feedback WHERE route LIKE '/cart%'", "--format", "csv"],
    ["findings", "--format", "csv"],
])
def test_csv_is_data_piped_and_safe_text_on_a_terminal(hostile, capsys, monkeypatch,
                                                        argv) -> None:
    db, _ = hostile
    assert run(["--db", str(db), *argv]) == 0
    assert "\x1b" in capsys.readouterr().out  # piped: the values as they are
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert run(["--db", str(db), *argv]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x9b" not in out and "\\x1b[31m" in out


def test_file_names_and_log_lines_are_safe_text(capsys) -> None:
    import logging

    from parallax.commands.console import print_summaries
    from parallax.commands.serve import _SafeFormatter
    from parallax.connectors.load import FileSummary

    print_summaries([FileSummary(EVIL, "feedback-csv", "l1", 1, 1, 0, 0, 0.1, (EVIL,))])
    out = capsys.readouterr().out  # the file name, and a parser's note quoting the data
    assert "\x1b" not in out and all(out.count(s) >= 3 for s in SHOWN)
    record = logging.LogRecord("parallax.serve", logging.INFO, __file__, 1,
                               "refused %s", (EVIL + "\nforged line",), None)
    line = _SafeFormatter("%(message)s").format(record)
    assert line == "refused " + safe_text(EVIL) + "\\nforged line"
