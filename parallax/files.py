"""Files written whole or not at all: query results and pages never appear half-written under
their real name, and a path that cannot be written is refused in one line."""

from __future__ import annotations

from pathlib import Path

from parallax.errors import ConfigError

__all__ = ["write_whole"]


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
