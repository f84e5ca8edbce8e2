"""The CLI's commands, one module per family; ``parallax.cli`` is the entry point."""
