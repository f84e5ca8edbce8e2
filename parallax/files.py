"""Files written whole or not at all: query results and pages never appear half-written under
their real name, and a path that cannot be written is refused in one line."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from parallax.errors import ConfigError

__all__ = ["check_writable", "write_whole"]


def check_writable(path: Path | None, flag: str) -> None:
    """Refuse, before any work, a path ``write_whole`` could not write: a missing folder, a
    folder where the file should be, a folder this user may not write into. A command that
    would correlate for minutes first says so at once; ``write_whole`` still reports what
    only the write itself can find (a full disk)."""
    if path is None:
        return
    path = Path(path)
    folder = path.parent
    code = (errno.EISDIR if path.is_dir()
            else errno.ENOTDIR if folder.exists() and not folder.is_dir()
            else errno.ENOENT if not folder.is_dir()
            else errno.EACCES if not os.access(folder, os.W_OK | os.X_OK) else None)
    if code is not None:
        raise ConfigError(f"{flag} {path}: cannot write it ({os.strerror(code)})")


def write_whole(path: Path, data: bytes | str, flag: str) -> None:
    """Write a file whole or not at all (a sibling temporary file, then renamed): a reader never
    meets half a page; a path that cannot be written is refused in one line naming ``flag``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        tmp.replace(path)
    except OSError as exc:
        if tmp.parent.is_dir():
            tmp.unlink(missing_ok=True)
        raise ConfigError(f"{flag} {path}: cannot write it ({exc.strerror or exc})") from None
