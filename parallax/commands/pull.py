"""Pull connectors: ``pull [NAME…] [--full-refresh] [--since]`` and ``sources``."""

from __future__ import annotations

from typing import Annotated

import typer

from parallax.commands.base import app, parse_when, refresh_pages, session

__all__: list[str] = []


def _policy(cfg):
    from parallax.connectors.pull.retry import RetryPolicy
    from parallax.errors import ConfigError

    section = cfg.extra.get("pull", {}) or {}
    try:
        attempts = int(section.get("attempts", 5))
        timeout = float(section.get("timeout", 30.0))
    except (TypeError, ValueError, AttributeError):
        raise ConfigError("[pull] attempts and timeout must be numbers") from None
    if attempts < 1 or timeout <= 0:
        raise ConfigError("[pull] attempts must be ≥ 1 and timeout > 0")
    return RetryPolicy(attempts=attempts, timeout=timeout)


@app.command("pull")
def pull_cmd(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(
        help="Sources to pull (\\[sources.NAME] in parallax.toml); default: all enabled.")] = None,
    full_refresh: Annotated[bool, typer.Option(
        "--full-refresh", help="Ignore the stored cursor: fetch from the source's start "
        "again (what is already stored is skipped as duplicates).")] = False,
    since: Annotated[str | None, typer.Option(
        "--since", help="Fetch from this date/time, whatever the cursor says.")] = None,
) -> None:
    """Pull survey platforms, trace backends and analytics APIs incrementally."""
    from parallax.commands.console import print_rows
    from parallax.connectors.pull import build_specs, pull
    from parallax.errors import ConfigError, IngestError, ParallaxError
    from parallax.options import ingest_options
    from parallax.terminal import echo

    start = parse_when(since, "--since")
    failed: list[str] = []
    results = []
    with session(ctx, create=True) as s:
        con, cfg, db_path = s.con, s.cfg, s.path
        specs = build_specs(cfg.extra.get("sources", {}) or {}, names or ())
        if not specs:
            raise ConfigError("no sources to pull: add [sources.NAME] sections to "
                              f"{cfg.path or 'parallax.toml'} (see docs/pull.md)")
        opts, policy = ingest_options(cfg, db_path), _policy(cfg)
        for spec in specs:
            try:
                results.append(pull(con, spec, opts, full_refresh=full_refresh, since=start,
                                    policy=policy, echo=lambda line: echo(line, err=True)))
            except ParallaxError as exc:
                failed.append(str(exc))
                if len(specs) > 1:  # the others still run; the error line comes at the end
                    echo(f"{spec.name}: failed: {exc}", err=True)
        refresh_pages(con, cfg)  # fold in what was committed, failed sources' pages too
    if results:
        print_rows(["source", "pages", "loaded", "duplicates", "rejected", "requests", "cursor",
                    "seconds"],
                   [(r.source, r.pages, f"{r.rows_loaded:,}", f"{r.duplicates:,}",
                     f"{r.rejected:,}", r.requests, r.cursor or "", f"{r.seconds:.2f}")
                    for r in results])
    if len(failed) == 1:
        raise IngestError(failed[0])
    if failed:
        raise IngestError(f"{len(failed)} of {len(failed) + len(results)} sources failed: "
                          + "; ".join(failed))


@app.command("sources")
def sources_cmd(ctx: typer.Context) -> None:
    """Configured pull sources: cursor, last successful pull, rows loaded, last error."""
    from parallax.commands.console import print_rows
    from parallax.errors import ConfigError
    from parallax.named_queries import run_query

    with session(ctx) as s:
        con, cfg = s.con, s.cfg
        configured = cfg.extra.get("sources", {}) or {}
        if not isinstance(configured, dict):
            raise ConfigError("[sources]: expected [sources.NAME] tables")
        rel = run_query(con, "sources", {})
        columns = rel.columns
        rows = {r[0]: r for r in rel.fetchall()}
        for name, section in configured.items():
            if name not in rows:
                kind = section.get("type", "?") if isinstance(section, dict) else "?"
                rows[name] = (name, kind, None, None, 0, 0, "never pulled")
        print_rows(columns, [rows[n] for n in sorted(rows)])

