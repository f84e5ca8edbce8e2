"""``ingest traces … --to-parquet DIR``: OTLP/JSON-lines trace files mapped on Spark, by the
native stage's own SQL, into the Parquet lake.

The mapping is the native stage's SQL (``models/stage/otlp_jsonl.sql``), transpiled by
``parallax.portable.stage_to_spark`` (macros inlined, DuckDB functions in their Spark forms):
one copy of the mapping for both engines. What DuckDB's ``read_json`` does is done by Spark's
JSON reader, told the columns the SQL names: a JSON-typed column is read as a VARIANT and
handed to the SQL as its JSON text (what DuckDB's JSON type holds), so the SQL sees the same
values on both engines. The Python the SQL calls (``_parallax_span_attributes``,
``_parallax_pseudonym``, ``_parallax_route``, …) is the very functions DuckDB calls, registered
as Arrow UDFs: they run once per distinct value of a batch, in Spark's Python workers.

Whatever the Python path would reject, the SQL raises (``raise_error``): Spark then maps
nothing, and the file is refused in one line (ingest it into a database to see each bad line).
Rows are appended to ``DIR/spans/day=YYYY-MM-DD/`` (the layout of ``export --parquet``) after
dropping spans the lake holds already (the natural key of local ingest: trace, span, kind;
looked up within a day of the file's spans, as local ingest does), so ingesting a file again
adds nothing. A new lake is written whole (staging folder, renamed into place); into an
existing one the new files are written to a staging folder first and moved in at the end.
The lake's ``web_vitals`` rows of the days the new spans can change (browser spans carrying
Core Web Vitals) are recomputed by ``lake_vitals.stage_vitals`` over the lake with the new
files beside its own, staged, and swapped in with them; a failure takes both back.

Routes as local ingest keeps them (``lake_routes.LakeRoutes``): before the mapping the lake's
templates are brought in line with the settings (learning turned back on relearns from the
lake's spans, on Spark); route templates are then learned from the new spans (the teaching
query on Spark, the pairs folded in on the driver); the new spans are routed with the
templates the load leaves, and when the stored routes were computed under another fingerprint
(``route_state``), the stored days whose rows move are rewritten and swapped in with the rest
(``route_templates`` and ``route_state`` replaced whole). A load that changes the lake adds
its row to the lake's ledger (``DIR/loads/``).

Needs the ``spark`` extra and Java 17+.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from parallax.connectors.base import ParseContext
from parallax.connectors.routes import RouteNormalizer
from parallax.errors import ConfigError, IngestError, ParallaxError
from parallax.lake import (
    add_to_ledger,
    day_folder,
    drop_placeholder,
    empty_lake,
    stage_ledger,
    swap_days,
)
from parallax.lake_routes import (
    LakeRoutes,
    reroute_frame,
    stage_reroute,
    stored_pairs,
    teaching_pairs,
)
from parallax.lake_vitals import INPUTS, stage_vitals
from parallax.portable import stage_to_spark

__all__ = ["LakeLoad", "check_files", "ledger_row", "spark_schema", "stage_spans", "to_parquet"]

_SQL = "stage/otlp_jsonl.sql"
_SOURCE = "otlp_file"  # the view the transpiled query reads instead of read_json(…)
_KEY = ("trace_id", "span_id", "kind")  # load/spans.sql's natural key


@dataclass(frozen=True)
class LakeLoad:
    folder: Path
    files: int
    staged: int  # spans mapped from the files
    added: int  # of those, new to the lake (the rest it held already, or repeated in a file)
    created: bool  # a new lake
    vitals: int = 0  # web_vitals day partitions rewritten (browser spans' Core Web Vitals)
    templates: int = 0  # learned route templates the lake holds after the load
    rerouted: dict[str, int] = field(default_factory=dict)  # table -> day partitions re-routed


def spark_schema(columns: dict[str, str]) -> str:
    """read_json's columns (DuckDB types) as a Spark DDL schema, JSON as VARIANT."""
    from sqlglot import exp

    fields = []
    for name, text in columns.items():
        kind = exp.DataType.build(text, dialect="duckdb")
        kind = kind.transform(lambda n: exp.DataType.build("VARIANT", dialect="spark")
                              if isinstance(n, exp.DataType) and n.this == exp.DataType.Type.JSON
                              else n)
        fields.append(f"`{name}` {kind.sql(dialect='spark')}")
    return ", ".join(fields)


def _json_text(column: Any, kind: Any) -> Any:
    """``column`` with every VARIANT inside written as its JSON text (DuckDB's JSON text, a
    JSON null as NULL); a null struct stays null (a struct() of null fields would not)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if isinstance(kind, T.VariantType):
        # DuckDB reads a JSON null into a JSON column as SQL NULL: the SQL relies on it
        text = F.to_json(column)
        return F.when(text == F.lit("null"), F.lit(None)).otherwise(text)
    if isinstance(kind, T.ArrayType) and _has_variant(kind):
        return F.transform(column, lambda x: _json_text(x, kind.elementType))
    if isinstance(kind, T.StructType) and _has_variant(kind):
        inner = F.struct(*[_json_text(column.getField(f.name), f.dataType).alias(f.name)
                           for f in kind.fields])
        return F.when(column.isNull(), F.lit(None)).otherwise(inner)
    return column


def _has_variant(kind: Any) -> bool:
    from pyspark.sql import types as T

    if isinstance(kind, T.VariantType):
        return True
    if isinstance(kind, T.ArrayType):
        return _has_variant(kind.elementType)
    if isinstance(kind, T.StructType):
        return any(_has_variant(f.dataType) for f in kind.fields)
    return False


def _register_functions(spark: Any, ctx: ParseContext) -> None:
    """The native stage's Python functions (otlp_native), as Spark Arrow UDFs."""
    from pyspark.sql import types as T
    from pyspark.sql.functions import arrow_udf

    from parallax.connectors.files import otlp_native as native

    def struct(keys: Sequence[str]) -> T.StructType:
        return T.StructType([T.StructField("json", T.StringType()),
                             *(T.StructField(k, T.StringType()) for k in keys)])

    text = T.StringType()
    functions: dict[str, tuple[Any, Any]] = {
        "_parallax_span_attributes": (native._attributes(ctx.pseudonymize, native.SPAN_KEYS,
                                                         True), struct(native.SPAN_KEYS)),
        "_parallax_resource_attributes": (native._attributes(
            ctx.pseudonymize, native.RESOURCE_KEYS, False), struct(native.RESOURCE_KEYS)),
        "_parallax_pseudonym": (native._distinct(native._pseudonym(ctx.pseudonymize)), text),
        "_parallax_route": (native._distinct(ctx.route), text),
        "_parallax_host": (native._distinct(native._host), text),
    }
    for name, (fn, returns) in functions.items():
        spark.udf.register(name, arrow_udf(_scalar(fn), returns))


def _scalar(fn: Any) -> Any:
    """``fn`` with the signature Spark reads to run it as a scalar Arrow UDF."""

    def apply(values: pa.Array) -> pa.Array:
        return fn(values)

    return apply


def stage_spans(spark: Any, paths: Sequence[Path | str], ctx: ParseContext, load_id: str,
                canonical: Any) -> Any:
    """The files' spans as a Spark DataFrame with the columns and types of ``canonical`` (a
    Spark schema of the lake's spans table), in file order (column ``_order``)."""
    from pyspark.sql import functions as F

    from parallax.db import read_sql

    query = stage_to_spark(read_sql("models", _SQL),
                           {"source": "otlp-jsonl", "load_id": load_id}, _SOURCE)
    raw = (spark.read.schema(spark_schema(query.columns)).option("mode", "FAILFAST")
           .json([str(p) for p in paths]))
    raw.select(*[_json_text(raw[f.name], f.dataType).alias(f.name)
                 for f in raw.schema.fields]).createOrReplaceTempView(_SOURCE)
    _register_functions(spark, ctx)
    df = spark.sql(query.sql)
    return df.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in canonical.fields],
                     F.monotonically_increasing_id().alias("_order"))


def to_parquet(spark: Any, paths: Sequence[Path], folder: Path, ctx: ParseContext) -> LakeLoad:
    """Map OTLP/JSON-lines trace files on Spark and add their spans to the lake at
    ``folder`` (created, with every canonical table, if missing)."""
    from parallax.db import connect
    from parallax.spark_engine import job_settings

    # Spark resolves a relative path against the JVM's working folder, which need not be
    # this process's (a session already running: a notebook's, or one started elsewhere)
    folder, paths = Path(folder).absolute(), [Path(p).absolute() for p in paths]
    check_files(paths)
    created = not folder.exists()
    if not created and not (folder / "spans").is_dir():
        raise ConfigError(f"{folder}: not a Parquet lake (no spans/ folder; "
                          "`parallax export --parquet` writes one)")
    started = datetime.now(UTC)
    load_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    staging = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        if created:  # every table, empty, with the canonical columns: the lake correlate reads
            lake = staging / "lake"
            empty_lake(lake)
        else:
            lake = folder
        new = staging / "new"  # the new spans' day folders (a new lake: in the lake itself)
        changed = staging / "changed"  # whole day folders and tables that replace the lake's
        staging.mkdir(exist_ok=True)
        routes = LakeRoutes(connect(staging / "routes.duckdb"), lake, ctx.route)
        try:
            with job_settings(spark, {"spark.sql.parquet.outputTimestampType":
                                      "TIMESTAMP_MICROS"}):
                # the lake's templates in line with the settings before anything is mapped
                ctx = replace(ctx, route=routes.prepare(lambda: stored_pairs(spark, lake)))
                staged, added, days, norm = _write_spans(
                    spark, paths, lake, lake if created else new, ctx, load_id, created,
                    routes.learn)
            whole = routes.stage(changed)
            stale, learned = routes.stale and not created, len(routes.learned)
        finally:
            routes.con.close()
        # The stored rows the settings or the load's templates route elsewhere: their whole
        # days, rewritten (a new lake holds none).
        rerouted = (stage_reroute(lake, norm, changed, staging / "reroute.duckdb")
                    if stale else {})
        if not created:
            _join_rerouted(new / "spans", changed / "spans", rerouted.get("spans", []))
        # The vitals of the days the new spans and the re-routed rows change, over the lake
        # with the new files beside its own; written before any file moves, so a failure
        # leaves the lake as it was.
        touched = {d for t in INPUTS for d in rerouted.get(t, [])} | set(days)
        vitals = stage_vitals(lake, touched, changed, new=changed, swapped=rerouted,
                              added=None if created else new)
        swapped = {**rerouted, "web_vitals": vitals}
        # the ledger's row, for a load that changes the lake (one that adds nothing leaves
        # every file as it was)
        ledger = (stage_ledger([ledger_row(load_id, "traces", paths, "otlp-jsonl", started,
                                           staged, added)], staging / "loads.parquet")
                  if added or whole or rerouted or vitals else None)
        if created:
            swap_days(changed, lake, swapped, staging / "old", whole)
            if ledger is not None:
                add_to_ledger(ledger, lake, load_id)
            if folder.exists():
                raise ConfigError(f"{folder}: written by someone else meanwhile; nothing added")
            lake.rename(folder)
        else:
            moved = _move_in(new / "spans", folder / "spans")
            try:
                if ledger is not None:
                    moved.append(add_to_ledger(ledger, folder, load_id))
                swap_days(changed, folder, swapped, staging / "old", whole)
            except BaseException:
                _take_back(moved)  # swap_days put its own folders back
                raise
            if moved:
                drop_placeholder(folder / "spans")
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return LakeLoad(folder, len(paths), staged, added, created, len(vitals), learned,
                    {t: len(d) for t, d in rerouted.items()})


def ledger_row(load_id: str, kind: str, paths: Sequence[Path], fmt: str, started: datetime,
               staged: int, added: int) -> tuple:
    """A Spark lake load's row in the ledger (the loads table's columns). The files are one
    load: ``file`` and ``sha256`` list each, one a line; rows read are the rows the files
    map to (spans; GA4: events), rows loaded the new ones, duplicates the rest; Spark refuses
    a file rather than rejecting rows."""
    from parallax.connectors.load import file_sha256

    return (load_id, "file", kind, "\n".join(map(str, paths)),
            "\n".join(file_sha256(p) for p in paths), fmt, started, datetime.now(UTC), "ok",
            None, staged, added, staged - added, 0)


def check_files(paths: Sequence[Path], kind: str = "traces", fmt_name: str = "otlp-jsonl",
                maps: str = "OTLP/JSON lines (Collector files)", noun: str = "a trace") -> None:
    """Refuse, before Spark starts, a file --to-parquet does not map: only ``fmt_name`` files
    of ``kind`` (``maps`` and ``noun`` word the refusal)."""
    from parallax.connectors.base import Source
    from parallax.connectors.files import detect

    if not paths:
        raise ConfigError("no files to ingest")
    for path in paths:
        source = Source(Path(path))
        try:
            with source.open() as f:
                head = f.read(64 << 10)
        except OSError as exc:
            raise IngestError(f"{path}: cannot read: {exc.strerror or exc}") from None
        fmt = detect(kind, head)
        if fmt is None or fmt.name != fmt_name:
            what = f"{fmt.name} file" if fmt else f"not {noun} format Parallax knows"
            raise ConfigError(f"{path}: --to-parquet maps {maps} only; this is {what}: "
                              "ingest it into a database, then `parallax export --parquet`")
        if source.gzipped and not str(path).endswith(".gz"):
            raise ConfigError(f"{path}: gzip without a .gz name, which Spark reads as text: "
                              "rename it to end in .gz")


def _write_spans(spark: Any, paths: Sequence[Path], lake: Path, staging: Path,
                 ctx: ParseContext, load_id: str, created: bool,
                 learn: Callable[[pa.Table | None], RouteNormalizer]
                 ) -> tuple[int, int, list, RouteNormalizer]:
    """Write the files' new spans under ``staging/spans`` (day partitions), routed with the
    normaliser ``learn`` gives once it has folded in what they teach; (staged, added, the
    days of the new spans, that normaliser)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    existing = spark.read.parquet(str(lake / "spans"))
    canonical = existing.drop("day").schema
    try:
        # Materialised once: the Python functions run once per span, not once per action.
        staged = stage_spans(spark, paths, ctx, load_id, canonical).localCheckpoint()
        count = staged.count()  # 0 for files of empty requests, as local ingest allows
        # load/spans.sql: the first copy of a key in the file wins, a key the lake holds is
        # skipped; stored spans are looked up within a day of the file's, as there.
        first = Window.partitionBy(*_KEY).orderBy("_order")
        fresh = (staged.withColumn("_n", F.row_number().over(first)).where("_n = 1")
                 .drop("_n"))
        if not created:
            lo, hi = staged.agg(F.min("started_at"), F.max("started_at")).first()
            lo = F.lit(lo) - F.expr("INTERVAL 1 DAY")
            hi = F.lit(hi) + F.expr("INTERVAL 1 DAY")
            # the day folders first (Spark then reads only those), then the instants
            stored = (existing.where(F.col("day").between(F.to_date(lo), F.to_date(hi)))
                      .where(F.col("started_at").between(lo, hi)))
            fresh = fresh.join(stored.select(*_KEY), list(_KEY), "left_anti")
        # the lake's column order (a join puts its keys first): files of one table agree
        fresh = fresh.select(*canonical.fieldNames(), "_order")
        fresh = fresh.drop("_order").localCheckpoint()
        added = fresh.count()
        # What the new spans teach (route_learning.after_load: spans the lake did not hold),
        # then the new spans routed with every template, as after_load's reroute leaves them.
        norm = learn(teaching_pairs(spark, fresh, load_id)
                     if added and ctx.route.learn else None)
        if norm.fingerprint() != ctx.route.fingerprint():
            fresh = reroute_frame(spark, fresh, norm, "http_route")
        fresh = fresh.withColumn("day", F.to_date("started_at"))
        days: list = []
        if added:
            target = staging / "spans"
            if created:
                shutil.rmtree(target)  # the empty table the export wrote
            fresh.write.partitionBy("day").parquet(str(target))
            days = sorted(d for (d,) in fresh.select("day").distinct().collect())
        return count, added, days, norm
    except ParallaxError:
        raise
    except Exception as exc:  # Spark's errors: the mapping refused the file, or I/O
        raise refusal(exc, paths, "traces") from None


def _join_rerouted(new: Path, rerouted: Path, days: Sequence) -> None:
    """The new spans' files of a day that is re-routed go into its rewritten folder, which
    then replaces the lake's whole (moved in beside the lake's files, they would be lost)."""
    for day in days:
        for part in sorted((new / day_folder(day)).glob("*.parquet")):
            part.rename(rerouted / day_folder(day) / part.name)


def refusal(exc: Exception, paths: Sequence[Path], kind: str) -> Exception:
    """What to raise for ``exc`` from a Spark mapping of ``paths``: a Spark error (PySpark's
    own, or the JVM's as py4j hands it over) as the one-line refusal; anything else as it is
    (a bug keeps its traceback)."""
    if type(exc).__module__.split(".")[0] not in ("pyspark", "py4j"):
        return exc
    return IngestError(f"{', '.join(map(str, paths))}: not mapped on Spark "
                       f"({_first_line(exc)}); nothing was written (`parallax ingest "
                       f"{kind} FILE` into a database names each bad line)")


def _first_line(exc: Exception) -> str:
    text = str(exc)
    # the mapping's own raise_error() (the trace or the GA4 stage)
    said = re.search(r"(?:otlp|ga4)-native: [^\n]*", text)
    if said:
        return re.sub(r"\s*SQLSTATE: \w+.*", "", said.group(0)).strip()[:200]
    malformed = re.search(r"Malformed records[^\n.]*", text)
    if malformed:
        return "a line that is not JSON: " + malformed.group(0).strip()[:160]
    if "MALFORMED_RECORD" in text:
        return "a line that is not JSON"
    return " ".join(text.split())[:200]


def _move_in(source: Path, target: Path) -> list[Path]:
    """Move the day folders' Parquet files from ``source`` into ``target``: each file is
    renamed whole, and a failure takes back the ones already moved; the files moved in."""
    moved: list[Path] = []
    try:
        for part in sorted(source.glob("day=*/*.parquet")):
            day = target / part.parent.name
            day.mkdir(exist_ok=True)
            dest = day / part.name
            if dest.exists():
                raise ConfigError(f"{dest}: already exists; nothing added")
            part.rename(dest)
            moved.append(dest)
    except BaseException:
        _take_back(moved)
        raise
    return moved


def _take_back(moved: Sequence[Path]) -> None:
    """Remove the files ``_move_in`` moved in, and a day folder it made for them."""
    for dest in moved:
        dest.unlink(missing_ok=True)
        if dest.parent.is_dir() and not any(dest.parent.iterdir()):
            dest.parent.rmdir()
