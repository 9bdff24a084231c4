"""BigQuery sink: one table per analyst table, ``DATASET.<table>``, schemas from ``schemas/bigquery``."""
from __future__ import annotations

import apache_beam as beam

from journeyflow.model.tables import TABLES, bigquery_schema, stored_row, table_spec
from journeyflow.transforms.outputs import PipelineOutputs


class BigQuerySink:
    """Every analyst table of a pipeline to BigQuery dataset ``PROJECT:DATASET`` (steps ``BigQuery_<table>``)."""

    def __init__(self, dataset: str):
        self.dataset = dataset

    def write(self, outputs: PipelineOutputs) -> None:
        """Adds one :class:`WriteTablesToBigQuery` per table of ``outputs.table_rows()``."""
        for name, rows in outputs.table_rows().items():
            rows | f"BigQuery_{name}" >> WriteTablesToBigQuery(self.dataset, name)


class WriteTablesToBigQuery(beam.PTransform):
    """Rows → BigQuery table ``DATASET.<table>`` with the schema of ``schemas/bigquery/<table>.json``, created if
    needed, day-partitioned on the table's time column, appended to by streaming inserts.

    Timestamps are epoch ms in the rows; BigQuery TIMESTAMP wants seconds, converted here."""

    def __init__(self, dataset: str, table: str, label: str | None = None):
        super().__init__(label)
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
        self.dataset, self.table = dataset, table

    def expand(self, rows):
        """``ToBigQueryRow`` (the row as stored, :func:`journeyflow.model.tables.stored_row`; ms → s) then ``Write``
        (WriteToBigQuery)."""
        ts_cols = [f["name"] for f in table_spec(self.table)["fields"] if f["type"] == "TIMESTAMP"]

        table = self.table

        def to_bq(r: dict) -> dict:
            r = dict(stored_row(table, r))
            for c in ts_cols:
                if r.get(c) is not None:
                    r[c] = r[c] / 1000.0
            return r

        return (rows
                | "ToBigQueryRow" >> beam.Map(to_bq)
                | "Write" >> beam.io.WriteToBigQuery(
                    f"{self.dataset}.{self.table}", schema=bigquery_schema(self.table),
                    create_disposition=beam.io.BigQueryDisposition.CREATE_IF_NEEDED,
                    write_disposition=beam.io.BigQueryDisposition.WRITE_APPEND,
                    method=beam.io.WriteToBigQuery.Method.STREAMING_INSERTS,
                    additional_bq_parameters={"timePartitioning": {
                        "type": "DAY", "field": table_spec(self.table)["partition_field"]}}))
