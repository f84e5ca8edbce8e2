"""Rows changed by hand rather than loaded: annotations beside the data, and erasing one person.

Commands: ``parallax.commands.annotate`` and ``parallax.commands.erase``; ``correlate`` reads the
annotations, every load honours the erasures' tombstones (``connectors.tombstones``).
"""
