"""``build_world``: simulate, then write every file. Same seed and size → byte-identical files.

Layout under ``out_dir``::

    traces/spans.jsonl                 OTLP/JSON lines (Collector file exporter)
    feedback/qualtrics_export.csv      Qualtrics response export, 3 header rows
    analytics/ga4_events.ndjson        GA4 BigQuery export rows (bq extract NDJSON)
    annotations/incidents.csv          the incident tracker's export (incidents, design change)
    contact-centre/ctr.jsonl           Amazon Connect contact records (CTR JSON lines)
    truth.json                         planted effects, true coefficients, measured figures

Two knobs exist for scale runs (``bench/correlate_scale.py``); at their defaults the files are
exactly those of a build without them: ``survey_share`` scales the chance a session is shown
the survey, ``extra_spans`` adds that many INTERNAL app spans per page view to the traces.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import orjson

from parallax.demo import selection as selected
from parallax.demo.contact_truth import contact_truth
from parallax.demo.contacts import simulate_contacts, write_ctr
from parallax.demo.ga4 import write_ga4
from parallax.demo.selection import PlantedSelection
from parallax.demo.spec import DEMO, WorldSpec
from parallax.demo.survey import previews, respond
from parallax.demo.truth import truth
from parallax.demo.workflows import workflows_truth, write_tracker
from parallax.demo.world import simulate, start_us
from parallax.demo.writers import write_otlp, write_qualtrics
from parallax.errors import ConfigError

__all__ = ["DATA_FILES", "DemoFiles", "build_world"]

# The loaded files, as paths under ``out_dir`` (the demo command knows a demo database by them).
TRACES, FEEDBACK = "traces/spans.jsonl", "feedback/qualtrics_export.csv"
ANALYTICS, CONTACTS = "analytics/ga4_events.ndjson", "contact-centre/ctr.jsonl"
DATA_FILES = (TRACES, FEEDBACK, ANALYTICS, CONTACTS)


@dataclass(frozen=True)
class DemoFiles:
    traces: tuple[Path, ...]
    feedback: tuple[Path, ...]
    analytics: tuple[Path, ...]
    truth: Path
    annotations: tuple[Path, ...] = ()
    interactions: tuple[Path, ...] = ()

    def by_kind(self, kinds: Iterable[str] = ("traces", "feedback", "analytics", "interactions"),
                ) -> list[tuple[str, list[Path]]]:
        """The files to ingest, per kind, in ``kinds``' order (traces first: the route
        templates are learned from spans); kinds this shop wrote nothing of are left out."""
        return [(kind, list(getattr(self, kind))) for kind in kinds if getattr(self, kind)]


def build_world(out_dir: Path, *, seed: int = 7, sessions: int = 3000,
                survey_share: float = 1.0, extra_spans: int = 0,
                spec: WorldSpec = DEMO, selection: PlantedSelection | None = None) -> DemoFiles:
    """``spec`` is the shop (the demo's by default; ``family.draw_spec`` draws others). A
    shop without an analytics export or a contact centre writes no such files. ``selection``
    plants self-selection and writes the survey offers (``demo.selection``); off, nothing
    of it is drawn or written."""
    if sessions < 1:
        raise ConfigError(f"--sessions must be at least 1, got {sessions}")
    if not (math.isfinite(survey_share) and 0.0 <= survey_share <= 1.0):
        raise ConfigError(f"survey_share must be between 0 and 1, got {survey_share}")
    if extra_spans < 0:
        raise ConfigError(f"extra_spans must be at least 0, got {extra_spans}")
    out_dir = Path(out_dir)
    files = DemoFiles(
        traces=(out_dir / TRACES,),
        feedback=(out_dir / FEEDBACK,),
        analytics=(out_dir / ANALYTICS,) if spec.analytics else (),
        truth=out_dir / "truth.json",
        annotations=(out_dir / "annotations" / "incidents.csv",),
        interactions=(out_dir / CONTACTS,) if spec.contact_centre else (),
    )
    for path in (*files.traces, *files.feedback, *files.analytics, files.truth,
                 *files.annotations, *files.interactions):
        path.parent.mkdir(parents=True, exist_ok=True)

    world = simulate(seed, sessions, spec)
    chosen = selected.plan(seed, spec, selection) if selection is not None else None
    shift = chosen.shift() if chosen is not None else None
    answered = {s.visitor.session_id: r for s in world
                if (r := respond(s, survey_share, spec, shift)) is not None}
    responses = list(answered.values())
    tests = previews(seed, start_us(spec), len(responses), spec)
    write_otlp(files.traces[0], world, extra_spans, spec)
    write_qualtrics(files.feedback[0], [*tests, *responses], spec)
    if files.analytics:
        write_ga4(files.analytics[0], world, spec)
    write_tracker(files.annotations[0], spec)
    names = {kind: [p.relative_to(out_dir).as_posix() for p in paths] for kind, paths in
             (("traces", files.traces), ("feedback", files.feedback),
              ("analytics", files.analytics))}
    doc = truth(seed, world, responses, len(tests), names, spec)
    doc["files"]["annotations"] = [p.relative_to(out_dir).as_posix() for p in files.annotations]
    doc["workflows"] = workflows_truth(world, responses, survey_share, spec)
    if files.interactions:  # a stream of its own: the files above are unchanged
        calls = simulate_contacts(seed, world)
        write_ctr(files.interactions[0], calls)
        doc["files"]["interactions"] = [p.relative_to(out_dir).as_posix()
                                        for p in files.interactions]
        doc["contact_centre"] = contact_truth(world, calls)
    if spec.vitals is not None:  # planted vitals cases (demo/vitals.py)
        doc["vitals"] = {"cls_route": spec.vitals.cls_route, "inp_route": spec.vitals.inp_route,
                         "cls_effect": spec.vitals.cls_effect,
                         "expected": {r: "delivery" if r == spec.vitals.cls_route else "silent"
                                      for r in (spec.vitals.cls_route, spec.vitals.inp_route)
                                      if r}}
    if extra_spans:  # keys only appear when a knob is used: default truth.json is unchanged
        doc["counts"]["spans"] += extra_spans * doc["counts"]["page_views"]
        doc["counts"]["extra_spans_per_page_view"] = extra_spans
    if survey_share != 1.0:
        doc["models"]["survey"]["survey_share"] = survey_share
    if chosen is not None:  # its own file and truth key: the default build is unchanged
        path = out_dir / selected.OFFERS
        path.parent.mkdir(parents=True, exist_ok=True)
        offers = selected.write_offers(path, world, answered, survey_share, spec)
        files = replace(files, analytics=(*files.analytics, path))
        doc["files"]["analytics"] = [*doc["files"].get("analytics", []), selected.OFFERS]
        doc["selection"] = selected.truth(chosen, offers, spec)
    files.truth.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    return files
