"""Stratified random samples of responses or interactions for human quality evaluation.

Each stratum (a combination of the ``strata`` columns) gets the sample size that estimates a
proportion within ``margin`` at ``confidence`` — the worst case p = 0.5 —

    n0 = z² · p(1−p) / e²        n = ceil(n0 / (1 + (n0 − 1) / N))   (finite population N)

so 385 for ±5 % at 95 % from a large stratum, and the whole stratum when it is small. The
margin achieved with n of N is ``z · sqrt(p(1−p)/n · (N−n)/(N−1))``. Items are drawn without
replacement by a generator seeded with ``seed`` and the stratum, from the population in a
fixed order: the same data and seed give the same sample.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from statistics import NormalDist
from typing import Any

import duckdb

from parallax.db import read_sql, run_sql
from parallax.errors import ConfigError, NoDataError

__all__ = ["KINDS", "STRATA", "Sample", "Stratum", "achieved_margin", "draw_sample",
           "sample_size", "strata_summary", "wilson", "write_sample_csv", "z_value"]

KINDS = ("responses", "interactions")
# Columns a stratum may be defined by, per kind (the population query returns them).
STRATA: dict[str, tuple[str, ...]] = {
    "responses": ("source", "channel", "metric", "route", "device", "country", "segment",
                  "is_poor"),
    "interactions": ("source", "channel", "reason", "queue", "initiation", "abandoned",
                     "resolved", "agent_id"),
}
# Columns written to the sample file for evaluators to fill in.
EVALUATION_COLUMNS = ("evaluator", "eval_pass", "eval_score", "eval_notes")


def z_value(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"--confidence must be between 0 and 1, got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def sample_size(population: int | None, margin: float, confidence: float,
                p: float = 0.5) -> int:
    """Items to draw for ±``margin`` at ``confidence``; ``population`` None = infinite."""
    if not 0.0 < margin < 1.0:
        raise ConfigError(f"--margin must be between 0 and 1, got {margin}")
    n0 = z_value(confidence) ** 2 * p * (1 - p) / margin**2
    if population is None:
        return math.ceil(n0 - 1e-9)
    if population <= 0:
        return 0
    return min(population, math.ceil(n0 / (1 + (n0 - 1) / population) - 1e-9))


def achieved_margin(n: int, population: int | None, confidence: float,
                    p: float = 0.5) -> float | None:
    """The margin of error of a proportion estimated from n of ``population`` items."""
    if n <= 0:
        return None
    fpc = 1.0 if population is None or population <= 1 else \
        max(0.0, (population - n) / (population - 1))
    return z_value(confidence) * math.sqrt(p * (1 - p) / n * fpc)


def wilson(successes: int, n: int, confidence: float = 0.95,
           population: int | None = None) -> tuple[float, float] | None:
    """Wilson score interval of successes/n; with ``population`` the finite population
    correction shrinks it (n taken as n·(N−1)/(N−n)); the whole population gives a point."""
    if n <= 0:
        return None
    p = successes / n
    if population is not None and n >= population:
        return (p, p)
    size: float = n
    if population is not None and population > 1:
        size = n * (population - 1) / (population - n)
    z = z_value(confidence)
    denom = 1 + z * z / size
    centre = (p + z * z / (2 * size)) / denom
    half = z * math.sqrt(p * (1 - p) / size + z * z / (4 * size * size)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Stratum:
    label: str  # 'channel=call|reason=refund', or 'all'
    key: tuple[Any, ...]
    population: int
    sample: int
    margin: float | None  # achieved, at the sample's confidence


@dataclass(frozen=True)
class Sample:
    kind: str
    strata_by: tuple[str, ...]
    margin: float
    confidence: float
    seed: int
    strata: tuple[Stratum, ...]
    columns: tuple[str, ...]  # of rows, before the stratum and evaluation columns
    rows: tuple[tuple[Stratum, tuple[Any, ...]], ...]


def _label(strata_by: Sequence[str], key: tuple[Any, ...]) -> str:
    if not strata_by:
        return "all"
    return "|".join(f"{c}={'' if v is None else v}" for c, v in zip(strata_by, key, strict=True))


def draw_sample(con: duckdb.DuckDBPyConnection, kind: str, strata_by: Sequence[str] = (), *,
                margin: float = 0.05, confidence: float = 0.95, seed: int = 0,
                since: datetime | None = None, until: datetime | None = None) -> Sample:
    """Draw the stratified sample; ``ConfigError`` for an unknown kind or stratum column,
    ``NoDataError`` when the population is empty."""
    if kind not in KINDS:
        raise ConfigError(f"unknown sample kind {kind!r}; expected one of {', '.join(KINDS)}")
    bad = [c for c in strata_by if c not in STRATA[kind]]
    if bad:
        raise ConfigError(f"--strata {bad[0]}: not a {kind} column "
                          f"(expected one of {', '.join(STRATA[kind])})")
    sample_size(None, margin, confidence)  # validates margin and confidence
    sql = read_sql("models", f"contacts/sample_{kind}.sql")
    params = {"since": since, "until": until}
    cur = run_sql(con, sql, params)
    columns = tuple(d[0] for d in cur.description)
    population = cur.fetchall()
    if not population:
        raise NoDataError(f"no {kind} to sample" + (" in the window" if since or until else ""))
    idx = [columns.index(c) for c in strata_by]
    groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for row in population:
        groups.setdefault(tuple(row[i] for i in idx), []).append(row)
    strata: list[Stratum] = []
    rows: list[tuple[Stratum, tuple[Any, ...]]] = []
    for key in sorted(groups, key=lambda k: tuple((v is None, str(v)) for v in k)):
        members = groups[key]
        label = _label(strata_by, key)
        n = sample_size(len(members), margin, confidence)
        picked = sorted(random.Random(f"{seed}|{label}").sample(range(len(members)), n))
        stratum = Stratum(label, key, len(members), n,
                          achieved_margin(n, len(members), confidence))
        strata.append(stratum)
        rows.extend((stratum, members[i]) for i in picked)
    return Sample(kind, tuple(strata_by), margin, confidence, seed, tuple(strata), columns,
                  tuple(rows))


def write_sample_csv(sample: Sample, path: Path) -> int:
    """The sample as CSV: kind, stratum, its population and sample size, the item's columns,
    then empty evaluation columns for the evaluators. Returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(("kind", "stratum", "stratum_population", "stratum_sample", *sample.columns,
                    *EVALUATION_COLUMNS))
        for stratum, row in sample.rows:
            w.writerow((sample.kind, stratum.label, stratum.population, stratum.sample,
                        *(_cell(v) for v in row), *("",) * len(EVALUATION_COLUMNS)))
    tmp.replace(path)  # never a half-written sample file
    return len(sample.rows)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def strata_summary(sample: Sample) -> list[Mapping[str, Any]]:
    return [{"stratum": s.label, "population": s.population, "sample": s.sample,
             "margin": None if s.margin is None else round(s.margin, 4)} for s in sample.strata]
