"""qa14b: one opt-out record naming identifiers of two customers opts out both (replay; streaming in
tests/beam/test_qa14b_opt_outs_naming_two_people_streaming.py).

A consent revoke (or an unsubscribe, a complaint, a Segment ``Unsubscribed``) keyed by B's CRM id that also names A's
browser (``anonymous_id``), A's address or A's number was decided for B only: identity resolution routes a record to
the customer of its canonical identifier and dropped the identifiers of other clusters, so A kept getting the
channel although the record named A.  Now every customer any identifier of an opt-out resolves to is opted out
(``stages.identity.opt_outs``), whenever the identifier is linked to A (before, at, after the opt-out); grants do not
fan out, opt-outs never link, and the copies are not records read (``decided + dead letters = records read``)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.identity.rules import LinkRules
from tests.stages.test_qa10d_two_addresses import holder
from tests.stages.test_qa11a_mailboxes import CONFIG, PARSER
from tests.stages.test_qa13c_anonymous_opt_outs import EARLIER, LATER, T, identify, login

ANN, BOB = "ann@example.com", "bob@example.com"
BASE = holder("A", ANN) + holder("B", BOB)
A_PHONE = "+14155550101"
#: A's CRM record naming A's number (A's cluster holds it)
A_NUMBER = [("crm", {"event_id": "p-A", "ts": "2026-09-02T00:00:00Z", "type": "contact_updated", "crm_id": "A",
                     "phone": A_PHONE, "timezone": "UTC"})]


def opt_out(kind: str, at: str = T, **ids) -> tuple[str, dict]:
    """B's opt-out of email (keyed by B's CRM id) naming also ``ids``."""
    if kind == "consent revoke":
        return ("consent", {"event_id": "r1", "ts": at, "channel": "email", "status": "revoked", "crm_id": "B", **ids})
    if kind == "Segment Unsubscribed":
        seg = {"anonymousId": ids["anonymous_id"]} if "anonymous_id" in ids else {
            "context": {"traits": {k: v for k, v in ids.items()}}}
        return ("track", {"type": "track", "event": "Unsubscribed", "messageId": "r1", "userId": "B",
                          "timestamp": at, **seg})
    return ("engagement", {"event_id": "r1", "ts": at, "channel": "email", "type": kind, "crm_id": "B", **ids})


def run(records: list[tuple[str, dict]], rules: LinkRules | None = None):
    """(customers sent the browse offer, dead-letter reasons, events decided, events parsed, bounded clusters)."""
    parsed = [PARSER.parse(st, json.dumps(r).encode()) for st, r in records]
    events = [e for e in parsed if isinstance(e, Event)]
    dead = [e.reason.value for e in parsed if not isinstance(e, Event)]
    clusters = resolve_clusters(events, rules or CONFIG.link_rules())
    offered, decided = [], 0
    for _c, o in fold_clusters(clusters, CONFIG.build_processor(), max(e.ts for e in events) + 86_400_000):
        offered += [d.customer_id for d in o.decisions if d.action == "send" and d.journey_id == "browse_offer"]
        decided += o.events
        dead += [dl.reason.value for dl in o.dead]
    return sorted(offered), dead, decided, len(events), clusters


def offers(records, rules=None) -> tuple[list[str], list[str]]:
    offered, dead, _d, _n, _c = run(records, rules)
    return offered, dead


KINDS = ("consent revoke", "unsubscribed", "complained", "Segment Unsubscribed")
DEVICE = {"login after": [login(LATER)], "login at the same ms": [login(T)], "login before": [login(EARLIER)],
          "identify after": [identify(LATER)]}


def test_without_the_opt_out_both_are_offered():
    assert offers(BASE + [login(LATER)] + A_NUMBER) == (["crm:A", "crm:B"], [])


@pytest.mark.parametrize("link", sorted(DEVICE))
@pytest.mark.parametrize("kind", KINDS)
def test_an_opt_out_naming_b_and_as_device_blocks_both(kind, link):
    # before: (["crm:A"], []) -- only B, the record's canonical customer, was opted out
    assert offers(BASE + [opt_out(kind, anonymous_id="dev-9")] + DEVICE[link]) == ([], [])


@pytest.mark.parametrize("kind", KINDS)
def test_an_opt_out_naming_b_and_as_address_blocks_both(kind):
    # A's address (A's only one: blocked at the address by the address copies before) and A's channel: a second,
    # newer address of A's gets no marketing either (before: ["crm:A"] at the newer address)
    newer = [("crm", {"event_id": "u-A", "ts": "2026-09-21T00:00:00Z", "type": "contact_updated", "crm_id": "A",
                      "email": "ann.work@example.com", "timezone": "UTC"})]
    assert offers(BASE + newer) == (["crm:A", "crm:B"], [])
    assert offers(BASE + newer + [opt_out(kind, email=ANN)]) == ([], [])


@pytest.mark.parametrize("kind", ["consent revoke", "unsubscribed", "Segment Unsubscribed"])
def test_an_email_opt_out_naming_b_and_as_number_blocks_both(kind):
    # the number resolves to A (A's CRM record names it): A's email channel is opted out too
    assert offers(BASE + A_NUMBER + [opt_out(kind, phone=A_PHONE)]) == ([], [])  # before: (["crm:A"], [])


def test_a_grant_naming_two_people_does_not_reach_the_other():
    # (a built-in consent grant must name one identifier; a mapped one can name two) C has no grant of its own
    c = [("crm", {"event_id": "c-C", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "C",
                  "email": "cat@example.com", "timezone": "UTC"})] + holder("C", "cat@example.com")[2:]
    link = ("web", {"event_id": "l2", "ts": LATER, "type": "login", "anonymous_id": "dev-9", "user_id": "C"})
    events = [PARSER.parse(st, json.dumps(r).encode()) for st, r in holder("B", BOB) + c + [link]]
    grant = Event("consent/g9", "consent", "consent_granted", events[0].ts + 10**9, ("anon:dev-9", "crm:B"),
                  {"channel": "email", "status": "granted"})
    out = []
    for _c, o in fold_clusters(resolve_clusters(events + [grant], CONFIG.link_rules()), CONFIG.build_processor(),
                               max(e.ts for e in events) + 86_400_000):
        out += [d.customer_id for d in o.decisions if d.action == "send" and d.journey_id == "browse_offer"]
    assert out == ["crm:B"]  # C (dev-9's customer) is not granted by B's record


LINK_ALL = LinkRules.model_validate({"streams": {
    "web": {"event_types": ["login", "signup"], "kinds": ["anon", "crm", "email"]},
    "crm": {"event_types": "*", "kinds": ["crm", "email", "phone"]},
    "engagement": {"event_types": "*"}, "consent": {"event_types": "*"},
    "track": {"event_types": ["identify", "alias"]}}})


@pytest.mark.parametrize("kind", ["consent revoke", "unsubscribed", "complained"])
def test_an_opt_out_never_links_the_people_it_names(kind):
    """Even with link rules listing every consent and engagement type, the opt-out naming B and A's device merges
    nobody: naming two people is no evidence they are one.  Both are opted out."""
    recs = BASE + [opt_out(kind, anonymous_id="dev-9"), login(LATER)]
    offered, dead, _d, _n, clusters = run(recs, LINK_ALL)
    assert (offered, dead) == ([], [])
    assert clusters.cmap.root_of.get("crm:B", "crm:B") != clusters.cmap.root_of.get("anon:dev-9")
    assert [r for r in clusters.link_rows if r["event_id"].endswith("/r1")] == []
    # a delivery report naming both still links, as those rules say
    opened = ("engagement", {"event_id": "o1", "ts": T, "channel": "email", "type": "opened", "crm_id": "B",
                             "anonymous_id": "dev-7"})
    assert run(BASE + [opened], LINK_ALL)[4].cmap.root_of.get("anon:dev-7") == "crm:B"


@pytest.mark.parametrize("kind", KINDS)
def test_the_copies_are_not_events_read(kind):
    # every record read is decided on or a dead letter, once: the copy to A's cluster is neither
    offered, dead, decided, n, clusters = run(BASE + [opt_out(kind, anonymous_id="dev-9"), login(LATER)])
    assert (offered, dead) == ([], [])
    assert decided == n
    copies = [(c, ev.ids) for c, items in clusters.groups.items() for ev, _ in items if ev.uid.startswith("absorb:")]
    assert copies == [("crm:A", ("anon:dev-9",))]


def test_an_opt_out_after_the_horizon_is_one_dead_letter():
    recs = BASE + [login(EARLIER), opt_out("consent revoke", "2026-12-01T00:00:00Z", anonymous_id="dev-9")]
    events = [PARSER.parse(st, json.dumps(r).encode()) for st, r in recs]
    dead = [dl.reason.value for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()),
                                                       CONFIG.build_processor(), events[-1].ts - 1) for dl in o.dead]
    assert dead == ["timestamp_out_of_range"]  # the record's, not its copy's too


FAM, PHONE = "fam@example.com", "+14155550134"


def family(extra: list[tuple[str, dict]]) -> list[tuple[str, str, str]]:
    """(customer, channel, address) of the dunning sends of A and B, two CRM contacts created with one family
    mailbox and one family number (B's links refused by the one-CRM-id cap: two customers holding both)."""
    recs = [("crm", {"event_id": f"c-{c}", "ts": f"2026-09-0{i}T00:00:00Z", "type": "contact_created", "crm_id": c,
                     "email": FAM, "phone": PHONE, "timezone": "UTC"}) for i, c in ((1, "A"), (2, "B"))] + extra + [
        ("orders", {"event_id": f"o-{c}", "ts": "2026-10-05T18:00:00Z", "type": "payment_failed", "crm_id": c,
                    "order_id": f"O-{c}", "amount": 10, "currency": "USD"}) for c in "AB"]
    events = [PARSER.parse(st, json.dumps(r).encode()) for st, r in recs]
    assert all(isinstance(e, Event) for e in events), events
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(),
                               max(e.ts for e in events) + 5 * 86_400_000):
        out += [(d.customer_id, d.channel, d.address) for d in o.decisions
                if d.action == "send" and d.journey_id == "dunning"]
    return sorted(out)


def stop(**ids) -> tuple[str, dict]:
    return ("engagement", {"event_id": "s1", "ts": T, "channel": "sms", "type": "unsubscribed", **ids})


def test_a_shared_number_or_mailbox_opted_out_is_blocked_for_both_holders():
    both = [("crm:A", "email", FAM), ("crm:A", "sms", PHONE), ("crm:B", "email", FAM), ("crm:B", "sms", PHONE)]
    assert family([]) == both
    emails = [x for x in both if x[1] == "email"]
    assert family([stop(phone=PHONE)]) == emails  # the STOP by the number: both holders' texts
    assert family([stop(phone=PHONE, crm_id="B")]) == emails  # B's STOP naming the number too
    complaint = ("engagement", {"event_id": "k1", "ts": T, "channel": "email", "type": "complained", "email": FAM})
    assert family([complaint]) == [x for x in both if x[1] == "sms"]  # transactional email blocked by a complaint


def test_a_stop_naming_b_and_as_device_blocks_as_texts():
    # B's STOP keyed by B's CRM id also names the app's anonymous id A logged in with (the day after)
    a_only = [("crm", {"event_id": "c-A", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                       "email": ANN, "phone": A_PHONE, "timezone": "UTC"}),
              ("orders", {"event_id": "o-A", "ts": "2026-10-05T18:00:00Z", "type": "payment_failed",
                          "crm_id": "A", "order_id": "O-A", "amount": 10, "currency": "USD"})]
    def texts(extra):
        events = [PARSER.parse(st, json.dumps(r).encode()) for st, r in a_only + extra]
        out = []
        for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(),
                                   max(e.ts for e in events) + 5 * 86_400_000):
            out += [d.customer_id for d in o.decisions if d.action == "send" and d.channel == "sms"]
        return out
    assert texts([login(LATER)]) == ["crm:A"]
    assert texts([stop(crm_id="B", anonymous_id="dev-9"), login(LATER)]) == []  # before: ["crm:A"]
    # an SMS tool's Segment ``Unsubscribed`` / ``SMS Unsubscribed`` (properties.channel sms) with B's userId and A's
    # anonymousId
    for event in ("Unsubscribed", "SMS Unsubscribed"):
        seg = ("track", {"type": "track", "event": event, "messageId": "m-s", "userId": "B", "anonymousId": "dev-9",
                         "timestamp": T, "properties": {"channel": "sms"}})
        assert texts([seg, login(LATER)]) == [], event  # before: ["crm:A"]


#: B's second browser ``dev-B2``: a signup naming x@ (a customer of its own: x@ granted email), its views on 5 Oct,
#: and only on 10 Oct B's CRM record naming x@, which shows it is B's (a CRM id and an email link: one final cluster)
X = "x@example.com"
SECOND_DEVICE = [
    ("web", {"event_id": "s-B2", "ts": "2026-09-02T00:00:00Z", "type": "signup", "anonymous_id": "dev-B2",
             "email": X}),
    ("consent", {"event_id": "g-X", "ts": "2026-09-03T00:00:00Z", "email": X, "channel": "email",
                 "status": "granted"})] + [
    ("web", {"event_id": f"v-B2-{i}", "ts": f"2026-10-05T13:0{i}:00Z", "type": "product_view",
             "anonymous_id": "dev-B2", "product_id": "P1"}) for i in range(3)] + [
    ("crm", {"event_id": "u-B2", "ts": "2026-10-10T00:00:00Z", "type": "contact_updated", "crm_id": "B",
             "email": X, "timezone": "UTC"})]


def test_an_opt_out_naming_a_device_of_the_same_customer_not_yet_linked_blocks_that_profile():
    """The revoke names B and B's second browser, which until B's CRM record names x@ five days after the offer is a
    customer of its own (x@): one final cluster, two customers at the revoke's time; the fold gives it to both."""
    clusters = run(holder("B", BOB) + SECOND_DEVICE)[4]
    assert clusters.cmap.root_of["anon:dev-B2"] == "crm:B"
    assert offers(holder("B", BOB) + SECOND_DEVICE) == (["crm:B", "email:" + offers_key(X)], [])
    # before: (["email:<x@>"], []) -- the revoke reached B's profile only, until the login
    assert offers(holder("B", BOB) + SECOND_DEVICE + [opt_out("consent revoke", anonymous_id="dev-B2")]) == ([], [])


def offers_key(email: str) -> str:
    return PARSER.hasher.email(email)[0].partition(":")[2]
