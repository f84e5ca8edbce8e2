"""Named, parameterised SQL used by the CLI (``parallax query``), the review and the drill-down.

Each file's header says what it answers and types its parameters (``parallax.named_queries``).
"""
