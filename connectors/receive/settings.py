"""``[serve]`` settings for the receiver, with command-line overrides and their checks.

    [serve]
    host = "127.0.0.1"              # bind address; anything else exposes the receiver
    port = 4318                     # the OTLP/HTTP default
    allowed_origins = ["https://shop.example"]   # CORS for browser exporters ("*" = any)
    max_body_bytes = 8388608        # as received and after gzip; larger bodies get 413
    queue_spans = 100000            # spans waiting for the spool; beyond it 429 + Retry-After
    batch_spans = 10000             # spans per spool write (or batch_ms, whichever first)
    batch_ms = 50
    handoff_seconds = 2.0           # how often spooled batches move into the database
    max_spool_bytes = 1073741824    # spool backlog (database locked for long) beyond it: 503
    spool_dir = "parallax.duckdb.spool"   # default: <db>.spool next to the database
    rating_scale = "1-5"            # scale of in-page answers with metric "rating"
    log_seconds = 60                # the status line's interval
    retry_after = 1                 # seconds, in Retry-After of 429 and 503 answers
    allowed_hosts = ["otel.example"]   # Host header names accepted besides IP literals,
                                       # localhost and --host (DNS rebinding); "*" = any
    header_timeout = 10             # s to send a request's headers (idle connections too)
    body_timeout = 30               # s to send a whole body once the headers are in
    max_connections = 1000          # open connections; more: the longest idle is closed, or 503
    max_buffered_bytes = 134217728  # request bytes held across all requests; beyond: 503
    max_value_bytes = 8192          # an attribute value (string, bytes, array) is cut to this
    max_name_bytes = 1024           # a span / event / scope name, attribute key is cut to this
    min_free_bytes = 67108864       # 503 while the spool's disk has less free

The bearer token is ``--token``, else ``$PARALLAX_TOKEN``; it is never read from the file
(config files get committed) and never logged. Listening on anything but loopback without a
token is refused unless ``--insecure-no-token`` (command line only, like the token).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from parallax.errors import ConfigError

__all__ = ["LOOPBACK", "ServeSettings", "is_loopback"]

_SCALE_HINT = 'expected "LO-HI", e.g. "1-5"'
_COMMAND_LINE_ONLY = ("token", "insecure_no_token")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class ServeSettings:
    db_path: Path
    host: str = "127.0.0.1"
    port: int = 4318
    token: str | None = None
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = 8 << 20
    queue_spans: int = 100_000
    batch_spans: int = 10_000
    batch_ms: int = 50
    handoff_seconds: float = 2.0
    max_spool_bytes: int = 1 << 30
    spool_dir: Path | None = None
    rating_scale: tuple[float, float] = (1.0, 5.0)
    log_seconds: float = 60.0
    retry_after: int = 1
    allowed_hosts: tuple[str, ...] = ()
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 1000
    max_buffered_bytes: int = 128 << 20
    max_value_bytes: int = 8192
    max_name_bytes: int = 1024
    min_free_bytes: int = 64 << 20
    insecure_no_token: bool = False

    def __repr__(self) -> str:  # never print the token
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "token"}
        return f"ServeSettings({shown}, token={'set' if self.token else 'unset'})"

    @property
    def spool(self) -> Path:
        return self.spool_dir or self.db_path.with_name(self.db_path.name + ".spool")

    @classmethod
    def from_config(cls, db_path: Path, section: Mapping[str, Any],
                    **overrides: Any) -> ServeSettings:
        """``[serve]`` values, then non-None ``overrides`` (command-line options), checked."""
        known = {f.name for f in fields(cls)} - {"db_path", *_COMMAND_LINE_ONLY}
        unknown = set(section) - known
        if unknown:
            raise ConfigError(f"[serve]: unknown setting(s) {', '.join(sorted(unknown))}")
        out = cls(db_path=db_path)
        values = {**section, **{k: v for k, v in overrides.items() if v is not None}}
        converted: dict[str, Any] = {}
        for name, value in values.items():
            converted[name] = _convert(name, value, getattr(out, name))
        if "token" not in converted and os.environ.get("PARALLAX_TOKEN"):
            converted["token"] = os.environ["PARALLAX_TOKEN"]
        return replace(out, **converted)._checked()

    def _checked(self) -> ServeSettings:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"[serve] port {self.port}: expected 0-65535")
        positive = ("max_body_bytes", "queue_spans", "batch_spans", "batch_ms",
                    "handoff_seconds", "max_spool_bytes", "log_seconds", "retry_after",
                    "header_timeout", "body_timeout", "max_connections", "max_buffered_bytes",
                    "max_value_bytes", "max_name_bytes")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"[serve] {name} must be > 0, got {getattr(self, name)}")
        if self.min_free_bytes < 0:
            raise ConfigError(f"[serve] min_free_bytes must be >= 0, got {self.min_free_bytes}")
        if self.max_buffered_bytes < self.max_body_bytes:
            raise ConfigError(f"[serve] max_buffered_bytes ({self.max_buffered_bytes}) must be "
                              f">= max_body_bytes ({self.max_body_bytes})")
        if self.token is not None and not self.token.strip():
            raise ConfigError("--token: empty token")
        if not self.token and not self.loopback and not self.insecure_no_token:
            raise ConfigError(f"refusing to listen on {self.host} without a token: anyone who "
                              "can reach it could write; set PARALLAX_TOKEN (or --token), or "
                              "pass --insecure-no-token")
        return self

    @property
    def loopback(self) -> bool:
        """Listening on this machine only."""
        return is_loopback(self.host)


def _convert(name: str, value: Any, default: Any) -> Any:
    where = f"[serve] {name}"
    if name == "token":
        return str(value)
    if name == "insecure_no_token":
        return bool(value)
    if name == "allowed_hosts":
        if isinstance(value, str):
            value = [value]
        if not (isinstance(value, list | tuple) and all(
                isinstance(v, str) and v.strip() for v in value)):
            raise ConfigError(f"{where}: expected a list of host names, e.g. "
                              '["otel.example"]')
        return tuple(v.strip().lower().rstrip(".") for v in value)
    if name == "allowed_origins":
        if isinstance(value, str):
            value = [value]
        if not (isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{where}: expected a list of origins, e.g. "
                              '["https://shop.example"]')
        return tuple(v.rstrip("/") for v in value)
    if name == "rating_scale":
        return _scale(value, where)
    if name == "spool_dir":
        return Path(str(value))
    if isinstance(default, bool) or isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if isinstance(default, int) and isinstance(value, int):
        return value
    if isinstance(default, float) and isinstance(value, int | float):
        return float(value)
    if isinstance(default, str) and isinstance(value, str):
        return value
    raise ConfigError(f"{where}: expected {type(default).__name__}, got {value!r}")


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _scale(value: Any, where: str) -> tuple[float, float]:
    lo, sep, hi = str(value).partition("-")
    try:
        low, high = float(lo), float(hi)
    except ValueError:
        raise ConfigError(f"{where} {value!r}: {_SCALE_HINT}") from None
    if not sep or low >= high:
        raise ConfigError(f"{where} {value!r}: {_SCALE_HINT}")
    return low, high
