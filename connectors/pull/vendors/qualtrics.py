"""Qualtrics response export API (v3): start an export, poll its progress, download the zip.

    [sources.nps]
    type = "qualtrics"
    datacenter = "fra1"              # or base_url = "https://fra1.qualtrics.com"
    survey_id = "SV_5u9zu8zHnHaGml7"
    token_env = "QUALTRICS_TOKEN"    # sent as the X-API-TOKEN header

Incremental by time: each pull exports the responses recorded since the cursor (``startDate``)
up to now (``endDate``); the CSV inside the zip is read by the same ``qualtrics-csv`` mapping
as a file export (``fields``/``options`` as for ``ingest feedback``), and the cursor moves to
the export's end with its rows. The job is polled until ``result.status`` is ``complete``
(``percentComplete`` is only a convenience; ``fileId`` is null before); ``failed`` stores nothing
and leaves the cursor. Responses still in progress are not exported (Qualtrics' default).
"""

from __future__ import annotations

from parallax.connectors.pull.spec import Auth, ExportSpec, SourceSpec
from parallax.connectors.pull.vendors.common import Conf

__all__ = ["build"]


def build(name: str, conf: Conf) -> SourceSpec:
    sid = conf.req("survey_id")
    base = conf.base_url(f"https://{conf.req('datacenter')}.qualtrics.com"
                         if not conf.get("base_url") else None)
    api = f"/API/v3/surveys/{sid}/export-responses"
    common = conf.common()
    common["options"] = {"survey_id": sid, **common["options"]}
    return SourceSpec(
        name, "qualtrics", "feedback", "qualtrics-csv", base_url=base,
        auth=Auth(conf.secret() or "", header="X-API-TOKEN", template="{secret}"),
        export=ExportSpec(f"{api}", {"format": "csv", "useLabels": False},
                          f"{api}/{{progress_id}}", f"{api}/{{file_id}}/file",
                          poll_seconds=conf.num("poll_seconds", 2.0)),
        suffix=".csv", **common)
