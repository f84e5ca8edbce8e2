"""SurveyMonkey API v3: bulk responses of one survey, paged by ``links.next``.

    [sources.csat]
    type = "surveymonkey"
    survey_id = "123456789"
    token_env = "SURVEYMONKEY_TOKEN"   # Bearer access token
    score_question = "987654"          # optional: the question id holding the score
    verbatim_question = "987655"       # optional: the open-text question

``/v3/surveys/{id}/responses/bulk?simple=true`` sorted by ``date_modified`` ascending from the
cursor (``start_modified_at``, ``YYYY-MM-DDTHH:MM:SS``, implicitly UTC), 100 per page (the
documented maximum); the rate-limit headers (``X-Ratelimit-App-Global-Minute-Remaining`` /
``-Reset``, seconds) are respected. ``simple=true`` adds each question's ``heading``,
``family`` and ``subtype`` and each answer's ``simple_text`` (the choice's label; for an
"Other" answer ``"Other | <typed text>"``, the typed text staying in ``text``). Without
``score_question`` the score is the question whose heading mentions "recommend" (metric nps),
else the first numeric answer; the verbatim is the first ``open_ended`` question, its typed
``text``. Partial responses (``response_status`` = ``partial``) are loaded with their status.
Custom variables (``session_id``…) become embedded fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from parallax.connectors.base import ParseContext
from parallax.connectors.files.survey import flatten
from parallax.connectors.pull.paginators import NextLink
from parallax.connectors.pull.records import feedback_records
from parallax.connectors.pull.spec import Auth, CursorSpec, RateLimit, SourceSpec, dig
from parallax.connectors.pull.vendors.common import Conf

__all__ = ["FORMAT", "build"]


def _answer(question: dict, typed: bool = False) -> str | None:
    """The answers' labels (``simple_text``), or what the respondent typed (``text``)."""
    order = ("text", "simple_text") if typed else ("simple_text", "text")
    texts = [next((a[k] for k in order if a.get(k) not in (None, "")), None)
             for a in question.get("answers") or () if isinstance(a, dict)]
    texts = [str(t) for t in texts if t is not None]
    return ", ".join(texts) if texts else None


def _typed(question: dict) -> bool:
    return any(isinstance(a, dict) and "text" in a for a in question.get("answers") or ())


def _numeric(text: str | None) -> bool:
    return text is not None and text.split(" ", 1)[0].lstrip("-").replace(".", "", 1).isdigit()


def _extract(page: Any, ctx: ParseContext) -> Iterator[tuple[str, dict[str, Any]]]:
    want_score, want_text = ctx.options.get("score_question"), ctx.options.get("verbatim_question")
    for i, resp in enumerate(dig(page, "data") or ()):
        if not isinstance(resp, dict):
            continue
        questions = [q for p in resp.get("pages") or () for q in p.get("questions") or ()]
        rec: dict[str, Any] = {"response_id": resp.get("id"),
                               "submitted_at": resp.get("date_modified"),
                               "started_at": resp.get("date_created"),
                               **flatten(resp.get("custom_variables") or {})}
        score = next((q for q in questions if str(q.get("id")) == want_score), None) or next(
            (q for q in questions if "recommend" in str(q.get("heading", "")).lower()), None)
        if score is not None and not want_score and "metric" not in ctx.options:
            rec["metric"] = "nps"
        score = score or next((q for q in questions if _numeric(_answer(q))), None)
        if score is not None:
            rec["score"] = _answer(score)
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


FORMAT = feedback_records("surveymonkey-responses", _extract,
                          "SurveyMonkey v3 bulk responses page (simple=true)")


def build(name: str, conf: Conf) -> SourceSpec:
    sid = conf.req("survey_id")
    common = conf.common()
    common["options"] = {"source": f"surveymonkey:{sid}", **common["options"]}
    for key in ("score_question", "verbatim_question"):
        if conf.get(key):
            common["options"][key] = str(conf.get(key))
    return SourceSpec(
        name, "surveymonkey", "feedback", FORMAT,
        base_url=conf.base_url("https://api.surveymonkey.com"),
        path=f"/v3/surveys/{sid}/responses/bulk",
        params={"simple": "true", "per_page": int(conf.num("per_page", 100)),
                "sort_by": "date_modified", "sort_order": "ASC"},
        auth=Auth(conf.secret() or ""), paginator=NextLink("links.next"), records="data",
        cursor=CursorSpec("date_modified", "start_modified_at", "iso_naive", ordered=True),
        rate_limit=RateLimit("X-Ratelimit-App-Global-Minute-Remaining",
                             "X-Ratelimit-App-Global-Minute-Reset"),
        **common)
