"""Keyed pseudonymisation: stable per key, different across keys, key kept out of the DB."""

from __future__ import annotations

import stat

import pytest

from parallax.connectors.privacy import Pseudonymizer, load_key
from parallax.errors import ConfigError


def test_stable_keyed_and_not_reversible_by_plain_hash() -> None:
    a, b = Pseudonymizer(b"k" * 32), Pseudonymizer(b"j" * 32)
    assert a("user-42") == a("user-42") != b("user-42")
    assert len(a("user-42")) == 32 and "user-42" not in a("user-42")
    assert a("Ann@Example.com") == a("ann@example.com")  # emails compare case-insensitively
    assert a(None) is None and a("") is None and a("  ") is None
    assert a(42) == a("42")


def test_scrub_hashes_only_identifiers() -> None:
    p = Pseudonymizer(b"k" * 32)
    out = p.scrub({"enduser.id": "bob", "client.address": "10.1.2.3", "http.route": "/x"})
    assert out == {"enduser.id": p("bob"), "client.address": p("10.1.2.3"), "http.route": "/x"}


def test_key_created_on_first_use_beside_db(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("PARALLAX_KEY", raising=False)
    db = tmp_path / "p.duckdb"
    key = load_key(db)
    key_file = tmp_path / "p.duckdb.key"
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_key(db) == key  # kept, not regenerated


def test_env_key_wins(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PARALLAX_KEY", "from-the-environment-0123456789")
    assert load_key(tmp_path / "p.duckdb") == b"from-the-environment-0123456789"
    assert not (tmp_path / "p.duckdb.key").exists()


def test_missing_or_short_key_file_is_config_error(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("PARALLAX_KEY", raising=False)
    with pytest.raises(ConfigError, match="key file not found"):
        load_key(tmp_path / "p.duckdb", tmp_path / "missing.key")
    short = tmp_path / "short.key"
    short.write_text("abc")
    with pytest.raises(ConfigError, match="shorter than 16 bytes"):
        load_key(tmp_path / "p.duckdb", short)


def test_redact_text_replaces_emails_in_verbatims() -> None:
    p = Pseudonymizer(b"k" * 32)
    text = "Call me: Ann.Lee+shop@example.co.uk, not ann@example.com!"
    out = p.redact_text(text)
    assert "example" not in out
    assert out == (f"Call me: [email:{p('Ann.Lee+shop@example.co.uk')}], "
                   f"not [email:{p('ann@example.com')}]!")
    assert p.redact_text("no address here") == "no address here"
    assert p.redact_text(None) is None


@pytest.mark.parametrize("key", [b"short-key-0123456789", b"k" * 64, b"long" * 40])
def test_pseudonym_is_hmac_sha256(key) -> None:
    import hashlib
    import hmac

    p = Pseudonymizer(key)
    for value in ("user-42", "10.1.2.3", "Ann@Example.com"):
        norm = value.lower() if "@" in value else value
        assert p(value) == hmac.new(key, norm.encode(), hashlib.sha256).hexdigest()[:32]


def test_pickles_for_worker_processes() -> None:
    import pickle

    p = Pseudonymizer(b"k" * 32)
    assert pickle.loads(pickle.dumps(p))("user-42") == p("user-42")


@pytest.mark.parametrize(("text", "kept", "gone", "tag"), [
    ("call +49 170 1234567 today", "call ", "1234567", "[phone:"),
    ("card 4111 1111 1111 1111 ok", "card ", "4111", "[card]"),
    ("card 4111-1111-1111-1111", "card ", "1111-1111", "[card]"),
    ("IBAN DE89 3704 0044 0532 0130 00 thanks", "thanks", "3704", "[iban]"),
    ("GB82WEST12345698765432", "", "WEST1234", "[iban]"),
    ("from 203.0.113.85 again", "again", "203.0.113", "[ip:"),
    ("from 2001:db8::8a2e:370:7334 again", "again", "8a2e", "[ip:"),
    ("write ann dot lee at gmail dot com", "write ", "gmail", "[email:"),
    ("write bob [at] example [dot] org", "write ", "example", "[email:"),
])
def test_redact_text_removes_personal_data(text, kept, gone, tag) -> None:
    out = Pseudonymizer(b"k" * 32).redact_text(text)
    assert gone not in out and tag in out and kept in out


@pytest.mark.parametrize("text", [
    "Order 100234987 arrived at 12:30, version 1.2.3, took 3.5 s, 10.5% off",
    "card 4111 1111 1111 1112 fails the Luhn check",
    "I will look at it. The dot com era at least", "time 2026-10-05 12:00:00",
    "a::b is c++ code", "DE12 3456 7891 2345 6789 13 has a wrong check digit",
])
def test_redact_text_leaves_ordinary_text(text) -> None:
    assert Pseudonymizer(b"k" * 32).redact_text(text) == text


def test_a_spelled_address_meets_the_written_one() -> None:
    p = Pseudonymizer(b"k" * 32)
    assert p.redact_text("ann dot lee at gmail dot com") == p.redact_text("Ann.Lee@gmail.com")


@pytest.mark.parametrize("value", ["short", "x" * 15])
def test_short_env_key_is_refused(tmp_path, monkeypatch, value) -> None:
    monkeypatch.setenv("PARALLAX_KEY", value)
    with pytest.raises(ConfigError, match=r"\$PARALLAX_KEY: .*shorter than 16 bytes"):
        load_key(tmp_path / "p.duckdb")
    monkeypatch.setenv("PARALLAX_KEY", "x" * 16)
    assert load_key(tmp_path / "p.duckdb") == b"x" * 16


@pytest.mark.parametrize(("mode", "who"), [(0o640, "its group"), (0o604, "others"),
                                           (0o644, "others")], ids=["0640", "0604", "0644"])
def test_a_key_file_others_can_read_warns(tmp_path, monkeypatch, capsys, mode, who) -> None:
    monkeypatch.delenv("PARALLAX_KEY", raising=False)
    key = tmp_path / f"k{mode:o}.key"
    key.write_text("a-long-enough-key-0123456789\n")
    key.chmod(mode)
    assert load_key(tmp_path / "p.duckdb", key) == b"a-long-enough-key-0123456789"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"open to {who} (mode 0{mode:o})" in err
    assert f"chmod 600 {key}" in err
    load_key(tmp_path / "p.duckdb", key)
    assert capsys.readouterr().err == ""  # once a process
    key.chmod(0o600)
    private = tmp_path / "private.key"
    private.write_text("a-long-enough-key-0123456789\n")
    private.chmod(0o600)
    load_key(tmp_path / "p.duckdb", private)
    assert capsys.readouterr().err == ""
