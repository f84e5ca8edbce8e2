"""Quality evaluation by people: stratified samples for evaluators, and their scores brought back.

Commands: ``parallax.commands.sampling`` (``sample``, ``evaluations ingest|report``).
"""
