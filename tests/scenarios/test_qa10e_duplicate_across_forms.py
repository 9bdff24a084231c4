"""The same event, with the same id, from both input forms: a shop forwarding its web events to journeyflow both as
``web.jsonl`` records and through Segment (``Product Viewed`` with ``messageId`` = the web event's ``event_id``,
as a server-side source sets it), e.g. while it migrates from one to the other.

The de-duplication key is ``<stream>/<event id>``.  A Segment message's was ``track/<messageId>`` even when the
mapping turned it into a built-in web event, so the two copies were two events: two real views of a product counted
four, and the browse offer (three views in 7 days) went out after the second view (a strict xfail since qa10e).  Now a
mapped message's id is in its target stream's namespace (``web/<messageId>``, ``stages/segment/parse.py``): the
second copy is a ``duplicate_event`` dead letter, in either arrival order.  A Segment message the mapping does not
turn into a built-in event keeps ``track/<messageId>`` (a custom event is not a web event whatever its id).
Replayed through the public replay API (``run_replay``), default journeys and policy.
"""
from __future__ import annotations

import json
from datetime import timedelta as td

from tests.scenarios import Scenario, T0, decisions_of, read_topic

H = td(hours=1)


def _both_forms(s: Scenario, customer: str, device: str, views: int, segment_first: bool = False) -> None:
    """``views`` real views of SKU-7 by ``customer``, each sent as a web record and as a Segment ``Product Viewed``
    with the web event's id as ``messageId`` (``segment_first``: the Segment copy 1 ms earlier)."""
    for k in range(views):
        at = T0 + k * H
        s.add("web", k * H + (td(milliseconds=1) if segment_first else td(0)), anonymous_id=device,
              user_id=customer, type="product_view", product_id="SKU-7", event_id=f"{customer}-view-{k}")
        s.records["track"].append({"type": "track", "messageId": f"{customer}-view-{k}", "event": "Product Viewed",
                                   "userId": customer, "anonymousId": device, "timestamp": at.isoformat(),
                                   "properties": {"product_id": "SKU-7"}})


def _replay(s: Scenario, tmp_path):
    from journeyflow.pipelines.replay import run_replay

    inp = s.write(tmp_path / "in")
    summary = run_replay(["--input", str(inp), "--output", str(tmp_path / "out"), "--until", "end"])
    return summary, read_topic(tmp_path / "out", "decisions-audit"), read_topic(tmp_path / "out", "dead-letter")


def _browse_offers(audit, customer):
    return [d for d in decisions_of(audit, customer) if d["content_id"] == "browse_promo" and d["action"] == "send"]


def test_two_views_sent_by_both_forms_with_one_id_are_two_views(tmp_path):
    s = Scenario()
    s.contact(-30 * td(days=1), "TWOFORMS", email="twoforms@example.com")
    _both_forms(s, "TWOFORMS", "dev-2f", 2)
    s.contact(-30 * td(days=1), "SEGFIRST", email="segfirst@example.com")
    _both_forms(s, "SEGFIRST", "dev-sf", 2, segment_first=True)
    # control: three real views, each sent by both forms, are three views: the offer goes out once
    s.contact(-30 * td(days=1), "THREE", email="three@example.com")
    _both_forms(s, "THREE", "dev-3f", 3)
    summary, audit, dead = _replay(s, tmp_path)
    assert _browse_offers(audit, "crm:TWOFORMS") == []
    assert _browse_offers(audit, "crm:SEGFIRST") == []
    assert len(_browse_offers(audit, "crm:THREE")) == 1
    # every second copy is a duplicate_event dead letter naming the web event id (nothing dropped silently)
    dups = sorted(d["source"] for d in dead if d["reason"] == "duplicate_event")
    assert dups == sorted(f"web/{c}-view-{k}" for c, n in (("TWOFORMS", 2), ("SEGFIRST", 2), ("THREE", 3))
                          for k in range(n))
    assert summary.reconciles


def test_a_custom_segment_event_sharing_a_web_event_id_is_not_its_duplicate(tmp_path):
    """Only a message the mapping turns into a built-in event shares that stream's ids: a custom ``Video Played``
    whose ``messageId`` happens to equal a web event's id is an event of its own (no dead letter)."""
    s = Scenario()
    s.contact(-30 * td(days=1), "CUSTOM", email="custom@example.com")
    s.add("web", td(0), anonymous_id="dev-c", user_id="CUSTOM", type="product_view", product_id="SKU-7",
          event_id="shared-1")
    s.records["track"].append({"type": "track", "messageId": "shared-1", "event": "Video Played",
                               "userId": "CUSTOM", "timestamp": (T0 + td(minutes=1)).isoformat(),
                               "properties": {"video": "intro"}})
    summary, _audit, dead = _replay(s, tmp_path)
    assert [d for d in dead if d["reason"] == "duplicate_event"] == [], json.dumps(dead)[:500]
    assert summary.reconciles
