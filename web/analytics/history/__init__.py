"""The columnar analytics history: raw events sealed into immutable Parquet segments.

The worker writes raw events to data.db (the hot window). Every few seconds the cron job
``analytics seal`` copies the events above the sealed watermark into a new segment file and
merges small segments into larger ones; the dashboard's filtered views, funnels, goals and
props read the segments with DuckDB (``engine``). See analytics.md, "Columnar history"
(ADR-15 says why Parquet + DuckDB).

Modules: ``schema`` (the segment's columns), ``files`` (paths, atomic writes),
``engine`` (DuckDB connections and the catalog snapshot a query reads), ``services``
(seal, compact, upload, retention, site deletion, export).
"""
