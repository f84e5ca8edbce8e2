"""SurveyMonkey API v3 bulk responses loaded from files with the survey's details beside them
(the test fixtures of the R package mattroumaya/surveymonkey: two responses whose
answers are choice ids and typed text), and the one mapping shared with ``parallax pull``."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import UTC, datetime

import pytest

from parallax.connectors.files import detect
from parallax.connectors.load import ingest_files
from parallax.errors import FormatError

RESPONSES = "surveymonkey_318754279_responses_bulk.json"
DETAILS = "surveymonkey_318754279_details.json"


def _load(con, opts, path, **options):
    return ingest_files(con, "feedback", [path], dataclasses.replace(opts, options=options))


def _rows(con):
    return con.execute(
        "SELECT feedback_id, source, submitted_at, metric, score, scale_min, scale_max, "
        "verbatim FROM feedback ORDER BY feedback_id").fetchall()


EXPECTED = [  # "How many pets do you have?": choice 5096103935 is the text "3"
    ("13376299051", "surveymonkey:318754279", datetime(2022, 3, 5, 17, 53, 2, tzinfo=UTC),
     "rating", 3.0, 1.0, 5.0, "Phil, Mango, Donut"),
    ("13376313674", "surveymonkey:318754279", datetime(2022, 3, 5, 18, 5, 57, tzinfo=UTC),
     "rating", 3.0, 1.0, 5.0, "Donut, Mango, Phil"),
]


def test_details_beside_the_responses_give_the_answers_meaning(con, opts, vendor):
    path = vendor / RESPONSES
    assert detect("feedback", path.read_bytes()).name == "surveymonkey-json"
    [s] = _load(con, opts, path)
    assert (s.format, s.rows_read, s.rows_loaded, s.rejected) == ("surveymonkey-json", 2, 2, 0)
    assert _rows(con) == EXPECTED
    [again] = _load(con, opts, path)
    assert (again.rows_loaded, again.duplicates) == (0, 2)


def test_details_named_by_option_and_missing_details(con, opts, vendor, tmp_path):
    lone = tmp_path / "responses.json"
    shutil.copy(vendor / RESPONSES, lone)
    with pytest.raises(FormatError, match=r"responses\.json: answers are choice ids: give the "
                                          r"survey's details with --option details=PATH"):
        _load(con, opts, lone)
    [s] = _load(con, opts, lone, details=str(vendor / DETAILS))
    assert s.rows_loaded == 2 and _rows(con) == EXPECTED


def test_nps_question_by_subtype_with_weights_and_naive_dates(con, opts, vendor, tmp_path):
    # The sample survey has no NPS question; make its choice question one, as SurveyMonkey
    # describes an NPS question (family matrix, subtype nps, choices weighted 0–10).
    details = json.loads((vendor / DETAILS).read_text())
    q = details["pages"][0]["questions"][0]
    q.update(family="matrix", subtype="nps")
    for weight, choice in zip((0, 4, 6, 9, 10), q["answers"]["choices"], strict=True):
        choice["weight"] = weight
    (tmp_path / "details.json").write_text(json.dumps(details))
    page = json.loads((vendor / RESPONSES).read_text())
    page["data"][0]["date_modified"] = "2022-03-05T18:05:57"  # no offset: UTC
    page["data"][1]["date_modified"] = "2022-03-05T19:53:02+02:00"
    (tmp_path / "bulk.json").write_text(json.dumps(page))
    _load(con, opts, tmp_path / "bulk.json")
    rows = con.execute("SELECT feedback_id, submitted_at, metric, score, is_poor FROM feedback "
                       "ORDER BY feedback_id").fetchall()
    assert rows == [
        ("13376299051", datetime(2022, 3, 5, 17, 53, 2, tzinfo=UTC), "nps", 9.0, False),
        ("13376313674", datetime(2022, 3, 5, 18, 5, 57, tzinfo=UTC), "nps", 9.0, False)]


def test_damaged_responses_are_rejects_not_tracebacks(con, opts, vendor, tmp_path):
    page = json.loads((vendor / RESPONSES).read_text())
    page["data"] += ["not a response", {"id": "x1", "pages": [3, {"questions": ["q"]}]}]
    (tmp_path / "bulk.json").write_text(json.dumps(page))
    shutil.copy(vendor / DETAILS, tmp_path / "details.json")
    [s] = ingest_files(con, "feedback", [tmp_path / "bulk.json"],
                       dataclasses.replace(opts, max_reject_rate=1.0))
    assert (s.rows_loaded, s.rejected) == (2, 1)
    assert con.execute("SELECT location, reason FROM rejects").fetchall() == [
        ("record 4", "no score in the record")]


def test_folder_with_details_beside_loads_the_responses_and_skips_the_details(con, opts, vendor,
                                                                             tmp_path):
    from parallax.connectors.load import expand_paths

    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(vendor / RESPONSES, folder / "responses.json")
    shutil.copy(vendor / DETAILS, folder / "details.json")
    summaries = ingest_files(con, "feedback", expand_paths([str(folder)]), opts)
    assert [(s.file.rsplit("/", 1)[-1], s.format, s.rows_loaded, s.notes) for s in summaries] == [
        ("details.json", "companion", 0, ("skipped: read beside the data by surveymonkey-json",)),
        ("responses.json", "surveymonkey-json", 2, ())]
    assert _rows(con) == EXPECTED
