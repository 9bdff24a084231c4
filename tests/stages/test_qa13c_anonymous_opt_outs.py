"""qa13c: an opt-out on a built-in stream that names only the visitor's anonymous id is kept and applied.

A cookie banner or a preference centre opened before login knows the visitor by the web SDK's anonymous id only.
The Segment route (``anonymousId``) carried such an opt-out; a built-in ``consent`` record or an ``engagement``
unsubscribe/complaint naming only ``anonymous_id`` was a ``missing_identifier`` dead letter (their schemas had no
such field), so after the visitor logged in (a web event with ``anonymous_id`` + ``user_id``) the customer got the
browse offer: the opt-out was lost.  Now both schemas carry an optional ``anonymous_id`` (old files stay readable),
it is an identifier of the record like the others, and the opt-out reaches the customer the device is linked to."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from tests.stages.test_qa10d_two_addresses import holder
from tests.stages.test_qa11a_mailboxes import CONFIG, PARSER

T, LATER, EARLIER = "2026-09-20T00:00:00Z", "2026-09-25T00:00:00Z", "2026-09-10T00:00:00Z"


def opt_out(kind: str, at: str = T, **ids) -> tuple[str, dict]:
    """An opt-out of email by the anonymous device ``dev-9`` (and ``ids``)."""
    ids = ids or {"anonymous_id": "dev-9"}
    if kind == "consent revoke":
        return ("consent", {"event_id": "r1", "ts": at, "channel": "email", "status": "revoked", **ids})
    return ("engagement", {"event_id": "r1", "ts": at, "channel": "email", "type": kind, **ids})


def login(at: str) -> tuple[str, dict]:
    return ("web", {"event_id": "l1", "ts": at, "type": "login", "anonymous_id": "dev-9", "user_id": "A"})


def identify(at: str) -> tuple[str, dict]:
    return ("track", {"type": "identify", "messageId": "i1", "anonymousId": "dev-9", "userId": "A",
                      "timestamp": at})


def outcome(records: list[tuple[str, dict]]) -> tuple[list[str], list[str]]:
    """(customers sent the browse offer, dead-letter reasons): every record is either an event or a dead letter."""
    parsed = [PARSER.parse(st, json.dumps(r).encode()) for st, r in records]
    events = [e for e in parsed if isinstance(e, Event)]
    dead = [e.reason.value for e in parsed if not isinstance(e, Event)]
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(),
                               max(e.ts for e in events) + 86_400_000):
        out += [d.customer_id for d in o.decisions if d.action == "send" and d.journey_id == "browse_offer"]
    return sorted(out), dead


BASE = holder("A", "ann@example.com") + holder("B", "bob@example.com")
KINDS = ("consent revoke", "unsubscribed", "complained")
LINKS = {"login after": [login(LATER)], "login at the same ms": [login(T)], "login before": [login(EARLIER)],
         "identify after": [identify(LATER)]}


def test_without_the_opt_out_both_are_offered():
    assert outcome(BASE + [login(LATER)]) == (["crm:A", "crm:B"], [])


@pytest.mark.parametrize("link", sorted(LINKS))
@pytest.mark.parametrize("kind", KINDS)
def test_an_opt_out_naming_only_the_anonymous_id_blocks_the_customer_it_is_linked_to(kind, link):
    # before: (["crm:A", "crm:B"], ["missing_identifier"])
    assert outcome(BASE + [opt_out(kind)] + LINKS[link]) == (["crm:B"], [])


@pytest.mark.parametrize("kind", KINDS)
def test_the_anonymous_id_beside_another_identifier(kind):
    # an unsubscribe naming the device and the CRM id links both (engagement: every identifier is the record's)
    if kind != "consent revoke":
        assert outcome(BASE + [opt_out(kind, anonymous_id="dev-9", crm_id="A")]) == (["crm:B"], [])
    # a consent revoke naming both applies to each (fail safe); a grant must name exactly one
    assert outcome(BASE + [opt_out("consent revoke", anonymous_id="dev-9", crm_id="A")]) == (["crm:B"], [])
    grant = ("consent", {"event_id": "g9", "ts": T, "channel": "email", "status": "granted",
                         "anonymous_id": "dev-9", "crm_id": "A"})
    assert outcome(BASE + [grant]) == (["crm:A", "crm:B"], ["multiple_identifiers"])


def test_a_grant_by_the_anonymous_id_is_a_grant_of_the_customer_it_is_linked_to():
    c = [("crm", {"event_id": "c-C", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "C",
                  "email": "cat@example.com", "timezone": "UTC"})] + holder("C", "cat@example.com")[2:]
    grant = ("consent", {"event_id": "g9", "ts": T, "anonymous_id": "dev-9", "channel": "email",
                         "status": "granted"})
    link = ("web", {"event_id": "l2", "ts": LATER, "type": "login", "anonymous_id": "dev-9", "user_id": "C"})
    assert outcome(c + [link]) == ([], [])  # no grant: no marketing
    assert outcome(c + [grant, link]) == (["crm:C"], [])


def test_a_bad_anonymous_id_says_why():
    # an id that is an address is hashed as that address; a placeholder id names no one: a dead letter with reason
    assert outcome(BASE + [opt_out("consent revoke", anonymous_id="undefined")])[1] == ["invalid_identifier"]
    assert outcome(BASE + [opt_out("unsubscribed", anonymous_id="undefined")])[1] == ["invalid_identifier"]
    # beside a usable identifier the bad one is dropped with a field warning and the opt-out kept
    rec = opt_out("unsubscribed", anonymous_id="undefined", crm_id="A")[1]
    ev, warnings = PARSER.parse_full("engagement", json.dumps(rec).encode())
    assert isinstance(ev, Event) and ev.ids == ("crm:A",)
    assert [(w.field, w.reason.value) for w in warnings] == [("anonymous_id", "invalid_identifier")]
    # a consent record (or an engagement) of the old schema, without the field, reads as before
    old = {"event_id": "o1", "ts": T, "crm_id": "A", "channel": "email", "status": "revoked"}
    assert PARSER.parse("consent", json.dumps(old).encode()).ids == ("crm:A",)
