"""Trace-ingest benchmark (not a test): spans/s end to end and peak RSS, against a bare DuckDB
``read_json`` + triple ``unnest`` count of the same file measured in the same run.

    uv run python bench/ingest_traces.py                     # 2 M and 4 M spans
    uv run python bench/ingest_traces.py --spans 200000      # a quick look

Each measurement runs in its own process; peak RSS is the sampled peak of the sum of that
process and its children (parser workers included). DuckDB runs with its defaults, as a user
would type the query (a larger ``maximum_object_size`` measured slower: fewer parallel buffers).
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
BASELINE_SQL = """
SELECT count(*) FROM (
  SELECT unnest(ss.spans) AS sp FROM (
    SELECT unnest(rs.scopeSpans) AS ss FROM (
      SELECT unnest(resourceSpans) AS rs
      FROM read_json(?, format = 'newline_delimited'))))
"""


def _child(phase: str, file: str, db: str) -> dict:
    t0 = time.perf_counter()
    if phase == "baseline":
        import duckdb

        n = duckdb.connect().execute(BASELINE_SQL, [file]).fetchall()[0][0]
    elif phase == "native":
        import duckdb

        con = duckdb.connect()
        con.execute((HERE / "duckdb_native_otlp.sql").read_text(), {"file": file})
        n = con.execute("SELECT count(*) FROM native_spans").fetchall()[0][0]
    else:
        from parallax.connectors.load import IngestOptions, ingest_files
        from parallax.connectors.privacy import Pseudonymizer
        from parallax.db import connect

        con = connect(db)
        opts = IngestOptions(pseudonymize=Pseudonymizer(b"bench-key-0123456789abcdef"))
        [s] = ingest_files(con, "traces", [Path(file)], opts)
        n = con.execute("SELECT count(*) FROM spans").fetchone()[0]
        assert n == s.rows_loaded, (n, s)
        con.close()
    return {"rows": n, "seconds": time.perf_counter() - t0}


def _measure(phase: str, file: Path, db: Path) -> dict:
    from peak_rss import PeakRss  # bench/ is on sys.path: these files run as scripts

    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", phase, str(file), str(db)],
        stdout=subprocess.PIPE, text=True,
    )
    with PeakRss(proc.pid) as rss:
        out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{phase} failed with exit code {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mib"] = rss.mib
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--spans", type=int, nargs="+", default=[2_000_000, 4_000_000])
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--native", action="store_true",
                    help="also time the same parse done by DuckDB alone (duckdb_native_otlp.sql)")
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
        file = work / f"otlp_{n}.jsonl"
        if not file.exists():
            t = time.perf_counter()
            size = write_otlp_jsonl(file, n)
            print(f"wrote {file} ({size / 2**20:.0f} MiB, {size / n:.0f} B/span) "
                  f"in {time.perf_counter() - t:.0f}s", file=sys.stderr)
        db = work / f"bench_{n}.duckdb"
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
        base = _measure("baseline", file, db)
        native = _measure("native", file, db) if args.native else None
        ours = _measure("ingest", file, db)
        assert base["rows"] == ours["rows"] == n, (base, ours)
        row = {
            "spans": n,
            "bytes_per_span": round(file.stat().st_size / n),
            "cores": os.cpu_count(),
            "parallax_spans_per_s": round(n / ours["seconds"]),
            "parallax_seconds": round(ours["seconds"], 1),
            "parallax_peak_rss_mib": round(ours["peak_rss_mib"]),
            "duckdb_read_json_spans_per_s": round(n / base["seconds"]),
            "duckdb_read_json_seconds": round(base["seconds"], 1),
            "duckdb_peak_rss_mib": round(base["peak_rss_mib"]),
            "ratio": round(base["seconds"] / ours["seconds"], 2),
        }
        if native:
            assert native["rows"] == n, native
            row["duckdb_native_pipeline_spans_per_s"] = round(n / native["seconds"])
            row["duckdb_native_pipeline_peak_rss_mib"] = round(native["peak_rss_mib"])
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print("\n| spans | parallax spans/s | peak RSS | bare read_json count spans/s | ratio "
          "| DuckDB-native pipeline spans/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['spans']:,} | {r['parallax_spans_per_s']:,} | "
              f"{r['parallax_peak_rss_mib']:,} MiB | {r['duckdb_read_json_spans_per_s']:,} | "
              f"{r['ratio']} | {r.get('duckdb_native_pipeline_spans_per_s', '–')} |")


if __name__ == "__main__":
    main()
