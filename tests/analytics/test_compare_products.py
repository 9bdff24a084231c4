"""``compare`` records the product of every send by the id the decision leaves with.

A moment that gathers several inputs at one event time gives each chosen record its own candidate's trigger, and
with it its id (``stages.arbitration.moment``); the recorder used to key products by the id computed inside the
arbiter (with the moment's trigger), so such sends had no product in the comparison."""
from __future__ import annotations

import pytest

from journeyflow.analytics.compare import fold_in_process
from journeyflow.stages.processor import END_OF_TIME
from tests.stages.test_same_ms_moments import D0, HOUR, config, e, known_customer, views


@pytest.mark.parametrize("order_uid", ["orders/a-first", "orders/z-last"])
def test_every_send_of_a_multi_input_moment_has_its_product_recorded(order_uid):
    t = D0 + 13 * HOUR
    events = known_customer() + views([D0 + 12 * HOUR, D0 + 12 * HOUR + 60_000, t]) + [
        e(order_uid, "orders", "payment_failed", t, order_id="O1")]
    decisions, products, _identity = fold_in_process(events, config(), END_OF_TIME)
    sends = [d for d in decisions if d.action == "send"]
    assert any(d.decided_at == t and d.trigger_event_id == order_uid for d in sends)  # the moment's own send
    assert {(d.customer_id, d.decision_id) for d in sends} <= set(products)
