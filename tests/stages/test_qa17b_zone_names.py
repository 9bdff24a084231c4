"""qa17b: quiet hours in the customer's zone when the CRM writes it as HubSpot, Zendesk, Shopify or Rails do.

A New York customer (October: EDT, UTC-4) browses at 10:00Z, 06:00 in New York.  With the zone written
``America/New_York`` the offer waits for 08:00 local (12:00Z).  Written ``america_slash_new_york`` (HubSpot's
``hs_timezone``), ``Eastern Time (US & Canada)`` (Zendesk, Rails), ``(GMT-05:00) Eastern Time (US & Canada)``
(Shopify, Windows' display name) or ``America/New York``, the zone was dropped (``unknown_timezone``) and quiet
hours were kept in UTC: the promotion went out at 06:02 New York time.  Now ``stages.zone_names`` reads them, for
the crm stream and a Segment ``context.timezone`` alike (both go through ``fields.normalize_timezone``)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from tests.stages.test_qa11a_mailboxes import CONFIG, PARSER

SPELLINGS = {  # written -> (zone, field warning reason or None)
    "america_slash_new_york": ("America/New_York", None),
    "America/New York": ("America/New_York", None),
    "(GMT-05:00) America/New_York": ("America/New_York", None),
    "Eastern Time (US & Canada)": ("America/New_York", "windows_timezone"),
    "(GMT-05:00) Eastern Time (US & Canada)": ("America/New_York", "windows_timezone"),
    "(UTC-05:00) Eastern Time (US & Canada)": ("America/New_York", "windows_timezone"),
}


def offer_times(tz: str, segment: bool = False) -> list[tuple[str, str]]:
    from journeyflow.stages.bounded import fold_clusters, resolve_clusters

    if segment:  # the zone from a Segment identify's context
        first = ("track", {"type": "identify", "messageId": "i1", "userId": "A", "timestamp": "2026-09-01T00:00:00Z",
                           "traits": {"email": "ann@example.com"}, "context": {"timezone": tz}})
    else:
        first = ("crm", {"event_id": "c-A", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                         "email": "ann@example.com", "timezone": tz})
    records = [first, ("consent", {"event_id": "g", "ts": "2026-09-01T00:00:01Z", "crm_id": "A", "channel": "email",
                                   "status": "granted"})] + [
        ("web", {"event_id": f"v{i}", "ts": f"2026-10-05T10:0{i}:00Z", "type": "product_view", "anonymous_id": "d",
                 "user_id": "A", "product_id": "P1"}) for i in range(3)]
    events = [PARSER.parse(s, json.dumps(r).encode()) for s, r in records]
    assert all(isinstance(e, Event) for e in events), events
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(),
                               max(e.ts for e in events) + 86_400_000):
        out += [(d.action, str(d.decided_at)) for d in o.decisions if d.journey_id == "browse_offer"]
    return out


def ms(iso: str) -> str:
    from journeyflow.stages.timeparse import parse_ts
    return str(parse_ts(iso))


def test_an_iana_zone_defers_the_offer_to_eight_local():
    assert offer_times("America/New_York") == [("wait", ms("2026-10-05T10:02:00Z")),
                                               ("send", ms("2026-10-05T08:00:00-04:00"))]
    assert offer_times("UTC") == [("send", ms("2026-10-05T10:02:00Z"))]  # (10:02 is no quiet hour in UTC)


@pytest.mark.parametrize("written", sorted(SPELLINGS))
def test_the_zone_as_a_crm_writes_it_keeps_quiet_hours_there(written):
    zone, reason = SPELLINGS[written]
    r = PARSER.parse_full("crm", json.dumps({"event_id": "c", "ts": "2026-09-01T00:00:00Z", "type": "contact_created",
                                             "crm_id": "A", "timezone": written}).encode())
    assert r.result.attrs.get("timezone") == zone  # before: dropped (unknown_timezone)
    assert [w.reason for w in r.warnings] == ([reason] if reason else [])
    assert offer_times(written) == offer_times("America/New_York")  # before: sent at 10:02Z, 06:02 in New York
    assert offer_times(written, segment=True) == offer_times("America/New_York")


@pytest.mark.parametrize("written, zone", [("Hawaii", "Pacific/Honolulu"), ("Pacific Time (US & Canada)",
                                                                             "America/Los_Angeles"),
                                           ("London", "Europe/London"), ("Tokyo", "Asia/Tokyo"),
                                           ("(GMT+09:00) Tokyo", "Asia/Tokyo"), ("Mexico City", "America/Mexico_City")])
def test_display_names_and_cities_name_their_zone(written, zone):
    r = PARSER.parse_full("crm", json.dumps({"event_id": "c", "ts": "2026-09-01T00:00:00Z", "type": "contact_created",
                                             "crm_id": "A", "timezone": written}).encode())
    assert r.result.attrs.get("timezone") == zone and [w.reason for w in r.warnings] == ["windows_timezone"]


@pytest.mark.parametrize("written", ["GMT-05:00", "UTC-5", "Eastern", "Mumbai", "Dublin, Edinburgh, Lisbon, London",
                                     "Narnia"])
def test_an_offset_alone_or_an_unknown_or_ambiguous_name_stays_unknown(written):
    r = PARSER.parse_full("crm", json.dumps({"event_id": "c", "ts": "2026-09-01T00:00:00Z", "type": "contact_created",
                                             "crm_id": "A", "timezone": written}).encode())
    assert "timezone" not in r.result.attrs and [w.reason for w in r.warnings] == ["unknown_timezone"]
