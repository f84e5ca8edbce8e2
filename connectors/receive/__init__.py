"""The OTLP/HTTP receiver and in-page feedback endpoint behind ``parallax serve``.

Requests are decoded (``otlp``, ``feedback``), queued and committed in batches to a durable
spool by one writer (``writer``, ``spool``), and handed to the database every few seconds
through the file loader's mapping (``handoff``). ``app`` holds the routes, ``server`` runs
them under uvicorn, ``settings`` reads ``[serve]``. docs/serve.md describes the whole.
"""

from __future__ import annotations

from parallax.connectors.receive.server import Receiver, running, serve_forever
from parallax.connectors.receive.settings import ServeSettings

__all__ = ["Receiver", "ServeSettings", "running", "serve_forever"]
