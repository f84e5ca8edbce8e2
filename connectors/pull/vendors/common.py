"""Reading one ``[sources.NAME]`` section: required settings, the secret, defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from parallax.connectors.pull import paginators as pg
from parallax.errors import ConfigError

__all__ = ["Conf", "paginator"]


class Conf:
    def __init__(self, name: str, section: Mapping[str, Any]) -> None:
        self.name, self.section = name, section

    def where(self, key: str) -> str:
        return f"[sources.{self.name}] {key}"

    def get(self, key: str, default: Any = None) -> Any:
        return self.section.get(key, default)

    def req(self, key: str) -> str:
        value = self.section.get(key)
        if value in (None, ""):
            raise ConfigError(f"[sources.{self.name}]: missing setting {key!r}")
        return str(value)

    def num(self, key: str, default: float) -> float:
        try:
            return float(self.section.get(key, default))
        except (TypeError, ValueError):
            raise ConfigError(f"{self.where(key)}: expected a number") from None

    def base_url(self, default: str | None = None) -> str:
        url = str(self.section.get("base_url") or default or "")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{self.where('base_url')}: expected an http(s) URL")
        return url.rstrip("/")

    def secret(self, required: bool = True) -> str | None:
        """The token from ``token_env`` (preferred) or ``token``; never echoed back."""
        env = self.section.get("token_env")
        if env:
            value = os.environ.get(str(env))
            if not value:
                raise ConfigError(f"{self.where('token_env')}: environment variable {env} is "
                                  "not set")
            return value
        value = self.section.get("token")
        if value:
            return str(value)
        if required:
            raise ConfigError(f"[sources.{self.name}]: no credentials; set token_env = "
                              "\"VARIABLE\" (or token)")
        return None

    def mapping(self, key: str) -> dict[str, str]:
        value = self.section.get(key, {})
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self.where(key)}: expected a table, e.g. {{ score = \"Q3\" }}")
        return {str(k): str(v) for k, v in value.items()}

    def common(self) -> dict[str, Any]:
        """SourceSpec keywords every vendor shares."""
        return {"fields": self.mapping("fields"), "options": self.mapping("options"),
                "default_days": self.num("days", 30.0), "start": self.when("since")}

    def when(self, key: str) -> datetime | None:
        value = self.section.get(key)
        if value in (None, ""):
            return None
        try:
            if isinstance(value, date) and not isinstance(value, datetime):
                value = datetime(value.year, value.month, value.day)
            dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"{self.where(key)} = {value!r}: expected an ISO date or time"
                              ) from None
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def paginator(conf: Conf) -> pg.Paginator:
    """The generic source's ``paginator = "…"`` setting."""
    kind = str(conf.get("paginator", "next_link"))
    if kind == "next_link":
        return pg.NextLink(str(conf.get("next", "next")))
    if kind == "link_header":
        return pg.LinkHeader()
    if kind == "cursor":
        return pg.Cursor(conf.req("cursor_param"), conf.req("cursor_path"))
    if kind == "offset":
        return pg.Offset(int(conf.num("limit", 100)), str(conf.get("offset_param", "offset")),
                         str(conf.get("limit_param", "limit")), conf.get("total_path"))
    if kind == "page":
        return pg.PageNumber(str(conf.get("page_param", "page")), int(conf.num("first_page", 1)),
                             conf.get("total_pages_path"), conf.get("size_param"),
                             int(conf.num("limit", 100)))
    if kind == "none":
        return pg.Single()
    raise ConfigError(f"{conf.where('paginator')} = {kind!r}: expected next_link, link_header, "
                      "cursor, offset, page or none")
