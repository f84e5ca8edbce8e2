"""How the next page is asked for. One small class per style, all behind ``Paginator``:

* ``NextLink``   the page names the next page's URL (``links.next``, PostHog ``next``);
* ``LinkHeader`` the URL is in the ``Link: <…>; rel="next"`` header (RFC 8288);
* ``Cursor``     the page holds an opaque token, sent back as a query parameter;
* ``Offset``     ``offset``/``limit`` parameters, until a short page or the total;
* ``PageNumber`` ``page=1, 2, …``, until an empty page or the page count;
* ``Single``     one page.

A paginator never loops on its own: the fetch loop refuses a request it has already sent or a
page identical to the one before (``RepeatingPage``), whatever the paginator said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import httpx

__all__ = ["Cursor", "LinkHeader", "NextLink", "Offset", "PageNumber", "Paginator", "Request",
           "Single"]


@dataclass(frozen=True)
class Request:
    url: str  # absolute
    params: Mapping[str, Any] = field(default_factory=dict)
    method: str = "GET"
    json: Any = None
    form: Mapping[str, str] | None = None

    def key(self) -> tuple:
        """What makes two requests the same page (repeat detection)."""
        return (self.method, self.url, tuple(sorted((k, str(v)) for k, v in self.params.items())),
                repr(self.json), tuple(sorted((self.form or {}).items())))


class Paginator(Protocol):
    def first(self, request: Request) -> Request: ...

    def next(self, request: Request, response: httpx.Response, page: Any,
             records: list[Any]) -> Request | None: ...


def _dig(doc: Any, path: str) -> Any:
    for part in path.split("."):
        doc = doc.get(part) if isinstance(doc, Mapping) else None
    return doc


@dataclass(frozen=True)
class Single:
    def first(self, request: Request) -> Request:
        return request

    def next(self, request, response, page, records) -> Request | None:
        return None


@dataclass(frozen=True)
class NextLink:
    path: str = "links.next"  # dotted path to the next URL in the page

    def first(self, request: Request) -> Request:
        return request

    def next(self, request, response, page, records) -> Request | None:
        url = _dig(page, self.path)
        if not url or not records:
            return None
        # The link carries every parameter of the next page; relative links are resolved.
        return replace(request, url=str(response.url.join(str(url))), params={})


@dataclass(frozen=True)
class LinkHeader:
    def first(self, request: Request) -> Request:
        return request

    def next(self, request, response, page, records) -> Request | None:
        url = response.links.get("next", {}).get("url")
        if not url or not records:
            return None
        return replace(request, url=str(response.url.join(url)), params={})


@dataclass(frozen=True)
class Cursor:
    param: str  # query parameter the token is sent in
    path: str  # dotted path to the token in the page

    def first(self, request: Request) -> Request:
        return request

    def next(self, request, response, page, records) -> Request | None:
        token = _dig(page, self.path)
        if token in (None, "") or not records:
            return None
        return replace(request, params={**request.params, self.param: token})


@dataclass(frozen=True)
class Offset:
    limit: int = 100
    offset_param: str = "offset"
    limit_param: str = "limit"
    total_path: str | None = None  # dotted path to the total count, when the API gives one

    def first(self, request: Request) -> Request:
        return replace(request, params={**request.params, self.offset_param: 0,
                                        self.limit_param: self.limit})

    def next(self, request, response, page, records) -> Request | None:
        offset = int(request.params.get(self.offset_param, 0)) + len(records)
        total = _dig(page, self.total_path) if self.total_path else None
        if len(records) < self.limit or (total is not None and offset >= int(total)):
            return None
        return replace(request, params={**request.params, self.offset_param: offset})


@dataclass(frozen=True)
class PageNumber:
    param: str = "page"
    start: int = 1
    total_pages_path: str | None = None
    size_param: str | None = None
    size: int = 100

    def first(self, request: Request) -> Request:
        params = {**request.params, self.param: self.start}
        if self.size_param:
            params[self.size_param] = self.size
        return replace(request, params=params)

    def next(self, request, response, page, records) -> Request | None:
        number = int(request.params.get(self.param, self.start))
        pages = _dig(page, self.total_pages_path) if self.total_pages_path else None
        if not records or (pages is not None and number - self.start + 1 >= int(pages)):
            return None
        return replace(request, params={**request.params, self.param: number + 1})
