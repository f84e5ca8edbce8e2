"""Route templates on a world with slug pages (not a test): how many page views and survey
responses land on a template route, how many responses stay unlinked, and the verdict of the
slug route — with templates learned from spans, and with learning off (the id heuristic only).

    uv run python bench/route_templates.py [--seed 7] [--sessions 3000]

The demo world's product pages are ``/product/{id}`` with numeric ids, which the id heuristic
already templates. Here they become slug pages: spans say ``http.route = /product/:slug`` beside
``url.path = /product/item-bcd…``, and GA4 and the Qualtrics export carry only the raw URLs —
the situation of issue 14. Each setting is ingested in two orders (traces first, traces last):
the routes must not depend on it.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

_NUMERIC = re.compile(r"/product/(\d+)")
_KINDS = {"traces": "traces/spans.jsonl", "feedback": "feedback/qualtrics_export.csv",
          "analytics": "analytics/ga4_events.ndjson"}
ORDERS = (("traces", "feedback", "analytics"), ("analytics", "feedback", "traces"))


def slug_world(out: Path, seed: int, sessions: int) -> Path:
    """The demo world's files with product ids turned into slugs (digits → letters)."""
    from parallax.demo import build_world

    build_world(out, seed=seed, sessions=sessions)
    for rel in _KINDS.values():
        path = out / rel
        text = _NUMERIC.sub(lambda m: "/product/item-" + "".join(
            "abcdefghij"[int(c)] for c in m.group(1)), path.read_text(encoding="utf-8"))
        text = text.replace('"/product/{id}"', '"/product/:slug"').replace(
            " /product/{id}", " /product/:slug")
        path.write_text(text, encoding="utf-8")
    return out


def measure(world: Path, db: Path, order: tuple[str, ...], learn: bool) -> dict:
    from parallax.config import Config
    from parallax.connectors.load import ingest_files
    from parallax.correlate.run import correlate
    from parallax.db import connect
    from parallax.options import ingest_options

    con = connect(db)
    try:
        opts = ingest_options(Config(route_learn=learn), db)
        for kind in order:
            ingest_files(con, kind, [world / _KINDS[kind]], opts)
        run = correlate(con)
        product = [f for f in run.findings
                   if f.subject_kind == "route" and f.subject.startswith("/product/")]
        routes = con.execute("SELECT route, page_url FROM feedback ORDER BY ALL").fetchall()
    finally:
        con.close()
    cov = run.coverage
    return {"order": " → ".join(order), "learn": learn,
            "page_views_on_template": cov.page_view_template_share,
            "responses_on_template": cov.response_template_share,
            "unlinked": cov.share("none"), "product_routes": len(product),
            "product_verdicts": sorted({f.verdict for f in product}), "routes": routes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--sessions", type=int, default=3000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="parallax-routes-") as tmp:
        world = slug_world(Path(tmp) / "world", args.seed, args.sessions)
        results = [measure(world, Path(tmp) / f"{i}.duckdb", order, learn)
                   for i, (learn, order) in enumerate((lr, o) for lr in (True, False)
                                                      for o in ORDERS)]
    print("| learn | order | page views on a template | responses on a template | "
          "responses unlinked | /product routes | their verdicts |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['learn']} | {r['order']} | {r['page_views_on_template']:.1%} | "
              f"{r['responses_on_template']:.1%} | {r['unlinked']:.1%} | "
              f"{r['product_routes']} | {', '.join(r['product_verdicts'])} |")
    for learn in (True, False):
        same = {str(r["routes"]) for r in results if r["learn"] is learn}
        print(f"learn={learn}: the order changes no response's route: {len(same) == 1}")


if __name__ == "__main__":
    main()
