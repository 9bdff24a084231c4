"""Analyst-side tools over a replay's output directory ``OUT``.

* :mod:`~journeyflow.analytics.tables` — read the Parquet analyst tables (``OUT/tables/<table>/date=…/``).
* :mod:`~journeyflow.analytics.quality` — Great Expectations (GX Core) suites per table, ``validate_output``.
* :mod:`~journeyflow.analytics.query` — DuckDB over the tables (one view per table) and example queries.
* :mod:`~journeyflow.analytics.report` — a self-contained HTML report (:mod:`.report_data`, :mod:`.report_page`)
  with Vega-Altair charts rendered to static SVG (:mod:`.charts`); journey outcomes by randomized arm with
  confidence intervals (:mod:`.outcomes`, SQL in :mod:`.outcome_queries`).
* :mod:`~journeyflow.analytics.compare` — the same events through per-channel automation and journeyflow.

Their commands (``journeyflow validate|query|report|compare``) are in :mod:`journeyflow.cli`.

Submodules are imported lazily: importing great_expectations takes several seconds, so only
:mod:`~journeyflow.analytics.quality` does it, and only when a validation runs.
"""
from journeyflow.analytics.tables import load_tables, read_table

__all__ = ["load_tables", "read_table"]
