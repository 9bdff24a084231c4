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

    Timestamps are epoch ms in the rows; BigQuery TIMESTAMP wants seconds, converted here.  A column added to a
    schema (NULLABLE, at the end: ``decisions.due_at``) is not in a table an older job created: its values are
    dropped for that table (``ignore_unknown_columns``) instead of failing the insert, which Beam's default retry
    strategy (retry always) would retry for ever, holding the job back; ``bq update`` or ``terraform apply`` adds the
    column (README "Update a running job")."""

    def __init__(self, dataset: str, table: str, label: str | None = None):
        super().__init__(label)
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
        self.dataset, self.table = dataset, table

    def expand(self, rows):
        """``ToBigQueryRow`` (:func:`bigquery_row`) then ``Write`` (WriteToBigQuery)."""
        table = self.table
        return (rows
                | "ToBigQueryRow" >> beam.Map(lambda r: bigquery_row(table, r))
                | "Write" >> beam.io.WriteToBigQuery(
                    f"{self.dataset}.{self.table}", schema=bigquery_schema(self.table),
                    create_disposition=beam.io.BigQueryDisposition.CREATE_IF_NEEDED,
                    write_disposition=beam.io.BigQueryDisposition.WRITE_APPEND,
                    method=beam.io.WriteToBigQuery.Method.STREAMING_INSERTS,
                    ignore_unknown_columns=True,  # a column the schema added, an older table lacks: see above
                    additional_bq_parameters={"timePartitioning": {
                        "type": "DAY", "field": table_spec(self.table)["partition_field"]}}))


def bigquery_row(table: str, row: dict) -> dict:
    """``row`` of ``table`` as a streaming insert takes it: the row as stored
    (:func:`journeyflow.model.tables.stored_row`), only the table's columns (an insert naming a field the schema
    does not have fails, "no such field", where the Parquet sink's schema drops it), TIMESTAMP columns (``due_at``
    of a ``wait`` decision included) from epoch ms to seconds."""
    fields = table_spec(table)["fields"]
    stored = stored_row(table, row)
    out = {f["name"]: stored[f["name"]] for f in fields if f["name"] in stored}
    for f in fields:
        if f["type"] == "TIMESTAMP" and out.get(f["name"]) is not None:
            out[f["name"]] = out[f["name"]] / 1000.0
    return out


def check_dataset(dataset: str | None) -> None:
    """Check a ``--tables`` value before anything runs: ``PROJECT:DATASET`` or ``DATASET`` (the job's project), as
    Beam's ``parse_table_reference`` reads ``<value>.<table>`` (a project of letters, digits and ``-``; a dataset of
    letters, digits and ``_``).  None or empty: no tables.  ValueError naming the expected form otherwise (the sink
    would raise it only when the pipeline is built, after the streaming start rewound the subscriptions)."""
    if not dataset:
        return
    from apache_beam.io.gcp.bigquery_tools import parse_table_reference
    try:
        parse_table_reference(f"{dataset}.{TABLES[0]}")
    except ValueError:
        raise ValueError(f"{dataset!r} is not a BigQuery dataset: give PROJECT:DATASET or DATASET (a dataset id is "
                         "letters, digits and underscores)") from None
