"""The one line reader: editor line numbers, blank lines skipped, the BOM of line 1 removed."""

from __future__ import annotations

import gzip

from parallax.connectors.base import Source
from parallax.connectors.files.lines import BOM, numbered_lines, source_lines, strip_bom


def test_lines_are_numbered_as_an_editor_shows_them() -> None:
    lines = [BOM + b'{"a":1}\n', b"\n", b"  \r\n", b'{"b":2}\n', BOM + b'{"c":3}']
    assert list(numbered_lines(lines)) == [(1, b'{"a":1}\n'), (4, b'{"b":2}\n'),
                                           (5, BOM + b'{"c":3}')]  # a mark inside is data
    # a segment from inside a file has no byte-order mark to remove
    assert list(numbered_lines(lines[:1], file_start=False)) == [(1, BOM + b'{"a":1}\n')]
    assert list(numbered_lines([BOM + b"\n", b"x"])) == [(2, b"x")]
    assert strip_bom(BOM + BOM) == BOM and strip_bom(b"x") == b"x"


def test_a_source_file_read_plain_or_gzipped_gives_the_same_lines(tmp_path) -> None:
    data = BOM + b'{"a":1}\r\n\n{"b":2}\n'
    plain, packed = tmp_path / "a.jsonl", tmp_path / "a.jsonl.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    expected = [(1, b'{"a":1}\r\n'), (3, b'{"b":2}\n')]
    assert list(source_lines(Source(plain))) == expected
    assert list(source_lines(Source(packed))) == expected
