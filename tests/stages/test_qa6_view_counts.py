"""Product-view counts behind ``customer.product_views_7d`` stay exact for a customer who browses many other
products (QA of the compliance/arbitration area; "product views capped at 50" left from the first round).

Before: the state kept only the newest 50 views, so two views of a product followed by a browse of 50 other
products and a third view counted 1, not 3, and the browse offer never went out.  Now the newest ``max_views``
(64) are kept and, when over that, each product's newest ``views_per_product`` (10) first: counts up to 10 views of
one product are exact while the customer viewed fewer than ~60 products within the week, and the state stays
bounded for a hot key (the streaming hot-key cell within its 16 KiB).
"""
from __future__ import annotations

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.bounded import ClusterFold
from journeyflow.stages.parse import parse_ts
from journeyflow.stages.processor import END_OF_TIME
from journeyflow.stages.state import DAY, HOUR, CustomerState, Retention
from journeyflow.stages.state_bounds import cap, trim_views

D0 = parse_ts("2026-10-05T00:00:00+00:00")
CONFIG = EngineConfig.from_files()


def e(uid: str, stream: str, type_: str, ts: int, **attrs) -> Event:
    return Event(uid, stream, type_, ts, ("crm:A",), attrs, {"email": "ann@example.com"})


def shopper(others: list[str]) -> list[Event]:
    """Views P1 twice, then each product of ``others`` once (a minute apart), then P1 a third time."""
    evs = [e("crm/c", "crm", "contact_created", D0 - 30 * DAY, timezone="UTC"),
           e("consent/e", "consent", "consent_granted", D0 - 30 * DAY + 1, channel="email", status="granted"),
           e("web/p1-a", "web", "product_view", D0 + 12 * HOUR, product_id="P1"),
           e("web/p1-b", "web", "product_view", D0 + 12 * HOUR + 60_000, product_id="P1")]
    t = D0 + 13 * HOUR
    for i, pid in enumerate(others):
        evs.append(e(f"web/o{i}", "web", "product_view", t + i * 60_000, product_id=pid))
    evs.append(e("web/p1-c", "web", "product_view", t + len(others) * 60_000 + 60_000, product_id="P1"))
    return evs


def browse_offers(evs: list[Event]) -> list[str]:
    out = ClusterFold(CONFIG.build_processor()).run([(ev, ()) for ev in evs], END_OF_TIME)
    return [d.content_id for d in out.decisions if d.journey_id == "browse_offer" and d.action == "send"]


def test_a_third_view_after_browsing_fifty_other_products_counts_three():
    assert browse_offers(shopper([])) == ["browse_promo"]  # control
    assert browse_offers(shopper([f"SKU-{i}" for i in range(60)])) == ["browse_promo"]
    assert browse_offers(shopper([f"SKU-{i % 5}" for i in range(120)])) == ["browse_promo"]  # a few, many times


def test_trim_keeps_each_products_newest_views_then_the_newest_overall():
    r = Retention(max_views=6, views_per_product=2)
    views = [[1, "P1"], [2, "P1"], [3, "X"], [4, "X"], [5, "X"], [6, "X"], [7, "Y"]]
    assert trim_views(views, r) == [[1, "P1"], [2, "P1"], [5, "X"], [6, "X"], [7, "Y"]]
    assert trim_views(views[:6], r) is not None and trim_views(views[:6], r) == views[:6]  # under the bound: kept
    s, t = CustomerState(views=[list(v) for v in views]), CustomerState(views=[list(v) for v in views])
    cap(s, r)
    t.expire(8, r)  # the write-time cap and expiry agree
    assert s.views == t.views == [[1, "P1"], [2, "P1"], [5, "X"], [6, "X"], [7, "Y"]]


def test_a_hot_key_stays_bounded():
    r = Retention()
    s = CustomerState()
    for i in range(5000):
        s.views.append([D0 + i, f"SKU-{i % 700}"])
        cap(s, r)
    assert len(s.views) <= r.max_views and s.views[-1] == [D0 + 4999, "SKU-99"]
