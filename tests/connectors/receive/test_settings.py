"""``[serve]`` settings: defaults, overrides, checks, and a token that is never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from parallax.connectors.receive import ServeSettings
from parallax.errors import ConfigError

DB = Path("data/p.duckdb")


def test_defaults_overrides_and_token_from_env(monkeypatch):
    monkeypatch.setenv("PARALLAX_TOKEN", "from-env")
    s = ServeSettings.from_config(DB, {"allowed_origins": "https://shop.example/",
                                       "rating_scale": "0-10", "handoff_seconds": 1},
                                  port=9000, host=None)
    assert (s.host, s.port, s.token) == ("127.0.0.1", 9000, "from-env")
    assert s.allowed_origins == ("https://shop.example",) and s.rating_scale == (0.0, 10.0)
    assert s.handoff_seconds == 1.0 and s.spool == Path("data/p.duckdb.spool")
    assert "from-env" not in repr(s) and "token=set" in repr(s)
    assert ServeSettings.from_config(DB, {}, token="cli").token == "cli"


@pytest.mark.parametrize(("section", "message"), [
    ({"tokn": "x"}, "unknown setting"),
    ({"token": "x"}, "unknown setting"),  # never from the file
    ({"port": 70000}, "port 70000"),
    ({"queue_spans": 0}, "queue_spans must be > 0"),
    ({"rating_scale": "5-1"}, "rating_scale"),
    ({"allowed_origins": [1]}, "list of origins"),
    ({"max_body_bytes": True}, "expected a number"),
])
def test_bad_settings_are_config_errors(section, message):
    with pytest.raises(ConfigError, match=message):
        ServeSettings.from_config(DB, section)
