"""Read the analyst tables a replay writes.

Layout (see ``journeyflow.model.tables``)::

    OUT/tables/<table>/_schema.parquet                          empty, carries the schema
    OUT/tables/<table>/date=YYYY-MM-DD/part-00000.parquet        hive partition by the table's time column (UTC day)
    OUT/tables/<table>/date=unknown/part-00000.parquet           rows whose time column is null

:func:`read_table` always returns exactly the columns of ``arrow_schema(name)`` (same order, same types): the
``date`` partition column is dropped, because it is derived from the table's own ``partition_field`` (and would be
the string ``unknown`` for rows without a time).  Files and directories whose name starts with ``_`` or ``.`` are
ignored.  A table whose directory does not exist reads as an empty table with the right schema (use
:func:`table_exists` to tell the difference); a missing ``OUT/tables`` directory is an error.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.dataset as ds

import pyarrow.parquet as pq

from journeyflow.model.tables import TABLES, arrow_schema, partition_of, to_arrow

__all__ = ["TABLES", "read_table", "load_tables", "not_an_output_hint", "table_dir", "table_exists", "write_table"]

_PARTITIONING = ds.partitioning(pa.schema([("date", pa.string())]), flavor="hive")


def table_dir(out_dir: str | os.PathLike[str], name: str) -> Path:
    """``<out_dir>/tables/<name>``, the directory of one analyst table (hive-partitioned by ``date=``)."""
    return Path(out_dir) / "tables" / name


def table_exists(out_dir: str | os.PathLike[str], name: str) -> bool:
    """Whether the table's directory exists (the pipeline always writes it, with ``_schema.parquet``)."""
    return table_dir(out_dir, name).is_dir()


def read_table(out_dir: str | os.PathLike[str], name: str) -> pa.Table:
    """The whole table ``name`` of ``out_dir`` as one pyarrow Table with the columns of ``arrow_schema(name)``."""
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; tables are: {', '.join(TABLES)}")
    tables_root = Path(out_dir) / "tables"
    if not tables_root.is_dir():
        what = "is not a folder" if tables_root.exists() else "does not exist"  # (a file there: not "missing")
        raise FileNotFoundError(f"{tables_root} {what}: {not_an_output_hint(out_dir)}")
    schema = arrow_schema(name)
    path = tables_root / name
    if not path.is_dir():
        return schema.empty_table()
    # An explicit schema: every fragment is cast to the table's types (a writer that used timestamp[us] or nullable
    # fields still reads back as the documented schema), and the partition column, not in it, is not materialized.
    dataset = ds.dataset(path, format="parquet", schema=schema, partitioning=_PARTITIONING,
                         ignore_prefixes=["_", "."])
    return dataset.to_table()


def not_an_output_hint(out_dir: str | os.PathLike[str]) -> str:
    """The end of a "no tables here" message: ``give OUT, the replay output directory ...`` when ``out_dir`` is a
    folder inside a replay's output (``OUT/tables``, ``OUT/tables/decisions``, a ``date=`` partition: the folder an
    analyst sees the Parquet files in), else ``is <out_dir> a replay output directory?``."""
    here = Path(out_dir)
    for up in list(here.resolve().parents)[:3]:
        if (up / "tables").is_dir() and here.resolve().is_relative_to(up / "tables"):
            shown = os.path.relpath(up) if not here.is_absolute() else str(up)
            return f"{out_dir} is inside the replay output {shown}: give {shown}"
    return f"is {out_dir} a replay output directory?"


def load_tables(out_dir: str | os.PathLike[str]) -> dict[str, pa.Table]:
    """Every analyst table of ``out_dir`` (see :data:`TABLES`), by name."""
    return {name: read_table(out_dir, name) for name in TABLES}


def write_table(out_dir: str | os.PathLike[str], name: str, rows: Iterable[dict[str, Any]]) -> Path:
    """Write ``rows`` (dicts as ``to_arrow`` takes them, times in epoch ms) in the replay's layout.

    ``OUT/tables/<name>/_schema.parquet`` (empty) plus one ``date=…/part-00000.parquet`` per UTC day of the
    table's partition field.  Replaces what was there.  For tests, fixtures and small hand-made outputs; the
    pipeline writes the same layout itself.
    """
    path = table_dir(out_dir, name)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    pq.write_table(arrow_schema(name).empty_table(), path / "_schema.parquet")
    by_part: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_part.setdefault(partition_of(name, row), []).append(row)
    for part, part_rows in sorted(by_part.items()):
        (path / part).mkdir()
        pq.write_table(to_arrow(name, part_rows), path / part / "part-00000.parquet")
    return path
