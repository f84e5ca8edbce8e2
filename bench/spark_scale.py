"""Scale benchmark (not a test): correlate's join model on DuckDB and on Apache Spark, side by
side, on the demo world at N sessions.

    nice uv run python bench/spark_scale.py --sessions 200000
    nice uv run python bench/spark_scale.py --sessions 20000 200000 --keep /tmp/spark-scale --json -

For each N: the demo world (seed 7, ``bench/end_to_end.py``'s generator; reused with --keep)
is ingested through the CLI into a DuckDB file (``ingest traces``, ``feedback``,
``analytics``; reused with --keep), written out with ``parallax export --parquet``, and then
correlate runs three times, each in its own process:

  duckdb-full  the DuckDB join model with the page-level model (exposure_pages) rebuilt from
               every span — the same work Spark does
  duckdb       as ``parallax correlate`` runs after ingest: exposure_pages already current
               (ingest keeps it so), only the window's models rebuilt
  spark        ``--engine spark --spark-master local[2]`` over the Parquet folder: Spark
               builds every model, the compact frames come back, the statistics run here,
               findings go to a fresh local DuckDB file (as on a cluster's driver)

Reported per run: the exposure step's wall seconds (Spark's includes reading the Parquet
tables' schemas; the JVM's start is reported apart), the whole process's wall seconds, CPU
seconds and peak RSS of the driver (the Python process) and of its children (in local mode:
Spark's JVM, where the executors run), the frames' size (the exposure tables as Arrow: what a
cluster sends back to the driver), span and response counts, the load average around the run,
and whether every finding's verdict agrees with the first DuckDB run's (and the largest
relative difference of any number in the findings). Exit 1 when a phase fails or a verdict
differs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:  # run as a script bench/ is on the path already; imported, not
    sys.path.insert(0, str(BENCH))

from correlate_scale import CLI, Plan, _counts, _run  # noqa: E402
from end_to_end import KINDS, _cache_bytecode, _generate, write_json  # noqa: E402

__all__ = ["ENGINES", "agreement", "main", "numbers"]

ENGINES = ("duckdb-full", "duckdb", "spark")
MEASURED = ("seconds", "cpu_seconds", "peak_rss_mib", "root_peak_rss_mib",
            "children_peak_rss_mib", "root_cpu_seconds", "children_cpu_seconds")


# --- pure parts: comparing two runs' findings --------------------------------------------------

def numbers(doc: Any, path: str = "") -> dict[str, float]:
    """Every number in a finding document, by its path (``impact.extra_poor.estimate``,
    ``details.needs[0]``…); booleans are not numbers here."""
    out: dict[str, float] = {}
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.update(numbers(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out.update(numbers(value, f"{path}[{i}]"))
    elif isinstance(doc, int | float) and not isinstance(doc, bool):
        out[path] = float(doc)
    return out


def agreement(base: list[dict], other: list[dict]) -> dict:
    """Do two runs' findings say the same? Verdicts compared subject by subject (a subject in
    one run only counts as a disagreement); ``max_rel_diff``: the largest relative difference
    of any number both findings of a subject carry (absolute below 1e-12, where relative
    differences of rounding noise mean nothing)."""
    a = {(f["subject_kind"], f["subject"]): f for f in base}
    b = {(f["subject_kind"], f["subject"]): f for f in other}
    differ = []
    for k in sorted(a.keys() | b.keys()):
        x, y = (a[k]["verdict"] if k in a else "-"), (b[k]["verdict"] if k in b else "-")
        if x != y:
            differ.append(f"{k[0]} {k[1]}: {x} vs {y}")
    worst, where = 0.0, None
    for k in a.keys() & b.keys():
        x, y = numbers(a[k]), numbers(b[k])
        for path in x.keys() & y.keys():
            u, v = x[path], y[path]
            if math.isnan(u) and math.isnan(v):
                continue
            scale = max(abs(u), abs(v))
            diff = abs(u - v)
            rel = 0.0 if diff < 1e-12 else diff / scale
            if rel > worst:
                worst, where = rel, f"{k[0]} {k[1]}: {path}"
    return {"agree": not differ, "subjects": len(a.keys() | b.keys()), "differ": differ,
            "max_rel_diff": worst, "max_rel_diff_at": where}


# --- the child: one engine's correlate, timed from the inside ----------------------------------

def child(engine: str, db: Path, lake: Path, out: Path, master: str) -> None:
    """Run correlate on ``engine``; write timings, counts, frame sizes and findings to
    ``out``."""
    from parallax.correlate import correlate
    from parallax.db import connect
    from parallax.exposure import build_exposure

    result: dict[str, Any] = {"engine": engine}

    def timed(step):
        made = []  # the step, made inside the timing (SparkExposure reads the lake's schemas)

        def run(con, settings, since, until):
            t0, c0 = time.perf_counter(), time.process_time()
            made.append(step())
            coverage = made[-1](con, settings, since, until)
            result["exposure_seconds"] = round(time.perf_counter() - t0, 2)
            result["exposure_driver_cpu_seconds"] = round(time.process_time() - c0, 2)
            return coverage

        def build_offers(con, sel, since, until):  # where the step left the page loads
            from parallax.correlate.selection import build_offers as in_duckdb

            return getattr(made[-1], "build_offers", in_duckdb)(con, sel, since, until)

        run.build_offers = build_offers  # type: ignore[attr-defined]  # as SparkExposure's
        return run

    t0 = time.perf_counter()
    if engine == "spark":
        from parallax.spark_engine import SparkExposure, spark_session

        local = db.with_name("spark-findings.duckdb")
        for path in (local, Path(f"{local}.wal")):
            path.unlink(missing_ok=True)
        con = connect(local)
        with spark_session(master) as spark:
            result["spark_start_seconds"] = round(time.perf_counter() - t0, 2)
            t1 = time.perf_counter()
            run = correlate(con, exposure=timed(lambda: SparkExposure(spark, lake)))
            result["correlate_seconds"] = round(time.perf_counter() - t1, 2)
    else:
        con = connect(db)
        if engine == "duckdb-full":  # forget the fingerprint: exposure_pages is rebuilt whole
            con.execute("DELETE FROM exposure_state WHERE model = 'exposure_pages'")
        run = correlate(con, exposure=timed(lambda: build_exposure))
        result["correlate_seconds"] = round(time.perf_counter() - t0, 2)
    from parallax.spark_engine import FRAMES  # names only: imports no Spark

    frames = {}
    for table in FRAMES:  # names from FRAMES, never from input
        arrow = con.sql(f"SELECT * FROM {table}").to_arrow_table()
        frames[table] = {"rows": arrow.num_rows, "bytes": arrow.nbytes}
    con.close()
    result.update(responses=run.coverage.responses, modelled=run.modelled, frames=frames,
                  findings=[f.to_json() for f in run.findings])
    out.write_text(json.dumps(result, default=str))


# --- the parent -------------------------------------------------------------------------------

def _ingest(worlds: list[Path], db: Path, work: Path, plans: list[Plan],
            timeout: float) -> dict[str, dict]:
    """The worlds' files into ``db`` through the CLI, each kind in one command (every part's
    files together); reused when ``work/ingested.json`` says it holds these plans' worlds."""
    marker = work / "ingested.json"
    key = [asdict(p) for p in plans]
    # (a marker written before parts existed holds the one plan itself)
    if marker.exists() and db.exists() and json.loads(marker.read_text()) in (key, *key[:1]):
        return {"ingest": {"ok": True, "seconds": None, "peak_rss_mib": None, "reused": True}}
    marker.unlink(missing_ok=True)
    for path in (db, Path(f"{db}.wal"), Path(f"{db}.key")):
        path.unlink(missing_ok=True)
    truths = [(w, json.loads((w / "truth.json").read_bytes())) for w in worlds]
    phases: dict[str, dict] = {}
    for kind in KINDS:
        files = [str(w / f) for w, truth in truths for f in truth["files"].get(kind, [])]
        if files:
            phases[f"ingest {kind}"] = r = _run(
                [*CLI, "--db", str(db), "ingest", kind, *files], work, timeout)
            if not r["ok"]:
                return phases
    marker.write_text(json.dumps(key))
    return phases


def _folder_mib(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def bench_one(work: Path, sessions: int, seed: int, master: str, timeout: float,
              engines: tuple[str, ...] = ENGINES, parts: int = 1) -> dict:
    """``parts`` > 1 draws the world as that many independent worlds of sessions/parts each
    (seeds seed, seed + 1, …: the same shop, days and planted effects, other visitors), all
    ingested into the one database: the generator holds a whole world in memory, which at a
    million sessions outgrows the machine."""
    p = Plan(seed=seed, sessions=sessions, extra_spans=0, survey_share=1.0)
    plans = [p] if parts == 1 else [Plan(seed=seed + i, sessions=sessions // parts,
                                         extra_spans=0, survey_share=1.0)
                                    for i in range(parts)]
    result: dict[str, Any] = {"plan": asdict(p), "cores": len(os.sched_getaffinity(0)),
                              "spark_master": master,
                              # Spark's own settings (driver memory, …) come from here
                              "pyspark_submit_args": os.environ.get("PYSPARK_SUBMIT_ARGS"),
                              "phases": {}, "engines": {}}
    if parts > 1:
        result["parts"] = [asdict(q) for q in plans]
    phases = result["phases"]
    homes = [work] if parts == 1 else [work / f"part-{i}" for i in range(parts)]
    for i, (home, q) in enumerate(zip(homes, plans, strict=True)):
        home.mkdir(parents=True, exist_ok=True)
        name = "generate" if parts == 1 else f"generate part {i + 1} of {parts}"
        phases[name] = _generate(home, q, timeout)
        if not phases[name]["ok"]:
            return result
    db = work / "bench.duckdb"
    phases.update(_ingest([h / "world" for h in homes], db, work, plans, timeout))
    if not all(r["ok"] for r in phases.values()):
        return result
    result["counts"] = _counts(db)
    lake = work / "lake"
    phases["export --parquet"] = r = _run(
        [*CLI, "--db", str(db), "export", "--parquet", str(lake), "--replace"], work, timeout)
    if not r["ok"]:
        return result
    result["lake_mib"] = round(_folder_mib(lake), 1)
    result["lake_day_partitions"] = sum(1 for _ in (lake / "spans").glob("day=*"))
    base = None
    for engine in engines:
        out = work / f"correlate-{engine}.json"
        out.unlink(missing_ok=True)
        load_before = os.getloadavg()[0]
        r = _run([sys.executable, __file__, "--child", engine, str(db), str(lake), str(out),
                  master], work, timeout)
        entry: dict[str, Any] = {k: r[k] for k in MEASURED}
        entry.update(ok=r["ok"] and out.exists(),
                     load_average=[round(load_before, 2), round(os.getloadavg()[0], 2)])
        if not entry["ok"]:
            entry["stderr"] = r["stderr"]
            result["engines"][engine] = entry
            continue
        inner = json.loads(out.read_text())
        findings = inner.pop("findings")
        entry.update(inner)
        entry["frames_mib"] = round(sum(f["bytes"] for f in inner["frames"].values()) / 2**20, 2)
        entry["findings"] = len(findings)
        if base is None:
            base = (engine, findings)
        else:
            entry["agreement_with"] = base[0]
            entry["agreement"] = agreement(base[1], findings)
        result["engines"][engine] = entry
    return result


def _table(results: list[dict]) -> str:
    rows = ["| sessions | spans | responses | engine | exposure s | correlate s | process s | "
            "CPU s driver | CPU s JVM | peak RSS driver MiB | peak RSS JVM MiB | frames MiB | "
            "verdicts | load |",
            "|" + "---|" * 14]
    lines = []
    for res in results:
        counts = res.get("counts", {})
        for engine, e in res["engines"].items():
            if not e["ok"]:
                rows.append(f"| {res['plan']['sessions']:,} | | | {engine} | FAILED |"
                            + " |" * 9)
                continue
            a = e.get("agreement")
            verdicts = ("(base)" if a is None else
                        f"{'agree' if a['agree'] else 'DIFFER'} ({a['subjects']}; max rel diff "
                        f"{a['max_rel_diff']:.1e})")
            start = f" + start {e['spark_start_seconds']}" if "spark_start_seconds" in e else ""
            rows.append(
                f"| {res['plan']['sessions']:,} | {counts.get('spans', 0):,} | "
                f"{e['responses']:,} | {engine} | {e['exposure_seconds']} | "
                f"{e['correlate_seconds']}{start} | {e['seconds']} | {e['root_cpu_seconds']} | "
                f"{e['children_cpu_seconds']} | {e['root_peak_rss_mib']:,} | "
                f"{e['children_peak_rss_mib']:,} | {e['frames_mib']} | {verdicts} | "
                f"{e['load_average'][0]}–{e['load_average'][1]} |")
        ph = res["phases"]
        lines.append(f"{res['plan']['sessions']:,} sessions: " + ", ".join(
            f"{k} {'reused' if r.get('reused') else str(r['seconds']) + ' s'}"
            + ("" if r["ok"] else " FAILED") for k, r in ph.items())
            + (f"; lake {res['lake_mib']} MiB over {res['lake_day_partitions']} day "
               "partitions" if "lake_mib" in res else "") + f"; counts {counts}")
        for engine, e in res["engines"].items():
            a = e.get("agreement")
            if a and a["differ"]:
                lines.append(f"  {engine} differs: " + "; ".join(a["differ"]))
            if not e["ok"]:
                lines.append(f"  {engine} stderr:\n{e.get('stderr', '')}")
        lines += [f"  {k} stderr:\n{r.get('stderr', '')}" for k, r in ph.items() if not r["ok"]]
    return "\n".join(["\n".join(rows), *lines])


def _ok(results: list[dict]) -> bool:
    return all(all(r["ok"] for r in res["phases"].values()) and res["engines"]
               and all(e["ok"] and e.get("agreement", {"agree": True})["agree"]
                       for e in res["engines"].values()) for res in results)


def _trim(phases: dict[str, dict]) -> dict[str, dict]:
    return {k: {f: v for f, v in r.items() if f != "stdout" and (f != "stderr" or not r["ok"])}
            for k, r in phases.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sessions", type=int, nargs="+", default=[200_000])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--spark-master", default="local[2]")
    ap.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES),
                    help="which runs (verdicts are compared with the first one run)")
    ap.add_argument("--keep", type=Path,
                    help="work here (one folder per N), keep and reuse the world and database")
    ap.add_argument("--timeout", type=float, default=3600, help="per phase, seconds")
    ap.add_argument("--parts", type=int, default=1,
                    help="draw each world as this many independent parts (memory)")
    ap.add_argument("--json", help="also write all figures here ('-': stdout)")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.parts < 1:
        ap.error(f"--parts must be at least 1, got {args.parts}")
    if args.child:
        engine, db, lake, out, master = args.child
        child(engine, Path(db), Path(lake), Path(out), master)
        return 0

    root = (args.keep or Path(tempfile.mkdtemp(prefix="parallax-spark-scale-"))).resolve()
    results = []
    try:
        _cache_bytecode(root)  # every phase imports from cached bytecode, as an installed tool
        for n in args.sessions:
            work = root / str(n)
            work.mkdir(parents=True, exist_ok=True)
            res = bench_one(work, n, args.seed, args.spark_master, args.timeout,
                            tuple(args.engines), args.parts)
            res["phases"] = _trim(res["phases"])
            results.append(res)
            print(_table([res]), flush=True)  # each N as it finishes: big ones take long
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    if len(results) > 1:
        print(_table(results))
    if args.json:
        write_json(args.json, results)
    return 0 if _ok(results) else 1


if __name__ == "__main__":
    sys.exit(main())
