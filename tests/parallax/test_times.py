"""Times typed on the command line: ISO and the relative forms people use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parallax.errors import ConfigError
from parallax.times import parse_time, parse_window

NOW = datetime(2026, 10, 12, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("now", NOW),
    ("today", datetime(2026, 10, 12, tzinfo=UTC)),
    ("Yesterday", datetime(2026, 10, 11, tzinfo=UTC)),
    ("-7d", NOW - timedelta(days=7)),
    ("7d", NOW - timedelta(days=7)),
    ("24h", NOW - timedelta(hours=24)),
    ("30m", NOW - timedelta(minutes=30)),
    ("2w", NOW - timedelta(weeks=2)),
    ("2026-10-05", datetime(2026, 10, 5, tzinfo=UTC)),
    ("2026-10-05T12:00+02:00", datetime(2026, 10, 5, 10, tzinfo=UTC)),
])
def test_relative_and_absolute_times(text, expected) -> None:
    assert parse_time(text, "--since", NOW) == expected


def test_none_stays_none_and_nonsense_names_the_flag_and_the_forms() -> None:
    assert parse_time(None, "--since") is None
    with pytest.raises(ConfigError, match=r"--since 'last tuesday': expected .*yesterday"):
        parse_time("last tuesday", "--since", NOW)
    with pytest.raises(ConfigError, match="--until '7y'"):
        parse_time("7y", "--until", NOW)


def test_a_window_ending_before_it_starts_is_refused() -> None:
    assert parse_window("-7d", "now", now=NOW) == (NOW - timedelta(days=7), NOW)
    assert parse_window(None, "yesterday", now=NOW)[0] is None
    with pytest.raises(ConfigError, match=r"--until '2026-10-01' is not after --since "
                                          r"'2026-10-05'"):
        parse_window("2026-10-05", "2026-10-01", now=NOW)
    with pytest.raises(ConfigError, match="--end 'today' is not after --start 'now'"):
        parse_window("now", "today", ("--start", "--end"), now=NOW)
