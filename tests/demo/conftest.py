"""Shared fixtures of the demo tests: the default world (seed 7, 3000 sessions) built once per
test session, and its three files read back in plain Python."""

from __future__ import annotations

import csv

import orjson
import pytest

from parallax.demo import DemoFiles, build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> tuple[DemoFiles, dict]:
    files = build_world(tmp_path_factory.mktemp("demo"))
    return files, orjson.loads(files.truth.read_bytes())


@pytest.fixture(scope="session")
def spans(world) -> list[tuple[str, dict, dict]]:
    """(service, OTLP span, its attributes as a plain dict) for every span in the file."""
    out = []
    for line in world[0].traces[0].read_bytes().splitlines():
        for rs in orjson.loads(line)["resourceSpans"]:
            service = rs["resource"]["attributes"][0]["value"]["stringValue"]
            out += [(service, s, {a["key"]: next(iter(a["value"].values()))
                                  for a in s["attributes"]})
                    for ss in rs["scopeSpans"] for s in ss["spans"]]
    return out


@pytest.fixture(scope="session")
def answers(world) -> list[dict]:
    with open(world[0].feedback[0], encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[3:]]


@pytest.fixture(scope="session")
def events(world) -> list[dict]:
    return [orjson.loads(line) for line in world[0].analytics[0].read_bytes().splitlines()]
