"""``parallax erase``: one person's rows deleted from every table and kept out of later loads
(``parallax.records.erase``)."""

from __future__ import annotations

from typing import Annotated

import typer

from parallax.commands.base import app
from parallax.commands.base import session as db_session  # --session is an option here
from parallax.terminal import echo

__all__ = ["erase_cmd"]


@app.command("erase")
def erase_cmd(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option(
        "--user", help="A user id as the sources carry it (stored only as its pseudonym).",
        show_default=False)] = None,
    email: Annotated[str | None, typer.Option(
        "--email", help="An e-mail address used as a user id.", show_default=False)] = None,
    session: Annotated[str | None, typer.Option(
        "--session", help="A session id.", show_default=False)] = None,
) -> None:
    """Erase one person: delete their rows everywhere, log it by pseudonym, keep them out."""
    from parallax.connectors.privacy import Pseudonymizer, load_key
    from parallax.connectors.receive.settings import ServeSettings
    from parallax.records.erase import erase

    with db_session(ctx) as s:
        con, cfg, db_path = s.con, s.cfg, s.path
        spool = ServeSettings.from_config(db_path, cfg.extra.get("serve", {})).spool
        done = erase(con, Pseudonymizer(load_key(db_path, cfg.key_file)), user=user,
                     email=email, session=session, spool=spool)
    rows = ", ".join(f"{table} {n:,}" for table, n in sorted(done.rows.items())) or "none"
    echo(f"erased {done.kind} {done.pseudonym} (pseudonym): {done.total:,} rows in "
               f"{done.sessions:,} session(s) — {rows}; later loads will skip them")
