"""Placeholder syntaxes of the common frameworks → one canonical form that keeps the name;
templates match whole segments (or the rest of the path) and rank by their literal prefix."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parallax.connectors.route_syntax import canonical, compile_template
from parallax.connectors.routes import RouteNormalizer, template_of

SYNTAXES = [
    ("/category/:slug", "/category/{slug}"),  # Express, Rails, Koa
    ("/category/{slug}", "/category/{slug}"),  # Spring, ASP.NET, FastAPI, OpenAPI
    ("/category/<slug>", "/category/{slug}"),  # Flask, Django path()
    ("/files/<int:id>", "/files/{id}"),
    ("/category/[slug]", "/category/{slug}"),  # Next.js
    ("/items/{id:int}", "/items/{id}"),  # ASP.NET constraint
    ("/items/{id:[0-9]{3}}", "/items/{id}"),  # regex constraint with braces inside
    ("/items/:id(\\d+)", "/items/{id}"),  # Express constraint
    ("/items/{id?}", "/items/{id}"),
    ("/users/:id(.:format)", "/users/{id}"),  # Rails optional format
    ("/users(.:format)", "/users"),
    ("/static/*", "/static/{*path}"),  # catch-alls of every kind
    ("/static/**", "/static/{*path}"),
    ("/static/*rest", "/static/{*rest}"),
    ("/static/{*rest}", "/static/{*rest}"),
    ("/static/{**rest}", "/static/{*rest}"),
    ("/static/{rest...}", "/static/{*rest}"),  # Go 1.22
    ("/static/<path:rest>", "/static/{*rest}"),  # Flask
    ("/docs/[...slug]", "/docs/{*slug}"),  # Next.js
    ("/docs/[[...slug]]", "/docs/{*slug}"),
    ("/docs/:slug*", "/docs/{*slug}"),  # path-to-regexp
    ("/docs/:slug+", "/docs/{*slug}"),
    ("/{$}", "/"),  # Go's "exactly this path"
    ("/p/{id}-{slug}", "/p/{id}-{slug}"),  # placeholders inside a segment
    ("/blog/post-:id", "/blog/post-{id}"),
    ("/Shop/:productId", "/shop/{productId}"),  # literals lower-cased, names kept
]


@pytest.mark.parametrize(("written", "canon"), SYNTAXES)
def test_every_syntax_has_one_canonical_form(written, canon) -> None:
    segments = [s for s in written.split("/") if s]
    assert canonical(segments) == canon
    again = [s for s in canon.split("/") if s]
    assert canonical(again) in (canon, None)  # canonical text reads back as itself


@pytest.mark.parametrize("plain", ["/wiki/Category:Shoes", "/wiki/shoes_(sport)",
                                   "/static/app.js", "/static/*.js", "/a/b", "/"])
def test_plain_paths_are_not_templates(plain) -> None:
    assert canonical([s for s in plain.split("/") if s]) is None


@pytest.mark.parametrize(("template", "path", "hit"), [
    ("/category/{slug}", "/category/base-layers", True),
    ("/category/{slug}", "/category/base-layers/reviews", False),  # one segment only
    ("/category/{slug}", "/category", False),
    ("/docs/{*path}", "/docs/a/b/c", True),
    ("/docs/{*path}", "/docs", False),  # one or more segments
    ("/p/{id}-{slug}", "/p/42-red-shoes", True),
    ("/p/{id}-{slug}", "/p/42", False),
    ("/blog/post-{id}", "/blog/post-7", True),
    ("/a.b/{x}", "/aXb/1", False),  # literal dots are literal
])
def test_matching_is_by_segment(template, path, hit) -> None:
    assert bool(compile_template(template).pattern.fullmatch(path)) is hit


def test_rank_longest_literal_prefix_then_catch_alls_last_then_fewer_placeholders() -> None:
    names = ["/{section}/{slug}", "/category/{slug}", "/category/new-arrivals",
             "/category/{*rest}", "/{*path}", "/category/{a}-{b}"]
    ranked = sorted((compile_template(n) for n in names), key=lambda t: t.rank)
    assert [t.text for t in ranked] == ["/category/new-arrivals", "/category/{slug}",
                                       "/category/{a}-{b}", "/category/{*rest}",
                                       "/{section}/{slug}", "/{*path}"]


def test_the_sql_pattern_is_the_python_one() -> None:
    t = compile_template("/p/{id}-{slug}.html")
    assert t.pattern.pattern == t.regex
    assert t.first == "p" and compile_template("/{x}/y").first is None


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from(list("/:{}<>[]()*.?-_~$\\aB1 é%")), max_size=30))
def test_any_text_gets_a_route_or_none_and_templates_read_back_as_themselves(text) -> None:
    route = RouteNormalizer(declared=("/a/{x}", "/docs/{*rest}"))(text)
    assert route is None or route.startswith("/")
    written = template_of(text)
    if written is not None:
        segments = [s for s in written.split("/") if s]
        assert (canonical(segments) or "/" + "/".join(segments)) == written
        assert compile_template(written).pattern.fullmatch(written) is not None or "{" in written


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="aZ1:{}<>[]()*$.-_~\\?=", max_size=8), max_size=4))
def test_the_plain_path_shortcut_decides_as_the_tokeniser(segments):
    # A path none of whose characters can open a placeholder skips tokenising: the answer must
    # be the one the tokeniser gives when nothing is skipped.
    import re

    from parallax.connectors import route_syntax

    fast = canonical(segments)
    saved = route_syntax._SYNTAX
    route_syntax._SYNTAX = re.compile("")  # matches everything: every path tokenised
    try:
        assert canonical(segments) == fast
    finally:
        route_syntax._SYNTAX = saved
