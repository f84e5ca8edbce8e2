"""Time the lake's web_vitals recompute (parallax/lake_vitals.py) on the demo world with vitals.

    nice uv run python eval/lake_vitals.py --sessions 3000 --seed 7 [--out DIR]

Builds the world (GA4 vital events), loads its traces and analytics into a DuckDB file,
exports the lake, then times, on the driver alone (no Spark): the vitals of every day rebuilt
after the lake's web_vitals folder is removed; the same again, with nothing to change; one
middle day recomputed (it and its neighbours, read with theirs). Checks the rebuilt rows equal
the export's before printing any time.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from parallax.config import Config
from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.demo import build_world
from parallax.demo.spec import DEMO
from parallax.demo.vitals import with_vitals
from parallax.lake import export_parquet
from parallax.lake_vitals import lake_days, refresh_vitals
from parallax.options import ingest_options


def _count(lake: Path, table: str) -> int:
    return duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)",
                                    [str(lake / table / "**" / "*.parquet")]).fetchall()[0][0]


def _vitals(lake: Path) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute("SELECT * FROM read_parquet(?, hive_partitioning = true) ORDER BY ALL",
                       [str(lake / "web_vitals" / "**" / "*.parquet")]).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: a temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parallax-lake-vitals-") as tmp:
        root = args.out or Path(tmp)
        files = build_world(root / "files", seed=args.seed, sessions=args.sessions,
                            spec=with_vitals(DEMO))
        con = connect(root / "w.duckdb")
        try:
            opts = ingest_options(Config(), root / "w.duckdb")
            for kind, paths in files.by_kind(("traces", "analytics")):
                ingest_files(con, kind, paths, opts)
            export_parquet(con, root / "lake")
        finally:
            con.close()
        lake = root / "lake"
        want = _vitals(lake)
        days = sorted(lake_days(lake))
        print(f"{args.sessions:,} sessions, seed {args.seed}: {len(days)} days, "
              f"{_count(lake, 'spans'):,} spans, {_count(lake, 'events'):,} events, "
              f"{len(want):,} vitals rows")
        shutil.rmtree(lake / "web_vitals")
        runs = [("every day rebuilt from nothing", None),
                ("every day again, nothing to change", None),
                (f"one day ({days[len(days) // 2]}) and its neighbours", [days[len(days) // 2]])]
        for i, (what, which) in enumerate(runs):
            t = time.perf_counter()
            written = refresh_vitals(lake, which)
            took = time.perf_counter() - t
            if i == 0 and _vitals(lake) != want:
                raise SystemExit("the rebuilt vitals differ from the export's")
            print(f"{what}: {took:.2f} s, {len(written)} day partition(s) written")


if __name__ == "__main__":
    main()
