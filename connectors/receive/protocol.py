"""OTLP/HTTP wire rules shared by the routes: content types, errors and their bodies.

The OTLP/HTTP specification answers in the request's encoding: an export response
(``ExportTraceServiceResponse``, with ``partial_success`` when spans were rejected) on
success, a ``google.rpc.Status`` (googleapis-common-protos) on 4xx/5xx.
"""

from __future__ import annotations

import orjson
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from parallax.errors import ParallaxError

__all__ = ["JSON", "PROTOBUF", "ReceiveError", "encoding_of", "error_body", "export_body"]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class ReceiveError(ParallaxError):
    """A request the receiver refuses: ``status`` is the HTTP status, the message its reason."""

    def __init__(self, status: int, message: str, retry_after: int | None = None, *,
                 close: bool = False) -> None:
        """``close``: the body was not read to its end, so the connection cannot be reused."""
        super().__init__(message)
        self.status, self.retry_after, self.close = status, retry_after, close


def encoding_of(content_type: str | None) -> str | None:
    """``PROTOBUF`` / ``JSON`` for the request's Content-Type (parameters ignored), else None."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    return base if base in (PROTOBUF, JSON) else None


# HTTP status → google.rpc.Code, as the OTLP/HTTP and gRPC mappings pair them.
_RPC_CODE = {400: 3, 401: 16, 403: 7, 404: 5, 408: 4, 409: 6, 413: 3, 415: 3, 421: 3, 429: 8,
             500: 13, 503: 14}


def error_body(status: int, message: str, encoding: str | None) -> tuple[bytes, str]:
    """(body, content type) of an error answer: a Status in the request's encoding."""
    msg = Status(code=_RPC_CODE.get(status, 2), message=message)
    if encoding == PROTOBUF:
        return msg.SerializeToString(), PROTOBUF
    return orjson.dumps({"code": msg.code, "message": message}), JSON


def export_body(rejected: int, message: str, encoding: str) -> tuple[bytes, str]:
    """(body, content type) of a successful export: partial success when spans were rejected,
    or, with 0 rejected, as a warning (``message``: values were cut)."""
    resp = ExportTraceServiceResponse()
    if rejected or message:
        resp.partial_success.rejected_spans = rejected
        resp.partial_success.error_message = message
    if encoding == PROTOBUF:
        return resp.SerializeToString(), PROTOBUF
    return orjson.dumps(json_format.MessageToDict(resp)), JSON
