"""Verbatims: topic and sentiment lexicons on real-looking multilingual answers (English,
German, French, Spanish, with negation), and said vs measured on a hand-built database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from parallax.cli import run
from parallax.db import connect
from parallax.errors import NoDataError
from parallax.insights.text_analysis import LANGUAGES, TOPICS, analyse, detect_language, lexicons
from parallax.insights.verbatims import verbatim_report

# (verbatim, language, sentiment label, complaints, praise)
CASES = [
    ("The page took forever to load", "en", "negative", {"slowness"}, set()),
    ("so slow, I almost gave up", "en", "negative", {"slowness"}, set()),
    ("Checkout was not slow at all, great job", "en", "positive", set(), {"slowness"}),
    ("not fast enough on my phone", "en", "negative", {"slowness"}, set()),
    ("error 503 when I opened the product", "en", "negative", {"errors"}, set()),
    ("payment failed twice, very annoying", "en", "negative", {"errors", "payment"}, set()),
    ("no errors this time, works great", "en", "positive", set(), {"errors"}),
    ("prices are too high", "en", "negative", {"price"}, set()),
    ("can't find my orders, confusing layout", "en", "negative", {"usability"}, set()),
    ("The parcel arrived late and damaged", "en", "negative", {"delivery"}, set()),
    ("Sold out again, the size I wanted is out of stock", "en", "negative", {"stock"}, set()),
    ("fast and easy", "en", "positive", set(), {"slowness", "usability"}),
    ("fine, nothing special", "en", "neutral", set(), set()),
    ("Seite lädt ewig", "de", "negative", {"slowness"}, set()),
    ("Die Seite ist nicht langsam, alles super", "de", "positive", set(), {"slowness"}),
    ("Das war leider nicht schnell genug", "de", "negative", {"slowness"}, set()),
    ("Bestellübersicht ist total unübersichtlich", "de", "negative", {"usability"}, set()),
    ("Die Zahlung ist fehlgeschlagen, sehr ärgerlich", "de", "negative",
     {"errors", "payment"}, set()),
    ("Der Kundenservice war sehr freundlich und hilfsbereit", "de", "positive", set(),
     {"support"}),
    ("Super, alles top!", "de", "positive", set(), set()),
    ("Le site est très lent et le paiement a échoué", "fr", "negative",
     {"slowness", "errors", "payment"}, set()),
    ("Ce n'est pas cher et la livraison est rapide", "fr", "positive", set(),
     {"price", "slowness"}),
    ("La página es muy lenta", "es", "negative", {"slowness"}, set()),
    ("No es lento, me encanta", "es", "positive", set(), {"slowness"}),
    ("El pago fue rechazado", "es", "negative", {"payment"}, set()),
]


@pytest.mark.parametrize(("text", "language", "label", "complaints", "praise"), CASES)
def test_topics_sentiment_and_language(text, language, label, complaints, praise) -> None:
    a = analyse(text)
    assert a.language == language
    assert a.label == label, a
    assert set(a.complaints) == complaints, a
    assert set(a.praise) == praise, a
    assert set(a.complaints) | set(a.praise) <= set(a.topics)


def test_negation_flips_a_complaint_and_stays_within_its_clause() -> None:
    assert analyse("slow").complaints == ("slowness",)
    assert analyse("not slow").praise == ("slowness",)
    assert analyse("nicht langsam").praise == ("slowness",)
    assert analyse("pas lent").praise == ("slowness",)
    # "but" and punctuation end the negation's reach
    assert analyse("not what I expected, but slow").complaints == ("slowness",)
    assert analyse("no, slow").complaints == ("slowness",)
    assert analyse("not slow").sentiment == pytest.approx(0.75)  # -1 × -0.75


def test_undetermined_language_is_read_with_every_lexicon() -> None:
    assert detect_language("ok") == "und"
    a = analyse("ok")
    assert (a.language, a.label, a.topics) == ("und", "neutral", ())
    assert analyse("langsam", language="und").complaints == ("slowness",)


def test_every_language_ships_every_topic() -> None:
    lex = lexicons()
    assert tuple(lex) == LANGUAGES
    for lx in lex.values():
        topics = {t for cues in lx.cues.values() for c in cues for t, _ in c.topics}
        assert topics == set(TOPICS), lx.language
        assert lx.stopwords and lx.negators


T0 = datetime(2026, 10, 5, 12, tzinfo=UTC)


def _page(con, session: str, route: str, at_min: int, load_ms: float, *, status: int = 200,
          failed_peer: str | None = None) -> None:
    trace = f"t-{session}-{at_min}"
    start = T0 + timedelta(minutes=at_min)
    rows = [(trace, "1", "internal", "documentLoad", start, load_ms, False, None, route, None,
             session), (trace, "2", "server", f"GET {route}", start, 100.0, status >= 500,
                         status, route, None, session)]
    if failed_peer:
        rows.append((trace, "3", "client", "POST", start, 50.0, True, None, None, failed_peer,
                     None))
    for r in rows:
        con.execute(
            "INSERT INTO spans (trace_id, span_id, kind, name, started_at, duration_ms, "
            "is_error, status_code, route, peer, session_id, service, source, load_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'shop', 'test', 'l1')", list(r))


def _answer(con, session: str, route: str, at_min: int, score: int, verbatim: str) -> None:
    con.execute(
        "INSERT INTO feedback (feedback_id, source, submitted_at, channel, metric, score, "
        "scale_min, scale_max, is_poor, verbatim, session_id, route, load_id) "
        "VALUES (?, 'test', ?, 'web', 'nps', ?, 0, 10, ?, ?, ?, ?, 'l1')",
        [f"r-{session}", T0 + timedelta(minutes=at_min), score, score <= 6, verbatim, session,
         route])


@pytest.fixture
def world(tmp_path):
    path = tmp_path / "v.duckdb"
    con = connect(path)
    _page(con, "s1", "/cart", 0, 900.0)  # fine, yet "so slow"
    _answer(con, "s1", "/cart", 1, 2, "so slow, I almost gave up")
    _page(con, "s2", "/cart", 0, 800.0, status=503)  # an error page, yet praise
    _answer(con, "s2", "/cart", 1, 10, "great, love the shop")
    _page(con, "s3", "/cart", 0, 7000.0)  # slow, and said so: in neither list
    _answer(con, "s3", "/cart", 1, 1, "Seite lädt ewig")
    _page(con, "s4", "/cart", 0, 1200.0, failed_peer="psp")  # failed call, complains of price
    _answer(con, "s4", "/cart", 1, 4, "prices are too high")
    _page(con, "s5", "/", 0, 700.0)  # fine and happy: in neither list
    _answer(con, "s5", "/", 1, 9, "fast and easy")
    _answer(con, "s6", "/", 2, 8, "   ")  # blank: not a verbatim
    yield con, path
    con.close()


def test_said_vs_measured(world) -> None:
    con, _ = world
    cart, home = verbatim_report(con)
    assert (cart.route, cart.verbatims, home.route, home.verbatims) == ("/cart", 4, "/", 1)
    assert [m.verbatim for m in cart.said_not_measured] == ["so slow, I almost gave up"]
    assert cart.said_not_measured[0].load_ms == pytest.approx(900.0)
    assert [m.verbatim for m in cart.measured_not_said] == ["great, love the shop",
                                                           "prices are too high"]
    great, price = cart.measured_not_said
    assert great.error and "praises" in great.why
    assert price.failed_dependencies == ("psp",) and "price" in price.why
    assert cart.delivery == {"fine": 1, "bad": 3, "unknown": 0}
    assert cart.languages == {"en": 3, "de": 1}
    assert cart.sentiment == {"positive": 1, "neutral": 0, "negative": 3}
    slowness = next(t for t in cart.topics if t.topic == "slowness")
    assert (slowness.verbatims, slowness.complaints, slowness.poor_share) == (2, 2, 1.0)
    assert home.said_not_measured == home.measured_not_said == ()


def test_route_filter_limit_and_no_data(world) -> None:
    con, _ = world
    [cart] = verbatim_report(con, route="/cart", limit=1)
    assert len(cart.measured_not_said) == 1 and cart.mismatches["measured_not_said"] == 2
    with pytest.raises(NoDataError):
        verbatim_report(con, route="/nowhere")


def test_cli_json_and_table(world, capsys) -> None:
    con, path = world
    con.close()
    assert run(["--db", str(path), "verbatims", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["route"] for r in doc] == ["/cart", "/"]
    assert doc[0]["said_not_measured"][0]["why"].startswith("complains of slowness")
    assert run(["--db", str(path), "verbatims", "--route", "/cart"]) == 0
    out = capsys.readouterr().out
    assert "said, not measured (1)" in out and "measured, not said (2)" in out
