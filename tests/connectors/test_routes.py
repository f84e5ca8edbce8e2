"""The one route normalisation: a table of inputs from all three silos and what they become,
then templates: declared or learned ones win over the id heuristic, ranked by literal prefix."""

from __future__ import annotations

import pytest

from parallax.config import RouteRule
from parallax.connectors.routes import RouteNormalizer, normalize_route
from parallax.errors import ConfigError

CASES = [
    # full URLs from page views and documentLoad spans
    ("https://shop.example.com/Product/12345?utm_source=x#reviews", "/product/{id}"),
    ("http://shop.example.com", "/"),
    ("//cdn.example.com/img/42", "/img/{id}"),
    # paths and templates from server spans
    ("/checkout/", "/checkout"),
    ("/", "/"),
    ("/api//cart", "/api/cart"),
    ("/product/{id}", "/product/{id}"),
    ("/users/:userId/orders/{order_id}", "/users/{userId}/orders/{order_id}"),
    ("/files/<int:file_id>", "/files/{file_id}"),
    ("GET /Category/:slug", "/category/{slug}"),
    ("GET /cart", "/cart"),
    # id-like segments
    ("/p/550e8400-e29b-41d4-a716-446655440000", "/p/{id}"),
    ("/x/deadbeefcafe1234", "/x/{id}"),
    ("/orders/A1B2C3D4E5", "/orders/{id}"),
    ("/items/sku-12345678", "/items/{id}"),
    ("/price/19.99", "/price/{id}"),
    # things that are not ids stay
    ("/blog/how-to-cook-2024", "/blog/how-to-cook-2024"),
    ("/api/v2/search", "/api/v2/search"),
    ("/static/app.js", "/static/app.js"),
    ("/help/contact-us", "/help/contact-us"),
]


@pytest.mark.parametrize(("raw", "route"), CASES)
def test_normalisation_table(raw: str, route: str) -> None:
    assert normalize_route(raw) == route


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_empty_is_none(empty) -> None:
    assert normalize_route(empty) is None


def test_user_rules_win_and_see_the_stripped_path() -> None:
    norm = RouteNormalizer((RouteRule(match=r"^/p/[^/]+$", route="/p/{slug}"),))
    assert norm("https://x.com/p/red-shoes?x=1") == "/p/{slug}"
    assert norm("/p/red-shoes/reviews") == "/p/red-shoes/reviews"


def test_bad_rule_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="bad regular expression"):
        RouteNormalizer((RouteRule(match="(", route="/x"),))


def test_templates_beat_the_heuristic_and_literals_beat_placeholders() -> None:
    norm = RouteNormalizer(declared=("/category/:slug", "/category/new-arrivals",
                                     "/p/{id}-{slug}", "/docs/[...path]"))
    assert norm.templates == ("/category/new-arrivals", "/category/{slug}", "/docs/{*path}",
                              "/p/{id}-{slug}")
    assert norm("https://shop.example.com/Category/Base-Layers?x=1") == "/category/{slug}"
    assert norm("/category/new-arrivals/") == "/category/new-arrivals"
    assert norm("/p/42-red-shoes") == "/p/{id}-{slug}"
    assert norm("/docs/guide/install/linux") == "/docs/{*path}"
    # no template: the heuristic, as before
    assert norm("/category") == "/category"
    assert norm("/category/base-layers/reviews") == "/category/base-layers/reviews"
    assert norm("/orders/12345") == "/orders/{id}"
    assert RouteNormalizer()("/category/base-layers") == "/category/base-layers"


def test_rules_keep_priority_over_templates() -> None:
    norm = RouteNormalizer((RouteRule(match=r"^/category/sale-", route="/sale"),),
                           declared=("/category/{slug}",))
    assert norm("/category/sale-boots") == "/sale"
    assert norm("/category/boots") == "/category/{slug}"


def test_learned_templates_count_only_while_learning() -> None:
    norm = RouteNormalizer(declared=("/a/{x}",)).with_learned(["/blog/{slug}"])
    assert norm("/blog/hello") == "/blog/{slug}"
    off = RouteNormalizer(declared=("/a/{x}",), learn=False).with_learned(["/blog/{slug}"])
    assert off("/blog/hello") == "/blog/hello" and off.templates == ("/a/{x}",)
    assert norm.fingerprint() != off.fingerprint()
    assert norm.fingerprint() == RouteNormalizer(declared=("/a/:x",)).with_learned(
        ["/blog/{slug}"]).fingerprint()


@pytest.mark.parametrize(("route", "taught"), [
    ("/category/:slug", "/category/{slug}"),
    ("/category/new-arrivals", "/category/new-arrivals"),
    ("/*", None),  # a fallback handler identifies no page
    ("/{*path}", None),
    ("/orders/12345", None),  # an instrumentation copying the path into http.route
    ("", None),
])
def test_what_a_span_route_teaches(route, taught) -> None:
    assert RouteNormalizer().teachable(route) == taught


@pytest.mark.parametrize("bad", ["category/{slug}", "", "/a?b=1", "https://x.com/a#b"])
def test_a_bad_declared_template_is_a_config_error(bad) -> None:
    with pytest.raises(ConfigError, match=r"\[routes\] templates: .* is not a path template"):
        RouteNormalizer(declared=(bad,))


# Values every step of the normalisation decides, and paths the templates below compete for.
_CARRY_VALUES = [raw for raw, _ in CASES] + [
    "/category/new-arrivals", "/category/boots", "/Category/Boots/", "/category/sale-x",
    "/blog/2024/hello", "/blog/hello", "/docs/a/b/c", "/shop/12/reviews", "/x", "",
    "https://shop.example.com/product/777", "/product/12345/reviews", "/a/b", "/sale",
]
_CARRY_STEPS = [
    (), ("/category/{slug}",), ("/category/new-arrivals", "/blog/{slug}"),
    ("/docs/{*rest}", "/{section}/{id}"), ("/product/{id}", "/{*all}", "/shop/{id}/reviews"),
]


def test_learned_templates_added_route_as_a_fresh_normaliser() -> None:
    # each step adds templates; the extended normaliser re-routes what the last one kept,
    # and must give what a normaliser built with all the templates at once gives
    rules = (RouteRule(match=r"^/category/sale-", route="/sale"),)
    norm = RouteNormalizer(rules, declared=("/a/{x}",))
    learned: list[str] = []
    for step in _CARRY_STEPS:
        [norm(v) for v in _CARRY_VALUES]  # fill the cache the next step carries
        learned += step
        norm = norm.with_learned(learned)
        fresh = RouteNormalizer(rules, declared=("/a/{x}",)).with_learned(learned)
        assert fresh._carried is None
        assert [norm(v) for v in _CARRY_VALUES] == [fresh(v) for v in _CARRY_VALUES]
    assert norm._carried is not None  # the last step was carried, not recomputed
    assert norm("/category/boots") == "/category/{slug}"
    assert norm("/docs/a/b/c") == "/docs/{*rest}"


def test_fewer_templates_route_from_scratch() -> None:
    norm = RouteNormalizer().with_learned(["/blog/{slug}"])
    assert norm("/blog/hello") == "/blog/{slug}"
    fewer = norm.with_learned([])
    assert fewer._carried is None and fewer("/blog/hello") == "/blog/hello"
