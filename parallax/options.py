"""Turns configuration and command-line options into the library's frozen option objects."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from parallax.config import Config
from parallax.connectors.routes import RouteNormalizer
from parallax.errors import ConfigError

if TYPE_CHECKING:
    from parallax.connectors.load import IngestOptions

__all__ = ["ingest_options", "route_normalizer"]


def route_normalizer(cfg: Config, con=None) -> RouteNormalizer:
    """The ``[routes]`` settings as a normaliser; with a database, its learned templates too
    (so a route a user types meets the routes the data landed on)."""
    norm = RouteNormalizer(cfg.route_rules, cfg.route_templates, learn=cfg.route_learn)
    if con is None:
        return norm
    from parallax.connectors.route_learning import stored_templates

    return norm.with_learned(stored_templates(con))


def ingest_options(
    cfg: Config,
    db_path: Path,
    fields: Mapping[str, str] | None = None,
    options: Mapping[str, str] | None = None,
    max_reject_rate: float | None = None,
) -> IngestOptions:
    from parallax.connectors.load import IngestOptions
    from parallax.connectors.privacy import Pseudonymizer, load_key

    rate = cfg.max_reject_rate if max_reject_rate is None else max_reject_rate
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"--max-reject-rate must be between 0 and 1, got {rate}")
    merged = {"session_param": cfg.session_param, **(options or {})}
    return IngestOptions(
        pseudonymize=Pseudonymizer(load_key(db_path, cfg.key_file)),
        route=route_normalizer(cfg),
        fields=dict(fields or {}),
        options=merged,
        max_reject_rate=rate,
    )
