"""GA4-ingest benchmark (not a test): ``parallax ingest analytics`` of the demo world's GA4
export, through the native stage (DuckDB, ``ga4_native``) and through the Python parser
(``PARALLAX_NATIVE=0``), end to end: events/s, wall seconds and peak RSS of the command, and
whether the two databases hold the same rows (``properties`` compared as parsed JSON).

    uv run python bench/ingest_ga4.py                       # 20,000 sessions
    uv run python bench/ingest_ga4.py --sessions 2000 --repeat 3

Each measurement is one ``parallax`` process on a fresh database (the key is fixed by
``$PARALLAX_KEY``); peak RSS is the sampled peak of that process and its children (the
Python path's parser workers included). The GA4 file is written once per size and seed into
the work folder and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLI = [sys.executable, "-c", "from parallax.cli import main; main()"]
MODES = {"native": "1", "python": "0"}
KEY = "bench-ga4-key-0123456789abcdef"


def write_export(path: Path, sessions: int, seed: int) -> None:
    """The demo world's GA4 export alone (no traces, survey or contact centre)."""
    from parallax.demo.ga4 import write_ga4
    from parallax.demo.spec import DEMO
    from parallax.demo.world import simulate

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    write_ga4(tmp, simulate(seed, sessions, DEMO), DEMO)
    tmp.replace(path)


def _ingest(file: Path, db: Path, mode: str) -> dict:
    from peak_rss import PeakRss  # bench/ is on sys.path: these files run as scripts

    for p in (db, Path(f"{db}.wal")):
        p.unlink(missing_ok=True)
    env = {**os.environ, "PARALLAX_NATIVE": MODES[mode], "PARALLAX_KEY": KEY}
    t0 = time.perf_counter()
    proc = subprocess.Popen([*CLI, "--db", str(db), "ingest", "analytics", str(file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    with PeakRss(proc.pid) as rss:
        out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{mode}: exit code {proc.returncode}\n{err}")
    return {"seconds": seconds, "peak_rss_mib": rss.mib}


def _rows(db: Path) -> dict[str, list]:
    import duckdb
    import orjson

    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table in ("events", "page_views", "sessions"):
            cur = con.execute(f"SELECT * EXCLUDE (load_id) FROM {table} ORDER BY ALL")
            names = [d[0] for d in cur.description]
            out[table] = [tuple(orjson.loads(v) if n == "properties" and v else v
                                for n, v in zip(names, row, strict=True))
                          for row in cur.fetchall()]
        return out
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sessions", type=int, nargs="+", default=[20_000])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1, help="runs per mode; the fastest counts")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        write_export(Path(args.child[0]), int(args.child[1]), int(args.child[2]))
        return

    sys.path.insert(0, str(HERE))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="parallax-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.sessions:
        file = work / f"ga4_{n}_seed{args.seed}.ndjson"
        if not file.exists():
            t = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--child", str(file), str(n),
                            str(args.seed)], check=True)
            print(f"wrote {file} ({file.stat().st_size / 2**20:.0f} MiB) in "
                  f"{time.perf_counter() - t:.0f}s", file=sys.stderr)
        with open(file, "rb") as f:
            events = sum(1 for _ in f)
        runs: dict[str, dict] = {}
        for _ in range(args.repeat):
            for mode in MODES:  # alternating, so a busy machine slows both alike
                r = _ingest(file, work / f"bench_{mode}.duckdb", mode)
                if mode not in runs or r["seconds"] < runs[mode]["seconds"]:
                    runs[mode] = r
        same = _rows(work / "bench_native.duckdb") == _rows(work / "bench_python.duckdb")
        row = {"sessions": n, "events": events, "mib": round(file.stat().st_size / 2**20),
               "cores": len(os.sched_getaffinity(0)), "same_rows": same}
        for mode, r in runs.items():
            row[f"{mode}_seconds"] = round(r["seconds"], 2)
            row[f"{mode}_events_per_s"] = round(events / r["seconds"])
            row[f"{mode}_peak_rss_mib"] = round(r["peak_rss_mib"])
        row["speedup"] = round(runs["python"]["seconds"] / runs["native"]["seconds"], 2)
        results.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print("\n| sessions | events | MiB | native events/s (s, peak RSS) "
          "| python events/s (s, peak RSS) | speedup | same rows |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['sessions']:,} | {r['events']:,} | {r['mib']} | "
              f"{r['native_events_per_s']:,} ({r['native_seconds']} s, "
              f"{r['native_peak_rss_mib']} MiB) | {r['python_events_per_s']:,} "
              f"({r['python_seconds']} s, {r['python_peak_rss_mib']} MiB) | "
              f"{r['speedup']}x | {'yes' if r['same_rows'] else 'NO'} |")


if __name__ == "__main__":
    main()
