"""Stratified samples sized for a margin of error (with the finite population correction),
reproducible by seed; evaluators' scores brought back and reported with intervals."""

from __future__ import annotations

import csv

import pytest

from parallax.cli import run
from parallax.errors import ConfigError, FormatError, NoDataError
from parallax.quality.evaluations import evaluation_report, ingest_evaluations
from parallax.quality.sampling import (
    achieved_margin,
    draw_sample,
    sample_size,
    wilson,
    write_sample_csv,
)


@pytest.mark.parametrize(("population", "margin", "confidence", "n"), [
    (None, 0.05, 0.95, 385),   # the textbook 384.15 → 385
    (None, 0.03, 0.95, 1068),
    (None, 0.05, 0.99, 664),
    (1000, 0.05, 0.95, 278),   # 384.15 / (1 + 383.15 / 1000) = 277.8
    (50, 0.05, 0.95, 45),
    (10, 0.05, 0.95, 10),      # a small stratum is read whole
    (0, 0.05, 0.95, 0),
])
def test_sample_sizes(population, margin, confidence, n) -> None:
    assert sample_size(population, margin, confidence) == n


def test_margins_and_wilson() -> None:
    assert achieved_margin(385, None, 0.95) == pytest.approx(0.04994, abs=1e-5)
    assert achieved_margin(278, 1000, 0.95) == pytest.approx(0.0500, abs=2e-4)
    assert achieved_margin(50, 50, 0.95) == 0.0
    lo, hi = wilson(8, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)  # the published Wilson interval
    assert wilson(8, 10, population=10) == (0.8, 0.8)
    flo, fhi = wilson(8, 10, population=20)
    assert lo < flo < 0.8 < fhi < hi
    with pytest.raises(ConfigError, match="--margin"):
        sample_size(None, 0.0, 0.95)
    with pytest.raises(ConfigError, match="--confidence"):
        sample_size(None, 0.05, 1.5)


@pytest.fixture
def contacts(con):
    # 1,200 calls (1,000 refund, 200 login), 40 chats about login.
    con.execute("""
        INSERT INTO interactions (interaction_id, source, channel, reason, started_at)
        SELECT 'i' || i, 'interactions', CASE WHEN i < 1200 THEN 'call' ELSE 'chat' END,
               CASE WHEN i < 1000 THEN 'refund' ELSE 'login' END,
               TIMESTAMPTZ '2026-01-05 00:00:00+00' + to_minutes(i)
        FROM range(1240) AS t(i)""")
    return con


def test_stratified_sample_is_sized_and_reproducible(contacts) -> None:
    s = draw_sample(contacts, "interactions", ("channel",), seed=11)
    assert [(x.label, x.population, x.sample) for x in s.strata] == [
        ("channel=call", 1200, 292), ("channel=chat", 40, 37)]
    assert all(x.margin <= 0.05 for x in s.strata)
    ids = [row[1] for _, row in s.rows]
    assert len(ids) == len(set(ids)) == 329
    assert ids == [row[1] for _, row in draw_sample(contacts, "interactions", ("channel",),
                                                    seed=11).rows]
    other = [row[1] for _, row in draw_sample(contacts, "interactions", ("channel",),
                                              seed=12).rows]
    assert other != ids
    two = draw_sample(contacts, "interactions", ("channel", "reason"), margin=0.1)
    assert [(x.label, x.sample) for x in two.strata] == [
        ("channel=call|reason=login", 66), ("channel=call|reason=refund", 88),
        ("channel=chat|reason=login", 29)]
    with pytest.raises(ConfigError, match="--strata score: not a interactions column"):
        draw_sample(contacts, "interactions", ("score",))
    with pytest.raises(NoDataError, match="no responses to sample"):
        draw_sample(contacts, "responses")


def _evaluate(path, verdicts) -> None:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for i, row in enumerate(rows):
        if i < len(verdicts):
            row["evaluator"], row["eval_pass"], row["eval_score"] = "QA Lead", *verdicts[i]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_evaluations_round_trip(contacts, tmp_path, pseudonymize) -> None:
    s = draw_sample(contacts, "interactions", ("channel",), margin=0.2, seed=1)
    out = tmp_path / "sample.csv"
    assert write_sample_csv(s, out) == sum(x.sample for x in s.strata)
    # 10 evaluated calls (8 pass), the rest pending.
    _evaluate(out, [("pass", "4")] * 8 + [("fail", "2")] * 2)
    load = ingest_evaluations(contacts, out, pseudonymize)
    assert (load.stored, load.pending) == (10, s.rows.__len__() - 10)
    [call] = evaluation_report(contacts)
    assert (call.stratum, call.population, call.evaluated, call.pass_rate) == \
        ("channel=call", 1200, 10, 0.8)
    assert call.pass_ci[0] == pytest.approx(0.4902, abs=0.01)
    assert call.mean_score == pytest.approx(3.6)
    assert call.score_ci[0] < 3.6 < call.score_ci[1]
    before = contacts.execute("SELECT * EXCLUDE (loaded_at) FROM evaluations ORDER BY ALL"
                              ).fetchall()
    ingest_evaluations(contacts, out, pseudonymize)  # again: the same rows
    assert contacts.execute("SELECT * EXCLUDE (loaded_at) FROM evaluations ORDER BY ALL"
                            ).fetchall() == before
    assert {r[6] for r in before} == {pseudonymize("QA Lead")}
    _evaluate(out, [("maybe", "")])
    with pytest.raises(FormatError, match=r"sample.csv: row 2: eval_pass 'maybe'"):
        ingest_evaluations(contacts, out, pseudonymize)
    assert len(contacts.execute("SELECT * FROM evaluations").fetchall()) == 10


def test_cli_sample_and_evaluations(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("PARALLAX_KEY", "k" * 32)
    db = tmp_path / "s.duckdb"
    f = tmp_path / "contacts.csv"
    f.write_text("contact_id,channel,reason,start_time\n" + "".join(
        f"c{i},{'call' if i % 3 else 'chat'},refund,2026-01-05T09:{i % 60:02d}:00Z\n"
        for i in range(90)))
    assert run(["--db", str(db), "ingest", "interactions", str(f)]) == 0
    out = tmp_path / "sample.csv"
    argv = ["--db", str(db), "sample", "interactions", "--strata", "channel", "--seed", "5",
            "--out", str(out)]
    assert run(argv) == 0
    text = capsys.readouterr().out
    assert "channel=call" in text and "±" in text
    first = out.read_text()
    assert run(argv) == 0 and out.read_text() == first
    # 60 calls → 53 (±5 %, FPC); 30 chats → 28.
    assert sum(1 for _ in csv.DictReader(first.splitlines())) == 53 + 28
    _evaluate(out, [("yes", "")] * 5)
    assert run(["--db", str(db), "evaluations", "ingest", str(out)]) == 0
    assert "5 evaluations stored" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert run(["--db", str(db), "evaluations", "ingest", str(bad)]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a sample file" in err
