"""No ``NaN`` / ``Infinity`` in any JSON journeyflow writes (RFC 8259 has no such numbers; strict readers such as
JavaScript's ``JSON.parse``, Go and BigQuery's ``PARSE_JSON`` refuse the whole text).

Inputs never hold one (the parsers refuse non-finite numbers), but sums can leave the double range: two orders of
``1e308`` (a finite, valid amount each) make ``revenue_90d`` of a task's ``customer_value`` infinite, and two values of
a ``sum`` attribute the snapshot's ``traits`` JSON.  Python's ``json.dumps`` wrote ``Infinity`` there (qa14e noticed
the traits case); now such a value is ``null`` (``stages.json_text.dumps_finite``)."""
from __future__ import annotations

import json
from datetime import timedelta as td

import pytest
from hypothesis import given, strategies as st

from journeyflow.model.decisions import Decision
from journeyflow.stages.json_text import dumps_finite
from tests.scenarios import Scenario


def _strict(text: str):
    """``json.loads`` that refuses ``NaN`` / ``Infinity`` / ``-Infinity`` as a strict reader does."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_a_task_whose_customer_value_overflows_is_strict_json():
    from journeyflow.transforms.outputs import decision_messages

    d = Decision("d_1", "crm:C1", 1_790_000_000_000, "vip", "s1", "create_task", "crm_task", None, "service", 5,
                 ("chosen",), (), "orders/o-1",
                 context={"customer_value": {"orders_90d": 2, "revenue_90d": float("inf")},
                          "ticket_history": [{"csat": float("nan")}]})
    msgs = decision_messages(d)
    assert msgs
    for m in msgs:
        _strict(m.data.decode())  # raises on NaN / Infinity
    task = next(_strict(m.data.decode()) for m in msgs if m.topic != "decisions-audit")
    assert task["context"]["customer_value"] == {"orders_90d": 2, "revenue_90d": None}
    assert task["context"]["ticket_history"] == [{"csat": None}]


def test_a_sum_attribute_past_the_double_range_is_null_in_the_snapshot_traits(tmp_path):
    from journeyflow.analytics.query import query
    from journeyflow.pipelines.replay import run_replay

    s = Scenario()
    s.contact(-td(days=30), "BIG", email="big@example.com")
    s.contact(-td(days=30), "SMALL", email="small@example.com")
    for k, (crm, amount) in enumerate([("BIG", 1e308), ("BIG", 1e308), ("SMALL", 40.5)]):
        s.add("orders", td(hours=k), crm_id=crm, order_id=f"ORD-{k}", type="order_placed", product_ids=["SKU-1"],
              amount=amount, currency="USD", event_id=f"o-{k}")
    attributes = tmp_path / "attributes.yaml"
    attributes.write_text("version: 1\nattributes:\n"
                          "  spend: {op: sum, event: order_placed, property: amount}\n"
                          "  orders_all: {op: count, event: order_placed}\n")
    out = tmp_path / "out"
    run_replay(["--input", str(s.write(tmp_path / "in")), "--output", str(out), "--attributes", str(attributes),
                "--until", "end"])
    rows = query(out, "SELECT customer_id, traits FROM customer_snapshots ORDER BY snapshot_at").to_pylist()
    latest = {r["customer_id"]: _strict(r["traits"]) for r in rows if r["traits"]}
    assert latest["crm:BIG"] == {"orders_all": 2, "spend": None}
    assert latest["crm:SMALL"] == {"orders_all": 1, "spend": 40.5}  # (control: a finite sum as it was)
    for topic in (out / "topics").glob("*.jsonl"):
        for line in topic.read_text().splitlines():
            _strict(line)


finite = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                      | st.text(max_size=5),
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                                  max_size=4), max_leaves=12)


@given(finite)
def test_finite_data_is_written_exactly_as_json_dumps_writes_it(v):
    assert dumps_finite(v, sort_keys=True) == json.dumps(v, sort_keys=True)


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_every_non_finite_float_at_any_depth_is_null(bad):
    assert _strict(dumps_finite({"a": [1, {"b": (bad, 2.5)}], "c": bad})) == {"a": [1, {"b": [None, 2.5]}], "c": None}


def test_revenue_90d_of_two_huge_orders_saturates_at_the_largest_double():
    """The message contract (``schemas/topics/*``: ``revenue_90d`` a number >= 0) holds when the sum of two finite
    amounts leaves the double range: the largest double, not infinity (then written ``Infinity``) nor null."""
    import sys

    from journeyflow.model.decisions import Candidate
    from journeyflow.stages.arbitration.context import message_context
    from journeyflow.stages.identity.keys import Hasher
    from journeyflow.stages.parse import Parser
    from journeyflow.stages.state import CustomerState

    parser, state, t0 = Parser(Hasher(b"k")), CustomerState(customer_id="crm:C1"), 1_790_000_000_000
    for k, amount in enumerate([1e308, 1e308]):
        ev = parser.parse_full("orders", json.dumps({
            "event_id": f"o-{k}", "ts": "2026-09-21T10:00:0%dZ" % k, "crm_id": "C1", "order_id": f"ORD-{k}",
            "type": "order_placed", "product_ids": ["SKU-1"], "amount": amount, "currency": "USD"}), "t").result
        state.apply(ev)
    c = Candidate("vip", "s1", "service", 5, "create_task", "crm_task", None, "orders/o-1", t0)
    value = message_context(c, state, t0)["customer_value"]
    assert value["orders_90d"] == 2
    assert value["revenue_90d"] == sys.float_info.max
