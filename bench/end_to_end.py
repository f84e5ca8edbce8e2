"""End-to-end benchmark (not a test): Parallax's five commands against the script an analyst
would write without it (``bench/reference_pandas.py``), on the same demo world, in one run.

    uv run python bench/end_to_end.py --sessions 20000
    uv run python bench/end_to_end.py --sessions 600 --bytecode as-is --json -  # the test's
    uv run python bench/end_to_end.py --sessions 20000 --keep /tmp/e2e # keep files, reuse them

The world (``parallax.demo.build_world`` at N sessions, seed 7) is generated in its own process
by ``bench/correlate_scale.py``'s generator, then every phase runs in its own process, timed
wall-clock with the sampled peak RSS of the process and its children (``bench/peak_rss.py``):
Parallax through its real CLI in a fresh database (``ingest traces``, ``ingest feedback``,
``ingest analytics``, ``correlate``, ``findings --format json``), and the reference script
reading the same three folders. Both pay their own interpreter start and imports.

``--bytecode cached`` (the default) first runs all six on a tiny world, untimed, with compiled
bytecode cached under the work dir (``PYTHONPYCACHEPREFIX``), so the timed phases import as an
installed tool does after its first run. ``--bytecode as-is`` leaves the environment alone:
where PYTHONDONTWRITEBYTECODE=1 is set (some sandboxes and containers set it), every phase
compiles every module it imports from source, seconds of fixed cost per process on both
sides.

Then, as the yardstick the speed issue names, DuckDB alone extracts the same fields from the
two large exports, each in its own process: ``bench/duckdb_native_otlp.sql`` over the traces
and ``bench/duckdb_native_ga4.sql`` over the GA4 file (in memory: no checks, pseudonyms, route
normalisation, deduplication or writes): how fast DuckDB itself reads these fields, so
``script / DuckDB alone`` is the ratio a loader on DuckDB would reach if checking,
pseudonymising, storing and the analysis itself cost nothing.

Printed: per phase wall seconds, CPU seconds (user + system, workers included) and peak RSS,
the Parallax total (sum of its five phases; peak = the largest phase's), the script's, the
ratios script / Parallax of wall and of CPU seconds (> 1: Parallax is faster), and
both verdict accuracies against the planted truth (``truth.json``), scored by
``eval/verdicts.py``'s ``score``: over the routes for both (the script judges routes only), and
for Parallax also over routes and dependencies. Exit 1 when a phase fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(BENCH) not in sys.path:  # run as a script bench/ is on the path already; imported, not
    sys.path.insert(0, str(BENCH))

from correlate_scale import CLI, Plan, _run  # noqa: E402

__all__ = ["bench", "main"]

KINDS = ("traces", "feedback", "analytics")
# The exports DuckDB alone reads, with the query that extracts the loader's fields from each.
ALONE = {"traces": "duckdb_native_otlp.sql", "analytics": "duckdb_native_ga4.sql"}
ALONE_PHASE = "DuckDB alone: "  # + the kind: the phases' names
REFERENCE = BENCH / "reference_pandas.py"
WARM_UP_SESSIONS = 100


def _score():
    """``eval/verdicts.py``'s ``score`` (eval/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("eval_verdicts", ROOT / "eval" / "verdicts.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.score


def _generate(work: Path, p: Plan, timeout: float) -> dict:
    """The world under ``work/world``; reused when ``work/plan.json`` says it is this plan's."""
    world, marker = work / "world", work / "plan.json"
    if marker.exists() and json.loads(marker.read_text()) == asdict(p):
        return {"ok": True, "seconds": None, "peak_rss_mib": None, "reused": True}
    marker.unlink(missing_ok=True)
    shutil.rmtree(world, ignore_errors=True)
    r = _run([sys.executable, str(BENCH / "correlate_scale.py"), "--child", str(world),
              json.dumps(asdict(p))], work, timeout)
    if r["ok"]:
        marker.write_text(json.dumps(asdict(p)))
    return r


def _pipeline(world: Path, work: Path, timeout: float) -> tuple[dict, list | None, dict | None]:
    """Parallax's five commands in a fresh database, then the reference script, on ``world``.
    Returns the phases, Parallax's findings and the script's output (None where one failed)."""
    truth = json.loads((world / "truth.json").read_bytes())
    db = work / "bench.duckdb"
    for path in (db, Path(f"{db}.wal"), Path(f"{db}.key")):
        path.unlink(missing_ok=True)
    steps = [(f"ingest {k}", ["ingest", k, *(str(world / f) for f in truth["files"][k])])
             for k in KINDS if truth["files"].get(k)]
    steps += [("correlate", ["correlate"]), ("findings", ["findings", "--format", "json"])]
    phases: dict[str, dict] = {}
    findings = None
    for name, args in steps:
        phases[name] = r = _run([*CLI, "--db", str(db), *args], work, timeout)
        if not r["ok"]:
            break
    if len(phases) == len(steps) and phases["findings"]["ok"]:
        try:
            findings = json.loads(phases["findings"]["stdout"])
        except ValueError as e:
            phases["findings"].update(ok=False, stderr=f"findings is not JSON: {e}")
    out = work / "reference.json"
    out.unlink(missing_ok=True)
    ref_args = [f"--{k}={world / k}" for k in KINDS if (world / k).is_dir()]
    phases["reference script"] = r = _run(
        [sys.executable, str(REFERENCE), *ref_args, f"--json={out}"], work, timeout)
    reference = json.loads(out.read_text()) if r["ok"] and out.exists() else None
    for kind, query in ALONE.items():
        files = [str(world / f) for f in truth["files"].get(kind, ())]
        if files:
            r = _run([sys.executable, __file__, "--duckdb-alone", query, *files], work, timeout)
            if r["ok"]:
                r["rows"] = json.loads(r["stdout"])
            phases[ALONE_PHASE + kind] = r
    return phases, findings, reference


def duckdb_alone(query: str, files: list[str]) -> dict[str, int]:
    """Run ``bench/<query>`` over each file in an in-memory database; rows of each table."""
    import duckdb

    con = duckdb.connect()
    # DuckDB binds parameters in a script's last statement only: one statement at a time
    statements = [s for s in (BENCH / query).read_text().split(";\n") if s.strip()]
    rows: dict[str, int] = {}
    for file in files:
        for stmt in statements:
            con.execute(stmt, {"file": file} if "$file" in stmt else None)
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables() "
                                    "WHERE table_name LIKE 'native_%'").fetchall():
            n = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            rows[table] = rows.get(table, 0) + n
    return rows


def _cache_bytecode(work: Path) -> None:
    """Every phase below reads and writes compiled bytecode under ``work/pycache`` (this
    process's environment, which its children inherit; the checkout and .venv stay as they
    are). With PYTHONDONTWRITEBYTECODE=1 each process would compile every module it imports
    from source, seconds per phase that no installed tool pays after its first run."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")


def bench(work: Path, sessions: int, seed: int, timeout: float,
          bytecode: str = "cached") -> dict:
    result: dict = {"bytecode": bytecode, "phases": {}}
    phases = result["phases"]
    if bytecode == "cached":  # warm the cache on a tiny world, untimed: both sides alike
        _cache_bytecode(work)
        warm = work / "warm-up"
        warm.mkdir(exist_ok=True)
        g = _generate(warm, Plan(seed, WARM_UP_SESSIONS, 0, 1.0), timeout)
        w = _pipeline(warm / "world", warm, timeout)[0] if g["ok"] else {}
        phases["warm-up"] = {"ok": g["ok"] and all(r["ok"] for r in w.values()),
                             "seconds": round(sum(r["seconds"] or 0 for r in (g, *w.values())),
                                              2), "peak_rss_mib": None}
        if not phases["warm-up"]["ok"]:
            phases["warm-up"]["stderr"] = next(r["stderr"] for r in (g, *w.values())
                                               if not r["ok"])
            return result
    p = Plan(seed=seed, sessions=sessions, extra_spans=0, survey_share=1.0)
    result["plan"] = asdict(p)
    phases["generate"] = _generate(work, p, timeout)
    if not phases["generate"]["ok"]:
        return result
    world = work / "world"
    truth = json.loads((world / "truth.json").read_bytes())
    result["counts"] = {k: truth["counts"][k] for k in
                        ("sessions", "page_views", "spans", "responses",
                         "responses_without_session_id")}
    timed, findings, reference = _pipeline(world, work, timeout)
    phases.update(timed)

    names = [n for n in timed if n != "reference script" and not n.startswith(ALONE_PHASE)]
    alone = [r for n, r in timed.items() if n.startswith(ALONE_PHASE)]
    done = len(names) == 5 and all(timed[n]["ok"] for n in names)
    r = timed["reference script"]
    result["parallax"] = {
        "seconds": round(sum(timed[n]["seconds"] for n in names), 2) if done else None,
        "cpu_seconds": round(sum(timed[n]["cpu_seconds"] for n in names), 2) if done else None,
        "peak_rss_mib": max(timed[n]["peak_rss_mib"] for n in names) if done else None}
    result["reference"] = {k: r[k] if r["ok"] else None
                           for k in ("seconds", "cpu_seconds", "peak_rss_mib")}
    if done and r["ok"]:
        p = result["parallax"]
        result["ratio_script_over_parallax"] = round(r["seconds"] / p["seconds"], 3)
        result["cpu_ratio_script_over_parallax"] = round(
            r["cpu_seconds"] / p["cpu_seconds"], 3) if p["cpu_seconds"] else None
    if alone and all(a["ok"] for a in alone):
        result["duckdb_alone"] = {k: round(sum(a[k] for a in alone), 2)
                                  for k in ("seconds", "cpu_seconds")}
        if r["ok"]:
            result["ratio_script_over_duckdb_alone"] = round(
                r["seconds"] / result["duckdb_alone"]["seconds"], 3)
    result["accuracy"] = _accuracy(truth, findings, reference, seed, sessions)
    return result


def _trim(result: dict) -> dict:
    """No phase's stdout; stderr only where it explains a failure."""
    result["phases"] = {k: {f: v for f, v in ph.items() if f != "stdout" and
                            (f != "stderr" or not ph["ok"])}
                        for k, ph in result["phases"].items()}
    return result


def _accuracy(truth: dict, findings: list | None, reference: dict | None, seed: int,
              sessions: int) -> dict:
    """Both verdict accuracies, scored by eval/verdicts.py: over routes (both), and over routes
    and dependencies (Parallax: the script judges no dependency)."""
    score = _score()
    routes_only = {**truth, "expected": {"routes": truth["expected"]["routes"],
                                         "dependencies": {}}}
    out: dict = {}
    per_route = {r: {"expected": "ok" if e["verdict"] == "healthy" else e["verdict"]}
                 for r, e in truth["expected"]["routes"].items()}
    if findings is not None:
        s = score(routes_only, findings, seed, sessions, 0.0)
        full = score(truth, findings, seed, sessions, 0.0)
        out["parallax_routes"] = _brief(s)
        out["parallax_routes_and_dependencies"] = _brief(full)
        for row in s["wrong"]:
            per_route[row["subject"]]["parallax"] = row["got"]
        for r in per_route:
            per_route[r].setdefault("parallax", per_route[r]["expected"])
    if reference is not None:
        as_findings = [{"subject_kind": "route", "subject": r, "verdict": v}
                       for r, v in reference["routes"].items()]
        s = score(routes_only, as_findings, seed, sessions, 0.0)
        out["reference_routes"] = _brief(s)
        for row in s["wrong"]:
            per_route[row["subject"]]["reference"] = row["got"]
        for r in per_route:
            per_route[r].setdefault("reference", per_route[r]["expected"])
            n = reference.get("details", {}).get(r, {}).get("responses")
            per_route[r]["reference_responses"] = n
        out["reference_responses_joined"] = reference.get("responses_joined")
        out["reference_responses_read"] = reference.get("responses")
    out["per_route"] = per_route
    return out


def _brief(s: dict) -> dict:
    return {"accuracy": round(s["accuracy"], 4), "right": s["right"], "subjects": s["subjects"]}


def _table(res: dict) -> str:
    rows = ["| phase | ok | seconds | CPU s | peak RSS MiB |", "|---|---|---|---|---|"]

    def row(name: str, r: dict) -> None:
        secs = "reused" if r.get("reused") else r["seconds"]
        cpu, rss = (r.get(k) if r.get(k) is not None else "–"
                    for k in ("cpu_seconds", "peak_rss_mib"))
        rows.append(f"| {name} | {'yes' if r['ok'] else 'FAILED'} | {secs} | {cpu} | {rss} |")

    for name, r in res["phases"].items():
        if name == "reference script":
            p = res.get("parallax", {})
            rows.append(f"| **Parallax total** | | **{p.get('seconds', '–')}** | "
                        f"**{p.get('cpu_seconds', '–')}** | **{p.get('peak_rss_mib', '–')}** |")
        untimed = name in ("warm-up", "generate")
        plain = untimed or name == "reference script" or name.startswith(ALONE_PHASE)
        row(f"{'' if plain else 'Parallax '}{name}"
            + (" (not in the totals)" if untimed else ""), r)
    lines = ["\n".join(rows), f"world: {res.get('plan')}, {res.get('counts')}",
             f"bytecode: {res['bytecode']}"]
    if "ratio_script_over_parallax" in res:
        cpu = res.get("cpu_ratio_script_over_parallax")
        lines.append(f"ratio script / Parallax: {res['ratio_script_over_parallax']:.2f} wall"
                     + (f", {cpu:.2f} CPU" if cpu else "") + " (> 1: Parallax faster)")
    if "ratio_script_over_duckdb_alone" in res:
        lines.append(f"DuckDB alone reading the same fields of the exports: "
                     f"{res['duckdb_alone']['seconds']} s, {res['duckdb_alone']['cpu_seconds']} "
                     f"CPU s; script / that: {res['ratio_script_over_duckdb_alone']:.2f} (what a "
                     "loader on DuckDB would reach if checks, pseudonyms, writes and the "
                     "analysis cost nothing)")
    acc = res.get("accuracy", {})

    def pct(key: str) -> str:
        a = acc.get(key)
        return f"{a['accuracy']:.0%} ({a['right']}/{a['subjects']})" if a else "–"

    lines.append(f"verdict accuracy over routes: Parallax {pct('parallax_routes')}, script "
                 f"{pct('reference_routes')}; Parallax over routes and dependencies "
                 f"{pct('parallax_routes_and_dependencies')}")
    if "reference_responses_read" in acc:
        lines.append(f"script joined {acc['reference_responses_joined']} of "
                     f"{acc['reference_responses_read']} answers (by session id)")
    if acc.get("per_route"):
        lines += ["", "| route | planted | Parallax | script | script answers |",
                  "|---|---|---|---|---|"]
        for r, v in acc["per_route"].items():
            lines.append(f"| {r} | {v['expected']} | {v.get('parallax', '–')} | "
                         f"{v.get('reference', '–')} | {v.get('reference_responses') or 0} |")
    lines += [f"{k} stderr:\n{r.get('stderr', '')}" for k, r in res["phases"].items()
              if not r["ok"]]
    return "\n".join(lines)


def write_json(where: str, data: object) -> None:
    """``--json PATH``: the results as indented JSON, to standard output when PATH is '-'."""
    text = json.dumps(data, indent=2) + "\n"
    if where == "-":
        sys.stdout.write(text)
    else:
        Path(where).write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sessions", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="write files and DB here, keep them, reuse files")
    ap.add_argument("--timeout", type=float, default=3600, help="per phase, seconds")
    ap.add_argument("--json", help="also write all figures here ('-': stdout)")
    ap.add_argument("--duckdb-alone", nargs="+", metavar=("QUERY", "FILE"),
                    help=argparse.SUPPRESS)  # one yardstick phase, in its own process
    ap.add_argument("--bytecode", choices=("cached", "as-is"), default="cached",
                    help="cached: compiled bytecode cached under the work dir and warmed by an "
                         "untimed run on a tiny world (default); as-is: the environment "
                         "unchanged (PYTHONDONTWRITEBYTECODE=1: every phase compiles its "
                         "imports)")
    args = ap.parse_args(argv)
    if args.duckdb_alone:
        print(json.dumps(duckdb_alone(args.duckdb_alone[0], args.duckdb_alone[1:])))
        return 0

    work = args.keep or Path(tempfile.mkdtemp(prefix="parallax-e2e-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = _trim(bench(work.resolve(), args.sessions, args.seed, args.timeout,
                             args.bytecode))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(_table(result), flush=True)
    if args.json:
        write_json(args.json, result)
    return 0 if all(r["ok"] for r in result["phases"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
