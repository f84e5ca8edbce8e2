"""The self-selection check of a correlate run: when survey offers are recorded, the
propensity model (``selection``), the weighted re-estimates (``reweigh``) and, per finding,
``details.selection`` — an additive key, so every other key of a finding stays as it was.
Without any offer in the window nothing changes: the run says so once (``summary`` None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import duckdb
import numpy as np

from parallax.correlate.findings import Finding
from parallax.correlate.frame import read_responses
from parallax.correlate.reweigh import reweigh
from parallax.correlate.selection import SelectionSettings, build_offers, propensity
from parallax.correlate.settings import Settings

__all__ = ["NO_OFFERS", "OfferBuilder", "check"]

OfferBuilder = Callable[[duckdb.DuckDBPyConnection, SelectionSettings, Any, Any], int]

NO_OFFERS = ("no survey offers recorded (survey shown events): findings rest on the customers "
             "who answered, unweighted; self-selection is not measured")


def check(con: duckdb.DuckDBPyConnection, findings: list[Finding], settings: Settings,
          sel: SelectionSettings, since, until, build: OfferBuilder | None = None,
          ) -> tuple[list[Finding], dict | None]:
    """``build`` leaves selection_offers and selection_links in ``con`` (build_offers, in
    DuckDB, by default; another engine's where the page loads stayed on it)."""
    offers = (build or build_offers)(con, sel, since, until)
    if offers == 0:
        return findings, None
    prop = propensity(con, sel, settings)
    frame = read_responses(con)
    fm = frame.take((frame.link != "none") & np.isfinite(frame.log_load))
    weights = np.array([prop.weights.get(k, 1.0) for k in fm.extra["key"].tolist()])
    rw = reweigh(fm, weights, settings) if prop.subjects and fm.n >= 2 * settings.min_level \
        and 0 < fm.y.sum() < fm.n else None
    summary = {
        "offers": prop.offers, "offers_modelled": prop.modelled, "answered": prop.answered,
        "responses_modelled": fm.n, "responses_with_offer": int(sum(
            k in prop.weights for k in fm.extra["key"].tolist())),
        "trim_percentiles": list(sel.trim), "trimmed_at": list(prop.trimmed_at),
        "effective_n_offers": prop.effective_n,
        "effective_n_responses": rw.effective_n if rw else None,
        "load_slope_log_odds": rw.load_slope if rw else None,
        "flagged": sorted(f"{k}:{s}" for (k, s), v in prop.subjects.items() if v.flag),
        "note": prop.note or ("" if rw else "the weighted models could not be fitted"),
    }
    out = []
    for f in findings:
        key = (f.subject_kind, f.subject)
        found = prop.subjects.get(key)
        est = rw.estimates.get(key) if rw else None
        if found is None and est is None:
            out.append(f)
            continue
        entry: dict[str, Any] = (found.to_json() if found
                                 else {"selection": False, "measure": None})
        entry["delivery_log_odds"] = est
        out.append(replace(f, details={**f.details, "selection": entry}))
    return out, summary
