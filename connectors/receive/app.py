"""The receiver's HTTP routes (Starlette): ``POST /v1/traces``, ``POST /v1/feedback``,
``GET /healthz``.

Order of checks for a POST: Host (421, ``guard.HostCheck``), bearer token (401),
Content-Type (415), body size as declared (413), room in the byte budget for it (503), the
body within ``body_timeout`` (408) and its size as sent and after gzip (413), decoding (400),
room in the write queue (429, or 503 while the spool is backed up, its disk is full or the
receiver is shutting down, all 503s with ``Retry-After``); then the request waits until its
batch is durable and is answered 200 — with partial success when spans were invalid or
values were cut (``otlp.Caps``). Bodies are decompressed and decoded in a small thread pool,
not on the event loop, so a large body does not hold up other requests (``/healthz``
included), which shows its counters only with the token, when there is one. CORS answers
preflights for ``allowed_origins`` only.
"""

from __future__ import annotations

import asyncio
import hmac
import time
import zlib
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from parallax.connectors.receive.feedback import UNKNOWN, FeedbackIds, parse_feedback
from parallax.connectors.receive.guard import ByteBudget, HostCheck, Reservation
from parallax.connectors.receive.otlp import Caps, Decoded, decode_traces
from parallax.connectors.receive.protocol import (
    JSON,
    ReceiveError,
    encoding_of,
    error_body,
    export_body,
)
from parallax.connectors.receive.settings import ServeSettings
from parallax.connectors.receive.writer import Stats, Writer

__all__ = ["FEEDBACK_MAX_BODY", "build_app"]

FEEDBACK_MAX_BODY = 256 << 10  # one answer: 10,000 characters of verbatim and a few fields


@dataclass
class _Context:
    settings: ServeSettings
    writer: Callable[[], Writer]
    stats: Stats
    budget: ByteBudget
    decoder: Executor
    feedback_ids: FeedbackIds
    caps: Caps


def build_app(settings: ServeSettings, writer: Callable[[], Writer], stats: Stats,
              lifespan=None, *, decoder: Executor, feedback_ids: FeedbackIds | None = None,
              budget: ByteBudget | None = None) -> Starlette:
    """The ASGI app; ``writer()`` gives the running writer (created inside the lifespan),
    ``decoder`` runs decompression and decoding off the event loop."""
    ctx = _Context(settings, writer, stats, budget or ByteBudget(settings.max_buffered_bytes),
                   decoder, feedback_ids or FeedbackIds(),
                   Caps(settings.max_name_bytes, settings.max_value_bytes))

    async def traces(request: Request) -> Response:
        encoding = encoding_of(request.headers.get("content-type"))
        held = Reservation(ctx.budget)
        try:
            _authorise(request, settings.token)
            if encoding is None:
                raise ReceiveError(415, "Content-Type must be application/x-protobuf or "
                                        "application/json", close=True)
            coding = _coding(request)
            body = await _read(request, ctx, held, settings.max_body_bytes)
            decoded: Decoded = await asyncio.get_running_loop().run_in_executor(
                ctx.decoder, _decode, body, coding, encoding, settings.max_body_bytes, held,
                ctx.caps, settings.retry_after)
            del body
            if decoded.line is not None:
                await _queue(ctx, "traces", decoded.line, decoded.accepted)
        except ReceiveError as exc:
            return _error(exc, encoding)
        except ClientDisconnect:
            stats.count("disconnects")
            return Response(status_code=400)
        finally:
            held.release()
        stats.spans_accepted += decoded.accepted
        stats.spans_rejected += decoded.rejected
        stats.values_truncated += decoded.truncated
        content, media = export_body(decoded.rejected, decoded.message, encoding)
        return Response(content, 200, media_type=media)

    async def feedback(request: Request) -> Response:
        held = Reservation(ctx.budget)
        try:
            _authorise(request, settings.token)
            if encoding_of(request.headers.get("content-type")) != JSON:
                raise ReceiveError(415, "Content-Type must be application/json", close=True)
            coding = _coding(request)
            limit = min(settings.max_body_bytes, FEEDBACK_MAX_BODY)
            body = _inflate(await _read(request, ctx, held, limit), coding, limit, held,
                            settings.retry_after)
            try:
                answer = parse_feedback(body, settings.rating_scale)
            except ReceiveError:
                stats.feedback_rejected += 1
                raise
            if not answer.given_id:
                await _queue(ctx, answer.stream, answer.line, 1)
            else:
                prior = await ctx.feedback_ids.claim(answer)
                if prior is not None:
                    stats.feedback_duplicates += 1
                    if prior not in (answer.digest, UNKNOWN):
                        raise ReceiveError(409, f"feedback_id {answer.feedback_id!r} was "
                                           "already received with a different answer; the "
                                           "first one is kept")
                    return JSONResponse({"feedback_id": answer.feedback_id, "duplicate": True})
                stored = False
                try:
                    await _queue(ctx, answer.stream, answer.line, 1)
                    stored = True
                finally:
                    ctx.feedback_ids.settle(answer, stored)
        except ReceiveError as exc:
            return _error(exc, JSON)
        except ClientDisconnect:
            stats.count("disconnects")
            return Response(status_code=400)
        finally:
            held.release()
        stats.feedback_accepted += 1
        return JSONResponse({"feedback_id": answer.feedback_id})

    async def healthz(request: Request) -> Response:
        w = writer()
        if w.disk is not None:
            stats.disk_full = w.disk.check()
        status = "disk full" if stats.disk_full else "ok"
        if settings.token and not _authorised(request, settings.token):
            return JSONResponse({"status": status})  # counters with the token only
        return JSONResponse({
            "status": status,
            "queue_spans": w.queued_spans,
            "spans_accepted": stats.spans_accepted,
            "spans_rejected": stats.spans_rejected,
            "spans_stored": stats.spans_handed_off,
            "feedback_accepted": stats.feedback_accepted,
            "feedback_stored": stats.feedback_handed_off,
            "feedback_duplicates": stats.feedback_duplicates,
            "values_truncated": stats.values_truncated,
            "throttled": stats.throttled,
            "busy": stats.busy,
            "body_timeouts": stats.body_timeouts,
            "header_timeouts": stats.header_timeouts,
            "idle_closed": stats.idle_closed,
            "connections_refused": stats.connections_refused,
            "wrong_host": stats.wrong_host,
            "disconnects": stats.disconnects,
            "buffered_bytes": ctx.budget.used,
            "spool_bytes": stats.spool_bytes,
            "disk_full": stats.disk_full,
            "last_handoff_s_ago": None if stats.last_handoff is None else round(
                time.time() - stats.last_handoff, 1),
            "last_error": stats.last_error,
        })

    middleware = [Middleware(HostCheck, bound_host=settings.host,
                             allowed=settings.allowed_hosts, count=stats.count)]
    if settings.allowed_origins:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(settings.allowed_origins),
            allow_methods=["POST", "GET", "OPTIONS"],
            allow_headers=["Content-Type", "Content-Encoding", "Authorization"],
            allow_credentials="*" not in settings.allowed_origins, max_age=600))
    routes = [Route("/v1/traces", traces, methods=["POST"]),
              Route("/v1/feedback", feedback, methods=["POST"]),
              Route("/healthz", healthz, methods=["GET"])]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


def _authorised(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


def _authorise(request: Request, token: str | None) -> None:
    if token is not None and not _authorised(request, token):
        raise ReceiveError(401, "missing or wrong bearer token", close=True)


def _coding(request: Request) -> str:
    coding = request.headers.get("content-encoding", "").strip().lower()
    if coding not in ("", "identity", "gzip"):
        raise ReceiveError(415, f"Content-Encoding {coding!r}: only gzip is supported",
                           close=True)
    return coding


async def _read(request: Request, ctx: _Context, held: Reservation, limit: int) -> bytes:
    """The body as sent, within ``body_timeout`` (408), at most ``limit`` bytes (413), its
    bytes taken from the byte budget as they come (503 when it has no room)."""
    settings = ctx.settings
    declared = request.headers.get("content-length")
    if declared and declared.isdigit():
        if int(declared) > limit:
            raise ReceiveError(413, f"body of {declared} bytes is above the limit of {limit}",
                               close=True)
        _take(ctx, held, int(declared))
    chunks, size = [], 0
    try:
        async with asyncio.timeout(settings.body_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ReceiveError(413, f"body is above the limit of {limit} bytes",
                                       close=True)
                if size > held.held:
                    _take(ctx, held, size - held.held)
                chunks.append(chunk)
    except TimeoutError:
        ctx.stats.body_timeouts += 1
        raise ReceiveError(408, f"body not received within {settings.body_timeout:g} s",
                           close=True) from None
    return b"".join(chunks)


def _take(ctx: _Context, held: Reservation, n: int) -> None:
    if not held.take(n):
        ctx.stats.busy += 1
        raise ReceiveError(503, "receiver is busy (too many request bytes in flight); retry "
                                "later", ctx.settings.retry_after, close=True)


def _inflate(body: bytes, coding: str, limit: int, held: Reservation,
             retry_after: int) -> bytes:
    """The body gunzipped if ``Content-Encoding: gzip``; 413 beyond ``limit`` once inflated."""
    if coding in ("", "identity"):
        return body
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflate.decompress(body, limit + 1)
    except zlib.error:
        raise ReceiveError(400, "body is not valid gzip") from None
    if len(out) > limit:
        raise ReceiveError(413, f"body is above the limit of {limit} bytes once decompressed")
    if not inflate.eof:
        raise ReceiveError(400, "body is not valid gzip (truncated)")
    if not held.take(len(out)):
        raise ReceiveError(503, "receiver is busy (too many request bytes in flight); retry "
                                "later", retry_after)
    return out


def _decode(body: bytes, coding: str, encoding: str, limit: int, held: Reservation,
            caps: Caps, retry_after: int) -> Decoded:
    """In the decoding thread: gunzip and decode one export request."""
    return decode_traces(_inflate(body, coding, limit, held, retry_after), encoding, caps)


async def _queue(ctx: _Context, stream: str, line: bytes, spans: int) -> None:
    writer, settings, stats = ctx.writer(), ctx.settings, ctx.stats
    refused = writer.refusal(spans)
    if refused is not None:
        stats.throttled += 1
        why = ("write queue is full" if refused == 429 else "spool disk is full"
               if stats.disk_full else "receiver is backed up or stopping")
        raise ReceiveError(refused, f"{why}; retry later", settings.retry_after)
    try:
        await writer.submit(stream, line, spans)
    except OSError as exc:
        stats.throttled += 1
        why = "spool disk is full" if stats.disk_full else (
            f"spool write failed: {exc.strerror or exc}")
        raise ReceiveError(503, f"{why}; retry later", settings.retry_after) from None


def _error(exc: ReceiveError, encoding: str | None) -> Response:
    content, media = error_body(exc.status, str(exc), encoding)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if exc.close:  # the body may be unread: the connection cannot carry another request
        headers["Connection"] = "close"
    return Response(content, exc.status, headers=headers, media_type=media)
