"""qa17c: every column of the analyst tables says what it holds (``schemas/bigquery/<table>.json``: the BigQuery
schema analysts browse, and the Parquet tables' one source of truth).

Before, 47 columns had an empty description, among them the one the uplift rests on: ``journey_steps.detail``, the
randomized arm (``control`` | ``treatment``) on an ``entered`` row; an analyst writing their own conversion query
from the schema could not know where the arm was, nor that ``customer_snapshots.messages_7d`` / ``orders_90d`` /
``cart_size`` are counted back from ``snapshot_at`` (the replay horizon, not the day the query runs), that
``devices`` counts anonymous ids, or that a ``suppress`` decision has no ``journey_id`` (its candidates carry
theirs)."""
from __future__ import annotations

import pytest

from journeyflow.model.tables import TABLES, table_spec


def _fields(fields, prefix=""):
    for f in fields:
        yield prefix + f["name"], f
        yield from _fields(f.get("fields", ()), prefix + f["name"] + ".")


@pytest.mark.parametrize("table", TABLES)
def test_every_column_has_a_description(table):
    spec = table_spec(table)
    assert spec.get("description"), table
    missing = [name for name, f in _fields(spec["fields"]) if not (f.get("description") or "").strip()]
    assert not missing, f"{table}: {missing}"


def test_the_arm_and_the_windows_are_where_the_schema_says():
    steps = dict(_fields(table_spec("journey_steps")["fields"]))
    assert "control" in steps["detail"]["description"] and "treatment" in steps["detail"]["description"]
    snaps = dict(_fields(table_spec("customer_snapshots")["fields"]))
    for col in ("messages_7d", "orders_90d", "cart_size"):
        assert "snapshot_at" in snaps[col]["description"], col
    assert "anonymous" in snaps["devices"]["description"]
