"""The one retry policy and the one way a request is sent.

Timeouts, connection errors, 429 and 5xx are retried with exponential backoff and full jitter,
at most ``attempts`` times; ``Retry-After`` (seconds or an HTTP date) and a vendor's rate-limit
reset header win over the backoff. 401, 403, 404 and every other 4xx fail at once: asking again
cannot help, and the message says what to fix. ``sleep`` and ``jitter`` are injectable so
tests run in milliseconds.

The secret is attached here and nowhere else, only to requests for the configured host (a next
link pointing elsewhere never receives it), and every message is scrubbed of it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, quote_plus

import httpx

from parallax.connectors.pull.paginators import Request
from parallax.connectors.pull.spec import Auth, RateLimit
from parallax.errors import FetchError

__all__ = ["FetchError", "Http", "RetryPolicy", "scrub"]

_HINTS = {
    401: "the API refused the credentials (401): check the token (token_env or token)",
    403: "access denied (403): the token lacks the permission or scope for this resource",
    404: "not found (404): check base_url and the ids in the source's settings",
}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base: float = 0.5  # first backoff, seconds; doubles each attempt
    cap: float = 60.0  # longest backoff
    timeout: float = 30.0  # per request (connect, read, write, pool)
    max_wait: float = 600.0  # a Retry-After longer than this fails instead of hanging
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    jitter: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return self.jitter() * min(self.cap, self.base * 2 ** attempt)


def scrub(text: str, secret: str | None) -> str:
    """``text`` without the secret, as written or as a URL carries it (``+/=&`` encoded)."""
    if not secret:
        return text
    for form in sorted({secret, quote(secret, safe=""), quote_plus(secret), quote(secret)},
                       key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port (the default port made explicit): where a secret may go."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def _retry_after(response: httpx.Response, rate: RateLimit | None) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None and rate is not None:
        value = response.headers.get(rate.reset)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _ScrubLog(logging.Filter):
    """httpx logs every request URL at INFO: a token sent as a query parameter would be in it."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = scrub(text, self.secret)
        if clean != text:
            record.msg, record.args = clean, ()
        return True


class Http:
    """Sends one source's requests through the policy; ``name`` prefixes every error."""

    def __init__(self, name: str, base_url: str, auth: Auth | None, policy: RetryPolicy,
                 rate_limit: RateLimit | None = None, headers: dict | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.name, self.auth, self.policy, self.rate_limit = name, auth, policy, rate_limit
        self.origin = _origin(httpx.URL(base_url)) if base_url else None
        self.requests = 0
        self.client = httpx.Client(timeout=policy.timeout, headers=headers or {},
                                   transport=transport, follow_redirects=False)
        self._log_filter = _ScrubLog(auth.secret) if auth and auth.secret else None
        if self._log_filter:
            logging.getLogger("httpx").addFilter(self._log_filter)

    def close(self) -> None:
        self.client.close()
        if self._log_filter:
            logging.getLogger("httpx").removeFilter(self._log_filter)

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fail(self, request: Request | None, what: str) -> FetchError:
        where = f" {request.method} {httpx.URL(request.url).path}" if request else ""
        return FetchError(scrub(f"source {self.name}:{where}: {what}", self.secret))

    @property
    def secret(self) -> str | None:
        return self.auth.secret if self.auth else None

    def _build(self, req: Request) -> httpx.Request:
        url = httpx.URL(req.url)
        # The exact configured scheme, host and port: a next link to another port on the same
        # host, or an http:// downgrade, must not receive the token.
        if self.origin is not None and _origin(url) != self.origin:
            want = "{}://{}:{}".format(*self.origin)
            got = "{}://{}:{}".format(*_origin(url))
            raise self.fail(req, f"refusing to send the credentials to {got}; only {want} is "
                                 "configured")
        params = dict(req.params)
        headers: dict[str, str] = {}
        form = dict(req.form) if req.form is not None else None
        if self.auth is not None:
            a = self.auth
            if a.param:
                params[a.param] = a.secret
            elif a.form:
                form = {**(form or {}), a.form: a.secret}
            elif a.header:
                headers[a.header] = a.template.format(secret=a.secret)
        return self.client.build_request(req.method, url, params=params or None,
                                         headers=headers, json=req.json, data=form)

    def send(self, req: Request) -> httpx.Response:
        policy = self.policy
        for attempt in range(policy.attempts):
            last = attempt == policy.attempts - 1
            try:
                self.requests += 1
                response = self.client.send(self._build(req))
            except httpx.TimeoutException:
                problem, wait = f"timed out after {policy.timeout:g} s", None
            except httpx.TransportError as exc:
                problem, wait = f"cannot connect: {type(exc).__name__}", None
            else:
                status = response.status_code
                if status < 300:
                    self._respect_quota(response)
                    return response
                if status == 429 or status >= 500:
                    problem = f"HTTP {status}"
                    wait = _retry_after(response, self.rate_limit)
                else:
                    raise self.fail(req, _HINTS.get(status) or self._rejected(response))
            if last:
                break
            delay = policy.backoff(attempt) if wait is None else wait
            if delay > policy.max_wait:
                raise self.fail(req, f"{problem}; the server asks to wait {delay:.0f} s "
                                     f"(more than {policy.max_wait:.0f} s)")
            policy.sleep(delay)
        raise self.fail(req, f"{problem}, {policy.attempts} attempts")

    def _rejected(self, response: httpx.Response) -> str:
        body = " ".join(response.text.split())[:200]
        return f"request rejected (HTTP {response.status_code}): {body or 'no details'}"

    def _respect_quota(self, response: httpx.Response) -> None:
        rate = self.rate_limit
        if rate is None or response.headers.get(rate.remaining) not in ("0", "0.0"):
            return
        wait = _retry_after(response, rate)
        if wait:
            self.policy.sleep(min(wait, self.policy.max_wait))
