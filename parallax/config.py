"""parallax.toml: optional settings, every one with a sensible default.

Looked up as ``--config PATH``, else ``$PARALLAX_CONFIG``, else ``./parallax.toml``.

    [privacy]
    key_file = "secrets/parallax.key"   # else $PARALLAX_KEY, else <db>.key created on first use

    [routes]
    templates = ["/category/{slug}"]    # declared templates, any framework's syntax
    learn = true                        # learn templates from spans (http.route + url.path)
    rules = [ { match = '^/p/[^/]+$', route = "/p/{slug}" } ]   # regex rules win over all

    [ingest]
    max_reject_rate = 0.01

    [analytics]
    session_param = "session_id"        # GA4 event param carrying the shared session id
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from parallax.errors import ConfigError

__all__ = ["Config", "RouteRule", "load_config", "section_settings"]

_S = TypeVar("_S")


@dataclass(frozen=True)
class RouteRule:
    match: str  # a regular expression searched in the path
    route: str  # the template that replaces the whole path when it matches


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    key_file: Path | None = None
    route_rules: tuple[RouteRule, ...] = ()
    route_templates: tuple[str, ...] = ()
    route_learn: bool = True
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
        routes = data.get("routes", {})
        rules = tuple(
            RouteRule(match=str(r["match"]), route=str(r["route"]))
            for r in routes.get("rules", [])
        )
        templates = routes.get("templates", [])
        learn = routes.get("learn", True)
        rate = float(data.get("ingest", {}).get("max_reject_rate", 0.01))
        param = str(data.get("analytics", {}).get("session_param", "session_id"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{path}: invalid setting: {exc!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"{path}: [ingest] max_reject_rate must be between 0 and 1, got {rate}")
    if not (isinstance(templates, list) and all(isinstance(t, str) for t in templates)):
        raise ConfigError(f"{path}: [routes] templates must be a list of strings")
    if not isinstance(learn, bool):
        raise ConfigError(f"{path}: [routes] learn must be true or false, got {learn!r}")
    from parallax.connectors.routes import RouteNormalizer  # here: that module imports this one

    try:
        RouteNormalizer(declared=tuple(templates))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return Config(
        path=path,
        key_file=(path.parent / key_file) if key_file else None,
        route_rules=rules,
        route_templates=tuple(templates),
        route_learn=learn,
        max_reject_rate=rate,
        session_param=param,
        extra=data,
    )


def section_settings(cls: type[_S], data: Mapping, where: str, *, strict: bool = False) -> _S:
    """A settings dataclass from one table of parallax.toml, every problem one line naming
    ``where``: an unknown key is refused; a ``tuple`` field takes a list of strings; a number
    field is converted with ``int``/``float`` (``"30"`` is 30), or with ``strict`` must already
    be a whole number. Ranges are the class's own to check."""
    known = {f.name: str(f.type) for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - set(known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    try:
        for key, value in data.items():
            if known[key].startswith("tuple"):
                if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                    raise ConfigError(f"{where}: {key} must be a list of strings")
                values[key] = tuple(value)
            elif strict and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f"{where}: {key} must be a whole number, got {value!r}")
            else:
                values[key] = int(value) if known[key] == "int" else float(value)
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
