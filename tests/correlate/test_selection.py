"""The self-selection check: survey offers read from GA4 events, the propensity model, the
weights, and findings that gain ``details.selection`` and nothing else."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import orjson
import pytest

from parallax.correlate import correlate
from parallax.correlate.selection import SelectionSettings, _weights
from parallax.errors import ConfigError


def _without_selection(finding: dict) -> dict:
    details = {k: v for k, v in finding["details"].items() if k != "selection"}
    return {**finding, "details": details}


def test_offers_are_the_ga4_survey_impressions_and_answers_meet_their_offer(selection_run):
    con, truth = selection_run.con, selection_run.truth
    offered = sum(r["offered"] for r in truth["selection"]["delivery_part"].values())
    assert con.execute("SELECT count(*) FROM events WHERE name = 'survey_impression'"
                       ).fetchone() == (offered,)
    checked = selection_run.run.selection
    assert checked is not None and checked["offers"] == offered
    # every answer that kept its session id meets the offer it answered, and only those
    with_session = con.execute("SELECT count(*) FROM feedback WHERE session_id IS NOT NULL "
                               "AND is_poor IS NOT NULL").fetchone()[0]
    assert checked["answered"] == with_session
    assert con.execute("SELECT count(DISTINCT response_key) FROM selection_links"
                       ).fetchone() == (with_session,)


def test_the_planted_segment_answers_more_and_is_flagged(selection_run):
    country = selection_run.truth["selection"]["country"]
    found = {f.subject: f.details["selection"] for f in selection_run.run.findings
             if f.subject_kind == "segment" and "selection" in f.details}
    sel = found[country]
    assert sel["selection"] and sel["odds_ratio"]["ci_low"] > 1.0
    assert sel["measure"] == "answer_odds_vs_rest"


def test_weights_are_trimmed_and_findings_gain_only_the_selection_key(selection_run):
    run = selection_run.run
    checked = run.selection
    lo, hi = checked["trimmed_at"]
    assert 0 < lo < 1 < hi
    assert 0 < checked["effective_n_responses"] <= checked["responses_modelled"]
    routes = [f for f in run.findings if f.subject_kind == "route" and f.n_responses >= 30]
    for f in routes:
        est = f.details["selection"]["delivery_log_odds"]
        assert set(est) == {"unweighted", "weighted"}
    # The same data without offers: every finding as before, key for key and byte for byte.
    bare = correlate(selection_run.con, selection=SelectionSettings(offer_events=()))
    assert bare.selection is None and "selection" not in bare.parameters
    assert "selection" in run.parameters
    before = [orjson.dumps(f.to_json()) for f in bare.findings]
    after = [orjson.dumps(_without_selection(f.to_json())) for f in run.findings]
    assert before == after
    assert any("selection" in f.details for f in run.findings)


def test_no_offers_changes_nothing_and_says_so_once(demo_run):
    assert demo_run.run.selection is None
    assert not any("selection" in f.details for f in demo_run.run.findings)
    rows = demo_run.con.execute("SELECT selection FROM correlate_runs WHERE run_id = ?",
                                [demo_run.run.run_id]).fetchall()  # the shared connection
    assert rows == [(None,)]  # is left with no pending result for the next test


def test_stabilised_weights_are_clipped_at_the_percentiles():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.9, 4000)
    y = (rng.random(4000) < p).astype(float)
    w, (lo, hi), ess = _weights(y, p, (0.05, 0.95))
    raw = y.mean() / p[y == 1]
    assert w.min() == pytest.approx(lo) and w.max() == pytest.approx(hi)
    assert (lo, hi) == pytest.approx(tuple(np.quantile(raw, (0.05, 0.95))))
    assert 0.9 < w.mean() < 1.1  # stabilised: about 1 on average over the answers
    assert ess == pytest.approx(w.sum() ** 2 / (w ** 2).sum()) and ess < len(w)


@pytest.mark.parametrize("bad", [{"trim": [0.9, 0.1]}, {"grace_seconds": -1},
                                 {"offer_event": ["x"]}, {"trim": ["a"]}])
def test_selection_settings_refuse_bad_values(bad):
    with pytest.raises(ConfigError, match=r"\[selection\]"):
        SelectionSettings.from_mapping(bad)


def test_selection_settings_read_event_names():
    s = SelectionSettings.from_mapping({"offer_events": ["nps_shown"], "trim": [0.02, 0.98]})
    assert s == replace(SelectionSettings(), offer_events=("nps_shown",), trim=(0.02, 0.98))


def test_the_table_and_the_review_show_both_estimates(selection_run, screen, tmp_path):
    from parallax.commands.findings_table import print_findings
    from parallax.report import write_review

    routes = [f for f in selection_run.run.findings if f.subject_kind == "route"]
    print_findings(routes, evidence=False)
    shown = screen.getvalue()
    assert "answering odds" in shown and "→" in shown
    some = next(f for f in routes if f.details["selection"]["delivery_log_odds"])
    unweighted = some.details["selection"]["delivery_log_odds"]["unweighted"]["estimate"]
    assert f"{unweighted:.2f} →" in shown
    out = tmp_path / "review.html"
    write_review(selection_run.con, out, selection_run.run.run_id)
    html = out.read_text()
    assert 'id="who-answered"' in html and "customers were offered the survey" in html
    assert f"{selection_run.run.selection['offers']:,}" in html


def test_without_offers_the_table_is_as_before_and_the_review_says_so(demo_run, screen,
                                                                        tmp_path):
    from parallax.commands.findings_table import print_findings
    from parallax.report import write_review

    print_findings(list(demo_run.run.findings), evidence=False)
    assert "answering" not in screen.getvalue()
    out = tmp_path / "review.html"
    write_review(demo_run.con, out, demo_run.run.run_id)
    assert "No survey offers recorded" in out.read_text()


@pytest.mark.parametrize("command", [["correlate"], ["review", "--out", "r.html"]])
def test_the_commands_pass_the_selection_section_of_parallax_toml_to_correlate(
        command, tmp_path, monkeypatch, capsys):
    import parallax.correlate
    from parallax.cli import run
    from parallax.db import connect

    seen = []

    def fake_correlate(con, **kw):  # stops the command once it has what it would fit with
        seen.append(kw["selection"])
        raise ConfigError("stopped here")

    monkeypatch.setattr(parallax.correlate, "correlate", fake_correlate)
    monkeypatch.chdir(tmp_path)
    db, cfg = tmp_path / "p.duckdb", tmp_path / "parallax.toml"
    connect(db).close()
    cfg.write_text('[selection]\noffer_events = ["nps_opened"]\ntrim = [0.05, 0.95]\n')
    assert run(["--db", str(db), "--config", str(cfg), *command]) != 0
    assert [(s.offer_events, s.trim) for s in seen] == [(("nps_opened",), (0.05, 0.95))]
    cfg.write_text("[selection]\ntrim = [0.5]\n")  # a bad section is refused, not ignored
    capsys.readouterr()
    assert run(["--db", str(db), "--config", str(cfg), *command]) != 0
    assert len(seen) == 1 and "[selection]" in capsys.readouterr().err
