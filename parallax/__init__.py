"""Parallax: put what customers say beside what they got.

The top-level folders of the repository (connectors/, models/, correlate/, queries/, demo/,
report/)
are installed as subpackages of ``parallax``. In a development checkout they sit beside this
package, so we extend ``__path__`` to find them there; an installed wheel has them inside.
"""

from pathlib import Path as _Path

_here = _Path(__file__).resolve().parent
if not (_here / "connectors").is_dir() and (_here.parent / "connectors" / "__init__.py").is_file():
    __path__.append(str(_here.parent))  # type: ignore[name-defined]  # noqa: F821

__version__ = "0.1.0"
__all__ = ["__version__"]
