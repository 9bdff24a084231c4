"""Texts and calls keep quiet hours in every zone the customer may be in: the profile's zone AND the zones of the
number the message goes to (QA of the compliance area, session 9).

Before: a known profile zone won outright and the number's zones counted only when the profile had none.  A
customer whose CRM says Europe/London but whose mobile is a New York number was texted at 06:00 New York time
(10:00Z: 11:00 in London), inside the 21:00-08:00 quiet hours US Regulation F and the TCPA set for calls and texts
to that phone.  Now a send on sms or call is quiet while it is quiet in the profile zone or in any zone of the
number used (``zones.send_zones``); email and push keep the profile zone (a mailbox has no place).
"""
from __future__ import annotations

from datetime import datetime

import pytest

from journeyflow.model.decisions import Candidate
from journeyflow.model.events import Event
from journeyflow.stages.arbitration import Arbiter
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.arbitration.policy import zone_or_none
from journeyflow.stages.state import CustomerState

HASHER = Hasher(b"test-key")
US_MOBILE = "+12125550100"  # New York (America/New_York)
UK_MOBILE = "+447911123456"  # London and the Crown dependencies


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def customer(tz: str | None, *phones: str) -> CustomerState:
    """A CRM customer with profile zone ``tz`` (None: none), the ``phones`` (the last one the newest) and an email,
    consent granted on every channel."""
    s = CustomerState(customer_id="crm:C1")
    t0 = ms("2026-06-01T00:00:00Z")
    attrs = {"timezone": tz} if tz else {}
    s.apply(Event("crm/c1", "crm", "contact_created", t0, ("crm:C1",), attrs,
                  {"email": "ann@example.com", "email_key": HASHER.email("ann@example.com")[0]}))
    for i, p in enumerate(phones):
        key, e164 = HASHER.phone(p)
        s.apply(Event(f"crm/p{i}", "crm", "contact_updated", t0 + 1 + i, ("crm:C1",), {},
                      {"phone": e164, "phone_key": key}))
    for i, ch in enumerate(("email", "sms", "push", "call")):
        s.apply(Event(f"consent/{ch}", "consent", "consent_granted", t0 + 10 + i, ("crm:C1",),
                      {"channel": ch, "status": "granted"}, {}))
    return s


def outcome(state: CustomerState, channel: str, at: str, category: str = "transactional") -> tuple[str, int | None]:
    """(action, due) of one send candidate on ``channel`` at ``at``: ``wait`` with the due time (ms) when deferred."""
    c = Candidate("j", "s", category, 100, "send", channel, f"content-{channel}", "t", ms(at))
    res = Arbiter().arbitrate(state, [c], ms(at), "crm:C1", "t")
    d = res.decisions[0]
    return d.action, (res.deferred[0][0] if res.deferred else None)


@pytest.mark.parametrize("channel", ["sms", "call"])
def test_a_london_profile_with_a_new_york_mobile_gets_no_text_or_call_at_six_in_new_york(channel):
    # 10:00Z on 2 July = 11:00 BST (allowed in London) but 06:00 EDT on the number: waits for 08:00 EDT = 12:00Z
    assert outcome(customer("Europe/London", US_MOBILE), channel, "2026-07-02T10:00:00Z") == (
        "wait", ms("2026-07-02T12:00:00Z"))


@pytest.mark.parametrize("channel", ["sms", "call"])
def test_a_new_york_profile_with_a_uk_mobile_gets_no_text_at_half_past_nine_in_london(channel):
    # 20:30Z on 2 July = 16:30 EDT (allowed in New York) but 21:30 BST on the number: waits until it is day in
    # both, 08:00 EDT = 12:00Z (08:00 BST = 07:00Z is 03:00 in New York)
    assert outcome(customer("America/New_York", UK_MOBILE), channel, "2026-07-02T20:30:00Z") == (
        "wait", ms("2026-07-03T12:00:00Z"))


@pytest.mark.parametrize("channel", ["sms", "call"])
def test_the_profile_zone_still_counts_for_texts_and_calls(channel):
    # a New York number, profile London: 22:00Z = 23:00 BST (quiet in London), 18:00 EDT: waits for 08:00 BST
    assert outcome(customer("Europe/London", US_MOBILE), channel, "2026-07-02T22:00:00Z") == (
        "wait", ms("2026-07-03T12:00:00Z"))  # 07:00Z is 03:00 EDT on the number: 08:00 EDT


@pytest.mark.parametrize("channel", ["email", "push"])
def test_email_and_push_keep_the_profile_zone(channel):
    # a marketing email/push at 10:00Z (11:00 in London, 06:00 on the New York number) goes out: no phone involved
    assert outcome(customer("Europe/London", US_MOBILE), channel, "2026-07-02T10:00:00Z", "marketing") == (
        "send", None)


def test_only_the_number_used_adds_its_zones():
    # two mobiles, the UK one newest (the delivery address): a text at 10:00Z is 06:00 EDT on the older New York
    # number, but the text goes to the UK one (11:00 BST) and the profile is London: sent
    from journeyflow.stages.arbitration.zones import send_zones
    s = customer("Europe/London", US_MOBILE, UK_MOBILE)
    assert outcome(s, "sms", "2026-07-02T10:00:00Z") == ("send", None)
    key = HASHER.phone(UK_MOBILE)
    assert [z.key for z in send_zones(s, "sms", key[1], zone_or_none("UTC"))] == [
        "Europe/London", "Europe/Guernsey", "Europe/Isle_of_Man", "Europe/Jersey"]
    assert [z.key for z in send_zones(s, "email", None, zone_or_none("UTC"))] == ["Europe/London"]


def test_without_a_profile_zone_the_rule_is_unchanged():
    # no profile zone: every phone's zones, as before (a New York number: 06:00 EDT is quiet)
    assert outcome(customer(None, US_MOBILE), "sms", "2026-07-02T10:00:00Z") == ("wait", ms("2026-07-02T12:00:00Z"))
    assert outcome(customer(None, US_MOBILE), "email", "2026-07-02T10:00:00Z", "marketing") == (
        "wait", ms("2026-07-02T12:00:00Z"))


def test_one_moment_keeps_each_channels_own_due_time():
    # the same moment, a marketing email and a transactional sms: the email goes (London 11:00), the sms waits for
    # the New York morning; before, the moment remembered one due time for every candidate
    s = customer("Europe/London", US_MOBILE)
    now = ms("2026-07-02T10:00:00Z")
    cands = [Candidate("j1", "s", "marketing", 100, "send", "email", "promo", "t", now),
             Candidate("j2", "s", "transactional", 100, "send", "sms", "pay", "t", now)]
    res = Arbiter().arbitrate(s, cands, now, "crm:C1", "t")
    got = {(d.channel, d.action) for d in res.decisions}
    assert ("email", "send") in got and ("sms", "wait") in got
    assert [(due, c.channel) for due, c in res.deferred] == [(ms("2026-07-02T12:00:00Z"), "sms")]
