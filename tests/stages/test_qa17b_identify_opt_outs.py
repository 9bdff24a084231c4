"""qa17b: a Segment ``identify`` whose traits say the person opted out is that opt-out.

Sending tools fed by Segment keep the subscription as a profile trait: Customer.io's ``unsubscribed: true`` (its
global unsubscribe), Braze's ``email_subscribe`` / ``push_subscribe: "unsubscribed"``, HubSpot's
``hs_email_optout``, Salesforce's ``HasOptedOutOfEmail`` / ``DoNotCall``, Intercom's ``unsubscribed_from_emails``.
Before, such an identify was a profile update (its flag a custom trait) and the person kept getting the channel;
now it is the mapping's ``Unsubscribed`` of the channels the trait names (``stages.opt_out_names.opted_out_trait``,
``segment.optouts.traits_opt_out``).  A false flag, an opt-in, another status (``subscription_status:
"cancelled"``: a billing plan's) change nothing; the opt-out links nothing, as every opt-out."""
from __future__ import annotations

import pytest

from journeyflow.model.events import Event
from tests.stages.test_qa17b_opt_out_names import (ANN, AT, BASE, NUMBER, cart_sends, offers, parsed,
                                                    phone_holder)


def identify(traits: dict, **ids) -> tuple[str, dict]:
    return ("track", {"type": "identify", "messageId": "i1", "timestamp": AT, "traits": traits,
                      **(ids or {"userId": "A"})})


EMAIL_OFF = {
    "Customer.io unsubscribed": {"unsubscribed": True},
    "Braze email_subscribe": {"email_subscribe": "unsubscribed"},
    "HubSpot hs_email_optout": {"hs_email_optout": "true"},
    "Salesforce HasOptedOutOfEmail": {"HasOptedOutOfEmail": True},
    "Intercom unsubscribed_from_emails": {"unsubscribed_from_emails": True},
    "do_not_contact": {"do_not_contact": 1},
    "by the address, no user id": {"unsubscribed": "true", "email": ANN},
}


@pytest.mark.parametrize("case", sorted(EMAIL_OFF))
def test_an_identify_saying_unsubscribed_stops_the_email(case):
    traits = EMAIL_OFF[case]
    rec = identify(traits, anonymousId="esp-1") if "email" in traits else identify(traits)
    ev = parsed(*rec)
    assert isinstance(ev, Event) and ev.stream == "engagement" and ev.type == "unsubscribed", ev  # before: identify
    assert offers(BASE + [rec]) == ["crm:B"]  # before: ["crm:A", "crm:B"]


@pytest.mark.parametrize("traits", [{"unsubscribed": False}, {"email_subscribe": "opted_in"},
                                    {"subscription_status": "cancelled"}, {"unsubscribe_url": "https://x.test/u"},
                                    {"do_not_track": True}, {"do_not_sell": True}, {"tracking_opt_out": True},
                                    {"plan": "pro", "email": ANN}])
def test_other_traits_change_nothing(traits):
    ev = parsed(*identify(traits))
    assert isinstance(ev, Event) and (ev.stream, ev.type) == ("track", "identify")
    assert offers(BASE + [identify(traits)]) == ["crm:A", "crm:B"]


@pytest.mark.parametrize("traits", [{"sms_opt_out": True}, {"DoNotText": True}, {"sms_consent": "NEVER_SUBSCRIBED"}])
def test_an_identify_saying_no_texts_stops_the_texts_not_the_email(traits):
    assert cart_sends(phone_holder() + [identify(traits)]) == [ANN]  # before: [NUMBER, ANN]


def test_a_push_unsubscribe_trait_leaves_email_and_texts():
    assert cart_sends(phone_holder() + [identify({"push_subscribe": "unsubscribed"})]) == [NUMBER, ANN]
