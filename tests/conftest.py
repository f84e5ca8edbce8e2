"""Shared test fixtures: a real DuckDB file in a temp dir, ingest options with a fixed key,
and the byte-exact vendor samples (tests/fixtures/vendor, copied from ../shared/fixtures)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

# A pytest-xdist worker starts with COLUMNS=80 in its environment, which the run that started it
# need not have: the console would then wrap piped tables at 80 columns where a single-process
# run (or a user's pipe) keeps whole values. Each worker takes the starting run's COLUMNS
# (passed down in _PARALLAX_TEST_COLUMNS) before anything imports the console.
if os.environ.get("PYTEST_XDIST_WORKER") is None:
    os.environ["_PARALLAX_TEST_COLUMNS"] = os.environ.get("COLUMNS", "")
elif os.environ.get("_PARALLAX_TEST_COLUMNS"):
    os.environ["COLUMNS"] = os.environ["_PARALLAX_TEST_COLUMNS"]
else:
    os.environ.pop("COLUMNS", None)

from parallax.connectors.load import IngestOptions
from parallax.connectors.privacy import Pseudonymizer
from parallax.connectors.routes import RouteNormalizer
from parallax.db import connect

VENDOR = Path(__file__).parent / "fixtures" / "vendor"
TEST_KEY = b"parallax-test-key-0123456789abcdef"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture(scope="session")
def empty_db(tmp_path_factory):
    """``empty_db(path)``: a copy of a database that ``connect`` created (every migration
    applied, no rows) at ``path``, which ``connect`` then opens as it opens any database.
    Applying the migrations takes ~0.2 s a database, copying the file ~0.02 s: the ``con``
    fixture and the tests that open a database per hypothesis example start from it.
    tests/parallax/test_db.py and the CLI tests still create databases from nothing."""
    import shutil

    template = tmp_path_factory.mktemp("empty-db") / "empty.duckdb"
    connect(template).close()

    def copy(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
        return path

    return copy


@pytest.fixture
def con(db_path: Path, empty_db):
    c = connect(empty_db(db_path))
    yield c
    c.close()


@pytest.fixture
def pseudonymize() -> Pseudonymizer:
    return Pseudonymizer(TEST_KEY)


@pytest.fixture
def opts(pseudonymize: Pseudonymizer) -> IngestOptions:
    return IngestOptions(pseudonymize=pseudonymize, route=RouteNormalizer())


@pytest.fixture
def vendor() -> Path:
    return VENDOR


# --- a small shop in vendor formats, for the route tests ------------------------------------
# Server spans teach /category/:slug (Express), a literal /category/new-arrivals,
# /product/{id} and Flask's /blog/<slug>; GA4 page views and a Qualtrics export carry only raw
# URLs, some of pages no span ever served (/category/sleeping-bags), one of a page no template
# describes (/about-us).

SHOP_SPANS = [  # (http.route, concrete path attribute, its value)
    ("/category/:slug", "url.path", "/category/base-layers"),
    ("/category/:slug", "url.path", "/category/tents"),
    ("/category/new-arrivals", "url.path", "/category/new-arrivals"),
    ("/product/{id}", "url.path", "/product/123"),
    ("/blog/<slug>", "http.target", "/blog/hello-world?utm=x"),
    ("/api/items/:id", "url.path", "/v2/rewritten"),  # does not match: teaches nothing
    ("/search/:q", None, None),  # no concrete path: teaches nothing
]
SHOP_VIEWS = ["/category/base-layers", "/category/sleeping-bags", "/category/new-arrivals",
              "/product/999", "/about-us", "/blog/hello-world", "/category/tents"]
SHOP_ANSWERS = ["/category/base-layers?utm_source=mail", "/category/sleeping-bags",
                "/about-us", "/product/42"]


def _attr(key, value):
    return {"key": key, "value": {"stringValue": value}}


def write_shop_traces(path, spans=SHOP_SPANS):
    """OpenTelemetry Collector file exporter lines: one ExportTraceServiceRequest a line."""
    lines = []
    for i, (route, key, value) in enumerate(spans):
        attrs = [_attr("http.route", route), _attr("session.id", f"s{i}")]
        if key:
            attrs.append(_attr(key, value))
        span = {"traceId": f"{i + 1:032x}", "spanId": f"{i + 1:016x}", "name": f"GET {route}",
                "kind": 2, "startTimeUnixNano": str(1_791_000_000_000_000_000 + i * 10**9),
                "endTimeUnixNano": str(1_791_000_000_050_000_000 + i * 10**9),
                "attributes": attrs, "status": {}}
        res = {"attributes": [_attr("service.name", "shop-api")]}
        lines.append(json.dumps({"resourceSpans": [
            {"resource": res, "scopeSpans": [{"scope": {"name": "express"}, "spans": [span]}]}]}))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_shop_ga4(path, urls=SHOP_VIEWS):
    """GA4 BigQuery export rows (NDJSON), one page_view per URL, each its own session."""
    lines = []
    for i, url in enumerate(urls):
        params = [
            {"key": "ga_session_id", "value": {"int_value": str(1_791_000_000 + i)}},
            {"key": "session_id", "value": {"string_value": f"s{i}"}},
            {"key": "page_location", "value": {"string_value": f"https://shop.example.com{url}"}},
        ]
        lines.append(json.dumps({
            "event_date": "20261002", "event_timestamp": str(1_791_000_000_000_000 + i * 10**6),
            "event_name": "page_view", "event_params": params,
            "user_pseudo_id": f"{1000 + i}.1791000000", "device": {"category": "desktop"},
            "geo": {"country": "Germany"}, "platform": "WEB"}))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_shop_qualtrics(path, urls=SHOP_ANSWERS):
    """A Qualtrics response export (three header rows) with the page URL as embedded data."""
    ids = ["StartDate", "EndDate", "Status", "Progress", "Finished", "RecordedDate",
           "ResponseId", "DistributionChannel", "Q1", "Q1_NPS_GROUP", "session_id", "PageURL"]
    labels = ["Start Date", "End Date", "Response Type", "Progress", "Finished",
              "Recorded Date", "Response ID", "Distribution Channel",
              "How likely are you to recommend us?", "How likely … - Group", "session_id",
              "PageURL"]
    imports = ['"{""ImportId"":""%s""}"' % ("QID1" if i == "Q1" else
                                              "QID1_NPS_GROUP" if i == "Q1_NPS_GROUP" else i)
               for i in ids]
    rows = [",".join(ids), ",".join(labels), ",".join(imports)]
    for i, url in enumerate(urls):
        at = f"2026-10-02 12:{i:02d}:00"
        rows.append(",".join([at, at, "0", "100", "1", at, f"R_{i}", "anonymous",
                              str(3 + i), "1", f"s{i}", f"https://shop.example.com{url}"]))
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="session")
def shop():
    """The shop's writers and contents (tests write the files where they need them)."""
    return SimpleNamespace(traces=write_shop_traces, ga4=write_shop_ga4,
                           qualtrics=write_shop_qualtrics, spans=SHOP_SPANS, views=SHOP_VIEWS,
                           answers=SHOP_ANSWERS)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The demo world (seed 7, 1,500 sessions) built and correlated through the CLI once per
    test run, this worker's copy; read it, or copy it before writing."""
    from parallax.cli import run
    from tests.worlds import built_once, copy_database

    def build(folder: Path) -> None:
        assert run(["--db", str(folder / "demo.duckdb"), "demo", "--out", str(folder / "out"),
                    "--sessions", "1500"]) == 0

    shared = built_once(tmp_path_factory, "demo-db", build)
    return copy_database(shared / "demo.duckdb", tmp_path_factory.mktemp("demo-db"))


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """A database holding the demo world (seed 7, 1,000 sessions) loaded through the library and
    one correlate run, closed; built once per test session for the CLI's correlate tests and
    the Spark parity tests (the smallest world whose findings still hold both a delivery and
    a design verdict). Read it, or copy it before writing."""
    from parallax.correlate import correlate
    from parallax.demo import build_world
    from tests.worlds import ingest_world

    root = tmp_path_factory.mktemp("small-demo")
    files = build_world(root / "files", seed=7, sessions=1000)
    db_path = root / "demo.duckdb"
    con = connect(db_path)
    try:
        ingest_world(con, files, db_path)
        correlate(con)
    finally:
        con.close()
    return db_path


@pytest.fixture
def screen(monkeypatch):
    """What a 100-column terminal shows of the console's tables and lines."""
    import io

    from rich.console import Console

    from parallax.commands import console

    out = io.StringIO()
    monkeypatch.setattr(console, "_out", Console(file=out, width=100, markup=False,
                                                 emoji=False, highlight=False))
    return out


@pytest.fixture
def isolated(tmp_path, monkeypatch) -> Path:
    """A newcomer's shell: in an empty folder, no PARALLAX_DB or PARALLAX_CONFIG, a fixed key."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PARALLAX_DB", raising=False)
    monkeypatch.delenv("PARALLAX_CONFIG", raising=False)
    monkeypatch.setenv("PARALLAX_KEY", "cli-test-key-0123456789abcdef")
    return tmp_path


# --- Apache Spark (the spark extra and a Java runtime) ----------------------------------------

# The modules that start a JVM: the suite's two workers would each start one (and warm it up:
# a first Spark job of a JVM costs several times a later one), and two JVMs on two cores slow
# every other test. Their tests all go to one worker, one after another, as one scope of the
# load-file schedule; every other module is a scope of its own, as before. A module that asks
# for the `spark` fixture must be listed (pytest_collection_modifyitems checks it).
class _StandInConf:  # the run-time settings a lake ingest sets and puts back (job_settings)
    def __init__(self):
        self.values = {}

    def isModifiable(self, key):  # noqa: N802  (Spark's name)
        return True

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value):
        self.values[key] = value

    def unset(self, key):
        self.values.pop(key, None)


class _StandInContext:
    def setLogLevel(self, level):  # noqa: N802  (Spark's name)
        pass


@pytest.fixture
def stand_in_spark():
    """What a lake ingest asks of a Spark session once its Spark jobs are stood in for: the
    run-time settings (``.conf.values`` holds what is left set) and the log level."""
    return type("Spark", (), {"conf": _StandInConf(), "sparkContext": _StandInContext()})()


JVM_MODULES = frozenset({
    "tests/correlate/test_lake_analytics.py",
    "tests/correlate/test_lake_ingest.py",
    "tests/correlate/test_lake_routes.py",
    "tests/correlate/test_spark_parity.py",
    "tests/correlate/test_spark_selection.py",
    "tests/parallax/test_cli_lake_ingest.py",
    "tests/parallax/test_portable.py",
})


# Files of a few tests that each take many seconds (a subprocess or a whole demo): handed out
# right after the JVM group (pytest_xdist_make_scheduler), not last.
LONG_FILES = ("tests/test_readme.py", "tests/test_packaging.py", "tests/test_types.py",
              "tests/bench/test_end_to_end.py")


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadFileScheduling

    class JvmTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "jvm" if module in JVM_MODULES else module

        def _assign_work_unit(self, node):
            # The JVM group is the longest scope: handed out first, so one worker starts it
            # at once and the other takes every other file meanwhile. xdist orders the rest
            # by their number of tests, which put it first only while it happened to hold
            # most, and leaves files of one long test (the wheel, the type check) to the
            # end, where one worker runs them while the other idles: those come next.
            for scope in reversed(("jvm", *LONG_FILES)):
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return JvmTogether(config, log)


def pytest_collection_modifyitems(config, items):
    root = Path(str(config.rootpath))
    stray = sorted({str(Path(str(item.path)).relative_to(root)) for item in items
                    if "spark" in getattr(item, "fixturenames", ())} - JVM_MODULES)
    if stray:
        raise pytest.UsageError(f"{', '.join(stray)}: uses the spark fixture but is not in "
                                "tests/conftest.py JVM_MODULES (its tests would start a JVM "
                                "on the other worker too)")


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession for the whole run (JVM_MODULES share one worker): the JVM
    starts once."""
    import importlib.util
    import shutil

    if not all(importlib.util.find_spec(m) for m in ("pyspark", "sqlglot")):
        pytest.skip("Spark tests need the spark extra (pyspark, sqlglot): uv sync --all-groups")
    if shutil.which("java") is None:
        pytest.skip("Spark tests need a Java 17+ runtime (java is not on the PATH)")
    from parallax.spark_engine import spark_session

    # The tests' inputs are small, so Spark's time goes to planning and compiling the mapping's
    # large expressions, not to rows: interpreted expressions and a fixed plan skip that work
    # (same results; a user's session keeps Spark's defaults). The JVM keeps its optimising
    # compiler: with the quick one only (-XX:TieredStopAtLevel=1) one trace lake's Spark
    # ingest took 44-45 CPU s instead of 71 on a busy machine, but the whole suite on an idle
    # one took 461 s (532 CPU s) against 444 s (514 CPU s) without it.
    with spark_session("local[2]", {"spark.sql.shuffle.partitions": "4",
                                    "spark.default.parallelism": "2",
                                    "spark.sql.codegen.wholeStage": "false",
                                    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
                                    "spark.sql.adaptive.enabled": "false"}) as session:
        yield session
