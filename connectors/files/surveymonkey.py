"""SurveyMonkey API v3 bulk responses (``surveymonkey-json``): the one mapping of a response
onto survey answers, for exported files and for ``parallax pull`` alike.

A file is a ``GET /v3/surveys/{id}/responses/bulk`` page (``{"data": [responses], "page",
"links", …}``). Without ``simple=true`` its answers carry only ids (``choice_id``,
``row_id``), so the survey's ``GET /v3/surveys/{id}/details`` document gives them meaning:
``--option details=PATH``, else a file beside the responses named ``details.json`` or
``*details*.json`` whose ``id`` is the responses' ``survey_id``. A page pulled with
``simple=true`` carries the same meaning inline and needs no details.

Through the details each question gets its ``heading``, ``family`` and ``subtype``, and each
chosen answer its choice's text and ``weight``. The score is ``score_question`` (option, a
question id), else the NPS question (subtype ``nps``, or a heading that mentions
"recommend"; metric nps), else a rating question (subtype ``rating``/``star``; metric
rating), else the first answer that reads as a number. A chosen choice scores its weight
when it has one, else its text. The verbatim is ``verbatim_question``, else the first
``open_ended`` question's typed text. ``submitted_at`` is ``date_modified``, ``started_at``
``date_created`` (ISO 8601 with or without an offset; without one, UTC). Custom variables
(``session_id``…) are embedded fields. source is ``surveymonkey:<survey_id>`` unless the
``source`` option names another, so a file and a pull of one survey store each answer once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Source
from parallax.connectors.files.lines import strip_bom
from parallax.connectors.files.survey import flatten
from parallax.connectors.pull.records import feedback_chunks, read_page
from parallax.errors import ConfigError, FormatError

__all__ = ["FORMATS", "extract"]

_NPS, _RATING = ("nps",), ("rating", "star", "star_rating")


def _answer(question: dict, typed: bool = False) -> str | None:
    """The answers' labels (``simple_text``), or what the respondent typed (``text``)."""
    order = ("text", "simple_text") if typed else ("simple_text", "text")
    texts = [next((a[k] for k in order if a.get(k) not in (None, "")), None)
             for a in question.get("answers") or () if isinstance(a, dict)]
    shown = [str(t) for t in texts if t is not None]
    return ", ".join(shown) if shown else None


def _score(question: dict) -> str | None:
    weights = [a["weight"] for a in question.get("answers") or ()
               if isinstance(a, dict) and isinstance(a.get("weight"), (int, float))]
    return str(weights[0]) if weights else _answer(question)


def _typed(question: dict) -> bool:
    return any(isinstance(a, dict) and "text" in a for a in question.get("answers") or ())


def _numeric(text: str | None) -> bool:
    return text is not None and text.split(" ", 1)[0].lstrip("-").replace(".", "", 1).isdigit()


def _index(details: dict | None) -> dict[str, dict]:
    """question id → {heading, family, subtype, choices: {choice id → choice}}."""
    out = {}
    for page in (details or {}).get("pages") or ():
        for q in page.get("questions") or ():
            answers = q.get("answers") if isinstance(q.get("answers"), dict) else {}
            choices = {str(c.get("id")): c for c in (answers.get("choices") or ())
                       if isinstance(c, dict)}
            if isinstance(answers.get("other"), dict):
                choices[str(answers["other"].get("id"))] = answers["other"]
            heading = next((h.get("heading") for h in q.get("headings") or ()
                            if isinstance(h, dict)), None)
            out[str(q.get("id"))] = {"heading": heading, "family": q.get("family"),
                                     "subtype": q.get("subtype"), "choices": choices}
    return out


def _explained(question: dict, index: dict[str, dict]) -> dict:
    """A response's question with what the details say filled in (what is there stays)."""
    known = index.get(str(question.get("id")))
    if not known:
        return question
    answers = []
    for a in question.get("answers") or ():
        choice = known["choices"].get(str(a.get("choice_id"))) if isinstance(a, dict) else None
        if choice is not None:
            a = {"simple_text": choice.get("text"), "weight": choice.get("weight"), **a}
        answers.append(a)
    return {"heading": known["heading"], "family": known["family"],
            "subtype": known["subtype"], **question, "answers": answers}


def _questions(resp: Any) -> list[dict]:
    """A response's answered questions, whatever shape a damaged record has."""
    pages = resp.get("pages") if isinstance(resp, dict) else None
    pages = [p for p in pages if isinstance(p, dict)] if isinstance(pages, list) else []
    return [q for p in pages for q in p.get("questions") or () if isinstance(q, dict)
            and isinstance(q.get("answers") or [], list)]


def _pick(questions: list[dict], want: str | None) -> tuple[dict | None, str | None]:
    """The score question and the metric its kind announces."""
    if want:
        return next((q for q in questions if str(q.get("id")) == want), None), None
    for q in questions:
        if q.get("subtype") in _NPS or "recommend" in str(q.get("heading", "")).lower():
            return q, "nps"
    rated = next((q for q in questions if q.get("subtype") in _RATING and q.get("answers")), None)
    if rated is not None:
        return rated, "rating"
    return next((q for q in questions if _numeric(_score(q))), None), None


def extract(page: Any, ctx: ParseContext,
            details: dict | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, flat record) per response of one bulk page."""
    index = _index(details)
    want_text = ctx.options.get("verbatim_question")
    for i, resp in enumerate((page or {}).get("data") or () if isinstance(page, dict) else ()):
        if not isinstance(resp, dict):
            continue
        questions = [_explained(q, index) for q in _questions(resp)]
        rec: dict[str, Any] = {"response_id": resp.get("id"),
                               "submitted_at": resp.get("date_modified"),
                               "started_at": resp.get("date_created"),
                               **flatten(resp.get("custom_variables") or {})}
        score, metric = _pick(questions, ctx.options.get("score_question"))
        if score is not None:
            rec["score"] = _score(score)
            if metric and "metric" not in ctx.options:
                rec["metric"] = metric
        # The open-ended question first: a choice question's "Other" box also carries text.
        others = [q for q in questions if q is not score]
        text = next((q for q in questions if str(q.get("id")) == want_text), None) or next(
            (q for q in others if q.get("family") == "open_ended" and _typed(q)), None) or next(
            (q for q in others if _typed(q)), None)
        if text is not None:
            rec["verbatim"] = _answer(text, typed=True)
        for key in ("collector_id", "response_status", "ip_address", "language"):
            if resp.get(key) not in (None, ""):
                rec[key] = resp[key]
        yield f"record {i + 1}", rec


# --- exported files --------------------------------------------------------------------------

def _survey_id(page: Any) -> str | None:
    data = page.get("data") if isinstance(page, dict) else None
    return next((str(r["survey_id"]) for r in data or () if isinstance(r, dict)
                 and r.get("survey_id")), None)


def _read_details(path: Path, file: str) -> dict:
    try:
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the survey details {path}: "
                          f"{exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise FormatError(str(path), f"survey details are not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("pages"), list):
        raise FormatError(str(path), 'not SurveyMonkey survey details: no "pages" list')
    return doc


def _details(page: Any, ctx: ParseContext) -> dict | None:
    """The survey's details: the ``details`` option, else a details file beside the
    responses whose id is the responses' survey id; None when nothing is needed or found."""
    if given := ctx.options.get("details"):
        return _read_details(Path(given), ctx.file)
    sid = _survey_id(page)
    here = Path(ctx.file).parent
    for path in sorted({*here.glob("details.json"), *here.glob("*details*.json")}):
        if path.resolve() == Path(ctx.file).resolve():
            continue
        try:
            doc = _read_details(path, ctx.file)
        except (ConfigError, FormatError):
            continue  # some other file: only the survey's own details count
        if sid is None or str(doc.get("id")) == sid:
            return doc
    return None


def _needs_details(page: Any) -> bool:
    """Answers by id only (no ``simple=true``): without the details they mean nothing."""
    for resp in page.get("data") or ():
        for q in _questions(resp):
            if "heading" not in q and any(isinstance(a, dict) and "choice_id" in a
                                          for a in q.get("answers") or ()):
                return True
    return False


def _parse(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    page = read_page(source, ctx)
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        raise FormatError(ctx.file, 'not a SurveyMonkey bulk responses page: no "data" list')
    details = _details(page, ctx)
    if details is None and _needs_details(page):
        raise FormatError(ctx.file, "answers are choice ids: give the survey's details with "
                                    "--option details=PATH (GET /v3/surveys/ID/details), or "
                                    "put details.json beside the file")
    sid = _survey_id(page) or (details or {}).get("id")
    if sid and not ctx.options.get("source"):
        ctx = dataclasses.replace(ctx, options={**ctx.options, "source": f"surveymonkey:{sid}"})
    yield from feedback_chunks(list(extract(page, ctx, details)), ctx)


def _sniff(head: bytes) -> bool:
    text = strip_bom(head).lstrip()
    return text.startswith(b"{") and b'"data"' in text and b'"pages"' in text and (
        b'"response_status"' in text or b'"collector_id"' in text)


FORMATS = [
    FileFormat("surveymonkey-json", "feedback", "feedback", _sniff, _parse,
               "SurveyMonkey v3 bulk responses (JSON), with the survey's details beside it",
               companions=("details.json", "*details*.json")),
]
