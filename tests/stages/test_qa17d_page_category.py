"""A page call's ``category`` (qa17d).  The Segment Spec gives a page a ``name`` and a ``category``
(``analytics.page("Docs", "Pricing")``; a server library's ``page({category: "Docs", name: "Pricing"})`` sends them
as top-level fields only).  The parser kept the name and dropped the category without a word, and a journey could
not ask for it (``event.category``: an unknown field at load).  Now it is ``attrs["category"]``, type-checked as a
string, a category that is no string dropped with a field warning like a bad name."""
from __future__ import annotations

import json

from journeyflow.model.events import Event
from journeyflow.stages.fields import is_warning_field
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.journeys.loader import load_journeys_text
from journeyflow.stages.parse import Parser

P = Parser(Hasher(b"test-key"))
TS = "2026-10-05T10:00:00.000Z"


def parse(**kw):
    raw = json.dumps({"messageId": "m-1", "userId": "u1", "timestamp": TS, **kw}).encode()
    res = P.parse_full("track", raw, "t:1")
    assert P.parse("track", raw, "t:1") == res.result
    assert all(is_warning_field("track", w.field) for w in res.warnings), res.warnings
    return res


def test_a_page_keeps_its_category_and_a_journey_may_read_it():
    ev = parse(type="page", name="Pricing", category="Docs").result
    assert isinstance(ev, Event) and (ev.type, ev.attrs["name"], ev.attrs["category"]) == (
        "Page Viewed", "Pricing", "Docs")
    journeys = load_journeys_text("""version: 1
journeys:
  - id: docs
    category: marketing
    priority: 1
    entry: {event: Page Viewed, stream: track, when: "has(event.category) && event.category == 'Docs'"}
    steps:
      - id: mail
        send: {channel: email, content_id: docs}
""", "j.yaml")
    cond = journeys[0].entry[0].condition
    assert cond.evaluate({"event": {"type": "Page Viewed", "ts": 0, **ev.attrs}, "customer": {}})
    assert not cond.evaluate({"event": {"type": "Page Viewed", "ts": 0, "name": "Pricing"}, "customer": {}})


def test_a_category_that_is_no_string_is_dropped_with_a_warning_and_the_page_kept():
    res = parse(type="page", name="Pricing", category=["Docs"])
    assert isinstance(res.result, Event) and "category" not in res.result.attrs
    assert [(w.field, w.reason) for w in res.warnings] == [("category", "wrong_type")]


def test_a_category_with_an_address_in_it_is_a_keyed_token():
    ev = parse(type="page", name="Pricing", category="Invited by ann@example.com").result
    assert "ann@example.com" not in json.dumps(ev.attrs) and ev.attrs["category"].startswith("Invited by ")
