"""``customer.product_views_7d`` and ``customer.bought_product_30d`` of an event without a product (qa8c): a
``product_view`` whose ``product_id`` was dropped (a wrong-typed value, a Segment ``Product Viewed`` without
``product_id``/``sku``) made the default ``browse_offer`` condition fail -- a counted "condition error" on every such
view although the journeys type-check (both facts are declared, always present).  The views of no product are 0 and
no product was bought: the condition is simply false."""
from __future__ import annotations

from journeyflow.stages.conditions import take_counts
from tests.stages.test_lifecycle import at, e, fold, profile


def _views(product: str | None) -> list:
    attrs = {"product_id": product} if product else {}
    return [e(f"w{i}", "web", "product_view", at(0, "10:00") + i * 60_000, **attrs) for i in range(4)]


def test_views_without_a_product_are_not_condition_errors_and_offer_nothing():
    take_counts()
    out = fold(profile() + _views(None))
    assert take_counts()["errors"] == 0
    assert not [d for d in out.decisions if d.journey_id == "browse_offer"]


def test_views_of_a_product_still_trigger_the_offer():
    take_counts()
    out = fold(profile() + _views("SKU-1"))
    assert take_counts()["errors"] == 0
    assert [d.action for d in out.decisions if d.journey_id == "browse_offer"] == ["send"]
