"""``parallax serve``: the OTLP/HTTP receiver and in-page feedback endpoint (docs/serve.md)."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from parallax.commands.base import app

__all__ = ["serve"]


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(
        "--host", help="Address to listen on (default 127.0.0.1: this machine only).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 4318).")] = None,
    token: Annotated[str | None, typer.Option(
        "--token", help="Require 'Authorization: Bearer TOKEN' (env PARALLAX_TOKEN).",
        show_default=False)] = None,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", help="A Host header name to answer to besides IP addresses, "
        "localhost and --host (repeatable; adds to \\[serve] allowed_hosts).",
        show_default=False)] = None,
    insecure_no_token: Annotated[bool, typer.Option(
        "--insecure-no-token", help="Listen beyond this machine without a token (anyone who "
        "can reach the port can write).")] = False,
) -> None:
    """Receive OTLP/HTTP traces (POST /v1/traces) and survey answers (POST /v1/feedback)."""
    from parallax.config import load_config
    from parallax.connectors.receive import Receiver, ServeSettings, serve_forever
    from parallax.db import connect, resolve_db_path
    from parallax.options import ingest_options

    cfg = load_config(ctx.obj.config)
    db_path = resolve_db_path(ctx.obj.db)
    section = dict(cfg.extra.get("serve", {}))
    if allow_host:
        configured = section.get("allowed_hosts", [])
        section["allowed_hosts"] = [*([configured] if isinstance(configured, str)
                                      else configured), *allow_host]
    settings = ServeSettings.from_config(db_path, section, host=host, port=port, token=token,
                                         insecure_no_token=insecure_no_token or None)
    connect(db_path).close()  # create / migrate now: a bad database fails before listening
    opts = ingest_options(cfg, db_path)
    _log_to_stderr()
    receiver = Receiver(settings, opts, cfg.extra.get("join", {}))
    serve_forever(receiver, settings.host, settings.port)


def _log_to_stderr() -> None:
    log = logging.getLogger("parallax.serve")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_SafeFormatter("%(asctime)s parallax serve: %(message)s",
                                            "%Y-%m-%dT%H:%M:%S"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


class _SafeFormatter(logging.Formatter):
    """Log lines quote what clients sent: nothing in them a terminal acts on, and a message
    stays one line (a traceback keeps its lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802  (logging's name)
        from parallax.terminal import safe_text

        return safe_text(super().formatMessage(record), one_line=True)

    def formatException(self, ei) -> str:  # noqa: N802
        from parallax.terminal import safe_text

        return safe_text(super().formatException(ei))
