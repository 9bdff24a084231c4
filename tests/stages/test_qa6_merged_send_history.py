"""Frequency caps after two profiles' send histories are merged (QA of the compliance area): sends the two profiles
got at the same millisecond, on the same channel and with the same content, are two sends.

Input: a CRM contact (email A) and a web sign-up (email A2, its own consent) each view a flash promo at night; quiet
hours defer both promos to 08:00:00.000 UTC, so both profiles are sent ``flash_deal`` by email at the very same
millisecond.  At noon the CRM adds A2 to the contact (the profiles merge); at 13:00 another flash view.  The email
cap is 2 per 24 h (global cap raised so that the per-channel one decides).  Before: the merge kept one of the two
identical send entries, the history counted 1 email in 24 h, and a third email went out.
"""
from __future__ import annotations

import json

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.state import CustomerState
from tests.scenarios import FLASH_PROMO

PARSER = Parser(Hasher(b"test-key"))
FLASH = default_text("journeys.yaml").rstrip() + "\n" + FLASH_PROMO
POLICY = default_text("policy.yaml").replace("""      - {max: 1, per: 24h}
      - {max: 3, per: 7d}""", """      - {max: 5, per: 24h}
      - {max: 9, per: 7d}""")
CONFIG = EngineConfig(FLASH, "<j>", POLICY, "<p>")


def flash(uid: str, device: str, ts: str) -> tuple[str, dict]:
    return "web", {"event_id": uid, "ts": ts, "type": "page_view", "anonymous_id": device, "product_id": "FLASH"}


def records(night_views: tuple[str, str]) -> list[tuple[str, dict]]:
    return [
        ("crm", {"event_id": "c1", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                 "email": "a@example.com", "timezone": "UTC"}),
        ("consent", {"event_id": "g1", "ts": "2026-09-01T00:00:01Z", "crm_id": "A", "channel": "email",
                     "status": "granted"}),
        ("web", {"event_id": "l1", "ts": "2026-09-01T00:00:02Z", "type": "login", "anonymous_id": "devA",
                 "user_id": "A"}),
        ("web", {"event_id": "s2", "ts": "2026-10-01T10:00:00Z", "type": "signup", "anonymous_id": "devB",
                 "email": "a2@example.com"}),
        ("consent", {"event_id": "g2", "ts": "2026-10-01T10:00:01Z", "email": "a2@example.com", "channel": "email",
                     "status": "granted"}),
        flash("f1", "devA", night_views[0]),
        flash("f2", "devB", night_views[1]),
        ("crm", {"event_id": "c2", "ts": "2026-10-05T12:00:00Z", "type": "contact_updated", "crm_id": "A",
                 "email": "a2@example.com"}),
        flash("f3", "devB", "2026-10-05T13:00:00Z"),
    ]


def flash_outcomes(recs: list[tuple[str, dict]]) -> list[tuple[str, tuple]]:
    events = [PARSER.parse(stream, json.dumps(r).encode()) for stream, r in recs]
    assert all(isinstance(e, Event) for e in events)
    out = []
    for _cluster, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(),
                                     max(e.ts for e in events) + 86_400_000):
        out += [d for d in o.decisions if d.journey_id == "flash_promo" and d.action in ("send", "suppress")]
        out += [d for d in o.decisions if d.action == "suppress" and any(c.journey_id == "flash_promo"
                                                                         for c in d.candidates)]
    return sorted((str(d.decided_at), d.action, d.reason_codes) for d in out)


def test_two_profiles_sent_the_same_promo_in_the_same_millisecond_count_twice_after_their_merge():
    got = flash_outcomes(records(("2026-10-04T23:00:00Z", "2026-10-04T23:30:00Z")))  # both deferred to 08:00
    sends = [g for g in got if g[1] == "send"]
    assert len(sends) == 2 and sends[0][0] == sends[1][0]  # the same millisecond, two profiles
    assert [g[2] for g in got if g[1] == "suppress"] == [("frequency_cap",)]  # 13:00: a third email in 24 h


def test_at_different_times_the_cap_held_already():
    got = flash_outcomes(records(("2026-10-05T08:00:00Z", "2026-10-05T08:30:00Z")))
    assert [g[1] for g in got] == ["send", "send", "suppress"]


def test_merge_keeps_both_and_stays_commutative_and_idempotent():
    a = CustomerState(customer_id="crm:A", sends=[[10, "email", "marketing", "x"], [20, "sms", "marketing", "y"]])
    b = CustomerState(customer_id="anon:b", sends=[[10, "email", "marketing", "x"]])
    ab, ba = a.merge(b), b.merge(a)
    assert ab.to_dict() == ba.to_dict()
    assert ab.sends_within(30, 100, "email") == 2 and ab.content_sent_within("x", 30, 100) == ["email", "email"]
    assert ab.merge(ab).to_dict() == ab.to_dict()
    assert CustomerState.from_bytes(ab.to_bytes()).to_dict() == ab.to_dict()
    c = CustomerState(customer_id="crm:C", sends=[[10, "email", "marketing", "x"]])
    assert ab.merge(c).sends_within(30, 100, "email") == 3  # a third profile's send at that time too
