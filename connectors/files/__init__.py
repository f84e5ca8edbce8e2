"""File formats, one module per format family; each module exports ``FORMATS``.

Detection tries the formats of the requested kind in the order listed here; the first whose
sniffer accepts the file's first bytes wins. ``--format NAME`` skips detection.
"""

from __future__ import annotations

from importlib import import_module

from parallax.connectors.base import FileFormat
from parallax.errors import ConfigError

__all__ = ["KINDS", "detect", "formats", "get_format"]

# kind → modules, most specific sniffers first.
KINDS: dict[str, tuple[str, ...]] = {
    "traces": ("otlp", "jaeger", "zipkin"),
    "feedback": ("qualtrics", "surveymonkey", "feedback_generic"),
    "analytics": ("ga4", "posthog", "snowplow", "offers", "vitals_generic", "pageviews"),
    "interactions": ("amazon_connect", "zendesk", "interactions_generic"),
}


def formats(kind: str) -> list[FileFormat]:
    if kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    found: list[FileFormat] = []
    for mod in KINDS[kind]:
        found.extend(import_module(f"{__name__}.{mod}").FORMATS)
    return found


def get_format(kind: str, name: str) -> FileFormat:
    for fmt in formats(kind):
        if fmt.name == name:
            return fmt
    names = ", ".join(f.name for f in formats(kind))
    raise ConfigError(f"unknown {kind} format {name!r}; expected one of {names}")


def detect(kind: str, head: bytes) -> FileFormat | None:
    for fmt in formats(kind):
        if fmt.sniff(head):
            return fmt
    return None
