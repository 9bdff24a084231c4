"""qa17c: ``compare``'s "orders <=7 d after such a send" counts an order once, however often it is reported.

An order system re-sends an ``order_placed`` with a new event id (a retried webhook, a re-export), or the same
purchase arrives in both input forms (the ``orders`` record and Segment's ``Order Completed``).  The pipeline reads
it as that order again: no new order, no second conversion (README "Per-customer state": an ``order_placed`` of an
order the customer already placed, not cancelled since, is that order again).  compare's goal conversions counted
each report: one purchase re-sent once read as two orders after the cart reminder, on both sides.  An order placed
again after its cancellation (or after a payment failure: the payment going through) is placed again, as in the
pipeline."""
from __future__ import annotations

import json

import pytest

from journeyflow.analytics.compare import compare


def _lines(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _order(n, ts, oid, kind="order_placed", products=("SKU-1",)):
    return {"event_id": f"orders-{n}", "ts": ts, "crm_id": "C1", "email": "ann@example.com", "order_id": oid,
            "type": kind, "product_ids": list(products), "amount": 10.0, "currency": "GBP"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("qa17c_resent_orders")
    _lines(d / "crm.jsonl", [{"event_id": "crm-1", "ts": "2026-10-01T10:00:00Z", "crm_id": "C1",
                              "email": "ann@example.com", "phone": None, "type": "contact_created",
                              "lifecycle_stage": "customer", "timezone": "Europe/London", "owner_id": "o1"}])
    _lines(d / "consent.jsonl", [{"event_id": "consent-1", "ts": "2026-10-01T10:00:01Z", "email": "ann@example.com",
                                  "phone": None, "crm_id": None, "channel": "email", "status": "granted"}])
    _lines(d / "web.jsonl", [{"event_id": "web-1", "ts": "2026-10-01T12:00:00Z", "anonymous_id": "a1",
                              "user_id": "C1", "email": None, "type": "add_to_cart", "product_id": "SKU-1",
                              "properties": {"quantity": 1, "price": 10.0}}])
    _lines(d / "orders.jsonl", [
        _order(1, "2026-10-01T15:00:00Z", "ORD-1"),
        _order(2, "2026-10-01T15:05:00Z", "ORD-1"),  # the same order re-sent (new event id): no new order
        _order(3, "2026-10-01T15:06:00Z", "ORD-1", products=()),  # and once more, in another form
        _order(4, "2026-10-01T16:00:00Z", "ORD-2"),  # another order
        _order(5, "2026-10-01T17:00:00Z", "ORD-2", "order_cancelled"),
        _order(6, "2026-10-01T18:00:00Z", "ORD-2"),  # placed again after its cancellation: placed again
        _order(7, "2026-10-01T18:30:00Z", "ORD-2"),  # ... and that one re-sent
    ])
    return compare(str(d))


def test_a_resent_order_is_one_order_after_the_reminder(report):
    for side in (report.automation, report.journeyflow):
        assert side.goal_sends == 1 and side.goal_persons == 1
        # ORD-1, ORD-2, ORD-2 placed again after its cancellation: 3 (the four re-sent reports are none)
        assert side.conversions == 3
        assert side.converted_persons == 1
    lines = report.render().splitlines()
    row = next(line for line in lines if line.strip().startswith("orders <=7 d after such a send"))
    assert row.split()[-2:] == ["3", "3"]


# ------------------------------------------------------------ the same orders in the recent-purchase detector
H = 3_600_000
T = 1_790_856_000_000  # 2026-10-01T12:00:00Z


def _send(ts, product):
    from journeyflow.analytics.compare import Send
    return Send("P1", "crm:C1", ts, "email", "browse_offer", "promo_email", "browse_promo", "marketing", product,
                f"d{ts}{product}")


def _facts(*orders):
    from journeyflow.analytics.compare import PersonMap, build_person_facts
    from journeyflow.model.events import Event
    evs = [Event(f"orders/{i}", "orders", kind, ts, ("crm:C1",), {"order_id": oid, "product_ids": list(pids)})
           for i, (kind, ts, oid, pids) in enumerate(orders)]
    return build_person_facts(evs, PersonMap({"crm:C1": "P1"}, "ground_truth", 1))


def test_an_order_placed_again_after_its_cancellation_is_bought_again():
    from journeyflow.analytics.compare import recent_purchase_conflicts
    facts = _facts(("order_placed", T, "O1", ["SKU-1"]), ("order_cancelled", T + H, "O1", []),
                   ("order_placed", T + 2 * H, "O1", ["SKU-1"]))
    while_cancelled, after_placed_again = _send(T + 90 * 60_000, "SKU-1"), _send(T + 3 * H, "SKU-1")
    assert recent_purchase_conflicts([while_cancelled, after_placed_again], facts) == [after_placed_again]


def test_a_re_sent_report_adds_the_items_the_first_lacked():
    from journeyflow.analytics.compare import recent_purchase_conflicts
    facts = _facts(("order_placed", T, "O1", []), ("order_placed", T + H, "O1", ["SKU-2"]))
    assert [o[0] for o in facts["P1"].orders] == [T]
    offer = _send(T + 2 * H, "SKU-2")
    assert recent_purchase_conflicts([offer], facts) == [offer]
