"""Pull one source: fetch pages, spool each in the vendor's format, load it with its cursor.

Every page goes through ``ingest_files`` — the mapping file ingest uses — as one transaction
that also moves the source's cursor (``state.save_cursor`` in the ``in_transaction`` hook).
A pull killed anywhere leaves the rows and cursor of the pages committed so far; the next pull
starts from that cursor, and natural keys drop any record read twice.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from parallax.connectors.load import FileSummary, IngestOptions, expand_paths, ingest_files
from parallax.connectors.pull import state
from parallax.connectors.pull.fetch import Page, pages, stamp
from parallax.connectors.pull.retry import Http, RetryPolicy, scrub
from parallax.connectors.pull.spec import SourceSpec
from parallax.db import transaction
from parallax.errors import ConfigError, IngestError, ParallaxError

__all__ = ["PullResult", "pull"]

Echo = Callable[[str], None]


@dataclass(frozen=True)
class PullResult:
    source: str
    pages: int  # pages (or files) loaded
    rows_loaded: int
    duplicates: int
    rejected: int
    requests: int
    cursor: str | None
    seconds: float


def _start(spec: SourceSpec, cursor: str | None, since: datetime | None,
           now: datetime) -> datetime:
    if since is not None:
        return since
    if cursor is not None and spec.folder is None:
        return datetime.fromisoformat(cursor.replace("Z", "+00:00"))
    return spec.start or now - timedelta(days=spec.default_days)


def pull(con: Any, spec: SourceSpec, opts: IngestOptions, *, full_refresh: bool = False,
         since: datetime | None = None, now: datetime | None = None,
         policy: RetryPolicy | None = None, echo: Echo | None = None,
         transport: httpx.BaseTransport | None = None) -> PullResult:
    """Pull ``spec`` into ``con``; ``since``/``full_refresh`` override the stored cursor."""
    t0 = time.perf_counter()
    now = now or datetime.now(UTC)
    echo = echo or (lambda line: None)
    opts = dataclasses.replace(opts, source=f"pull:{spec.name}",
                               fields={**opts.fields, **spec.fields},
                               options={**opts.options, **spec.options})
    if full_refresh or since is not None:
        state.reset(con, spec.name, spec.type, _reset_value(spec, since))
    cursor = state.read_cursor(con, spec.name)
    summaries: list[FileSummary] = []
    requests = 0
    try:
        if spec.folder is not None:
            _pull_folder(con, spec, opts, cursor, summaries, echo)
        else:
            start = _start(spec, cursor, since, now)
            echo(f"{spec.name}: {spec.type} from {stamp(start)} to {stamp(now)}")
            with Http(spec.name, spec.base_url, spec.auth, policy or RetryPolicy(),
                      spec.rate_limit, dict(spec.headers), transport) as http:
                try:
                    with tempfile.TemporaryDirectory(prefix="parallax-pull-") as tmp:
                        for page in pages(spec, http, start, now):
                            _load_page(con, spec, opts, page, Path(tmp), summaries, echo)
                finally:
                    requests = http.requests
    except ParallaxError as exc:
        state.finish(con, spec.name, spec.type, scrub(str(exc), spec.secret))
        raise
    state.finish(con, spec.name, spec.type)
    return PullResult(spec.name, len(summaries), sum(s.rows_loaded for s in summaries),
                      sum(s.duplicates for s in summaries), sum(s.rejected for s in summaries),
                      requests, state.read_cursor(con, spec.name),
                      round(time.perf_counter() - t0, 3))


def _reset_value(spec: SourceSpec, since: datetime | None) -> str | None:
    if since is None:
        return None
    if spec.folder is not None:  # files dated on or after --since: the cursor is the day before
        return (since - timedelta(days=1)).strftime("%Y%m%d")
    return stamp(since)


def _saver(spec: SourceSpec, cursor: str | None):
    def save(con: Any, path: Path) -> None:
        state.save_cursor(con, spec.name, spec.type, cursor)
    return save


def _load_page(con, spec: SourceSpec, opts: IngestOptions, page: Page, tmp: Path,
               summaries: list[FileSummary], echo: Echo) -> None:
    label = f"{spec.name}: {page.label}"
    if page.document is None or page.records == 0:
        if page.cursor is not None:  # nothing to store, but the window is done
            with transaction(con):
                state.save_cursor(con, spec.name, spec.type, page.cursor)
        echo(f"{label} · no records" + (f" · cursor {page.cursor}" if page.cursor else ""))
        return
    path = tmp / f"{spec.name}-{page.number}{spec.suffix}"
    doc = page.document
    path.write_bytes(doc if isinstance(doc, bytes) else orjson.dumps(doc))
    try:
        [summary] = ingest_files(con, spec.kind, [path], opts, format=spec.format,
                                 labels={path: label}, in_transaction=_saver(spec, page.cursor))
    finally:
        path.unlink(missing_ok=True)  # a page never outlives its load
    summaries.append(summary)
    echo(f"{label} · {summary.rows_read:,} records · {summary.rows_loaded:,} new · "
         f"{summary.duplicates:,} duplicates · {summary.rejected:,} rejected"
         + (f" · cursor {page.cursor}" if page.cursor else ""))


def _pull_folder(con, spec: SourceSpec, opts: IngestOptions, cursor: str | None,
                 summaries: list[FileSummary], echo: Echo) -> None:
    f = spec.folder
    assert f is not None
    folder = Path(f.path)
    if not folder.is_dir():
        raise ConfigError(f"[sources.{spec.name}] folder {f.path}: no such folder")
    first = spec.start.strftime("%Y%m%d") if spec.start and cursor is None else None
    pattern = re.compile(f.pattern)
    try:
        found = expand_paths([str(folder)])
    except IngestError:
        found = []  # an empty folder: nothing new yet
    dated = []
    for path in found:
        m = pattern.search(path.name)
        day = m.group("date") if m else None
        if day and (cursor is None or day > cursor) and (first is None or day >= first):
            dated.append((day, str(path), path))
    echo(f"{spec.name}: folder {folder}, {len(dated)} new file(s) after {cursor or 'start'}")
    for day, _, path in sorted(dated):
        [summary] = ingest_files(con, spec.kind, [path], opts, format=spec.format,
                                 labels={path: f"{spec.name}: {path.name}"},
                                 in_transaction=_saver(spec, day))
        summaries.append(summary)
        echo(f"{spec.name}: {path.name} · {summary.rows_loaded:,} new · "
             f"{summary.duplicates:,} duplicates · cursor {day}")
