"""``journeyflow validate`` fails a corrupted table and passes a good one, also when the corruption is a *missing*
value (QA round 2 of the analytics checks): GX's set, regex and range expectations skip nulls, so a decision with no
``action`` or no ``decided_at``, a send with no channel, a journey step with no ``kind``, a suppressed candidate
with no ``reason`` or a link with no ``status`` passed every check although the schema declares those columns
``REQUIRED``.

Each case changes one cell of a replay's real tables and names the check that must catch it."""
from __future__ import annotations

import pyarrow as pa
import pytest

from journeyflow.analytics.quality import validate_tables
from journeyflow.analytics.tables import load_tables


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, pa.Table]:
    from journeyflow.pipelines.replay import run_replay
    from journeyflow.tools.generator import generate
    base = tmp_path_factory.mktemp("quality_nulls")
    generate(80, 4, 5, str(base / "in"))
    assert run_replay(["--input", str(base / "in"), "--output", str(base / "out")]).reconciles
    return load_tables(base / "out")


def _set(t: pa.Table, col: str, i: int, value) -> pa.Table:
    vals = t.column(col).to_pylist()
    vals[i] = value
    f = t.schema.field(col)
    return t.set_column(t.schema.get_field_index(col), f.with_nullable(True), pa.array(vals, f.type))


CASES = [  # (table, column, row chosen by (column, value) or any other, new value, the check that must fail)
    ("decisions", "action", None, None, "action_not_null"),
    ("decisions", "decided_at", None, None, "decided_at_not_null"),
    ("decisions", "channel", ("action", "send"), None, "channel_set_when_acted"),
    ("decisions", "step_id", ("action", "wait"), None, "step_id_set_when_acted"),
    ("decisions", "trigger_event_id", None, None, "trigger_event_id_not_null"),
    ("suppressed_candidates", "reason", None, None, "reason_not_null"),
    ("journey_steps", "kind", None, None, "kind_not_null"),
    ("journey_steps", "at", None, None, "at_not_null"),
    ("identity_links", "status", None, None, "status_not_null"),
    ("identity_links", "customer_id", None, None, "customer_id_not_null"),
    ("customer_snapshots", "snapshot_at", None, None, "snapshot_at_not_null"),
    ("dead_letter", "reason", None, None, "reason_not_null"),
    ("field_warnings", "source", None, None, "source_not_null"),
]


def test_the_good_tables_pass(tables):
    report = validate_tables(tables)
    assert report.ok, [(c.table, c.check) for c in report.failures]


def test_each_missing_or_mangled_value_fails_its_check(tables):
    """All cases in one validation (GX's cost is per run): each changes another row, so none hides another."""
    changed = dict(tables)
    used: dict[str, set[int]] = {}
    for table, col, where, value, _check in CASES:
        t = changed[table]
        assert t.num_rows > 1, f"the population has too few {table} rows"
        taken = used.setdefault(table, set())
        if where:
            i = next(i for i, v in enumerate(t.column(where[0]).to_pylist()) if v == where[1] and i not in taken)
        else:
            i = next(i for i in range(t.num_rows) if i not in taken
                     and t.column("action" if table == "decisions" else t.column_names[0])[i].as_py()
                     not in ("send", "wait"))
        taken.add(i)
        changed[table] = _set(t, col, i, value)
    failed = {(c.table, c.check) for c in validate_tables(changed).failures}
    assert {(table, check) for table, _c, _w, _v, check in CASES} <= failed, failed
