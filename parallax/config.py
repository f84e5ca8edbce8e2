"""parallax.toml: optional settings, every one with a sensible default.

Looked up as ``--config PATH``, else ``$PARALLAX_CONFIG``, else ``./parallax.toml``.

    [privacy]
    key_file = "secrets/parallax.key"   # else $PARALLAX_KEY, else <db>.key created on first use

    [routes]                            # user rules run before the built-in normalisation
    rules = [ { match = '^/p/[^/]+$', route = "/p/{slug}" } ]

    [ingest]
    max_reject_rate = 0.01

    [analytics]
    session_param = "session_id"        # GA4 event param carrying the shared session id
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from parallax.errors import ConfigError

__all__ = ["Config", "RouteRule", "load_config"]


@dataclass(frozen=True)
class RouteRule:
    match: str  # a regular expression searched in the path
    route: str  # the template that replaces the whole path when it matches


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    key_file: Path | None = None
    route_rules: tuple[RouteRule, ...] = ()
    max_reject_rate: float = 0.01
    session_param: str = "session_id"
    extra: dict = field(default_factory=dict, compare=False)


def load_config(path: Path | None = None) -> Config:
    explicit = path is not None or "PARALLAX_CONFIG" in os.environ
    path = path or Path(os.environ.get("PARALLAX_CONFIG", "parallax.toml"))
    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: config file not found")
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    try:
        privacy = data.get("privacy", {})
        key_file = privacy.get("key_file")
        rules = tuple(
            RouteRule(match=str(r["match"]), route=str(r["route"]))
            for r in data.get("routes", {}).get("rules", [])
        )
        rate = float(data.get("ingest", {}).get("max_reject_rate", 0.01))
        param = str(data.get("analytics", {}).get("session_param", "session_id"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{path}: invalid setting: {exc!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"{path}: [ingest] max_reject_rate must be between 0 and 1, got {rate}")
    return Config(
        path=path,
        key_file=(path.parent / key_file) if key_file else None,
        route_rules=rules,
        max_reject_rate=rate,
        session_param=param,
        extra=data,
    )
