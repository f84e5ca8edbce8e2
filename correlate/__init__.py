"""Statistics over the compact exposure tables: attribution, verdicts, impact.

    from parallax.correlate import correlate
    run = correlate(con)            # builds the join model, fits, stores findings
    [f.to_json() for f in run.findings]
"""

from parallax.correlate.findings import VERDICTS, Finding
from parallax.correlate.run import Run, correlate
from parallax.correlate.settings import Settings
from parallax.exposure import JoinSettings

__all__ = ["VERDICTS", "Finding", "JoinSettings", "Run", "Settings", "correlate"]
