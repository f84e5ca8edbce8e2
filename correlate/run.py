"""``correlate``: build the join model, fit the models, decide verdicts, store the findings.

Everything statistical happens on the compact exposure tables; the one heavy step, the join
model over spans, runs in SQL (``parallax.exposure``). The statistics modules are imported in a
background thread meanwhile: DuckDB releases the GIL, and importing numpy and scipy costs about
as long as the join model itself on a small machine.
"""

from __future__ import annotations

import importlib
import os
import threading
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import orjson

from parallax.correlate.findings import Finding, attach_annotations
from parallax.correlate.settings import SelectionSettings, Settings
from parallax.db import settings as db_settings
from parallax.db import transaction
from parallax.errors import NoDataError
from parallax.exposure import ExposureStep, JoinSettings, LinkCoverage, build_exposure
from parallax.records.annotations import list_annotations

__all__ = ["STATISTICS", "Run", "correlate", "load_statistics"]


@dataclass(frozen=True)
class Run:
    run_id: str
    created_at: datetime
    since: datetime | None
    until: datetime | None
    coverage: LinkCoverage
    modelled: int
    findings: tuple[Finding, ...]
    parameters: dict
    selection: dict | None = None  # the self-selection check; None: no survey offers recorded


# Imported in the background, in this order: the fits' modules, then the separation LP's solver,
# which few fits need (imported last, so the fits can start before it is in; a fit that needs
# it first waits for its import to finish).
STATISTICS = ("parallax.correlate.conclude", "parallax.correlate.who_answered", "scipy.optimize")
_loading: list[Future] = []
_loading_lock = threading.Lock()


def load_statistics() -> list[Future]:
    """Start importing ``STATISTICS`` in one background thread (once per process) and return
    a future per module. The correlate command calls it before it opens the database, so the
    imports also overlap the open (DuckDB releases the GIL while it opens and migrates);
    ``correlate`` calls it again and waits on the same futures. Not a daemon thread: the
    interpreter's exit waits for the imports (one run in five crashed at exit when it cut a
    daemon thread short in the middle of numpy's import, measured on a missing database)."""
    with _loading_lock:
        if not _loading:
            # OpenBLAS (numpy's and scipy's) splits every product over all cores and spins
            # while it waits for them: on these matrices (thousands of rows, tens of columns)
            # that costs far more than it saves — conclude() on the 20 k-session world took
            # 2.3–2.8 s of CPU with the default threads, 0.65–0.8 s with one, on 2 busy cores.
            # OpenBLAS reads the variable when numpy loads, which in a command is the import
            # below; a value the user set is kept.
            os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
            _loading.extend(Future() for _ in STATISTICS)
            threading.Thread(target=_import_all, args=(list(_loading),),
                             name="parallax-statistics-import").start()
        return list(_loading)


def _import_all(futures: list[Future]) -> None:
    for name, future in zip(STATISTICS, futures, strict=True):
        try:
            future.set_result(importlib.import_module(name))
        except BaseException as exc:  # handed to whoever waits for the module
            future.set_exception(exc)


def correlate(con: duckdb.DuckDBPyConnection, *, settings: Settings | None = None,
              join: JoinSettings | None = None, since: datetime | None = None,
              until: datetime | None = None, selection: SelectionSettings | None = None,
              exposure: ExposureStep = build_exposure) -> Run:
    """``exposure`` builds the window's exposure tables in ``con`` (the DuckDB join model by
    default; parallax.spark_engine.SparkExposure runs it on Spark). A step that leaves the
    page loads elsewhere has a ``build_offers`` (``selection.build_offers``' signature) that
    builds the self-selection check's frames there and loads them into ``con``."""
    settings, join = settings or Settings(), join or JoinSettings()
    selection = selection or SelectionSettings()
    stats, answered, _ = load_statistics()
    # The window's tables are written once more at the checkpoint that follows their commit:
    # at 100 k sessions that checkpoint took about a second, mostly waiting on the disk, with
    # the fits waiting on it. So their commit only writes the log, and the checkpoint runs on
    # a cursor of its own once the statistics have read their frames, beside the fits.
    checkpoint = _Checkpoint(con)
    with db_settings(con, wal_autocheckpoint=_NO_AUTOCHECKPOINT):
        coverage = exposure(con, join, since, until)
    from parallax.correlate.frame import read_delivery  # numpy: loaded meanwhile too

    delivery = read_delivery(con)
    if coverage.responses == 0 and not delivery:
        window = "" if since is None and until is None else (
            f" between {since or 'the start'} and {until or 'the end'}")
        raise NoDataError(f"nothing to correlate{window}: no feedback and no page loads "
                          "(load some with `parallax ingest`)")
    try:
        findings, modelled = stats.result().conclude(con, delivery, settings,
                                                     frames_read=checkpoint.start)
    except BaseException:
        checkpoint.join(raising=False)  # the statistics' error is the one to report
        raise
    checkpoint.join()  # before the connection is used again
    # offers are matched to page loads (exposure_pages): where the step left them
    findings, checked = answered.result().check(
        con, findings, settings, selection, since, until,
        build=getattr(exposure, "build_offers", None))
    findings = attach_annotations(findings, list_annotations(con), since, until)
    parameters = {"join": join.__dict__, "correlate": settings.as_dict()}
    if checked is not None:  # no offers: the parameters stay as they always were
        parameters["selection"] = {"offer_events": list(selection.offer_events),
                                   "grace_seconds": selection.grace_seconds,
                                   "trim": list(selection.trim),
                                   "cap_load_s": selection.cap_load_s}
    run = Run(f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}", datetime.now(UTC),
              since, until, coverage, modelled, tuple(findings), parameters, checked)
    _store(con, run)
    return run


# far beyond any window's log, so its commit never checkpoints (DuckDB's default: 16 MiB)
_NO_AUTOCHECKPOINT = "1TB"


class _Checkpoint:
    """A checkpoint of ``con``'s database in a thread of its own, on a cursor (a connection of
    its own to the same database). ``FORCE``: it waits for transactions still running instead
    of failing, and holds back new ones while it runs, which is why the caller starts it only
    once nothing reads through ``con`` until ``join``. ``join`` waits for it and raises what it
    raised (unless told not to); without a ``start`` it does nothing, and the checkpoint is
    left to the next commit or the close, as DuckDB does by itself."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        if self._thread is None:
            cursor = self._con.cursor()
            self._thread = threading.Thread(target=self._run, args=(cursor,),
                                            name="parallax-checkpoint")
            self._thread.start()

    def _run(self, cursor: duckdb.DuckDBPyConnection) -> None:
        try:
            cursor.execute("FORCE CHECKPOINT")
        except BaseException as exc:  # raised in the caller's thread by join
            self._error = exc
        finally:
            cursor.close()

    def join(self, *, raising: bool = True) -> None:
        if self._thread is not None:
            self._thread.join()
        if raising and self._error is not None:
            raise self._error


def _store(con: duckdb.DuckDBPyConnection, run: Run) -> None:
    with transaction(con):
        cov = run.coverage
        con.execute("INSERT INTO correlate_runs BY NAME SELECT ? AS run_id, ? AS created_at, "
                    "? AS since, ? AS until, ? AS responses, ? AS modelled, "
                    "? AS link_coverage, ? AS parameters, ? AS route_templates, "
                    "? AS selection", [
            run.run_id, run.created_at, run.since, run.until, cov.responses, run.modelled,
            orjson.dumps(dict(cov.by_link)).decode(), orjson.dumps(run.parameters).decode(),
            orjson.dumps({"responses": cov.responses,
                          "responses_on_template": cov.responses_on_template,
                          "page_views": cov.page_views,
                          "page_views_on_template": cov.page_views_on_template}).decode(),
            None if run.selection is None else orjson.dumps(run.selection).decode()])
        rows = [[run.run_id, f.subject_kind, f.subject, f.verdict, f.n_responses, f.poor_rate,
                 f.explained_share, f.p_value, f.q_value, f.evidence,
                 orjson.dumps(f.to_json()).decode()] for f in run.findings]
        if rows:  # executemany refuses an empty list
            con.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            rows)
