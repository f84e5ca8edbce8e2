"""Route templates per database: learned from spans, declared in parallax.toml, and kept
applied to every stored row whatever order the sources arrived in.

A span with both ``http.route`` and a concrete path (``url.path``, ``http.target``,
``url.full``, ``http.url``) teaches its route as a template when the path matches it
(``models/routes/teach_*.sql`` and ``learn.sql``, run in the load's own transaction).
``route_templates`` holds what was learned (spans, first and last seen, an example) and what
``[routes] templates`` declares. The stored routes carry the fingerprint of the rules and
templates they were computed with (``route_state``); whenever it changes — a load taught a
new template, the settings changed, the normalisation itself changed — every stored row is
re-routed in the same transaction: distinct raw values are mapped once in Python and only
rows whose route moves are written. So page views loaded before the traces that teach their
template end up exactly where they would have landed after them, and a load that teaches
nothing new costs one small query.
"""

from __future__ import annotations

import duckdb

from parallax.connectors.route_syntax import compile_template
from parallax.connectors.routes import RouteNormalizer
from parallax.db import read_sql, transaction

__all__ = ["after_load", "learn_seen", "prepare", "reroute", "run_routes_sql",
           "stored_templates"]


def stored_templates(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The learned templates stored in this database."""
    rows = con.execute("SELECT DISTINCT template FROM route_templates "
                       "WHERE source = 'learned' ORDER BY template").fetchall()
    return [t for (t,) in rows]


def prepare(con: duckdb.DuckDBPyConnection, norm: RouteNormalizer) -> RouteNormalizer:
    """Before loading: bring the stored templates and routes in line with the settings, in one
    transaction (declared templates synced; learning turned on relearns from every stored
    span, turned off forgets what was learned); return the normaliser to parse with."""
    with transaction(con):
        run_routes_sql(con, "declare.sql", {"templates": list(norm.declared)})
        was = con.execute("SELECT value FROM route_state WHERE name = 'learn'").fetchall()
        learning = "true" if norm.learn else "false"
        if was != [(learning,)]:
            con.execute("DELETE FROM route_templates WHERE source = 'learned'")
            if norm.learn:
                _learn(con, norm, None)
            _state(con, "learn", learning)
        norm = norm.with_learned(stored_templates(con))
        reroute(con, norm)
    return norm


def after_load(con: duckdb.DuckDBPyConnection, norm: RouteNormalizer, load_id: str,
               kind: str) -> RouteNormalizer:
    """Inside a load's transaction, after its merge: learn from its spans, re-route what the
    new templates move; return the normaliser for the next file."""
    if kind == "traces" and norm.learn:
        _learn(con, norm, load_id)
        norm = norm.with_learned(stored_templates(con))
    reroute(con, norm, current=load_id)
    return norm


def reroute(con: duckdb.DuckDBPyConnection, norm: RouteNormalizer,
            current: str | None = None) -> int:
    """Re-route stored rows if the routes were computed under another fingerprint; the rows
    moved. Inside the caller's transaction. A moved row of a load the page-level join model
    already folded in (any but ``current``) makes that model rebuild on its next refresh."""
    fingerprint = norm.fingerprint()
    stored = con.execute("SELECT value FROM route_state WHERE name = 'fingerprint'").fetchall()
    if stored == [(fingerprint,)]:
        return 0
    changes: dict[tuple[str, str], str | None] = {}
    for tbl, raw, route in con.execute(read_sql("models", "routes/values.sql")).fetchall():
        new = norm(raw)
        if new != route:
            changes[(tbl, raw)] = new
    moved = 0
    if changes:
        import pyarrow as pa

        from parallax.connectors.arrays import strings  # pa.table of lists imports pandas

        frame = pa.table({"tbl": strings([k[0] for k in changes]),
                          "raw": strings([k[1] for k in changes]),
                          "route": strings(list(changes.values()))})
        con.register("_route_frame", frame)
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE _route_map AS SELECT * FROM _route_frame")
        finally:
            con.unregister("_route_frame")
        [(stale,)] = con.execute(read_sql("models", "routes/stale.sql")).fetchall()
        moved = sum(run_routes_sql(con, "apply.sql"))
        con.execute("DROP TABLE _route_map")
        if stale:
            con.execute("DELETE FROM exposure_state WHERE model = 'exposure_pages'")
    _state(con, "fingerprint", fingerprint)
    return moved


def _learn(con: duckdb.DuckDBPyConnection, norm: RouteNormalizer, load_id: str | None) -> None:
    """Fold what the load's spans (or, without a load, every stored span) teach into
    route_templates."""
    if load_id is None:
        run_routes_sql(con, "teach_all.sql")
    else:
        run_routes_sql(con, "teach_load.sql", {"load_id": load_id})
    learn_seen(con, norm)


def learn_seen(con: duckdb.DuckDBPyConnection, norm: RouteNormalizer) -> None:
    """Fold the teaching pairs in the temp table ``_route_seen`` (teach_load.sql's columns)
    into route_templates, and drop it: the lake ingest fills it with the pairs Spark collected.
    Python sees only the distinct http.route values and, for those that teach a template,
    the distinct reduced paths beside them, which it matches against that template (one
    compiled pattern a template, where DuckDB compiled a pattern taken from a column for every
    row: 0.17 s of the 20 k-session load's 0.19 s learning query)."""
    run_routes_sql(con, "seen_paths.sql")
    raws = [r for (r,) in con.execute("SELECT DISTINCT raw FROM _route_seen").fetchall()]
    teaches = {raw: t for raw in raws if (t := norm.teachable(raw))}
    if teaches:
        import pyarrow as pa

        from parallax.connectors.arrays import strings  # pa.table of lists imports pandas

        patterns = {t: compile_template(t).pattern for t in set(teaches.values())}
        pairs = con.execute("SELECT DISTINCT raw, path FROM _route_seen").fetchall()
        matches = [(raw, path, t) for raw, path in pairs
                   if (t := teaches.get(raw)) is not None and patterns[t].fullmatch(path)]
        con.register("_route_matches", pa.table({
            "raw": strings([m[0] for m in matches]), "path": strings([m[1] for m in matches]),
            "template": strings([m[2] for m in matches])}))
        try:
            run_routes_sql(con, "learn.sql")
        finally:
            con.unregister("_route_matches")
    con.execute("DROP TABLE _route_seen")


def _state(con: duckdb.DuckDBPyConnection, name: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO route_state VALUES (?, ?, now())", [name, value])


def run_routes_sql(con: duckdb.DuckDBPyConnection, name: str,
                   params: dict | None = None) -> list[int]:
    """Run the statements of ``models/routes/<name>``; the first value each returns (for DML,
    DuckDB's count of rows changed)."""
    out = []
    for stmt in read_sql("models", f"routes/{name}").split(";\n"):
        code = "\n".join(line for line in stmt.splitlines()
                         if not line.lstrip().startswith("--")).strip()
        if not code:
            continue
        used = {k: v for k, v in (params or {}).items() if f"${k}" in code}
        rows = con.execute(code, used).fetchall() if used else con.execute(code).fetchall()
        out.append(int(rows[0][0]) if rows and isinstance(rows[0][0], int) else 0)
    return out
