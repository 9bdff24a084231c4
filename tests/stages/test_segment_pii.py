"""QA (issues 18/19/23.5 on the Segment stream): ids that are addresses are hashed as addresses, kept strings carry
no raw address, and a ``group`` call's ``context.traits`` (the user's traits) update the customer."""
from __future__ import annotations

import json
import textwrap

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.declared_types import DeclaredTypes
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import ParseConfig, Parser
from journeyflow.stages.state import CustomerState

HASHER = Hasher(b"test-key")
P = Parser(HASHER)
TS = "2026-06-01T10:00:00.000Z"
EMAIL_KEY = HASHER.email("ann@example.com")[0]


def parse(msg, parser=P):
    return parser.parse_full("track", json.dumps(msg).encode(), "t:1")


def test_a_user_id_that_is_an_email_is_the_email_key_not_a_raw_crm_id():
    """Companies that key users by email send ``userId: "Ann@Example.com"``: the web stream hashes such a
    ``user_id`` as the email; the Segment stream kept ``crm:Ann@Example.com`` (a raw address in the identity graph,
    the audit topic and every table)."""
    ev, warnings = parse({"type": "identify", "messageId": "i1", "userId": "Ann@Example.com", "timestamp": TS})
    assert isinstance(ev, Event) and warnings == ()
    assert ev.ids == (EMAIL_KEY,)
    web = P.parse("web", json.dumps({"event_id": "w", "ts": TS, "anonymous_id": "d", "type": "login",
                                     "user_id": "Ann@Example.com"}))
    assert EMAIL_KEY in web.ids  # the same key both streams give
    ev, _ = parse({"type": "track", "event": "E", "messageId": "t1", "anonymousId": "+1 415 555 0134",
                   "timestamp": TS})
    assert ev.ids == (HASHER.phone("+14155550134")[0],)
    ev, _ = parse({"type": "alias", "messageId": "a1", "previousId": "ann@example.com", "userId": "u7",
                   "timestamp": TS})
    assert set(ev.ids) == {"crm:u7", EMAIL_KEY}
    assert "@" not in json.dumps(ev.ids)


def test_an_id_holding_an_address_inside_is_dropped_with_a_warning():
    ev, warnings = parse({"type": "track", "event": "E", "messageId": "t2", "anonymousId": "dev-1",
                          "userId": "user ann@example.com", "timestamp": TS})
    assert isinstance(ev, Event) and ev.ids == ("anon:dev-1",)
    assert [(w.field, w.reason) for w in warnings] == [("userId", "invalid_identifier")]
    assert "ann@example.com" not in (warnings[0].value or "") + warnings[0].detail
    dead, _ = parse({"type": "track", "event": "E", "messageId": "t3", "userId": "user ann@example.com",
                     "timestamp": TS})
    assert isinstance(dead, DeadLetter) and dead.reason == "invalid_identifier"


def test_kept_strings_carry_no_raw_address():
    """messageId (the event id, in decisions and dead letters), page names, groupIds, properties and traits at any
    depth, and mapped attributes (an order id) get a keyed token instead of the address, as the built-in streams'
    kept strings do."""
    msgs = [
        {"type": "track", "event": "Clicked", "messageId": "ann@example.com", "anonymousId": "d", "timestamp": TS,
         "properties": {"ref": "ann@example.com", "nested": {"to": ["ann@example.com"]}, "n": 3}},
        {"type": "page", "name": "Profile of ann@example.com", "messageId": "p", "anonymousId": "d",
         "timestamp": TS},
        {"type": "group", "groupId": "ann@example.com", "messageId": "g", "anonymousId": "d", "timestamp": TS},
        {"type": "identify", "messageId": "i", "anonymousId": "d", "timestamp": TS,
         "traits": {"plan": "trial", "backup_contact": "ann@example.com"}},
        {"type": "track", "event": "Order Completed", "messageId": "o", "anonymousId": "d", "timestamp": TS,
         "properties": {"order_id": "ann@example.com-1", "total": 5}},
    ]
    for m in msgs:
        ev, _ = parse(m)
        assert isinstance(ev, Event), ev
        text = json.dumps([ev.uid, ev.attrs])
        assert "ann@example.com" not in text, text
        assert "email~" in text
    ev, _ = parse(msgs[0])
    assert ev.attrs["properties"]["n"] == 3 and ev.uid.startswith("track/email~")
    web = P.parse("web", json.dumps({"event_id": "w2", "ts": TS, "anonymous_id": "d", "type": "page_view",
                                     "properties": {"ref": "ann@example.com", "path": "/a"}}))
    assert web.attrs["properties"]["path"] == "/a" and "ann@example.com" not in json.dumps(web.attrs)


ATTRS = load_attributes_text(textwrap.dedent("""\
    version: 1
    traits: {plan: string, seats: int}
    """), "a.yaml")


def test_a_group_calls_context_traits_are_the_users_traits():
    """segment.com/docs/connections/spec/group/: ``traits`` of a group call describe the group, ``context.traits``
    are the user's.  The user's ``plan`` reaches the customer's traits; the group's ``plan`` does not."""
    msg = {"type": "group", "messageId": "g1", "userId": "u1", "groupId": "acme", "timestamp": TS,
           "traits": {"name": "Acme", "plan": "enterprise", "seats": 500},
           "context": {"traits": {"email": "ann@example.com", "plan": "trial", "name": "Ann"}}}
    ev, warnings = parse(msg)
    assert warnings == ()
    assert ev.attrs["traits"] == {"plan": "enterprise", "seats": 500}  # the group's (event.traits)
    assert ev.attrs["user_traits"] == {"plan": "trial"}  # the user's, without personal traits
    assert EMAIL_KEY in ev.ids
    s = CustomerState()
    ATTRS.observe(s, ev)
    assert ATTRS.values(s, ev.ts) == {"plan": "trial"}


def test_a_group_calls_user_traits_are_held_to_their_declared_types():
    parser = Parser(HASHER, ParseConfig(declared_types=DeclaredTypes.of(ATTRS.declarations)))
    ev, warnings = parse({"type": "group", "messageId": "g2", "userId": "u1", "groupId": "acme", "timestamp": TS,
                          "traits": {"seats": "many"}, "context": {"traits": {"plan": "trial", "seats": "3"}}},
                         parser)
    assert ev.attrs["user_traits"] == {"plan": "trial"}
    assert ev.attrs["traits"] == {"seats": "many"}  # the group's traits are not the customer's declared ones
    assert [(w.field, w.reason) for w in warnings] == [("traits.seats", "wrong_type")]


def test_context_traits_of_a_mapped_event_update_the_customer_too():
    """``Product Added`` (mapped onto web add_to_cart) with ``context.traits.plan``: the README says mapped events
    keep their traits; the fold only read traits of events left on the track stream."""
    ev, _ = parse({"type": "track", "event": "Product Added", "messageId": "pa", "userId": "u1", "timestamp": TS,
                   "properties": {"product_id": "p1"}, "context": {"traits": {"plan": "pro"}}})
    assert (ev.stream, ev.type, ev.attrs["traits"]) == ("web", "add_to_cart", {"plan": "pro"})
    s = CustomerState()
    ATTRS.observe(s, ev)
    assert ATTRS.values(s, ev.ts) == {"plan": "pro"}
