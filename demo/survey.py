"""The in-page NPS survey: who is asked, who answers, what they score and write.

Poor feedback (NPS 0-6) follows the logistic model in ``spec.FEEDBACK`` of what the page view
where the survey was shown delivered, plus the route's design effect and the device effect.
Answering depends on the outcome (``respond_if_poor`` > ``respond_if_not_poor``): unhappy
customers self-select, which shifts the intercept by ln(odds ratio) but leaves the slopes
identifiable. About 30 % of answers lose the session id (embedded data not captured).
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parallax.demo.spec import DEMO, WorldSpec
from parallax.demo.vitals import layout_shift_logit
from parallax.demo.world import PageView, Session, Visitor

__all__ = ["Response", "previews", "respond", "shown"]

_VERBATIMS: dict[str, Any] = {
    "slow": ("the page took forever", "so slow, I almost gave up", "Seite lädt ewig",
             "Loading took ages on my phone", "pages are really slow today"),
    "error": ("got an error page", "error 503 when I opened the product",
              "the site kept showing an error"),
    "payment": ("payment failed", "payment failed twice, very annoying",
                'Took forever,\nthen "payment failed"',
                "could not pay, the card payment timed out"),
    "design": {  # by the page's role
        "account": ("confusing layout", "can't find my orders, confusing layout",
                            'the "track order" button does nothing useful',
                            "Bestellübersicht ist total unübersichtlich"),
        "cart": ("the cart is confusing, where do I change the quantity?", "confusing layout"),
        "help": ("could not find a phone number anywhere", "confusing layout"),
    },
    "layout": ("the page jumped just as I tapped", "buttons move around while it loads",
               "I clicked the wrong thing because the page shifted"),
    "generic": ("not great", "meh", "prices are too high", "delivery costs too much"),
    "passive": ("ok", "fine, nothing special", "good but could be faster"),
    "promoter": ("great", "fast and easy", "love the shop", "Super, alles top!"),
}
_ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class Response:
    response_id: str
    status: str  # "IP Address" (a real answer) or "Survey Preview"
    shown_us: int
    ended_us: int
    finished: bool
    score: int
    poor: bool
    p_poor: float  # the true probability the model gave this page view
    cause: str  # which planted effect drove a poor answer ("none" otherwise)
    verbatim: str
    route: str
    page_url: str
    session_id: str | None
    user_id: str | None
    device: str
    language: str
    ip: str
    lat: float
    lon: float


def p_poor(pv: PageView, device: str, spec: WorldSpec = DEMO) -> float:
    f, route = spec.feedback, spec.routes[pv.route]
    logit = (f["intercept"] + f["log_load_s"] * route.load_slope * math.log(pv.load_ms / 1000)
             + f["error_seen"] * pv.error_seen + f["dependency_failure"] * pv.visible_failure
             + f["mobile"] * (device == "mobile") + route.design
             + layout_shift_logit(spec, pv.route, pv.trace_id, pv.load_ms))
    return 1.0 / (1.0 + math.exp(-logit))


def respond(session: Session, share: float = 1.0, spec: WorldSpec = DEMO,
            shift: Callable[[PageView, Visitor], float] | None = None) -> Response | None:
    """The session's survey answer, or None (not asked, or did not answer). ``share`` scales
    the chance the survey is shown (scale runs want few answers from many sessions); the same
    single draw decides, so share 1.0 leaves every stream as it was. ``shift`` adds to the
    log-odds of answering (planted self-selection); it draws nothing, so None leaves every
    answer as it was."""
    rng = random.Random(session.rng_state)
    survey = spec.survey
    pv = _shown(rng, session, share, spec)
    if pv is None:
        return None
    v = session.visitor
    prob = p_poor(pv, v.device, spec)
    poor = rng.random() < prob
    answer = survey["respond_if_poor"] if poor else survey["respond_if_not_poor"]
    if shift is not None:  # planted self-selection (demo.selection): answering odds moved
        answer = 1.0 / (1.0 + math.exp(-(math.log(answer / (1.0 - answer)) + shift(pv, v))))
    if rng.random() >= answer:
        return None
    score = (rng.choices(range(7), weights=(2, 1, 2, 3, 4, 5, 6))[0] if poor
             else rng.choices((7, 8, 9, 10), weights=(3, 4, 4, 3))[0])
    cause = _cause(pv, spec) if poor else "none"
    finished = rng.random() >= survey["partial_share"]
    verbatim = _verbatim(rng, cause, spec.routes[pv.route].role, score) if finished else ""
    shown = pv.start_us + int(pv.load_ms * 1000) + int(rng.lognormvariate(math.log(6e6), 0.5))
    ended = shown + int(rng.lognormvariate(math.log(40e6), 0.5)) + 5_000_000
    keep_session = rng.random() >= survey["missing_session_id"]
    place = next(p for p in spec.places if p.city == v.city)
    return Response(
        "R_" + "".join(rng.choices(_ALNUM, k=15)), "IP Address", shown, ended, finished, score,
        poor, round(prob, 6), cause, verbatim, pv.route, pv.url,
        v.session_id if keep_session else None, v.user_id, v.device,
        spec.survey_language if v.country != "Netherlands" and rng.random() < 0.8 else "EN",
        f"{rng.choice(('198.51.100', '203.0.113'))}.{rng.randrange(1, 255)}",
        round(place.lat + rng.uniform(-0.05, 0.05), 4),
        round(place.lon + rng.uniform(-0.05, 0.05), 4),
    )


def shown(session: Session, share: float = 1.0, spec: WorldSpec = DEMO) -> PageView | None:
    """The page view the survey was shown on (offered), answered or not: ``respond``'s own
    first draws, replayed."""
    return _shown(random.Random(session.rng_state), session, share, spec)


def _shown(rng: random.Random, session: Session, share: float, spec: WorldSpec,
           ) -> PageView | None:
    if rng.random() >= spec.survey["show_probability"] * share:
        return None
    return rng.choices(session.pages, weights=[spec.routes[p.route].survey_weight
                                               for p in session.pages])[0]


def previews(seed: int, start_us: int, answers: int, spec: WorldSpec = DEMO) -> list[Response]:
    """Internal test runs of the survey ("Survey Preview"): real exports contain them."""
    rng = random.Random(f"preview:{seed}")
    out = []
    survey = spec.survey
    for i in range(min(survey["preview_rows"], answers // survey["responses_per_preview"])):
        shown = start_us - 86_400_000_000 + i * 600_000_000
        out.append(Response(
            "R_" + "".join(rng.choices(_ALNUM, k=15)), "Survey Preview", shown,
            shown + 30_000_000, True, rng.randrange(11), False, 0.0, "preview", "test",
            "/", f"{spec.site}/?qpreview=1", None, None, "desktop", "EN", "", 0.0,
            0.0))
    return out


def _cause(pv: PageView, spec: WorldSpec) -> str:
    """The planted effect that contributed most to this page view's poor odds."""
    f, route = spec.feedback, spec.routes[pv.route]
    parts = {
        "slow": f["log_load_s"] * route.load_slope * max(0.0, math.log(pv.load_ms / 1500)),
        "error": f["error_seen"] * pv.error_seen,
        "payment": f["dependency_failure"] * pv.visible_failure,
        "design": route.design,
    }
    if spec.vitals is not None:  # a key only in worlds with vitals: the others draw as before
        parts["layout"] = layout_shift_logit(spec, pv.route, pv.trace_id, pv.load_ms)
    cause = max(parts, key=lambda k: parts[k])
    return cause if parts[cause] >= 0.3 else "generic"


def _verbatim(rng: random.Random, cause: str, role: str, score: int) -> str:
    if rng.random() < 0.25:
        return ""  # many respondents skip the open question
    if cause == "design":
        pool = _VERBATIMS["design"].get(role, ("confusing layout",))
    elif cause == "none":
        pool = _VERBATIMS["promoter" if score >= 9 else "passive"]
    else:
        pool = _VERBATIMS[cause]
    return rng.choice(pool)

