"""An order record's own ``properties`` (a coupon, a sales channel) reach journey conditions as
``event.properties.*``, as those of a Segment order event (``Order Completed`` keeps its properties).

The conditions' type checker has declared ``properties`` on orders events since issue 19 (for the Segment form), so
``when: "event.properties.coupon == 'SPRING'"`` on ``order_placed`` loaded without a word; but ``orders.avsc`` had no
``properties`` and the parser dropped them from an ``orders.jsonl`` record without a field warning: the condition
was never true there, and a newcomer's coupon journey sent nothing (0 decisions, 1 condition error).  Now the
orders schema has ``properties`` as web's (values null, string, number, boolean); the fast parser hands such a
record to the full parser; a bad entry is dropped with a field warning, the order kept."""
from __future__ import annotations

import json

from journeyflow.config.engine import EngineConfig
from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser

PARSER = Parser(Hasher.from_env())
FULL = Parser(Hasher.from_env())
FULL._fast_streams, FULL._fast_direct = frozenset(), {}  # the full parser alone
DAY = 86_400_000

JOURNEYS = """version: 1
journeys:
  - id: coupon_thanks
    name: Coupon thank-you
    category: marketing
    priority: 500
    entry: {event: order_placed, stream: orders, when: "event.properties.coupon == 'SPRING'"}
    steps:
      - id: thanks
        send: {channel: email, content_id: coupon_thanks}
"""


def order(crm: str, eid: str, **more) -> dict:
    return {"event_id": eid, "ts": "2026-10-05T10:00:00Z", "type": "order_placed", "crm_id": crm,
            "order_id": f"{crm}-{eid}", "product_ids": ["P1"], "amount": 40, "currency": "USD", **more}


def test_an_orders_properties_are_kept_by_both_parsers():
    raw = json.dumps(order("A", "o1", properties={"coupon": "SPRING", "first_order": True, "n": 2})).encode()
    ev = PARSER.parse("orders", raw)
    assert isinstance(ev, Event) and ev.attrs["properties"] == {"coupon": "SPRING", "first_order": True, "n": 2}
    assert repr(ev) == repr(FULL.parse("orders", raw))
    plain = json.dumps(order("A", "o2")).encode()  # (none: the fast path as before, no properties attribute)
    assert "properties" not in PARSER.parse("orders", plain).attrs
    assert PARSER._fast_direct["orders"](plain, None) is not None


def test_a_bad_property_is_dropped_with_a_field_warning_and_the_order_kept():
    res = PARSER.parse_full("orders", json.dumps(order("A", "o1", properties={"coupon": "SPRING",
                                                                              "cart": {"items": 3}})).encode())
    assert isinstance(res.result, Event) and res.result.attrs["properties"] == {"coupon": "SPRING"}
    assert [w.field for w in res.warnings] == ["properties"], res.warnings
    bad = PARSER.parse_full("orders", json.dumps(order("A", "o3", properties="SPRING")).encode())
    assert isinstance(bad.result, Event) and "properties" not in bad.result.attrs
    assert [w.field for w in bad.warnings] == ["properties"], bad.warnings


def test_a_condition_on_an_orders_property_decides(tmp_path):
    (tmp_path / "journeys.yaml").write_text(JOURNEYS)
    config = EngineConfig.from_files(journeys=str(tmp_path / "journeys.yaml"))
    records = []
    for crm, props in (("A", {"coupon": "SPRING"}), ("B", {"coupon": "AUTUMN"}), ("C", None)):
        records.append(("crm", {"event_id": f"c-{crm}", "ts": "2026-09-01T00:00:00Z", "type": "contact_created",
                                "crm_id": crm, "email": f"{crm.lower()}@example.com", "timezone": "UTC"}))
        records.append(("consent", {"event_id": f"g-{crm}", "ts": "2026-09-01T00:00:01Z", "crm_id": crm,
                                    "channel": "email", "status": "granted"}))
        records.append(("orders", order(crm, "o1", **({"properties": props} if props else {}))))
    parsed = [PARSER.parse(st, json.dumps(r).encode()) for st, r in records]
    assert not [d for d in parsed if isinstance(d, DeadLetter)]
    evs = sorted(parsed, key=lambda e: e.sort_key)
    sent = [d.customer_id for _c, o in fold_clusters(resolve_clusters(evs, config.link_rules()),
                                                     config.build_processor(), max(e.ts for e in evs) + DAY)
            for d in o.decisions if d.journey_id == "coupon_thanks" and d.action == "send"]
    assert sent == ["crm:A"]  # before: nobody (the coupon was dropped on input)
