"""HTML out: jinja2 templates (autoescaped) with the number formats both audiences read.

Every figure taken from a finding is written through ``fig()``, which wraps it in a span
carrying the finding it came from and the exact value (``data-subject``, ``data-field``,
``data-value``): the page can be checked against the findings JSON, number by number.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from parallax.correlate.findings import Finding
from parallax.numbers import fmt

__all__ = ["fmt", "lookup", "render"]

_env = None


def lookup(doc: Finding | dict | None, path: str) -> Any:
    """``impact.extra_poor_responses.estimate`` -> the value (None when any step is missing).

    The page names each figure by its field in the findings JSON (``data-field``) so that it
    can be checked against ``parallax findings --format json``: a finding is read here through
    that JSON, rounded as stored; Python code reads the ``Finding``'s attributes instead."""
    value: Any = doc.to_json() if isinstance(doc, Finding) else doc
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _fig(doc: Finding | dict, path: str, style: str = "num", currency: str = "") -> Markup:
    doc = doc.to_json() if isinstance(doc, Finding) else doc
    value = lookup(doc, path)
    raw = "" if value is None else repr(float(value)) if isinstance(value, int | float) else value
    return Markup('<span class="fig" data-kind="{}" data-subject="{}" data-field="{}" '
                  'data-value="{}" data-style="{}">{}</span>').format(
        doc.get("subject_kind", ""), doc.get("subject", ""), path, raw, style,
        fmt(value, style, currency))


def _ci(doc: Finding | dict, path: str, style: str = "num", currency: str = "") -> Markup:
    """estimate (low to high), each figure checkable; '–' when the interval is missing."""
    doc = doc.to_json() if isinstance(doc, Finding) else doc
    if lookup(doc, path) is None:
        return Markup("–")
    est = _fig(doc, f"{path}.estimate", style, currency)
    if lookup(doc, f"{path}.ci_low") is None:
        return est
    return Markup("{} <span class=\"ci\">({} to {})</span>").format(
        est, _fig(doc, f"{path}.ci_low", style, currency),
        _fig(doc, f"{path}.ci_high", style, currency))


def _cell(column: str, value: Any, linked: Any = ()) -> Markup:
    """One table cell of query output: numbers right-aligned, lists joined, and sessions whose
    timeline is on the page linked to it."""
    if value is None:
        return Markup("<td></td>")
    if column == "session" and value in linked:
        return Markup('<td><a href="#session-{}">{}</a></td>').format(value, value)
    if isinstance(value, bool):
        return Markup("<td>{}</td>").format("yes" if value else "no")
    if isinstance(value, int | float):
        text = fmt(value, "int" if float(value).is_integer() else "num")
        return Markup('<td class="num">{}</td>').format(text)
    if isinstance(value, list | tuple):
        return Markup("<td>{}</td>").format(", ".join(map(str, value)))
    if hasattr(value, "isoformat"):
        return Markup("<td>{}</td>").format(f"{value:%Y-%m-%d %H:%M:%S}")
    return Markup("<td>{}</td>").format(value)


def _anchor(kind: str, subject: str) -> str:
    return f"{kind}-" + "".join(c if c.isalnum() else "-" for c in subject).strip("-")


def _environment():
    global _env
    if _env is None:
        import jinja2

        _env = jinja2.Environment(
            loader=jinja2.PackageLoader("parallax.report", "templates"),
            autoescape=True, trim_blocks=True, lstrip_blocks=True,
            undefined=jinja2.StrictUndefined)
        _env.globals.update(fig=_fig, ci=_ci, lookup=lookup, anchor=_anchor, cell=_cell)
        _env.filters["fmt"] = fmt
    return _env


def render(template: str, **context: Any) -> str:
    context.setdefault("generated_at", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    return _environment().get_template(template).render(**context)
