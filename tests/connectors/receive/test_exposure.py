"""Who can reach the receiver: no token beyond loopback unless asked for in so many words,
no Host it was not told about (DNS rebinding), no counters without the token."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from parallax.cli import run
from parallax.connectors.receive import ServeSettings
from parallax.errors import ConfigError

DB = Path("data/p.duckdb")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "shop.internal"])
def test_beyond_loopback_without_a_token_is_refused(host, monkeypatch):
    monkeypatch.delenv("PARALLAX_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=f"refusing to listen on {host} without a token"):
        ServeSettings.from_config(DB, {}, host=host)
    assert ServeSettings.from_config(DB, {}, host=host, token="t").token == "t"
    insecure = ServeSettings.from_config(DB, {}, host=host, insecure_no_token=True)
    assert insecure.token is None and not insecure.loopback
    with pytest.raises(ConfigError, match="unknown setting"):  # never from the file
        ServeSettings.from_config(DB, {"insecure_no_token": True}, host=host)
    for loopback in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert ServeSettings.from_config(DB, {}, host=loopback).loopback


def test_the_command_refuses_in_one_line_with_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PARALLAX_TOKEN", raising=False)
    code = run(["--db", str(tmp_path / "p.duckdb"), "serve", "--host", "0.0.0.0"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--insecure-no-token" in err


def test_an_unknown_host_header_is_answered_421(serve):
    with serve(allowed_hosts=("otel.example", "*.shop.example")) as (url, receiver):
        port = url.rsplit(":", 1)[1]

        def status(host: str) -> int:
            return httpx.get(f"{url}/healthz", headers={"Host": host}).status_code

        for ok in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}",
                   "10.1.2.3", "otel.example", f"OTEL.example.:{port}", "a.shop.example"):
            assert status(ok) == 200, ok
        for bad in ("attacker.example", f"attacker.example:{port}", "shop.example",
                    "localhost.attacker.example", "otel.example.attacker.example"):
            assert status(bad) == 421, bad
        r = httpx.post(f"{url}/v1/feedback", json={"score": 3},
                       headers={"Host": "rebound.attacker.example"})
        assert r.status_code == 421 and "allowed_hosts" in r.json()["message"]
        assert receiver.stats.wrong_host == 6 and receiver.stats.feedback_accepted == 0


def test_allowed_hosts_setting():
    s = ServeSettings.from_config(DB, {"allowed_hosts": ["A.example."]})
    assert s.allowed_hosts == ("a.example",)
    assert ServeSettings.from_config(DB, {"allowed_hosts": "b.example"}).allowed_hosts == (
        "b.example",)
    with pytest.raises(ConfigError, match="list of host names"):
        ServeSettings.from_config(DB, {"allowed_hosts": [""]})


def test_healthz_counters_need_the_token(serve):
    with serve(token="s3cret") as (url, _):
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        full = httpx.get(f"{url}/healthz", headers={"Authorization": "Bearer s3cret"}).json()
        assert full["status"] == "ok" and "spans_accepted" in full
        assert httpx.get(f"{url}/healthz", headers={"Authorization": "Bearer nope"}).json() \
            == {"status": "ok"}
