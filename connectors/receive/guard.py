"""What keeps the receiver to the callers it is meant for.

``HostCheck`` (ASGI middleware): a ``Host`` header naming anything but an IP literal,
``localhost``, the ``--host`` name or an ``allowed_hosts`` name is answered 421, so a web page
whose name was re-pointed at this machine (DNS rebinding) cannot reach the receiver.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

import orjson

__all__ = ["HostCheck"]


class HostCheck:
    """ASGI middleware: 421 for a Host header this receiver does not answer to."""

    def __init__(self, app, bound_host: str, allowed: Iterable[str],
                 count: Callable[[str], None]) -> None:
        self.app, self.count = app, count
        allowed = tuple(allowed)
        self.any = "*" in allowed
        names = {"localhost", *(a for a in allowed if a != "*")}
        if not _is_ip(bound_host) and bound_host:
            names.add(bound_host.lower().rstrip("."))
        self.names = frozenset(names)

    def allowed(self, host: str) -> bool:
        host = host.strip().lower()
        if host.startswith("["):  # [::1]:4318
            return _is_ip(host[1:host.find("]")] if "]" in host else host[1:])
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        name = name.rstrip(".")
        return _is_ip(name) or name in self.names or any(
            n.startswith("*.") and name.endswith(n[1:]) for n in self.names)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not self.any:
            host = next((v for k, v in scope["headers"] if k == b"host"), None)
            if host is not None and not self.allowed(host.decode("latin-1")):
                self.count("wrong_host")
                body = orjson.dumps({"code": 3, "message": "this receiver does not answer to "
                                     "that Host (add it to [serve] allowed_hosts or "
                                     "--allow-host)"})
                await send({"type": "http.response.start", "status": 421, "headers": [
                    (b"content-type", b"application/json"), (b"connection", b"close"),
                    (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
