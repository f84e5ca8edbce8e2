"""One small declaration per vendor: a ``[sources.NAME]`` section → a ``SourceSpec``.

``build_specs(sources, names)`` reads the sections of ``parallax.toml`` (``cfg.extra
["sources"]``); each vendor module has ``build(name, conf) -> SourceSpec``. Settings every
type shares: ``type``, ``base_url``, ``token_env`` (name of the environment variable holding
the secret, preferred) or ``token``, ``since`` (first pull starts here; else ``days`` back,
default 30), ``fields`` and ``options`` (the loader's field mapping and format options),
``enabled``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import import_module
from typing import Any

from parallax.connectors.pull.spec import SourceSpec
from parallax.connectors.pull.vendors.common import Conf
from parallax.errors import ConfigError

__all__ = ["TYPES", "build_spec", "build_specs"]

TYPES = ("qualtrics", "surveymonkey", "json", "jaeger", "tempo", "zipkin", "posthog", "matomo",
         "ga4")


def build_spec(name: str, section: Mapping[str, Any]) -> SourceSpec:
    if not isinstance(section, Mapping):
        raise ConfigError(f"[sources.{name}]: expected a table of settings")
    type_ = str(section.get("type") or "")
    if type_ not in TYPES:
        raise ConfigError(f"[sources.{name}] type = {type_!r}: expected one of "
                          f"{', '.join(TYPES)}")
    return import_module(f"{__name__}.{type_}").build(name, Conf(name, section))


def build_specs(sources: Mapping[str, Any], names: Sequence[str] = ()) -> list[SourceSpec]:
    """The named sources (all enabled ones when none is named), in the order given."""
    if not isinstance(sources, Mapping):
        raise ConfigError("[sources]: expected [sources.NAME] tables")
    unknown = [n for n in names if n not in sources]
    if unknown:
        have = ", ".join(sources) or "none configured"
        raise ConfigError(f"no source {unknown[0]!r} in [sources] ({have})")
    if names:
        return [build_spec(n, sources[n]) for n in names]
    return [build_spec(n, s) for n, s in sources.items()
            if not isinstance(s, Mapping) or s.get("enabled", True)]
