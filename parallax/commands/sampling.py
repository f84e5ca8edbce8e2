"""Quality evaluation: ``sample`` draws a stratified sample for evaluators; ``evaluations
ingest`` brings their scores back and ``evaluations report`` shows them with intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parallax.commands.base import app, check_format, parse_window, session
from parallax.terminal import echo, print_json

__all__ = ["evaluations_app"]

evaluations_app = typer.Typer(help="Evaluators' scores on a drawn sample.", no_args_is_help=True)
app.add_typer(evaluations_app, name="evaluations")


@app.command("sample")
def sample_cmd(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="responses | interactions")],
    out: Annotated[Path, typer.Option("--out", help="The sample CSV to write.")],
    strata: Annotated[str | None, typer.Option(
        "--strata", help="Comma-separated stratum columns, e.g. channel,reason.")] = None,
    margin: Annotated[float, typer.Option("--margin", help="Margin of error per stratum.")] = 0.05,
    confidence: Annotated[float, typer.Option("--confidence")] = 0.95,
    seed: Annotated[int, typer.Option("--seed", help="Same data + seed: same sample.")] = 0,
    since: Annotated[str | None, typer.Option("--since", help="Window start (ISO).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Window end (ISO).")] = None,
) -> None:
    """Draw a stratified random sample sized for the margin of error; print the achieved
    margin per stratum."""
    from parallax.commands.console import print_rows
    from parallax.quality.sampling import draw_sample, write_sample_csv

    by = tuple(c.strip() for c in (strata or "").split(",") if c.strip())
    start, end = parse_window(since, until)
    with session(ctx) as s:
        con = s.con
        sample = draw_sample(con, kind, by, margin=margin, confidence=confidence, seed=seed,
                             since=start, until=end)
    written = write_sample_csv(sample, out)
    print_rows(["stratum", "population", "sample", "margin"],
               [[s.label, f"{s.population:,}", f"{s.sample:,}",
                 "" if s.margin is None else f"±{s.margin:.1%}"] for s in sample.strata])
    echo(f"{written:,} {kind} sampled from {len(sample.strata)} strata "
         f"(±{margin:.0%} at {confidence:.0%}, seed {seed}) → {out}")


def _report(con, format: str) -> None:
    from parallax.commands.console import print_rows
    from parallax.numbers import Interval, ci
    from parallax.quality.evaluations import evaluation_report

    scores = evaluation_report(con)
    if format == "json":
        print_json([s.to_json() for s in scores])
        return
    print_rows(["kind", "stratum", "population", "evaluated", "pass rate", "mean score"], [
        [s.kind, s.stratum, f"{s.population:,}", f"{s.evaluated:,}",
         ci(Interval.around(s.pass_rate, s.pass_ci), "pct", empty=""),
         ci(Interval.around(s.mean_score, s.score_ci), "num", empty="")]
        for s in scores])


@evaluations_app.command("ingest")
def evaluations_ingest(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(help="The evaluated sample CSV.")],
    format: Annotated[str, typer.Option("--format", help="table | json")] = "table",
) -> None:
    """Store evaluators' pass/fail and scores; report them per stratum with intervals."""
    from parallax.connectors.privacy import Pseudonymizer, load_key
    from parallax.quality.evaluations import ingest_evaluations

    check_format(format)
    with session(ctx) as s:
        con, cfg, db_path = s.con, s.cfg, s.path
        load = ingest_evaluations(con, file, Pseudonymizer(load_key(db_path, cfg.key_file)))
        if format == "table":
            echo(f"{load.file}: {load.stored:,} evaluations stored, "
                 f"{load.pending:,} sampled rows not evaluated yet")
        _report(con, format)


@evaluations_app.command("report")
def evaluations_report(
    ctx: typer.Context,
    format: Annotated[str, typer.Option("--format", help="table | json")] = "table",
) -> None:
    """Stored evaluations per stratum: pass rate (Wilson) and mean score (t), 95 %."""
    with session(ctx) as s:
        con = s.con
        _report(con, format)
