"""Arrays built from buffers (connectors/arrays.py) equal what pyarrow's own conversion builds,
for slices of shared buffers too, and leave pandas unimported (checked in a fresh interpreter:
this process has imported it long ago)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from parallax.connectors import arrays

TEXTS = ["plain", "", None, "é/ü?x=1#f", "🙂", "q\"uote", None, "x" * 300]


def test_strings_equal_pyarrows_conversion() -> None:
    assert arrays.strings(TEXTS).equals(pa.array(TEXTS, pa.string()))
    assert arrays.strings([]).equals(pa.array([], pa.string()))
    assert arrays.text(":").as_py() == ":"


def test_int64s_and_bools_equal_pyarrows_conversion() -> None:
    values = np.array([5, -1, 7, 0, 2**40], np.int64)
    missing = values < 0
    assert arrays.int64s(values, missing).equals(pa.array(values, mask=missing))
    assert arrays.int64s(values).equals(pa.array(values))
    flags = np.array([True, False, True, True, False, False, True, False, True])
    assert arrays.bools(flags).equals(pa.array(flags))


@pytest.mark.parametrize("start", [0, 1, 3, 9])
def test_numpy_reads_slices_where_their_buffers_begin(start) -> None:
    flags = pa.array([i % 3 == 0 for i in range(20)]).slice(start, 9)
    ints = pa.array(list(range(20)), pa.int32()).slice(start, 9)
    assert arrays.numpy(flags).tolist() == flags.to_pylist()
    assert arrays.numpy(ints).tolist() == ints.to_pylist()
    with_nulls = pc.list_value_length(pa.array([[1], None, [], [2, 3], None] * 4)).slice(start)
    assert arrays.numpy(with_nulls, null_as=0).tolist() == [
        0 if v is None else v for v in with_nulls.to_pylist()]
    with pytest.raises(ValueError):
        arrays.numpy(with_nulls)


def test_building_and_reading_import_no_pandas() -> None:
    code = ("import sys, numpy as np, pyarrow.compute as pc\n"
            "from parallax.connectors import arrays\n"
            "s = arrays.strings(['a', None, 'b'])\n"
            "m = arrays.numpy(pc.fill_null(pc.equal(s, arrays.text('a')), arrays.FALSE))\n"
            "i = arrays.numpy(arrays.int64s(np.arange(3), m), null_as=-1)\n"
            "print('pandas' in sys.modules, m.tolist(), i.tolist())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split(None, 1)
    assert out[0] == "False"
    assert out[1].strip() == "[True, False, False] [-1, 1, 2]"


_UTC = pa.timestamp("us", tz="UTC")
_COLUMNS = [
    (TEXTS, pa.string()),
    ([1.5, None, 3, float("nan"), -0.0, 2**53], pa.float64()),
    ([True, None, False] * 4, pa.bool_()),
    ([1, None, -7, 2**31 - 1], pa.int32()),
    ([1, None, -(2**62)], pa.int64()),
    ([datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), None,
      datetime(1960, 1, 2, tzinfo=timezone(timedelta(hours=5, minutes=30))),
      datetime(2026, 5, 1, 12, tzinfo=timezone(timedelta(hours=-7)))], _UTC),
    ([], pa.string()), ([], _UTC), ([None, None], pa.float64()), ([None], pa.bool_()),
    ([["a", "é"], None, [], ["x" * 40]], pa.list_(pa.string())), ([[]], pa.list_(pa.string())),
]


@pytest.mark.parametrize(("values", "kind"), _COLUMNS)
def test_column_equals_pyarrows_conversion_without_calling_it(values, kind,
                                                              monkeypatch) -> None:
    expected = pa.array(values, kind)

    def refused(*args, **kwargs):
        raise AssertionError("pa.array called")

    monkeypatch.setattr(pa, "array", refused)
    got = arrays.column(values, kind)
    assert got.type == expected.type
    assert got.equals(expected) or repr(got.to_pylist()) == repr(expected.to_pylist())
    assert got.is_null().equals(expected.is_null())


@pytest.mark.parametrize(("values", "kind"), [
    ([datetime(2026, 1, 2, 3, 4)], _UTC),  # naive: pyarrow's own reading
    ([2**53 + 1], pa.float64()),  # not exactly a float: pyarrow refuses it
    ([True], pa.float64()),
    ([["a", 1], None], pa.list_(pa.string())),  # not all text: pyarrow refuses it
])
def test_column_leaves_other_shapes_to_pyarrow(values, kind) -> None:
    try:
        expected = pa.array(values, kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        with pytest.raises(type(exc)):
            arrays.column(values, kind)
    else:
        assert arrays.column(values, kind).equals(expected)
