"""qa15a: a deleted account gets no message (in-process bounded path; the Beam replay and streaming:
tests/beam/test_qa15a_account_deletion_beam.py).

Before this round there was no deletion model: a CRM contact deletion (no such type: a dead letter), a Segment
``Account Deleted`` (a custom ``track`` event nothing listened to) changed nothing, so the deleted customer's pending
cart reminder, dunning texts and 30-day win-back still went out.  Now a deletion (``stages.deletion``) blocks every
message and task of the customer from its event time (``account_deleted``), ends every journey membership
(``exited``, ``account_deleted``), cancels what was pending and erases the profile's personal facts; at equal times
it applies first; a later new account (``signup``, ``contact_created``, Segment ``Account Created``) is a new
profile."""
from __future__ import annotations

import json

import pytest

from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser

PARSER = Parser(Hasher.from_env())
CONFIG = EngineConfig.from_files()
DAY = 86_400_000
START = "2026-09-01T00:00:00Z"
T = "2026-10-05T10:00:00Z"  # the activity
DEL = "2026-10-05T10:10:00Z"  # the deletion: before every pending step is due
LATER = "2026-10-12T10:00:00Z"


def contact(crm: str = "A", email: str = "ann@example.com", phone: str = "+14155550101") -> list[tuple[str, dict]]:
    """An existing customer with email and SMS consent, and a past order (so no welcome)."""
    return [("crm", {"event_id": f"c-{crm}", "ts": START, "type": "contact_created", "crm_id": crm, "email": email,
                     "phone": phone, "timezone": "UTC", "lifecycle_stage": "customer"}),
            *[("consent", {"event_id": f"g-{crm}-{ch}", "ts": "2026-09-01T00:00:01Z", "crm_id": crm, "channel": ch,
                           "status": "granted"}) for ch in ("email", "sms", "call")]]


def activity(crm: str = "A", at: str = T) -> list[tuple[str, dict]]:
    """What would send later: a cart (reminder in 1 h, SMS a day later), a failed payment (email now, SMS in 24 h,
    a call when it fails again), an order (cross-sell in 3 days, win-back in 30)."""
    return [("orders", {"event_id": f"o-{crm}", "ts": "2026-10-01T10:00:00Z", "type": "order_placed", "crm_id": crm,
                        "order_id": f"{crm}-1", "amount": 50, "currency": "USD", "product_ids": ["P9"]}),
            ("web", {"event_id": f"a-{crm}", "ts": at, "type": "add_to_cart", "anonymous_id": f"d-{crm}",
                     "user_id": crm, "product_id": "P1"}),
            ("orders", {"event_id": f"f-{crm}", "ts": at, "type": "payment_failed", "crm_id": crm,
                        "order_id": f"{crm}-2", "amount": 20, "currency": "USD"})]


def deletion(form: str, at: str = DEL, crm: str = "A") -> tuple[str, dict]:
    if form.startswith("crm "):  # a CRM's deletion record, in the CRM's word
        return ("crm", {"event_id": f"del-{crm}", "ts": at, "type": form[4:], "crm_id": crm})
    if form == "Segment Account Deleted":
        return ("track", {"type": "track", "event": "Account Deleted", "messageId": f"del-{crm}", "userId": crm,
                          "timestamp": at})
    raise ValueError(form)


FORMS = ["crm contact_deleted", "crm contact.deletion", "crm deleted", "crm contact.privacyDeletion",
         "crm erasure_requested", "Segment Account Deleted"]


def events(records: list[tuple[str, dict]]) -> list[Event]:
    evs = [PARSER.parse(st, json.dumps(r).encode()) for st, r in records]
    assert all(isinstance(e, Event) for e in evs), evs
    return sorted(evs, key=lambda e: e.sort_key)


def fold(records: list[tuple[str, dict]], until_days: int = 40):
    """(decisions, journey steps, events decided) of ``records`` on the bounded path in process."""
    evs = events(records)
    decisions, steps, decided = [], [], 0
    for _c, o in fold_clusters(resolve_clusters(evs, CONFIG.link_rules()), CONFIG.build_processor(),
                               max(e.ts for e in evs) + until_days * DAY):
        decisions += o.decisions
        steps += o.steps
        decided += o.events + len(o.dead)
    assert decided == len(evs)  # decided + dead letters = records read
    return decisions, steps


def decide(records: list[tuple[str, dict]], until_days: int = 40):
    return fold(records, until_days)[0]


def ms(iso: str) -> int:
    from journeyflow.stages.timeparse import parse_ts
    return parse_ts(iso)


def sends(decisions, customer: str = "crm:A", after: str = START) -> list[tuple[str, str]]:
    return sorted((d.journey_id, d.channel) for d in decisions
                  if d.customer_id == customer and d.action in ("send", "create_task", "route_case")
                  and d.decided_at >= ms(after))


def test_without_deletion_the_pending_steps_send():
    """The baseline the deletion must stop: cart reminder, dunning email + SMS, cross-sell, win-back."""
    got = sends(decide(contact() + activity()), after=DEL)
    assert ("cart_abandonment", "email") in got and ("dunning", "sms") in got and ("winback", "email") in got


@pytest.mark.parametrize("form", FORMS)
def test_nothing_is_sent_after_a_deletion(form):
    decisions = decide(contact() + activity() + [deletion(form)])
    assert sends(decisions, after=DEL) == []  # before: cart reminder, dunning SMS, cross-sell, win-back


@pytest.mark.parametrize("form", FORMS)
def test_the_deletion_ends_every_membership_and_cancels_what_was_pending(form):
    _d, steps = fold(contact() + activity() + [deletion(form)])
    exited = {s.journey_id for s in steps if s.kind == "exited" and s.detail == "account_deleted"}
    assert {"cart_abandonment", "dunning", "winback"} <= exited  # (cross_sell ran to its end before)


def test_a_deletion_at_the_triggers_millisecond_applies_first():
    for form in ("crm contact_deleted", "Segment Account Deleted"):
        decisions = decide(contact() + activity() + [deletion(form, T)])
        assert sends(decisions, after=T) == []  # before: the dunning email at once, and the rest


def test_a_deleted_customers_later_activity_enters_nothing():
    recs = contact() + [deletion("crm contact_deleted", "2026-10-02T00:00:00Z")] + activity()
    decisions, steps = fold(recs)
    assert sends(decisions) == []
    assert not [s for s in steps if s.kind == "entered" and s.trigger_id.startswith(("web/a-", "orders/f-"))]


def test_a_send_held_by_quiet_hours_is_cancelled_with_reason_account_deleted():
    """The dunning SMS falls due at 05:00 UTC (24 h after the 05:00 failed payment), quiet hours hold it to 08:00;
    the account is deleted at 06:00: the held SMS is cancelled, a ``suppress`` decision ``account_deleted``."""
    failed = ("orders", {"event_id": "f-A", "ts": "2026-10-05T05:00:00Z", "type": "payment_failed", "crm_id": "A",
                         "order_id": "A-2", "amount": 20, "currency": "USD"})
    decisions, steps = fold(contact() + [failed, deletion("crm contact_deleted", "2026-10-06T06:00:00Z")])
    assert [d.action for d in decisions if d.decided_at == ms("2026-10-06T05:00:00Z")] == ["wait"]  # held
    cancelled = [d for d in decisions if d.decided_at == ms("2026-10-06T06:00:00Z")]
    assert [(d.action, d.reason_codes, d.trigger_event_id) for d in cancelled] == [
        ("suppress", ("account_deleted",), "crm/del-A")]  # before: the SMS was sent at 08:00
    assert [(s.journey_id, s.kind, s.detail) for s in steps if s.at == ms("2026-10-06T06:00:00Z")] == [
        ("dunning", "exited", "account_deleted"), ("dunning", "cancelled", "account_deleted")]
    assert sends(decisions, after="2026-10-06T06:00:00Z") == []


def test_other_customers_are_untouched():
    recs = contact() + activity() + contact("B", "bob@example.com", "+14155550102") + activity("B") + [
        deletion("crm contact_deleted")]
    got = sends(decide(recs), "crm:B", after=DEL)
    assert ("cart_abandonment", "email") in got and ("winback", "email") in got


# ------------------------------------------------------------------------------------- a new account afterwards
def signup(kind: str, at: str, crm: str = "A") -> tuple[str, dict]:
    if kind == "web signup":
        return ("web", {"event_id": f"s-{crm}-{at}", "ts": at, "type": "signup", "anonymous_id": "d-new",
                        "user_id": crm})
    if kind == "crm contact_created":
        return ("crm", {"event_id": f"s-{crm}-{at}", "ts": at, "type": "contact_created", "crm_id": crm,
                        "email": "ann@example.com", "timezone": "UTC"})
    if kind == "Segment Account Created":
        return ("track", {"type": "track", "event": "Account Created", "messageId": f"s-{crm}-{at}", "userId": crm,
                          "timestamp": at})
    return ("track", {"type": "track", "event": "Signed Up", "messageId": f"s-{crm}-{at}", "userId": crm,
                      "anonymousId": "d-new", "timestamp": at})


def new_cart(at: str = "2026-10-13T10:00:00Z") -> list[tuple[str, dict]]:
    return [("consent", {"event_id": "g-new", "ts": "2026-10-12T10:00:05Z", "email": "ann@example.com",
                         "channel": "email", "status": "granted"}),
            ("web", {"event_id": "a-new", "ts": at, "type": "add_to_cart", "anonymous_id": "d-new", "user_id": "A",
                     "product_id": "P2"})]


@pytest.mark.parametrize("kind", ["web signup", "crm contact_created", "Segment Account Created",
                                  "Segment Signed Up"])
def test_a_new_account_after_the_deletion_is_a_new_profile(kind):
    """A new sign-up of the same user id is a new account (as Braze and Segment treat a new user after a deletion):
    its new consent and cart get their reminder; nothing of the old account comes back (its win-back, its
    consent: the new account's sends need its own grant)."""
    base = contact() + activity() + [deletion("crm contact_deleted"), signup(kind, LATER)]
    got = sends(decide(base + new_cart()), after=DEL)
    assert ("cart_abandonment", "email") in got  # the new account's cart, and its welcome; nothing of the old one
    assert {j for j, _ch in got} <= {"cart_abandonment", "welcome"}  # (welcome: on signup, contact_created)
    # without a new grant: the old account's grant does not carry over (consent)
    assert sends(decide(base + new_cart()[1:]), after=DEL) == []


def test_a_signup_at_the_deletions_millisecond_does_not_reopen():
    base = contact() + activity() + [deletion("crm contact_deleted"), signup("web signup", DEL)]
    assert sends(decide(base + new_cart()), after=DEL) == []


# ------------------------------------------------------------------------------------------- merged profiles
def test_a_deletion_of_one_identity_of_a_merged_profile_suppresses_the_whole_profile():
    """The deletion names the device (an anonymous Segment ``Account Deleted``): the device's customer is A since
    the login; the whole profile is deleted (fail safe: one person)."""
    login = ("web", {"event_id": "l-A", "ts": "2026-10-01T00:00:00Z", "type": "login", "anonymous_id": "d-A",
                     "user_id": "A"})
    anon_del = ("track", {"type": "track", "event": "Account Deleted", "messageId": "del-d", "anonymousId": "d-A",
                          "timestamp": DEL})
    assert sends(decide(contact() + [login] + activity() + [anon_del]), after=DEL) == []


def test_a_deleted_profile_merged_later_suppresses_the_survivor():
    """The device's anonymous profile was deleted; a later login links the device to A: from the link on, A is
    that deleted person (fail safe), and A's pending reminders are cancelled at the link."""
    anon_del = ("track", {"type": "track", "event": "Account Deleted", "messageId": "del-d", "anonymousId": "d-A",
                          "timestamp": "2026-10-04T00:00:00Z"})
    # A's cart is on another device (d-A2); the login linking the deleted device d-A comes after the cart
    cart = [("web", {"event_id": "a-A", "ts": T, "type": "add_to_cart", "anonymous_id": "d-A2", "user_id": "A",
                     "product_id": "P1"})]
    login = ("web", {"event_id": "l-A", "ts": DEL, "type": "login", "anonymous_id": "d-A", "user_id": "A"})
    decisions = decide(contact() + [anon_del] + cart + [login])
    assert sends(decisions, after=DEL) == []


def test_a_shared_mailboxs_other_holder_is_not_deleted():
    """A and B, two CRM contacts with one family mailbox (two customers: one CRM id each): A's deletion is A's."""
    recs = contact() + activity() + contact("B", "ann@example.com", "+14155550102") + activity("B") + [
        deletion("crm contact_deleted")]
    assert sends(decide(recs), "crm:A", after=DEL) == []
    got = sends(decide(recs), "crm:B", after=DEL)
    assert ("cart_abandonment", "email") in got and ("winback", "email") in got


def test_an_opt_out_while_deleted_still_counts_for_the_new_account():
    """A text STOP reaches the deleted account (a number it had): the new account opened later keeps it (a
    transactional dunning SMS needs the channel not opted out), while its email goes out."""
    stop = ("consent", {"event_id": "stop-A", "ts": "2026-10-08T00:00:00Z", "crm_id": "A", "channel": "sms",
                        "status": "revoked"})
    new = ("crm", {"event_id": "new-A", "ts": LATER, "type": "contact_created", "crm_id": "A",
                   "email": "ann@example.com", "phone": "+14155550101", "timezone": "UTC",
                   "lifecycle_stage": "customer"})
    failed = ("orders", {"event_id": "f2-A", "ts": "2026-10-13T10:00:00Z", "type": "payment_failed", "crm_id": "A",
                         "order_id": "A-9", "amount": 20, "currency": "USD"})
    decisions = decide(contact() + [deletion("crm contact_deleted"), stop, new, failed])
    got = sends(decisions, after=LATER)
    assert ("dunning", "email") in got and ("dunning", "sms") not in got
