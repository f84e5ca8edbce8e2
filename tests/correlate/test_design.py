"""Design matrices: subject dummies with rare levels pooled, control dummies with rare levels
folded into the reference, delivery columns, and counterfactual copies."""

from __future__ import annotations

import numpy as np

from parallax.correlate.design import OTHER, build_design, pooled


def _obj(*parts: tuple[str, int]) -> np.ndarray:
    return np.array([v for v, n in parts for _ in range(n)], dtype=object)


ROUTES = _obj(("/b", 10), ("/a", 6), ("/rare1", 2), ("/rare2", 1))  # 19 rows
DEVICE = _obj(("mobile", 8), ("desktop", 9), ("tablet", 2))


def test_pooled_keeps_common_levels_only() -> None:
    out = pooled(ROUTES, 5)
    assert out.tolist() == ["/b"] * 10 + ["/a"] * 6 + [OTHER] * 3
    assert pooled(ROUTES, 1).tolist() == ROUTES.tolist()


def test_rare_levels_pool_and_rare_controls_join_the_reference() -> None:
    load = np.linspace(-1, 1, len(ROUTES))
    d = build_design("route", ROUTES, {"device": DEVICE}, delivery={"log_load": load},
                     min_level=5)
    # sorted levels, "(other)" last; desktop (9) is the reference, tablet (2) folds into it
    assert d.levels == ("/a", "/b", OTHER)
    assert d.names == ("route=/a", "route=/b", f"route={OTHER}", "device=mobile", "log_load")
    assert d.X.shape == (19, 5)
    assert d.X[:, :3].sum(axis=1).tolist() == [1.0] * 19  # one subject dummy per row
    assert d.X[:, d.column(f"route={OTHER}")].sum() == 3
    assert d.X[:, d.column("device=mobile")].tolist() == (DEVICE == "mobile").astype(float).tolist()
    assert np.array_equal(d.X[:, d.column("log_load")], load)
    assert d.subject.tolist() == pooled(ROUTES, 5).tolist()
    assert d.has("log_load") and not d.has("device=tablet") and not d.has("device=desktop")


def test_reference_is_the_most_common_level_ties_broken_by_name() -> None:
    device = _obj(("mobile", 10), ("desktop", 6), ("tablet", 3))
    d = build_design("route", ROUTES, {"device": device}, delivery=None, min_level=3)
    assert [n for n in d.names if n.startswith("device=")] == ["device=desktop", "device=tablet"]
    assert d.levels == ("/a", "/b", OTHER)  # /rare1 + /rare2 pool (3 rows), no delivery
    assert d.X.shape == (19, 5)
    tie = _obj(("desktop", 8), ("mobile", 8), ("tablet", 3))
    d = build_design("route", ROUTES, {"device": tie}, delivery=None, min_level=5)
    assert [n for n in d.names if n.startswith("device=")] == ["device=desktop"]


def test_replace_is_a_counterfactual_copy() -> None:
    d = build_design("route", ROUTES, {}, delivery={"error": np.ones(19)}, min_level=5)
    X = d.replace({"error": np.zeros(19), "not-a-column": np.ones(19)})
    assert X[:, d.column("error")].sum() == 0 and d.X[:, d.column("error")].sum() == 19
    assert np.array_equal(np.delete(X, d.column("error"), 1), np.delete(d.X, d.column("error"), 1))


def test_a_counterfactual_load_moves_each_levels_slope_on_its_slope_rows_only() -> None:
    load = np.linspace(-1, 1, len(ROUTES))
    rows = np.arange(len(ROUTES)) % 3 != 0
    d = build_design("route", ROUTES, {}, delivery={"log_load": load}, min_level=5,
                     slopes_at=0.5, slope_rows=rows)
    for new in (np.full(len(ROUTES), 2.0), np.linspace(3, 4, len(ROUTES))):  # twice: cached
        X = d.replace({"log_load": new})
        assert d.slope_columns
        for i in d.slope_columns:
            level = d.names[i].split("=", 1)[1]
            want = np.where((d.subject == level) & rows, new - 0.5, 0.0)
            assert np.array_equal(X[:, i], want) and np.any(want != 0.0)
        assert np.array_equal(X[:, d.names.index("log_load")], new)
