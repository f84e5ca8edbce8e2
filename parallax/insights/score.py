"""A transparent composite quality score, 0-100, per route, customer segment or survey channel.

    total = (w_delivery × delivery + w_perceived × perceived + w_effort × effort)
            / (sum of the weights of the components that have data)

* **delivery** = 100 × Apdex at ``good_load_ms`` (satisfied ≤ T, tolerating ≤ 4 T, an error
  page is frustrated);
* **perceived** = (NPS + 100) / 2 over the group's NPS answers; without NPS answers, 100 × the
  share of responses that were not poor (a CSAT-style share);
* **effort** = the mean of 100 × (1 − contact rate / ``contact_rate_ceiling``), floored at 0,
  and 100 × first-contact resolution, where the contact rate is the share of the group's
  sessions the same customer followed with a contact within ``contact_days``.

A component without data (no page loads; fewer than ``min_responses`` responses; no
interactions stored at all, or no session of the group) is "no data" and its weight is shared
out among the others in proportion. Each weight is then moved ±50 % in turn and the ranking
recomputed: how far each group's rank moves says how much the order rests on the weights.
Counting is SQL (``models/insights/score.sql``); docs/score.md explains every choice.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from parallax.config import section_settings
from parallax.contacts.metrics import contact_outcomes
from parallax.db import read_sql
from parallax.errors import ConfigError, NoDataError
from parallax.exposure import JoinSettings, build_exposure

__all__ = ["COMPONENTS", "GROUPINGS", "GroupScore", "ScoreReport", "ScoreSettings",
           "composite", "load_weights", "quality_score"]

GROUPINGS = ("route", "segment", "channel")
COMPONENTS = ("delivery", "perceived", "effort")
SWING = 0.5  # each weight moved by ±50 % for the sensitivity of the ranking


@dataclass(frozen=True)
class ScoreSettings:
    """``[score]`` in parallax.toml (or a ``--weights`` file with the same keys)."""

    delivery: float = 1.0  # weights: relative, need not sum to 1
    perceived: float = 1.0
    effort: float = 1.0
    contact_days: int = 7  # a contact this many days after a session follows it
    fcr_days: int = 7  # first-contact resolution: no repeat about the same reason this long
    contact_rate_ceiling: float = 0.10  # this share of sessions followed by a contact: 0 points
    min_responses: int = 10  # fewer responses: perceived is "no data"
    good_load_ms: float = 2500.0  # Apdex T; defaults to [correlate] good_load_ms

    @classmethod
    def from_mapping(cls, data: Mapping, where: str = "[score]") -> ScoreSettings:
        out = section_settings(cls, data, where)
        if min(out.weights.values()) < 0 or sum(out.weights.values()) <= 0:
            raise ConfigError(f"{where}: weights must be >= 0 and not all 0")
        if out.contact_days < 1 or out.fcr_days < 1 or out.min_responses < 1:
            raise ConfigError(f"{where}: contact_days, fcr_days, min_responses must be >= 1")
        if out.contact_rate_ceiling <= 0 or out.good_load_ms <= 0:
            raise ConfigError(f"{where}: contact_rate_ceiling and good_load_ms must be > 0")
        return out

    @property
    def weights(self) -> dict[str, float]:
        return {c: getattr(self, c) for c in COMPONENTS}


def load_weights(path: Path, base: ScoreSettings) -> ScoreSettings:
    """A ``--weights`` TOML file: the keys of ``[score]``, top level or under ``[score]``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read weights: {exc}") from None
    data = data.get("score", data)
    merged = {**{f.name: getattr(base, f.name) for f in fields(base)}, **data}
    return ScoreSettings.from_mapping(merged, where=str(path))


@dataclass(frozen=True)
class GroupScore:
    group: str
    total: float | None
    components: dict[str, float | None]  # None: no data (its weight redistributed)
    weights_used: dict[str, float]  # the normalised weights that made the total
    detail: dict[str, Any]  # apdex, nps, not_poor_share, contact_rate, fcr and the counts
    rank: int | None  # 1 = best; None without a total
    rank_range: tuple[int, int] | None  # best and worst rank over the ±50 % weight moves
    ranks: dict[str, int | None]  # rank per scenario, e.g. "delivery-50%"

    def to_json(self) -> dict[str, Any]:
        r = lambda x: None if x is None else round(float(x), 4)  # noqa: E731
        return {"group": self.group, "total": r(self.total),
                "components": {k: r(v) for k, v in self.components.items()},
                "weights_used": {k: r(v) for k, v in self.weights_used.items()},
                "detail": {k: r(v) if isinstance(v, float) else v
                           for k, v in self.detail.items()},
                "rank": self.rank,
                "rank_range": list(self.rank_range) if self.rank_range else None,
                "ranks": self.ranks}


@dataclass(frozen=True)
class ScoreReport:
    by: str
    settings: ScoreSettings
    groups: tuple[GroupScore, ...]  # best total first; groups without a total last
    effort_data: bool  # False: no interactions stored, effort is "no data" everywhere
    rank_changes: dict[str, int]  # per scenario: how many groups change rank

    def to_json(self) -> dict[str, Any]:
        return {"by": self.by, "weights": self.settings.weights,
                "settings": {f.name: getattr(self.settings, f.name)
                             for f in fields(self.settings)},
                "effort_data": self.effort_data, "rank_changes": self.rank_changes,
                "groups": [g.to_json() for g in self.groups]}


def composite(components: Mapping[str, float | None], weights: Mapping[str, float],
              ) -> tuple[float | None, dict[str, float]]:
    """The weighted total over the components with data, and the normalised weights used."""
    given = {c: v for c, v in components.items() if v is not None}
    have = {c: w for c, w in weights.items() if c in given and w > 0}
    total_w = sum(have.values())
    if total_w <= 0:
        return None, {c: 0.0 for c in weights}
    used = {c: have.get(c, 0.0) / total_w for c in weights}
    return sum(used[c] * given[c] for c in have), used


def _components(row: dict, s: ScoreSettings, effort_data: bool) -> tuple[dict, dict]:
    apdex = (row["satisfied"] + row["tolerating"] / 2) / row["pages"] if row["pages"] else None
    nps = not_poor = None
    if row["responses"] >= s.min_responses:
        not_poor = row["not_poor"] / row["responses"]
        if row["nps_responses"]:
            nps = 100.0 * (row["promoters"] - row["detractors"]) / row["nps_responses"]
    perceived = (nps + 100) / 2 if nps is not None else (
        100 * not_poor if not_poor is not None else None)
    rate = fcr = None
    if effort_data and row["sessions"]:
        rate = row["sessions_followed"] / row["sessions"]
        fcr = row["resolved"] / row["first_contacts"] if row["first_contacts"] else None
    parts = [] if rate is None else [100 * max(0.0, 1 - rate / s.contact_rate_ceiling)]
    parts += [] if fcr is None else [100 * fcr]
    effort = sum(parts) / len(parts) if parts else None
    detail = {"apdex": apdex, "nps": nps, "not_poor_share": not_poor, "contact_rate": rate,
              "fcr": fcr, **{k: row[k] for k in ("pages", "responses", "nps_responses",
                                                  "sessions", "contacts", "first_contacts")}}
    return {"delivery": None if apdex is None else 100 * apdex, "perceived": perceived,
            "effort": effort}, detail


def _ranks(totals: dict[str, float | None]) -> dict[str, int | None]:
    known = {g: t for g, t in totals.items() if t is not None}
    order = sorted(known, key=lambda g: (-known[g], g))
    return {g: (order.index(g) + 1 if g in order else None) for g in totals}


def quality_score(con: duckdb.DuckDBPyConnection, *, by: str = "route",
                  settings: ScoreSettings | None = None, join: JoinSettings | None = None,
                  since: datetime | None = None, until: datetime | None = None) -> ScoreReport:
    if by not in GROUPINGS:
        raise ConfigError(f"--by {by!r}: expected one of {', '.join(GROUPINGS)}")
    s = settings or ScoreSettings()
    build_exposure(con, join or JoinSettings(), since, until)
    contact_outcomes(con, s.fcr_days)
    cur = con.execute(read_sql("models", "insights/score.sql"), {
        "by": by, "good_load_ms": float(s.good_load_ms), "contact_days": s.contact_days,
        "since": since, "until": until})
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, v, strict=True)) for v in cur.fetchall()]
    if not rows:
        raise NoDataError("nothing to score: no page loads and no feedback"
                          + (" in the window" if since or until else ""))
    effort_data = rows[0]["interactions_stored"] > 0
    parts = {r["group"]: _components(r, s, effort_data) for r in rows}
    base = {g: composite(c, s.weights) for g, (c, _) in parts.items()}
    base_ranks = _ranks({g: t for g, (t, _) in base.items()})
    scenarios: dict[str, dict[str, int | None]] = {}
    for comp in COMPONENTS:
        for factor in (1 - SWING, 1 + SWING):
            moved = replace(s, **{comp: getattr(s, comp) * factor})
            scenarios[f"{comp}{factor - 1:+.0%}"] = _ranks(
                {g: composite(c, moved.weights)[0] for g, (c, _) in parts.items()})
    groups = []
    for g, (comps, detail) in parts.items():
        total, used = base[g]
        ranks = {k: v[g] for k, v in scenarios.items()}
        seen = [r for r in (base_ranks[g], *ranks.values()) if r is not None]
        groups.append(GroupScore(g, total, comps, used, detail, base_ranks[g],
                                 (min(seen), max(seen)) if seen else None, ranks))
    groups.sort(key=lambda x: (x.rank is None, x.rank or 0, x.group))
    changes = {k: sum(v[g] != base_ranks[g] for g in base_ranks) for k, v in scenarios.items()}
    return ScoreReport(by, s, tuple(groups), effort_data, changes)
