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
from dataclasses import dataclass

from parallax.demo.spec import FEEDBACK, ROUTES, SURVEY
from parallax.demo.world import PageView, Session

__all__ = ["Response", "previews", "respond"]

_VERBATIMS = {
    "slow": ("the page took forever", "so slow, I almost gave up", "Seite lädt ewig",
             "Loading took ages on my phone", "pages are really slow today"),
    "error": ("got an error page", "error 503 when I opened the product",
              "the site kept showing an error"),
    "payment": ("payment failed", "payment failed twice, very annoying",
                'Took forever,\nthen "payment failed"',
                "could not pay, the card payment timed out"),
    "design": {
        "/account/orders": ("confusing layout", "can't find my orders, confusing layout",
                            'the "track order" button does nothing useful',
                            "Bestellübersicht ist total unübersichtlich"),
        "/cart": ("the cart is confusing, where do I change the quantity?", "confusing layout"),
        "/help/contact": ("could not find a phone number anywhere", "confusing layout"),
    },
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


def p_poor(pv: PageView, device: str) -> float:
    f = FEEDBACK
    logit = (f["intercept"] + f["log_load_s"] * math.log(pv.load_ms / 1000)
             + f["error_seen"] * pv.error_seen + f["dependency_failure"] * pv.visible_failure
             + f["mobile"] * (device == "mobile") + ROUTES[pv.route].design)
    return 1.0 / (1.0 + math.exp(-logit))


def respond(session: Session, share: float = 1.0) -> Response | None:
    """The session's survey answer, or None (not asked, or did not answer). ``share`` scales
    the chance the survey is shown (scale runs want few answers from many sessions); the same
    single draw decides, so share 1.0 leaves every stream as it was."""
    rng = random.Random(session.rng_state)
    if rng.random() >= SURVEY["show_probability"] * share:
        return None
    pv = rng.choices(session.pages, weights=[ROUTES[p.route].survey_weight
                                             for p in session.pages])[0]
    v = session.visitor
    prob = p_poor(pv, v.device)
    poor = rng.random() < prob
    answer = SURVEY["respond_if_poor"] if poor else SURVEY["respond_if_not_poor"]
    if rng.random() >= answer:
        return None
    score = (rng.choices(range(7), weights=(2, 1, 2, 3, 4, 5, 6))[0] if poor
             else rng.choices((7, 8, 9, 10), weights=(3, 4, 4, 3))[0])
    cause = _cause(pv) if poor else "none"
    finished = rng.random() >= SURVEY["partial_share"]
    verbatim = _verbatim(rng, cause, pv.route, score) if finished else ""
    shown = pv.start_us + int(pv.load_ms * 1000) + int(rng.lognormvariate(math.log(6e6), 0.5))
    ended = shown + int(rng.lognormvariate(math.log(40e6), 0.5)) + 5_000_000
    keep_session = rng.random() >= SURVEY["missing_session_id"]
    city_lat, city_lon = _COORDS[v.city]
    return Response(
        "R_" + "".join(rng.choices(_ALNUM, k=15)), "IP Address", shown, ended, finished, score,
        poor, round(prob, 6), cause, verbatim, pv.route, pv.url,
        v.session_id if keep_session else None, v.user_id, v.device,
        "DE" if v.country != "Netherlands" and rng.random() < 0.8 else "EN",
        f"{rng.choice(('198.51.100', '203.0.113'))}.{rng.randrange(1, 255)}",
        round(city_lat + rng.uniform(-0.05, 0.05), 4),
        round(city_lon + rng.uniform(-0.05, 0.05), 4),
    )


def previews(seed: int, start_us: int, answers: int) -> list[Response]:
    """Internal test runs of the survey ("Survey Preview"): real exports contain them."""
    rng = random.Random(f"preview:{seed}")
    out = []
    for i in range(min(SURVEY["preview_rows"], answers // SURVEY["responses_per_preview"])):
        shown = start_us - 86_400_000_000 + i * 600_000_000
        out.append(Response(
            "R_" + "".join(rng.choices(_ALNUM, k=15)), "Survey Preview", shown,
            shown + 30_000_000, True, rng.randrange(11), False, 0.0, "preview", "test",
            "/", "https://shop.example.com/?qpreview=1", None, None, "desktop", "EN", "", 0.0,
            0.0))
    return out


def _cause(pv: PageView) -> str:
    """The planted effect that contributed most to this page view's poor odds."""
    f = FEEDBACK
    parts = {
        "slow": f["log_load_s"] * max(0.0, math.log(pv.load_ms / 1500)),
        "error": f["error_seen"] * pv.error_seen,
        "payment": f["dependency_failure"] * pv.visible_failure,
        "design": ROUTES[pv.route].design,
    }
    cause = max(parts, key=lambda k: parts[k])
    return cause if parts[cause] >= 0.3 else "generic"


def _verbatim(rng: random.Random, cause: str, route: str, score: int) -> str:
    if rng.random() < 0.25:
        return ""  # many respondents skip the open question
    if cause == "design":
        pool = _VERBATIMS["design"].get(route, ("confusing layout",))
    elif cause == "none":
        pool = _VERBATIMS["promoter" if score >= 9 else "passive"]
    else:
        pool = _VERBATIMS[cause]
    return rng.choice(pool)


_COORDS = {"Berlin": (52.52, 13.405), "Hamburg": (53.551, 9.994), "Munich": (48.137, 11.575),
           "Vienna": (48.208, 16.374), "Zurich": (47.377, 8.542), "Amsterdam": (52.368, 4.904)}
