"""Trace-ingest benchmark (not a test): a Collector-like OTLP/JSON-lines file (bench/otlp_file.py:
browser documentLoad/resourceFetch spans, server spans with ~15 attributes, client spans,
resource attributes; ≈640 bytes a span) loaded end to end into a fresh database — through the
native path (DuckDB reads the file) and through the Python parser — and, in the same run,
DuckDB's own extraction of the same fields into an in-memory table (duckdb_native_otlp.sql).

    uv run python bench/ingest_traces.py                     # 1 M and 2 M spans
    uv run python bench/ingest_traces.py --spans 200000      # a quick look

Each measurement runs in its own process: wall time, peak RSS and CPU seconds of that process
and its children (parser workers included; sampled), so that a busy machine shows as CPU time
well below wall × cores. A load is everything `parallax ingest` does to a file: hash, parse,
pseudonymise, normalise routes, stage, deduplicate, learn route templates, commit. The ratio is
DuckDB's extraction time over the load's: ≥ 1.0 would mean loading as fast as DuckDB extracts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PHASES = ("duckdb", "native", "python")


def _cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _timed(module, name: str, spent: dict) -> None:
    """Count the CPU seconds spent in ``module.name`` (every thread of the process: the file
    hash runs in a thread beside the stage and is counted there)."""
    fn = getattr(module, name)

    def timed(*args, **kwargs):
        c = _cpu()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + _cpu() - c

    setattr(module, name, timed)


def _child(phase: str, file: str, db: str) -> dict:
    t0 = time.perf_counter()
    spent: dict[str, float] = {}
    if phase == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.execute((HERE / "duckdb_native_otlp.sql").read_text(), {"file": file})
        n = con.execute("SELECT count(*) FROM native_spans").fetchall()[0][0]
    else:
        os.environ["PARALLAX_NATIVE"] = "1" if phase == "native" else "0"
        import parallax.connectors.load as load
        from parallax.connectors.load import IngestOptions, ingest_files
        from parallax.connectors.privacy import Pseudonymizer
        from parallax.db import connect

        for name in ("stage_all", "merge", "after_load"):  # what _ingest_one calls
            _timed(load, name, spent)
        con = connect(db)
        spent["start"] = _cpu()  # interpreter, imports, migrations
        opts = IngestOptions(pseudonymize=Pseudonymizer(b"bench-key-0123456789abcdef"))
        [s] = ingest_files(con, "traces", [Path(file)], opts)
        n = con.execute("SELECT count(*) FROM spans").fetchall()[0][0]
        assert n == s.rows_loaded and s.rejected == 0, (n, s)
        con.close()
    spent["total"] = _cpu()
    spent = {k: round(v, 2) for k, v in spent.items()}
    return {"rows": n, "seconds": time.perf_counter() - t0, "cpu_by_step": spent}


def _measure(phase: str, file: Path, db: Path) -> dict:
    from peak_rss import PeakRss  # bench/ is on sys.path: these files run as scripts

    for p in (db, Path(str(db) + ".wal"), Path(str(db) + ".key")):
        p.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", phase, str(file), str(db)],
        stdout=subprocess.PIPE, text=True,
    )
    with PeakRss(proc.pid) as rss:
        out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{phase} failed with exit code {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(peak_rss_mib=rss.mib, cpu_seconds=rss.cpu_seconds)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--spans", type=int, nargs="+", default=[1_000_000, 2_000_000])
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(*args.child)))
        return

    sys.path.insert(0, str(HERE))
    from otlp_file import write_otlp_jsonl

    work = args.workdir or Path(tempfile.mkdtemp(prefix="parallax-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.spans:
        file = work / f"collector_{n}.jsonl"
        if not file.exists():
            t = time.perf_counter()
            size = write_otlp_jsonl(file, n)
            print(f"wrote {file} ({size / 2**20:.0f} MiB, {size / n:.0f} B/span) "
                  f"in {time.perf_counter() - t:.0f}s", file=sys.stderr)
        row: dict = {"spans": n, "bytes_per_span": round(file.stat().st_size / n),
                     "cores": os.cpu_count(), "load_average": round(os.getloadavg()[0], 1)}
        for phase in args.phases:
            got = _measure(phase, file, work / f"bench_{n}_{phase}.duckdb")
            assert got["rows"] == n, (phase, got)
            row[phase] = {"spans_per_s": round(n / got["seconds"]),
                          "seconds": round(got["seconds"], 1),
                          "cpu_seconds": round(got["cpu_seconds"], 1),
                          "peak_rss_mib": round(got["peak_rss_mib"])}
            if got.get("cpu_by_step"):
                row[phase]["cpu_by_step"] = got["cpu_by_step"]
            print(f"  {n:,} {phase}: {row[phase]}", file=sys.stderr, flush=True)
        if "duckdb" in row:
            for phase in ("native", "python"):
                if phase in row:
                    row[phase]["ratio"] = round(row["duckdb"]["seconds"]
                                                / row[phase]["seconds"], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print("\n| spans | path | spans/s | seconds | CPU s | peak RSS | ratio to DuckDB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        for phase in args.phases:
            m = r[phase]
            print(f"| {r['spans']:,} | {phase} | {m['spans_per_s']:,} | {m['seconds']} | "
                  f"{m['cpu_seconds']} | {m['peak_rss_mib']:,} MiB | {m.get('ratio', '–')} |")
    print("\nCPU seconds by step of a load (start: interpreter, imports, migrations; stage_all:"
          " read, map, stage, file hash; merge: into the stored tables; after_load: route"
          " learning; total: the whole process)")
    for r in rows:
        for phase in args.phases:
            if "cpu_by_step" in r[phase]:
                print(f"  {r['spans']:,} {phase}: {r[phase]['cpu_by_step']}")


if __name__ == "__main__":
    main()
