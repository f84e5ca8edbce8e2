"""Who answered? Among the sessions OFFERED a survey, a logistic model of answering on the
delivery features the verdicts use, and inverse-probability weights from it.

The propensity model (one row per offer whose page is known, clustered by user):

    answered ~ route + device + country + segment + error + fail:<dependency>
               + one load slope per route (load seconds, capped at ``cap_load_s``)

Per route, the odds ratio of answering per second of load (its own slope); per dependency,
the odds ratio of answering when it failed on the page; per segment level, the odds ratio of
answering against the rest of its factor (a model per factor, delivery held equal). Each is a
false-discovery family like the findings' (``verdicts.bh_tested``, over subjects with at
least ``min_responses`` offers): ``selection`` is set where delivery (or, for a segment, who
the customer is) changes who answers, at ``alpha``.

Weights: stabilised inverse probabilities, w = P(answer) / p̂(offer), for the answered
offers, trimmed (clipped) at the ``trim`` percentiles; a response carries its offer's weight,
one without a modelled offer (no session id, no known page) weight 1 — the weights' mean is
about 1 by construction. Effective sample size (Σw)²/Σw² says how much the weighting costs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any

import duckdb
import numpy as np

from parallax.correlate.design import build_design, pooled
from parallax.correlate.frame import UNKNOWN
from parallax.correlate.logit import Estimate, LogitFit, fit_logit

# SelectionSettings lives in the light settings module: reading the configuration must not
# import the statistics stack (correlate imports that in a thread beside its SQL)
from parallax.correlate.settings import (
    SELECTION_FILES,
    SelectionSettings,
    Settings,
    offer_params,
)
from parallax.correlate.verdicts import bh_tested
from parallax.db import run_sql

__all__ = ["Propensity", "SelectionSettings", "SubjectSelection", "build_offers", "propensity"]

_CONTROLS = ("device", "country", "segment")


@dataclass(frozen=True)
class SubjectSelection:
    what: str  # answer_odds_per_load_s | answer_odds_when_failed | answer_odds_vs_rest
    offers: int
    log_odds: Estimate
    q_value: float | None
    flag: bool

    def to_json(self) -> dict[str, Any]:
        e = self.log_odds
        return {"measure": self.what, "offers": self.offers,
                "odds_ratio": {"estimate": _exp(e.estimate), "ci_low": _exp(e.ci_low),
                               "ci_high": _exp(e.ci_high)},
                "p_value": e.p_value, "q_value": self.q_value, "selection": self.flag}


@dataclass(frozen=True)
class Propensity:
    offers: int  # offers in the window
    modelled: int  # offers whose page (and so delivery) is known
    answered: int
    subjects: dict[tuple[str, str], SubjectSelection]
    weights: dict[str, float]  # response_key → weight (responses with a modelled offer)
    trimmed_at: tuple[float, float]
    effective_n: float  # of the weighted answered offers
    note: str  # why the model could not be fitted ("" when it was)


def build_offers(con: duckdb.DuckDBPyConnection, sel: SelectionSettings, since, until) -> int:
    """selection_links and selection_offers for the window; the number of offers."""
    params = offer_params(sel, since, until)
    folder = resources.files("parallax.models").joinpath("selection")
    for name in SELECTION_FILES:
        run_sql(con, folder.joinpath(name).read_text(encoding="utf-8"), params)
    (n,), = con.execute("SELECT count(*) FROM selection_offers").fetchall()
    return int(n)


def propensity(con: duckdb.DuckDBPyConnection, sel: SelectionSettings,
               settings: Settings) -> Propensity:
    rows = con.execute(
        "SELECT offer_key, answered, route, device, country, segment, cluster_key, "
        "log_load_s, coalesce(error_seen, 0), deps FROM selection_offers "
        "ORDER BY offer_key").fetchall()
    n_all = len(rows)
    rows = [r for r in rows if r[7] is not None]
    y = np.array([float(r[1]) for r in rows])
    empty = Propensity(n_all, len(rows), int(y.sum()), {}, {}, (1.0, 1.0), 0.0, "")
    if len(rows) < 2 * settings.min_responses or not 0 < y.sum() < len(y):
        return _with_note(empty, "too few offers, or every offer answered / none answered")
    text = [np.array([r[i] if r[i] is not None else UNKNOWN for r in rows], dtype=object)
            for i in (2, 3, 4, 5)]
    route, controls = text[0], dict(zip(_CONTROLS, text[1:], strict=True))
    cluster = np.array([r[6] for r in rows], dtype=object)
    load_s = np.minimum(np.exp(np.array([r[7] for r in rows], dtype=float)), sel.cap_load_s)
    delivery = {"error": np.array([float(r[8]) for r in rows])}
    failed: dict[str, np.ndarray] = {}
    for i, r in enumerate(rows):
        for d in r[9] or ():
            if d["failed"]:
                failed.setdefault(f"fail:{d['peer']}", np.zeros(len(rows)))[i] = 1.0
    delivery.update(sorted(failed.items()))
    design = build_design("route", route, controls, delivery=delivery,
                          min_level=settings.min_level)
    subject = pooled(route, settings.min_level)
    slopes = [f"load_s:route={lv}" for lv in design.levels]
    X = np.column_stack([design.X, *[np.where(subject == lv, load_s, 0.0)
                                     for lv in design.levels]])
    names = [*design.names, *slopes]
    try:
        fit = fit_logit(y, X, names, cluster)
    except ValueError as exc:
        return _with_note(empty, f"the propensity model could not be fitted: {exc}")
    subjects = _routes(fit, route, design.levels, settings)
    subjects |= _dependencies(fit, failed, settings)
    subjects |= _segments(y, route, controls, load_s, delivery, cluster, settings)
    p_hat = fit.predict(X)
    keys = np.array([r[0] for r in rows], dtype=object)
    w_offer, cuts, ess = _weights(y, p_hat, sel.trim)
    weights = _response_weights(con, dict(zip(keys[y == 1].tolist(), w_offer.tolist(),
                                              strict=True)))
    return Propensity(n_all, len(rows), int(y.sum()), subjects, weights, cuts, ess, "")


def _with_note(p: Propensity, note: str) -> Propensity:
    return Propensity(p.offers, p.modelled, p.answered, {}, {}, (1.0, 1.0), 0.0, note)


def _weights(y: np.ndarray, p_hat: np.ndarray, trim: tuple[float, float],
             ) -> tuple[np.ndarray, tuple[float, float], float]:
    """Stabilised inverse-probability weights of the answered offers, clipped at the trim
    percentiles; (weights, (low cut, high cut), effective sample size)."""
    raw = float(y.mean()) / p_hat[y == 1]
    lo, hi = (float(v) for v in np.quantile(raw, trim))
    w = np.clip(raw, lo, hi)
    return w, (lo, hi), float(w.sum() ** 2 / (w ** 2).sum())


def _response_weights(con: duckdb.DuckDBPyConnection, by_offer: dict[str, float],
                      ) -> dict[str, float]:
    links = con.execute("SELECT response_key, offer_key FROM selection_links").fetchall()
    return {r: by_offer[o] for r, o in links if o in by_offer}


def _family(kind: str, what: str, found: list[tuple[str, int, Estimate]],
            settings: Settings) -> dict[tuple[str, str], SubjectSelection]:
    q = bh_tested([e.p_value for _, _, e in found], [n for _, n, _ in found], settings)
    return {(kind, s): SubjectSelection(what, n, e, qv, qv is not None and qv < settings.alpha)
            for (s, n, e), qv in zip(found, q, strict=True)}


def _routes(fit: LogitFit, route: np.ndarray, levels: tuple[str, ...], settings: Settings,
            ) -> dict[tuple[str, str], SubjectSelection]:
    counts = Counter(route.tolist())
    found = [(lv, counts[lv], fit.contrast({f"load_s:route={lv}": 1.0}))
             for lv in levels if lv in counts and lv != UNKNOWN]
    return _family("route", "answer_odds_per_load_s", found, settings)


def _dependencies(fit: LogitFit, failed: dict[str, np.ndarray], settings: Settings,
                  ) -> dict[tuple[str, str], SubjectSelection]:
    found = [(name.removeprefix("fail:"), int(v.sum()), fit.contrast({name: 1.0}))
             for name, v in sorted(failed.items()) if fit.index(name) is not None]
    return _family("dependency", "answer_odds_when_failed", found, settings)


def _segments(y, route, controls, load_s, delivery, cluster, settings: Settings,
              ) -> dict[tuple[str, str], SubjectSelection]:
    """Per segment factor, its levels' answering odds against the rest of the factor (the
    count-weighted mean of the other levels), route and delivery held equal."""
    out: dict[tuple[str, str], SubjectSelection] = {}
    found: list[tuple[str, int, Estimate]] = []
    for name, values in controls.items():
        counts = Counter(values.tolist())
        if sum(c >= settings.min_level for c in counts.values()) < 2:
            continue
        others = {"route": route, **{k: v for k, v in controls.items() if k != name}}
        d = build_design(name, values, others, delivery={**delivery, "load_s": load_s},
                         min_level=settings.min_level)
        try:
            fit = fit_logit(y, d.X, d.names, cluster)
        except ValueError:
            continue
        level_n = Counter(d.subject.tolist())
        for lv in d.levels:
            if lv in (UNKNOWN, "(other)"):
                continue
            rest = sum(c for v, c in level_n.items() if v != lv)
            c = {f"{name}={v}": -n / rest for v, n in level_n.items() if v != lv}
            found.append((lv, level_n[lv], fit.contrast({**c, f"{name}={lv}": 1.0})))
    out |= _family("segment", "answer_odds_vs_rest", found, settings)
    return out


def _exp(x: float) -> float:
    return float(np.exp(np.clip(x, -50.0, 50.0)))
