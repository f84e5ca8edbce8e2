"""CI-tier scale benchmark (not a test): the demo world at 200 k sessions, ~1 M page views,
>= 10 M spans and ~2 k survey answers, ingested and correlated through the real CLI.

    uv run python bench/correlate_scale.py                          # the CI tier
    uv run python bench/correlate_scale.py --sessions 20000 --spans-target 1000000
    uv run python bench/correlate_scale.py --keep /tmp/scale        # keep files + DB, reuse them

Target: ``parallax correlate`` under 10 s and 4 GiB peak RSS on 2 cores. Generation and ingest
are reported but not part of the target. Every phase runs in its own process; peak RSS is the
sampled peak of that process and its children. ``extra_spans`` (INTERNAL spans per page view)
and ``survey_share`` are derived from a small simulation of the same seed so the totals meet
the targets (spans: at least the target). Exit code 1 when a phase fails or a target is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Plan", "generate", "main", "plan"]

TARGET_SECONDS = 10.0
TARGET_RSS_MIB = 4 * 1024
CALIBRATION_SESSIONS = 3000
TABLES = ("spans", "page_views", "sessions", "feedback")
CLI = [sys.executable, "-c", "from parallax.cli import main; main()"]


@dataclass(frozen=True)
class Plan:
    seed: int
    sessions: int
    extra_spans: int
    survey_share: float


def plan(sessions: int, spans_target: int, responses_target: int, seed: int = 7) -> Plan:
    """Knobs from the per-session rates of a small world of the same seed (rates, not counts,
    carry over: sessions are independent draws)."""
    from parallax.demo.survey import respond
    from parallax.demo.world import simulate

    world = simulate(seed, min(sessions, CALIBRATION_SESSIONS))
    pages = [pv for s in world for pv in s.pages]
    page_views = sessions * len(pages) / len(world)
    base = sum(len(pv.spans) for pv in pages) / len(pages)
    extra = max(0, math.ceil(spans_target / page_views - base - 1e-9))
    answers = sum(respond(s) is not None for s in world) / len(world)
    share = min(1.0, responses_target / (sessions * answers)) if answers else 1.0
    return Plan(seed, sessions, extra, round(share, 6))


def generate(out: Path, p: Plan) -> dict:
    """Build the world; ``truth.json``'s counts (extra spans included)."""
    from parallax.demo import build_world

    files = build_world(out, seed=p.seed, sessions=p.sessions, survey_share=p.survey_share,
                        extra_spans=p.extra_spans)
    return json.loads(files.truth.read_bytes())["counts"]


def _run(cmd: list[str], cwd: Path, timeout: float) -> dict:
    """Wall seconds, sampled peak RSS of the process tree, and the outcome of one command."""
    import psutil
    from peak_rss import PeakRss  # bench/ is on sys.path: these files run as scripts

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    with PeakRss(proc.pid) as rss:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:  # only the tree this call started
                for c in psutil.Process(proc.pid).children(recursive=True):
                    c.kill()
            except psutil.Error:
                pass
            proc.kill()
            out, err = proc.communicate()
            err += f"\ntimed out after {timeout:.0f} s"
        seconds = time.perf_counter() - t0
    return {"ok": proc.returncode == 0, "seconds": round(seconds, 2),
            "peak_rss_mib": round(rss.mib), "cpu_seconds": round(rss.cpu_seconds, 2),
            # the process alone and its descendants (a JVM, parser workers)
            "root_peak_rss_mib": round(rss.root_mib),
            "children_peak_rss_mib": round(rss.children_mib),
            "root_cpu_seconds": round(rss.root_cpu_seconds, 2),
            "children_cpu_seconds": round(rss.children_cpu_seconds, 2),
            "stdout": out, "stderr": err.strip()[-2000:]}


def _counts(db: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}
    finally:
        con.close()


def bench(work: Path, p: Plan, timeout: float) -> dict:
    phases: dict[str, dict] = {}
    world = work / "world"
    marker = work / "plan.json"
    if marker.exists() and json.loads(marker.read_text()) == asdict(p):
        phases["generate"] = {"ok": True, "seconds": None, "peak_rss_mib": None, "reused": True}
    else:
        marker.unlink(missing_ok=True)
        shutil.rmtree(world, ignore_errors=True)
        r = _run([sys.executable, __file__, "--child", str(world), json.dumps(asdict(p))], work,
                 timeout)
        phases["generate"] = r
        if not r["ok"]:
            return {"plan": asdict(p), "phases": _trim(phases)}
        marker.write_text(json.dumps(asdict(p)))
    generated = json.loads((world / "truth.json").read_bytes())["counts"]
    db = work / "bench.duckdb"
    for path in (db, Path(f"{db}.wal"), Path(f"{db}.key")):
        path.unlink(missing_ok=True)
    for kind, file in (("traces", "traces/spans.jsonl"),
                       ("feedback", "feedback/qualtrics_export.csv"),
                       ("analytics", "analytics/ga4_events.ndjson")):
        phases[f"ingest {kind}"] = _run([*CLI, "--db", str(db), "ingest", kind,
                                         str(world / file)], work, timeout)
    loaded = _counts(db) if all(r["ok"] for r in phases.values()) else {}
    phases["correlate"] = c = _run([*CLI, "--db", str(db), "correlate"], work, timeout)
    targets = {"correlate_seconds": c["ok"] and c["seconds"] < TARGET_SECONDS,
               "correlate_peak_rss": c["ok"] and c["peak_rss_mib"] < TARGET_RSS_MIB}
    return {"plan": asdict(p), "cores": len(os.sched_getaffinity(0)), "generated": generated,
            "loaded": loaded, "phases": _trim(phases), "targets": targets,
            "target_limits": {"seconds": TARGET_SECONDS, "peak_rss_mib": TARGET_RSS_MIB}}


def _trim(phases: dict[str, dict]) -> dict[str, dict]:
    """Keep stderr only where it explains a failure; stdout never."""
    return {k: {**{f: v for f, v in r.items() if f not in ("stdout", "stderr")},
                **({"stderr": r["stderr"]} if not r["ok"] else {})} for k, r in phases.items()}


def _table(result: dict) -> str:
    rows = ["| phase | ok | seconds | peak RSS MiB |", "|---|---|---|---|"]
    for name, r in result["phases"].items():
        rows.append(f"| {name} | {'yes' if r['ok'] else 'FAILED'} | "
                    f"{'reused' if r.get('reused') else r['seconds']} | "
                    f"{r['peak_rss_mib'] if r['peak_rss_mib'] is not None else '–'} |")
    lines = ["\n".join(rows), f"plan: {result['plan']}"]
    if "generated" in result:
        lines += [f"generated: {result['generated']}", f"loaded:    {result['loaded']}",
                  f"targets (< {TARGET_SECONDS:.0f} s, < {TARGET_RSS_MIB} MiB on "
                  f"{result['cores']} cores): {result['targets']}"]
    lines += [f"{k} stderr:\n{r['stderr']}" for k, r in result["phases"].items() if not r["ok"]]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sessions", type=int, default=200_000)
    ap.add_argument("--spans-target", type=int, default=10_000_000)
    ap.add_argument("--responses-target", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="write files and DB here, keep them, reuse files")
    ap.add_argument("--timeout", type=float, default=3600, help="per phase, seconds")
    ap.add_argument("--json", type=Path, help="also write the result here ('-': stdout)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(generate(Path(args.child[0]), Plan(**json.loads(args.child[1])))))
        return

    p = plan(args.sessions, args.spans_target, args.responses_target, args.seed)
    work = args.keep or Path(tempfile.mkdtemp(prefix="parallax-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = bench(work.resolve(), p, args.timeout)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(_table(result))
    if args.json:
        text = json.dumps(result, indent=2) + "\n"
        if str(args.json) == "-":
            sys.stdout.write(text)
        else:
            args.json.write_text(text)
    ok = all(r["ok"] for r in result["phases"].values()) and all(
        result.get("targets", {"phases": False}).values())
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
