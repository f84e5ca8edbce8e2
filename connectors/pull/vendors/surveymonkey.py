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
"Other" answer ``"Other | <typed text>"``, the typed text staying in ``text``). The mapping
onto answers is the file format's (``connectors/files/surveymonkey``: score, metric,
verbatim, embedded fields), one for pulled pages and exported files. Partial responses
(``response_status`` = ``partial``) are loaded with their status.
"""

from __future__ import annotations

from parallax.connectors.files.surveymonkey import extract
from parallax.connectors.pull.paginators import NextLink
from parallax.connectors.pull.records import feedback_records
from parallax.connectors.pull.spec import Auth, CursorSpec, RateLimit, SourceSpec
from parallax.connectors.pull.vendors.common import Conf

__all__ = ["FORMAT", "build"]


FORMAT = feedback_records("surveymonkey-responses", extract,
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
