"""Evaluators' scores on a drawn sample: brought back from the sample CSV and reported per
stratum with intervals.

The file is the one ``parallax sample`` wrote, with ``evaluator``, ``eval_pass`` (yes/no,
pass/fail, true/false, 1/0) and / or ``eval_score`` (a number on the team's own scale) and
``eval_notes`` filled in. Rows with neither pass nor score are not evaluated yet and are
skipped. A value that cannot be read fails the whole file (one line, nothing stored).

Per stratum: the pass rate with its Wilson interval and the mean score with its t interval,
both with the finite population correction (the stratum size travels in the file). Overall:
the stratified estimate, strata weighted by their population.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from scipy import stats

from parallax.db import transaction
from parallax.errors import FormatError
from parallax.quality.sampling import KINDS, wilson, z_value

__all__ = ["EvaluationLoad", "StratumScore", "evaluation_report", "ingest_evaluations"]

_REQUIRED = ("kind", "stratum", "stratum_population", "source", "id")
_PASS = {"yes": True, "y": True, "pass": True, "passed": True, "true": True, "1": True,
         "no": False, "n": False, "fail": False, "failed": False, "false": False, "0": False}


@dataclass(frozen=True)
class EvaluationLoad:
    file: str
    stored: int  # evaluations in the file (re-ingesting stores the same rows again)
    pending: int  # sampled rows without an evaluation yet


@dataclass(frozen=True)
class StratumScore:
    kind: str
    stratum: str  # 'all strata' for the weighted overall line
    population: int
    evaluated: int
    pass_rate: float | None
    pass_ci: tuple[float, float] | None
    mean_score: float | None
    score_ci: tuple[float, float] | None

    def to_json(self) -> dict[str, Any]:
        r = lambda x: None if x is None else round(x, 4)  # noqa: E731
        return {"kind": self.kind, "stratum": self.stratum, "population": self.population,
                "evaluated": self.evaluated, "pass_rate": r(self.pass_rate),
                "pass_ci": None if self.pass_ci is None else [r(x) for x in self.pass_ci],
                "mean_score": r(self.mean_score),
                "score_ci": None if self.score_ci is None else [r(x) for x in self.score_ci]}


def ingest_evaluations(con: duckdb.DuckDBPyConnection, path: Path,
                       pseudonymize: Callable[[Any], str | None]) -> EvaluationLoad:
    label = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise FormatError(label, f"not a sample file: no {missing[0]} column "
                                  "(evaluate the CSV `parallax sample` wrote)", "row 1")
            rows, pending = [], 0
            for n, rec in enumerate(reader, 2):
                row = _row(rec, label, f"row {n}", pseudonymize)
                if row is None:
                    pending += 1
                else:
                    rows.append(row)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FormatError(label, f"cannot read file: {exc}") from None
    now = datetime.now(UTC)
    with transaction(con):
        for r in rows:
            con.execute("DELETE FROM evaluations WHERE kind = ? AND item_source = ? "
                        "AND item_id = ? AND evaluator IS NOT DISTINCT FROM ?",
                        [r[0], r[1], r[2], r[6]])
        if rows:
            con.executemany("INSERT INTO evaluations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [(*r, label, now) for r in rows])
    return EvaluationLoad(label, len(rows), pending)


def _row(rec: dict[str, str | None], label: str, where: str,
         pseudonymize: Callable[[Any], str | None]) -> tuple | None:
    get = lambda k: (rec.get(k) or "").strip()  # noqa: E731
    passed_text, score_text = get("eval_pass").lower(), get("eval_score")
    if not passed_text and not score_text:
        return None
    if get("kind") not in KINDS:
        raise FormatError(label, f"kind {get('kind')!r}: expected one of {', '.join(KINDS)}",
                          where)
    if passed_text and passed_text not in _PASS:
        raise FormatError(label, f"eval_pass {passed_text!r}: expected yes/no, pass/fail", where)
    try:
        score = float(score_text.replace(",", ".")) if score_text else None
        population = int(get("stratum_population"))
        sampled = int(get("stratum_sample")) if get("stratum_sample") else None
    except ValueError as exc:
        raise FormatError(label, f"not a number: {exc}", where) from None
    if score is not None and not math.isfinite(score):
        raise FormatError(label, f"eval_score {score_text!r} is not a number", where)
    if not get("id") or not get("source"):
        raise FormatError(label, "no item id / source", where)
    return (get("kind"), get("source"), get("id"), get("stratum"), population, sampled,
            pseudonymize(get("evaluator") or None), _PASS.get(passed_text), score,
            get("eval_notes") or None)


def evaluation_report(con: duckdb.DuckDBPyConnection,
                      confidence: float = 0.95) -> list[StratumScore]:
    """Per kind and stratum, then the population-weighted overall line per kind."""
    rows = con.execute(
        "SELECT kind, stratum, max(stratum_population), list(passed), list(score) "
        "FROM evaluations GROUP BY kind, stratum ORDER BY kind, stratum").fetchall()
    out: list[StratumScore] = []
    for kind in KINDS:
        mine = [r for r in rows if r[0] == kind]
        scores = [_stratum(kind, s, pop, [p for p in passed if p is not None],
                           [x for x in score if x is not None], confidence)
                  for _, s, pop, passed, score in mine]
        out.extend(scores)
        if len(scores) > 1:
            out.append(_overall(kind, scores, confidence))
    return out


def _stratum(kind: str, stratum: str, population: int, passed: list[bool],
             scores: list[float], confidence: float) -> StratumScore:
    n = len(passed)
    evaluated = max(n, len(scores))
    rate = sum(passed) / n if n else None
    ci = wilson(sum(passed), n, confidence, population) if n else None
    mean, sci = None, None
    if scores:
        mean = sum(scores) / len(scores)
        if len(scores) > 1:
            sd = math.sqrt(sum((x - mean) ** 2 for x in scores) / (len(scores) - 1))
            fpc = max(0.0, (population - len(scores)) / population) if population else 1.0
            half = stats.t.ppf(0.5 + confidence / 2, len(scores) - 1) * sd * math.sqrt(
                fpc / len(scores))
            sci = (mean - half, mean + half)
    return StratumScore(kind, stratum, population, evaluated, rate, ci, mean, sci)


def _overall(kind: str, strata: list[StratumScore], confidence: float) -> StratumScore:
    """Stratified estimate: strata weighted by population; normal interval on its variance."""
    z = z_value(confidence)
    total = sum(s.population for s in strata)
    rated = [(s, s.pass_rate) for s in strata if s.pass_rate is not None]
    rate, ci = None, None
    if rated:
        pop = sum(s.population for s, _ in rated)
        rate = sum(s.population / pop * p for s, p in rated)
        var = sum((s.population / pop) ** 2 * (1 - s.evaluated / s.population)
                  * p * (1 - p) / max(s.evaluated - 1, 1) for s, p in rated)
        ci = (max(0.0, rate - z * math.sqrt(var)), min(1.0, rate + z * math.sqrt(var)))
    scored = [(s, s.mean_score) for s in strata if s.mean_score is not None]
    mean = sum(s.population * m for s, m in scored) / sum(
        s.population for s, _ in scored) if scored else None
    return StratumScore(kind, "all strata", total, sum(s.evaluated for s in strata), rate, ci,
                        mean, None)
