"""Sources as data: what to call, how to page, where the records and the cursor are.

A vendor module turns a ``[sources.NAME]`` section into a ``SourceSpec``; the one fetch loop
(``fetch``) reads nothing else. Shapes the loop knows, one field each:

* ``paginator``  how the next page is asked for (``paginators``);
* ``cursor``     incremental by a record field sent back as a query parameter;
* ``window``     incremental by time windows, for APIs that search a time range (traces);
* ``detail``     fan-out: one more request per listed record (Tempo: search, then each trace);
* ``export``     an asynchronous export job (Qualtrics: start, poll, download a zip);
* ``folder``     files dropped in a folder, incremental by the date in the name (GA4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from parallax.connectors.base import FileFormat
from parallax.connectors.pull.paginators import Paginator, Single

__all__ = ["Auth", "CursorSpec", "DetailSpec", "ExportSpec", "FolderSpec", "RateLimit",
           "SourceSpec", "WindowSpec", "dig"]


@dataclass(frozen=True)
class Auth:
    """How the secret travels: a header (``Bearer {secret}``, ``{secret}``), a query
    parameter, or a form field of a POST body (Matomo's token_auth)."""

    secret: str = field(repr=False)
    header: str | None = "Authorization"
    template: str = "Bearer {secret}"
    param: str | None = None
    form: str | None = None

    def __repr__(self) -> str:  # never show the secret, even in a traceback
        return f"Auth(header={self.header!r}, param={self.param!r}, form={self.form!r})"


@dataclass(frozen=True)
class RateLimit:
    """Headers a vendor announces its quota with (SurveyMonkey ``X-Ratelimit-*``): when the
    remaining count reaches 0, wait the reset seconds before the next request."""

    remaining: str
    reset: str


@dataclass(frozen=True)
class CursorSpec:
    field: str  # dotted path in a record: 'timestamp', 'date_modified'
    param: str | None  # query parameter carrying the start value, None: filter client-side
    unit: str = "iso"  # how the parameter is written: iso | s | ms | us
    ordered: bool = True  # pages come oldest first: the cursor may advance per page


@dataclass(frozen=True)
class WindowSpec:
    """Time windows [start, end) walked oldest first; each window is one request."""

    start_param: str | None  # None: the start is given as ``lookback`` = end - start (Zipkin)
    end_param: str | None
    unit: str  # s | ms | us
    seconds: float = 3600.0
    lookback_param: str | None = None
    limit_param: str | None = None
    limit: int = 1000  # a window that returns this many records is split in half
    # Asked this much further back than the window starts: Zipkin returns only traces whose
    # spans all lie inside [endTs - lookback, endTs], so one crossing a window edge needs it.
    overlap: float = 0.0


@dataclass(frozen=True)
class DetailSpec:
    path: str  # '/api/v2/traces/{id}'
    id_field: str  # the listed record's field filling {id}
    combine: Callable[[list[Any]], Any]  # detail documents → one spooled document


@dataclass(frozen=True)
class ExportSpec:
    start_path: str  # POST: starts the job, answers result.progressId
    body: Mapping[str, Any]
    poll_path: str  # '{progress_id}' filled in
    file_path: str  # '{file_id}' filled in
    start_field: str = "startDate"  # body fields carrying the time window
    end_field: str = "endDate"
    poll_seconds: float = 1.0
    max_polls: int = 600


@dataclass(frozen=True)
class FolderSpec:
    path: str
    pattern: str  # a regular expression; group 'date' is YYYYMMDD


@dataclass(frozen=True)
class SourceSpec:
    name: str  # the [sources.NAME] name
    type: str  # qualtrics | surveymonkey | json | jaeger | tempo | zipkin | posthog | …
    kind: str  # traces | feedback | analytics
    format: str | FileFormat | None  # how a spooled page is read (None: detect, folders)
    base_url: str = ""
    path: str = ""
    method: str = "GET"
    params: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: Auth | None = None
    paginator: Paginator = field(default_factory=Single)
    records: str = ""  # dotted path to the record list in a page; '' = the page is the list
    cursor: CursorSpec | None = None
    window: WindowSpec | None = None
    detail: DetailSpec | None = None
    export: ExportSpec | None = None
    folder: FolderSpec | None = None
    rate_limit: RateLimit | None = None
    error: Callable[[Any], str | None] | None = None  # an error reported inside a 200 page
    suffix: str = ".json"  # spooled file name ending
    spool: Callable[[Any, list[Any]], Any] | None = None  # page, records → document to store
    fields: Mapping[str, str] = field(default_factory=dict)  # loader --field mapping
    options: Mapping[str, str] = field(default_factory=dict)  # loader format options
    default_days: float = 30.0  # first pull without --since: this far back
    start: datetime | None = None  # first pull starts here (the ``since`` setting)

    @property
    def secret(self) -> str | None:
        return self.auth.secret if self.auth else None


def dig(doc: Any, path: str) -> Any:
    """The value at a dotted path ('' = the document itself); None when absent."""
    if not path:
        return doc
    for part in path.split("."):
        if isinstance(doc, Mapping):
            doc = doc.get(part)
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return None
    return doc
