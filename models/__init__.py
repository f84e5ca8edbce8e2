"""SQL only: the schema, the loads and the models Parallax runs, each file with a header.

- ``schema/``: versioned DDL, applied in order as migrations when ``parallax.db`` opens a database
- ``stage/``: vendor files read by DuckDB straight into the staging tables
- ``load/``: per-table merge of a load's staged rows by natural key
- ``routes/``: route templates learned from spans, stored rows re-routed
- ``exposure/``: the join model: ``pages.sql`` incremental, ``NNN_*.sql`` per analysis window
- ``workflows/``: what ``incident`` and ``design-check`` read from the join model
- ``contacts/``: contact outcomes, metrics, call drivers and evaluation samples, as counts
- ``selection/``: who was offered a survey, and each offer's answer and delivery
- ``insights/``: the counts behind verbatims and the quality score
- ``names/``: the names a user may type for one kind of subject
- ``erase/``: the sessions of a person being erased
- ``demo/``: the loads that did not come from the demo world's files
"""
