"""Parallax: put what customers say beside what they got.

The top-level folders of the repository (connectors/, models/, correlate/, queries/, demo/,
report/) are subpackages of ``parallax``: the wheel installs them inside it, and in a checkout
``parallax/connectors`` etc. are links to them, so the editable install, mypy and editors all
see the installed layout from the folders themselves.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
