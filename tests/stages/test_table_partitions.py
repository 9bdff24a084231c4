"""``model.tables.by_partition`` (the file sink's grouping of table rows by date partition) gives what
``stored_row`` and ``partition_of`` called per row give, and ``transforms.outputs``' messages are the JSON of
``Decision.to_dict`` (issue 22: both were made cheaper without changing a byte)."""
import json

from journeyflow.model.decisions import Decision
from journeyflow.model.tables import by_partition, partition_of, stored_row
from journeyflow.transforms.coders import Batch
from journeyflow.transforms.outputs import decision_messages

DAY = 86_400_000


def _per_row(name, rows):
    out = {}
    for r in rows:
        r = stored_row(name, r)
        out.setdefault(partition_of(name, r), []).append(r)
    return out


def test_rows_grouped_as_partition_of_does_in_input_order():
    rows = [{"decided_at": 3 * DAY + 5, "n": 1}, {"decided_at": None, "n": 2}, {"decided_at": 3 * DAY, "n": 3},
            {"n": 4}, {"decided_at": -1, "n": 5}, {"decided_at": 2.5 * DAY, "n": 6}, {"decided_at": True, "n": 7},
            {"decided_at": 4 * DAY - 1, "n": 8}]
    got = by_partition("decisions", rows, Batch)
    assert got == _per_row("decisions", rows)
    assert list(got) == ["date=1970-01-04", "date=unknown", "date=1969-12-31", "date=1970-01-03", "date=1970-01-01"]
    assert [r["n"] for r in got["date=1970-01-04"]] == [1, 3, 8]
    assert all(type(v) is Batch for v in got.values())


def test_snapshot_rows_are_stored_with_their_traits_masked():
    rows = [{"snapshot_at": DAY, "traits": '{"note":"call ann@example.com"}'}, {"snapshot_at": DAY, "traits": None}]
    got = by_partition("customer_snapshots", rows)
    assert got == _per_row("customer_snapshots", rows)
    assert "ann@example.com" not in got["date=1970-01-02"][0]["traits"]
    assert got["date=1970-01-02"][1] is rows[1]


def _decision(**kw):
    base = dict(decision_id="d_1", customer_id="crm:1", decided_at=DAY, journey_id="j", step_id="s", action="send",
                channel="email", content_id="c", category="marketing", priority=1, reason_codes=("chosen",),
                candidates=(), trigger_event_id="e1", address="ann@example.com", address_key="email:k",
                context={"order_id": "o1"})
    base.update(kw)
    return Decision(**base)


def test_decision_messages_are_the_sorted_json_of_to_dict():
    for d in (_decision(), _decision(context=None), _decision(action="wait", due_at=2 * DAY, channel=None),
              _decision(priority=float("nan"))):
        msgs = decision_messages(d)
        want = [d.to_dict(with_address=True)] if d.target is not None else []
        want.append(d.to_dict())
        assert [json.loads(m.data) for m in msgs] == json.loads(json.dumps(want).replace("NaN", "null"))
        assert all(m.data == json.dumps(json.loads(m.data), sort_keys=True).encode() for m in msgs)
        assert b"ann@example.com" not in msgs[-1].data
