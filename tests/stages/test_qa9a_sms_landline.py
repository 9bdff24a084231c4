"""No text to a landline: a number ``phonenumbers`` types as FIXED_LINE (not FIXED_LINE_OR_MOBILE, not MOBILE) is no
SMS delivery address; calls still go to it (QA of the compliance area, session 9).

Before: the most recently seen phone of the customer was the SMS address whatever its type, so a customer who gave
their office landline (London +44 20 ...) after their mobile was texted at the landline (the text is lost, or read
out by a voice gateway to whoever picks up) and no text went to the mobile.  Now the SMS goes to the most recent
phone that can take a text, and a customer with landlines only gets no text: reason ``no_address`` (no deliverable
address for the channel).  US and Canadian numbers are FIXED_LINE_OR_MOBILE (the numbering plan does not say): they
stay SMS addresses.
"""
from __future__ import annotations

import pytest

from journeyflow.model.decisions import Candidate
from journeyflow.stages.arbitration import Arbiter
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.state import CustomerState

HASHER = Hasher(b"test-key")
NOON = 1_783_000_800_000  # 2026-07-02T14:00:00Z: 15:00 in London, 10:00 in New York
LONDON_LANDLINE, UK_MOBILE, PARIS_LANDLINE, NEW_YORK = "+442079460958", "+447911123456", "+33123456789", "+12125550100"


def customer(*phones: str) -> CustomerState:
    """A customer in London with ``phones`` (the last one the most recently seen), every channel granted."""
    s = CustomerState(customer_id="crm:C1", ids=["crm:C1"], tz="Europe/London")
    for i, p in enumerate(phones):
        key, e164 = HASHER.phone(p)
        s.addresses[key] = ["phone", e164, 1_000 + i]
    s.consent = {ch: ["granted", 0] for ch in ("email", "sms", "push", "call")}
    return s


def decide(state: CustomerState, channel: str) -> tuple[str, tuple, str | None]:
    """(action, reasons, address) of one transactional send on ``channel`` at NOON."""
    c = Candidate("j", "s", "transactional", 100, "send", channel, f"c-{channel}", "t", NOON)
    d = Arbiter().arbitrate(state, [c], NOON, "crm:C1", "t").decisions[0]
    return d.action, d.reason_codes, d.address


@pytest.mark.parametrize("landline", [LONDON_LANDLINE, PARIS_LANDLINE])
def test_a_customer_with_only_a_landline_gets_no_text_but_a_call(landline):
    s = customer(landline)
    assert decide(s, "sms") == ("suppress", ("no_address",), None)
    assert decide(s, "call") == ("send", ("chosen",), landline)


def test_the_text_goes_to_the_mobile_when_the_landline_is_newer():
    s = customer(UK_MOBILE, LONDON_LANDLINE)  # the landline seen last
    assert decide(s, "sms") == ("send", ("chosen",), UK_MOBILE)
    assert decide(s, "call") == ("send", ("chosen",), LONDON_LANDLINE)  # calls: the most recent, as before


def test_fixed_line_or_mobile_numbers_still_get_texts():
    assert decide(customer(NEW_YORK), "sms") == ("send", ("chosen",), NEW_YORK)


@pytest.mark.parametrize("number, ok", [(LONDON_LANDLINE, False), (PARIS_LANDLINE, False), (UK_MOBILE, True),
                                        (NEW_YORK, True), ("+18005550100", True), ("not a number", True)])
def test_sms_capable(number, ok):
    # only what phonenumbers types FIXED_LINE is refused (toll free, VoIP ...: the customer's word stands)
    from journeyflow.stages.identity.phone_types import sms_capable
    assert sms_capable(number) is ok
