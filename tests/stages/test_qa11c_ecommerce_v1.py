"""qa11c: Segment e-commerce **v1** events (segment-docs ``src/connections/spec/ecommerce/index.md``, "Spec: V1
Ecommerce Events"; the v1 names as Segment's own libraries match them: segmentio/analytics-events) are the same
moments as their v2 names: ``Viewed Product`` is ``Product Viewed``, ``Added Product`` ``Product Added``,
``Started Order`` ``Checkout Started``, ``Completed Order`` ``Order Completed``, ``Cancelled Order`` ``Order
Cancelled``.  They stayed unmapped track events, so a source still on v1 got no cart reminder, no cross-sell, no
browse offer.  v1 also names the product ``id`` and the order ``orderId`` (its own "Order Completed" example does):
``Order Completed`` with ``orderId`` was a dead letter (no order_id), a product given by ``id`` had none.

A refund and a product removed from the cart have no built-in meaning: they stay track events under their names
(``Removed Product``, ``Product Removed``, ``Refunded Order``, ``Order Refunded``), for custom journeys."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from tests.stages.test_input_edge_cases import HASHER

TS = "2026-10-01T10:00:00.000Z"
PRODUCTS_V2 = [{"product_id": "507f1f77", "sku": "45790-32", "price": 19, "quantity": 1},
               {"product_id": "505bd767", "sku": "46493-32", "price": 3, "quantity": 2}]
PRODUCTS_V1 = [{"id": "507f1f77", "sku": "45790-32", "price": 19, "quantity": 1},
               {"id": "505bd767", "sku": "46493-32", "price": 3, "quantity": 2}]


def parse(event: str, properties: dict) -> Event:
    msg = {"type": "track", "messageId": "m1", "userId": "019mr8mf4r", "timestamp": TS, "event": event,
           "properties": properties}
    full = Parser(HASHER).parse_full("track", json.dumps(msg).encode(), "t:1").result
    assert Parser(HASHER).parse("track", json.dumps(msg).encode(), "t:1") == full
    assert isinstance(full, Event), full
    return full


def mapped(ev: Event) -> tuple:
    """What the built-in state and journeys read of an event (properties aside)."""
    return ev.stream, ev.type, {k: v for k, v in ev.attrs.items() if k != "properties"}


V1_V2 = [  # (v1 name, v1 properties, v2 name, v2 properties)
    ("Viewed Product", {"id": "507f1f77", "sku": "G-32", "price": 18.99},
     "Product Viewed", {"product_id": "507f1f77", "sku": "G-32", "price": 18.99}),
    ("Added Product", {"id": "507f1f77", "sku": "45790-32", "quantity": 3},
     "Product Added", {"product_id": "507f1f77", "sku": "45790-32", "quantity": 3}),
    ("Started Order", {"orderId": "50314b8e", "products": PRODUCTS_V1},
     "Checkout Started", {"order_id": "50314b8e", "products": PRODUCTS_V2}),
    ("Completed Order", {"orderId": "50314b8e", "revenue": 25.0, "currency": "USD", "products": PRODUCTS_V1},
     "Order Completed", {"order_id": "50314b8e", "revenue": 25.0, "currency": "USD", "products": PRODUCTS_V2}),
    ("Cancelled Order", {"orderId": "50314b8e", "total": 25.0, "products": PRODUCTS_V1},
     "Order Cancelled", {"order_id": "50314b8e", "total": 25.0, "products": PRODUCTS_V2}),
]


@pytest.mark.parametrize("v1, v1_props, v2, v2_props", V1_V2, ids=[c[0] for c in V1_V2])
def test_a_v1_event_is_the_same_moment_as_its_v2_name(v1, v1_props, v2, v2_props):
    want = parse(v2, v2_props)
    assert want.stream != "track"
    assert mapped(parse(v1, v1_props)) == mapped(want)


@pytest.mark.parametrize("v1, v1_props, v2, v2_props", V1_V2, ids=[c[2] for c in V1_V2])
def test_a_v2_name_with_v1_properties_is_read_too(v1, v1_props, v2, v2_props):
    # the v1 spec's own example sends "Order Completed" with orderId and products[].id
    assert mapped(parse(v2, v1_props)) == mapped(parse(v2, v2_props))


def test_the_v1_order_completed_example_is_an_order_with_its_items():
    ev = parse("Order Completed", {"orderId": "50314b8e9bcf000000000000", "revenue": 25.00, "shipping": 3.00,
                                   "currency": "USD", "products": PRODUCTS_V1})
    assert (ev.stream, ev.type) == ("orders", "order_placed")
    assert ev.attrs["order_id"] == "50314b8e9bcf000000000000"
    assert ev.attrs["product_ids"] == ["507f1f77", "505bd767"]
    assert ev.attrs["amount"] == 25.0


def test_the_v2_product_id_still_wins_over_v1_spellings():
    ev = parse("Product Viewed", {"product_id": "p-2", "id": "p-1", "sku": "S"})
    assert ev.attrs["product_id"] == "p-2"


@pytest.mark.parametrize("name", ["Removed Product", "Product Removed", "Refunded Order", "Order Refunded"])
def test_removals_and_refunds_have_no_built_in_meaning_and_stay_track_events(name):
    ev = parse(name, {"order_id": "o1", "product_id": "p1"})
    assert (ev.stream, ev.type) == ("track", name)
