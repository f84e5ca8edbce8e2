"""The one route normalisation: a table of inputs from all three silos and what they become."""

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
    ("/users/:userId/orders/{order_id}", "/users/{id}/orders/{id}"),
    ("/files/<int:file_id>", "/files/{id}"),
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
