"""``customer_value`` never adds amounts of different currencies (session 22, helper e; a fault of issue 20's kind).

Before: a customer with a 100 USD and a 10,000 JPY order got ``revenue_90d: 10100.0`` on the task an account manager
reads.  Now order entries keep their currency (``state_orders``: ``[ts, order_id, amount, [product_ids], currency]``,
upper-cased; older 3-/4-element entries read as "currency unknown"), ``customer_value`` names the ``currency`` of
``revenue_90d`` (the latest 90-day order with an amount and a currency) and, when the 90 days hold more than one
currency (unknown counted as its own), ``revenue_90d_by_currency``.  Examples of each kind: mixed currencies, case
spellings of one code, an order without a currency, stored states of earlier builds, a merge of two profiles, a
re-sent report completing the currency, and the task message against its topic schema.
"""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from journeyflow.config.engine import EngineConfig
from journeyflow.model.decisions import Candidate
from journeyflow.model.events import Event
from journeyflow.stages.arbitration.context import UNKNOWN_CURRENCY, customer_value, message_context
from journeyflow.stages.bounded import ClusterFold
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser, parse_ts
from journeyflow.stages.processor import END_OF_TIME
from journeyflow.stages.state import DAY, HOUR, CustomerState
from journeyflow.stages.state_codec import decode_state, encode_state
from journeyflow.stages.state_orders import currency_code

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "topics"
NOW = parse_ts("2026-10-05T12:00:00+00:00")


def order(uid: str, ts: int, oid: str, amount=None, currency=None, crm: str = "C1", pids=("SKU-1",)) -> Event:
    attrs = {"order_id": oid, "product_ids": list(pids)}
    if amount is not None:
        attrs["amount"] = amount
    if currency is not None:
        attrs["currency"] = currency
    return Event(uid, "orders", "order_placed", ts, (f"crm:{crm}",), attrs, {})


def state_of(*events: Event, crm: str = "C1") -> CustomerState:
    s = CustomerState(customer_id=f"crm:{crm}", ids=[f"crm:{crm}"])
    for ev in events:
        s.apply(ev)
    return s


def test_100_usd_and_10000_jpy_are_not_added():
    s = state_of(order("o1", NOW - 3 * DAY, "O1", 100.0, "USD"), order("o2", NOW - 2 * DAY, "O2", 10_000, "JPY"))
    v = customer_value(s, NOW)
    assert v == {"orders_90d": 2, "currency": "JPY", "revenue_90d": 10_000.0,
                 "revenue_90d_by_currency": {"USD": 100.0, "JPY": 10_000.0}, "last_order_at": NOW - 2 * DAY}
    # a later USD order makes USD the currency of revenue_90d (the latest order with an amount and a currency)
    s.apply(order("o3", NOW - DAY, "O3", 20.5, "USD"))
    v = customer_value(s, NOW)
    assert (v["currency"], v["revenue_90d"]) == ("USD", 120.5)
    assert v["revenue_90d_by_currency"] == {"USD": 120.5, "JPY": 10_000.0}


def test_lower_case_and_upper_case_codes_are_one_currency_through_the_parser():
    parser, s = Parser(Hasher(b"k")), CustomerState(customer_id="crm:C1")
    for k, (amount, cur) in enumerate([(10.25, "usd"), (20.5, "USD"), (1.0, " Usd ")]):
        ev = parser.parse_full("orders", json.dumps({
            "event_id": f"o-{k}", "ts": "2026-10-0%dT10:00:00Z" % (k + 1), "crm_id": "C1", "order_id": f"ORD-{k}",
            "type": "order_placed", "product_ids": ["SKU-1"], "amount": amount, "currency": cur}), "t").result
        s.apply(ev)
    assert [o[4] for o in s.orders] == ["USD", "USD", "USD"]
    v = customer_value(s, NOW)
    assert (v["orders_90d"], v["currency"], v["revenue_90d"]) == (3, "USD", 31.75)
    assert "revenue_90d_by_currency" not in v


def test_currency_code_rules():
    assert [currency_code(x) for x in ("eur", " GBP\t", "", "  ", None, 978, ["EUR"])] == [
        "EUR", "GBP", None, None, None, None, None]


def test_an_order_without_a_currency_beside_one_in_eur():
    s = state_of(order("o1", NOW - 5 * DAY, "O1", 12.5, "EUR"), order("o2", NOW - 4 * DAY, "O2", 30.0))
    v = customer_value(s, NOW)
    # the latest order with an amount and a currency is the EUR one: the amount without a currency is not added
    assert (v["currency"], v["revenue_90d"]) == ("EUR", 12.5)
    assert v["revenue_90d_by_currency"] == {"EUR": 12.5, UNKNOWN_CURRENCY: 30.0} == {"EUR": 12.5, "unknown": 30.0}
    # with no currency at all: as before (no currency key, the plain sum)
    v = customer_value(state_of(order("o1", NOW - 5 * DAY, "O1", 12.5), order("o2", NOW - DAY, "O2", 30.0)), NOW)
    assert v == {"orders_90d": 2, "revenue_90d": 42.5, "last_order_at": NOW - DAY}
    # an order with a currency but no amount names no currency; an amount-less order counts in orders_90d only
    v = customer_value(state_of(order("o1", NOW - 5 * DAY, "O1", 7.0), order("o2", NOW - DAY, "O2", None, "EUR")),
                       NOW)
    assert v == {"orders_90d": 2, "revenue_90d": 7.0, "last_order_at": NOW - DAY}


def test_orders_older_than_90_days_and_sums_past_the_double_range():
    s = state_of(order("o1", NOW - 91 * DAY, "O1", 5.0, "GBP"), order("o2", NOW - DAY, "O2", 1e308, "EUR"),
                 order("o3", NOW - HOUR, "O3", 1e308, "EUR"))
    v = customer_value(s, NOW)
    assert (v["orders_90d"], v["currency"], v["revenue_90d"]) == (2, "EUR", 1.7976931348623157e308)
    assert "revenue_90d_by_currency" not in v  # the GBP order is outside the 90 days


def test_a_state_stored_by_an_earlier_build_decodes_and_gives_the_value_it_gave():
    """3-element entries (before orders kept their items) and 4-element ones (before their currency): currency
    unknown, ``revenue_90d`` their plain sum, as earlier builds computed it; in the JSON and marshal forms."""
    old = CustomerState(customer_id="crm:C1", ids=["crm:C1"],
                        orders=[[NOW - 9 * DAY, "O1", 40.0], [NOW - 8 * DAY, "O2", 2.5, ["A"]]])
    for b in (old.to_bytes(), encode_state(old)):
        s = CustomerState.from_bytes(b) if b[:1] != b"M" else decode_state(b)
        assert s.orders == [[NOW - 9 * DAY, "O1", 40.0], [NOW - 8 * DAY, "O2", 2.5, ["A"]]]
        assert customer_value(s, NOW) == {"orders_90d": 2, "revenue_90d": 42.5, "last_order_at": NOW - 8 * DAY}
        # a new EUR order beside them: EUR is the currency, the old amounts are the unknown ones
        s.apply(order("o3", NOW - DAY, "O3", 9.0, "eur"))
        v = customer_value(s, NOW)
        assert (v["currency"], v["revenue_90d"], v["revenue_90d_by_currency"]) == (
            "EUR", 9.0, {"unknown": 42.5, "EUR": 9.0})
        # a re-sent report of the 4-element entry gives it its currency; the 3-element one has no slot for it
        s.apply(order("o2b", NOW - 8 * DAY + 5, "O2", 2.5, "EUR", pids=("A",)))
        s.apply(order("o1b", NOW - 9 * DAY + 5, "O1", 40.0, "EUR"))
        assert s.orders[:2] == [[NOW - 9 * DAY, "O1", 40.0], [NOW - 8 * DAY, "O2", 2.5, ["A"], "EUR"]]
        assert customer_value(s, NOW)["revenue_90d_by_currency"] == {"unknown": 40.0, "EUR": 11.5}


def test_a_merge_of_two_profiles_with_different_currencies():
    x = state_of(order("o1", NOW - 3 * DAY, "O1", 100.0, "USD"), order("o9", NOW - 6 * DAY, "O9", 5.0), crm="C1")
    y = state_of(order("o2", NOW - 2 * DAY, "O2", 80.0, "GBP"),
                 order("o9y", NOW - 6 * DAY + 1, "O9", 5.0, "gbp"), crm="C2")  # O9 reported under both profiles
    for m in (x.merge(y), y.merge(x)):
        assert [o[1] for o in m.orders] == ["O9", "O1", "O2"]
        assert m.orders[0][4] == "GBP"  # the first placement of O9 (no currency) completed by the other report
        v = customer_value(m, NOW)
        assert v["orders_90d"] == 3 and (v["currency"], v["revenue_90d"]) == ("GBP", 85.0)
        assert v["revenue_90d_by_currency"] == {"GBP": 85.0, "USD": 100.0}
    assert x.orders[0] == [NOW - 6 * DAY, "O9", 5.0, ["SKU-1"], None]  # neither side is modified


def test_a_re_sent_order_report_completes_the_currency():
    s = state_of(order("o1", NOW - 2 * DAY, "O1", 80.0), order("o1-again", NOW - 2 * DAY + 60_000, "O1", 80.0, "cad"))
    assert s.orders == [[NOW - 2 * DAY, "O1", 80.0, ["SKU-1"], "CAD"]]
    assert customer_value(s, NOW) == {"orders_90d": 1, "currency": "CAD", "revenue_90d": 80.0,
                                      "last_order_at": NOW - 2 * DAY}
    # a known currency is kept against a later report naming another, unless that report also brings the amount
    s.apply(order("o1-3", NOW - 2 * DAY + 120_000, "O1", 80.0, "USD"))
    assert s.orders[0][4] == "CAD"
    s = state_of(order("o2", NOW - DAY, "O2", None, "EUR"), order("o2-again", NOW - DAY + 1, "O2", 25.0, "usd"))
    assert s.orders == [[NOW - DAY, "O2", 25.0, ["SKU-1"], "USD"]]  # the amount keeps the currency it came with


def test_the_task_message_of_a_mixed_currency_customer_validates_against_its_topic_schema():
    d0 = NOW - 10 * DAY
    evs = [Event("crm/c", "crm", "contact_created", d0, ("crm:C1",), {"timezone": "UTC", "owner_id": "own-7"}, {}),
           order("orders/o1", d0 + DAY, "O1", 100.0, "USD"), order("orders/o2", d0 + 2 * DAY, "O2", 10_000, "JPY"),
           order("orders/o3", d0 + 3 * DAY, "O3", 3.0),
           Event("support/t1", "support", "ticket_opened", d0 + 4 * DAY, ("crm:C1",),
                 {"ticket_id": "T1", "severity": "high"}, {}),
           Event("support/t1e", "support", "ticket_escalated", d0 + 4 * DAY + HOUR, ("crm:C1",),
                 {"ticket_id": "T1"}, {})]
    out = ClusterFold(EngineConfig.from_files().build_processor()).run(
        [(ev, ()) for ev in sorted(evs, key=lambda x: x.sort_key)], END_OF_TIME)
    task = next(d for d in out.decisions if d.action == "create_task")
    assert task.context["customer_value"] == {
        "orders_90d": 3, "currency": "JPY", "revenue_90d": 10_000.0,
        "revenue_90d_by_currency": {"USD": 100.0, "JPY": 10_000.0, "unknown": 3.0}, "last_order_at": d0 + 3 * DAY}
    message = json.loads(json.dumps(task.to_dict(with_address=True), sort_keys=True))
    schema = json.loads((SCHEMAS / "decisions-crm-task.schema.json").read_text())
    v = jsonschema.Draft202012Validator(schema)
    assert list(v.iter_errors(message)) == []
    bad = json.loads(json.dumps(message))
    bad["context"]["customer_value"]["revenue_90d_by_currency"] = {"JPY": 10_000.0}  # one currency: no breakdown
    assert list(v.iter_errors(bad))
    bad["context"]["customer_value"]["revenue_90d_by_currency"] = {"JPY": -1.0, "USD": 1.0}
    assert list(v.iter_errors(bad))
    bad["context"]["customer_value"].pop("revenue_90d_by_currency")
    bad["context"]["customer_value"]["currency"] = ""
    assert list(v.iter_errors(bad))


def test_message_context_uses_customer_value_for_tasks_only():
    s = state_of(order("o1", NOW - 3 * DAY, "O1", 100.0, "USD"), order("o2", NOW - 2 * DAY, "O2", 10_000, "JPY"))
    task = Candidate("vip", "s1", "service", 5, "create_task", "crm_task", None, "orders/o2", NOW)
    assert message_context(task, s, NOW)["customer_value"] == customer_value(s, NOW)
    email = Candidate("j", "s1", "marketing", 5, "send", "email", None, "orders/o2", NOW)
    assert "customer_value" not in message_context(email, s, NOW)
