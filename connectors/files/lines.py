"""Reading a file line by line: one numbering and one byte-order-mark rule for every format.

Line numbers count every line of the file, blank ones too, from 1, so that a reject's
``line N`` is the line an editor shows; blank lines are then skipped (no format gives them a
meaning). A UTF-8 byte-order mark is removed from the file's first line only: that is the one
place an editor writes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from parallax.connectors.base import Source

__all__ = ["BOM", "numbered_lines", "source_lines", "strip_bom"]

BOM = b"\xef\xbb\xbf"


def strip_bom(data: bytes) -> bytes:
    """A file's (or its first line's) bytes without a leading UTF-8 byte-order mark."""
    return data.removeprefix(BOM)


def numbered_lines(lines: Iterable[bytes], file_start: bool = True) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for every line with anything but white space in it, the line as
    read (with its line end). ``file_start`` false: the lines are a segment from inside the
    file (parallel parsing), numbered from the segment's start and with no mark to remove."""
    for n, line in enumerate(lines, 1):
        if n == 1 and file_start:
            line = strip_bom(line)
        if line.strip():
            yield n, line


def source_lines(source: Source) -> Iterator[tuple[int, bytes]]:
    """``numbered_lines`` of a whole source file (decompressed when gzipped)."""
    with source.open() as f:
        yield from numbered_lines(f)
