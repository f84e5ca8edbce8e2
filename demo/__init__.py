"""The deterministic demo world: the ``parallax demo`` command's data and the integration
fixture. ``build_world`` simulates a week of a web shop with planted effects and writes it as
real vendor files (OTLP JSON lines, a Qualtrics export, GA4's BigQuery export) plus
``truth.json`` saying what was planted."""

from parallax.demo.build import DemoFiles, build_world

__all__ = ["DemoFiles", "build_world"]
