"""Start-up time of the read commands (not a test): each command runs N times in a fresh
process on the demo database, and the median wall time is printed beside the target (issue 15:
any read command under 0.4 s).

    uv run python bench/start_time.py [--db parallax.duckdb] [--runs 7] [--imports] [--cold]

Without ``--db`` the demo world is built in a temporary folder first (``parallax demo``, about
15 s). Commands run through the venv's ``parallax`` entry point, not ``uv run`` (which adds its
own start-up). Each command runs once unmeasured first, so its bytecode is cached as in any
installed copy (``PYTHONDONTWRITEBYTECODE`` is dropped for the runs); ``--cold`` finds no cached
bytecode and writes none, so every run compiles every module it imports from source (what a
user sees when nothing may write ``__pycache__``). Wall time is what a user waits;
CPU time (user + system) is less disturbed by other work on a shared machine.
``--imports`` runs each command once more under ``python -X importtime`` and lists the
top-level packages that cost the most to import, and the heavy ones loaded at all.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 0.4
COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "findings": ["findings"],
    "findings --format json": ["findings", "--format", "json"],
    "overview": ["overview"],
    "loads": ["loads"],
    "sources": ["sources"],
    "routes": ["routes"],
    "query --list": ["query", "--list"],
    "query worst_routes": ["query", "worst_routes"],
    "query findings --format json": ["query", "findings", "--format", "json"],
    "drill route /checkout": ["drill", "route", "/checkout"],
    "contacts drivers": ["contacts", "drivers"],
    "contacts metrics": ["contacts", "metrics"],
    "annotate list": ["annotate", "list"],
    "sql 'SELECT 1'": ["sql", "SELECT 1"],
}
HEAVY = ("numpy", "pandas", "pyarrow", "polars", "statsmodels", "scipy", "altair", "vl_convert",
         "httpx", "opentelemetry", "jinja2", "starlette", "uvicorn", "google", "pydantic")


def entry_point() -> list[str]:
    """The installed ``parallax`` script beside this interpreter, else the same via -c."""
    script = Path(sys.executable).with_name("parallax")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from parallax.cli import main; sys.exit(main())"]


def build_demo(folder: Path) -> Path:
    print(f"building the demo database in {folder} …", file=sys.stderr)
    subprocess.run([*entry_point(), "demo"], cwd=folder, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return folder / "parallax.duckdb"


def time_once(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}\n"
                         f"{err.decode(errors='replace')}")
    return elapsed, usage.ru_utime + usage.ru_stime


def import_costs(args: list[str], db: Path, cwd: Path,
                 env: dict[str, str]) -> tuple[list[tuple[str, float]], list[str]]:
    """(top-level packages by cumulative import seconds, heavy packages loaded at all)."""
    code = ("import sys; sys.argv = ['parallax', *sys.argv[1:]]; "
            "from parallax.cli import main; main()")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code, "--db", str(db),
                           *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    totals: dict[str, float] = {}
    loaded: set[str] = set()
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, _cumulative, name = line.removeprefix("import time:").split("|")
        top = name.strip().split(".")[0]
        loaded.add(top)
        totals[top] = totals.get(top, 0.0) + int(self_us) / 1e6
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    return ranked, [h for h in HEAVY if h in loaded]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, help="A demo database (default: build one)")
    ap.add_argument("--runs", type=int, default=7, help="Runs per command (median)")
    ap.add_argument("--only", help="Comma-separated command labels to time")
    ap.add_argument("--imports", action="store_true",
                    help="Also list what each command imports (python -X importtime)")
    ap.add_argument("--cold", action="store_true",
                    help="No cached bytecode: every run compiles its modules from source")
    args = ap.parse_args()

    tmp = None
    if args.db is None:
        tmp = Path(tempfile.mkdtemp(prefix="parallax-start-"))
        db = build_demo(tmp)
    else:
        db = args.db.resolve()
        if not db.is_file():
            raise SystemExit(f"{db}: no such database")
    cwd = db.parent
    commands = COMMANDS
    if args.only:
        wanted = [w.strip() for w in args.only.split(",")]
        commands = {k: v for k, v in COMMANDS.items() if k in wanted}
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.cold:  # an empty cache folder, never written to
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="parallax-nopyc-")
    cached = "no" if args.cold else "yes"
    env_note = f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}, bytecode cached: {cached}"
    print(f"database {db}; {args.runs} runs per command; {env_note}")
    print(f"{'command':<30} {'median s':>9} {'min s':>7} {'cpu s':>7}  target {TARGET_S} s "
          "(median wall)")
    try:
        over = 0
        for label, argv in commands.items():
            cmd = [*entry_point(), "--db", str(db), *argv]
            time_once(cmd, cwd, env)  # warm: bytecode and page cache
            runs = [time_once(cmd, cwd, env) for _ in range(args.runs)]
            wall = [w for w, _ in runs]
            med = statistics.median(wall)
            over += med >= TARGET_S
            print(f"{label:<30} {med:>9.3f} {min(wall):>7.3f} "
                  f"{statistics.median(c for _, c in runs):>7.3f}  "
                  f"{'ok' if med < TARGET_S else 'OVER'}", flush=True)
            if args.imports:
                ranked, heavy = import_costs(argv, db, cwd, env)
                top = ", ".join(f"{n} {s * 1000:.0f}" for n, s in ranked[:8])
                print(f"    imports (ms): {top}")
                print(f"    heavy loaded: {', '.join(heavy) or 'none'}")
        print(f"{over} of {len(commands)} commands at or over {TARGET_S} s (median)")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if args.cold:
            shutil.rmtree(env["PYTHONPYCACHEPREFIX"], ignore_errors=True)


if __name__ == "__main__":
    main()
