"""Arrays built from buffers (connectors/arrays.py) equal what pyarrow's own conversion builds,
for slices of shared buffers too, and leave pandas unimported (checked in a fresh interpreter:
this process has imported it long ago)."""

from __future__ import annotations

import subprocess
import sys

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
