"""``build_world``: simulate, then write every file. Same seed and size → byte-identical files.

Layout under ``out_dir``::

    traces/spans.jsonl                 OTLP/JSON lines (Collector file exporter)
    feedback/qualtrics_export.csv      Qualtrics response export, 3 header rows
    analytics/ga4_events.ndjson        GA4 BigQuery export rows (bq extract NDJSON)
    truth.json                         planted effects, true coefficients, measured figures
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from parallax.demo.ga4 import write_ga4
from parallax.demo.survey import previews, respond
from parallax.demo.truth import truth
from parallax.demo.world import START_US, simulate
from parallax.demo.writers import write_otlp, write_qualtrics
from parallax.errors import ConfigError

__all__ = ["DemoFiles", "build_world"]


@dataclass(frozen=True)
class DemoFiles:
    traces: tuple[Path, ...]
    feedback: tuple[Path, ...]
    analytics: tuple[Path, ...]
    truth: Path


def build_world(out_dir: Path, *, seed: int = 7, sessions: int = 3000) -> DemoFiles:
    if sessions < 1:
        raise ConfigError(f"--sessions must be at least 1, got {sessions}")
    out_dir = Path(out_dir)
    files = DemoFiles(
        traces=(out_dir / "traces" / "spans.jsonl",),
        feedback=(out_dir / "feedback" / "qualtrics_export.csv",),
        analytics=(out_dir / "analytics" / "ga4_events.ndjson",),
        truth=out_dir / "truth.json",
    )
    for path in (*files.traces, *files.feedback, *files.analytics, files.truth):
        path.parent.mkdir(parents=True, exist_ok=True)

    world = simulate(seed, sessions)
    responses = [r for r in map(respond, world) if r is not None]
    tests = previews(seed, START_US, len(responses))
    write_otlp(files.traces[0], world)
    write_qualtrics(files.feedback[0], [*tests, *responses])
    write_ga4(files.analytics[0], world)
    names = {kind: [p.relative_to(out_dir).as_posix() for p in paths] for kind, paths in
             (("traces", files.traces), ("feedback", files.feedback),
              ("analytics", files.analytics))}
    doc = truth(seed, world, responses, len(tests), names)
    files.truth.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    return files
