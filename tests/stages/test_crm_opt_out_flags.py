"""A crm record whose fields say the contact opted out is that opt-out (``stages.crm_opt_outs``).

CRMs keep the subscription on the contact and a sync sends it with every contact record (HubSpot's
``hs_email_optout``, also under a v3 object's ``properties``; Salesforce's ``HasOptedOutOfEmail`` / ``DoNotCall``;
Customer.io's ``unsubscribed``; Braze's ``email_subscribe``).  Before, ``crm.avsc`` names none of them and such a
``contact_updated`` was a plain update (the fast parser skipped the field, the full one ignored it): the contact
kept getting the channel (qa17b's finding, left open there).  Now it is the engagement stream's ``unsubscribed`` of
the channels its fields name, in the crm namespace, carrying the record's profile fields."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.crm_opt_outs import crm_opt_out, names_crm_flag
from journeyflow.stages.state import CustomerState
from tests.beam.test_address_consent import _stream_decisions
from tests.beam.test_qa11a_mailboxes_streaming import offered
from tests.stages.test_qa11a_mailboxes import PARSER
from tests.stages.test_qa17b_opt_out_names import ANN, AT, BASE, NUMBER, cart_sends, offers, parsed, phone_holder


def contact(flags: dict, **fields) -> tuple[str, dict]:
    """A's contact record at AT (after A's consent, before the browse offer) carrying ``flags``."""
    return ("crm", {"event_id": "u-A", "ts": AT, "type": "contact_updated", "crm_id": "A", "email": ANN,
                    **fields, **flags})


EMAIL_OFF = {
    "HubSpot hs_email_optout": {"hs_email_optout": "true"},
    "HubSpot v3 properties": {"properties": {"hs_email_optout": "true", "firstname": "Ann"}},
    "Salesforce HasOptedOutOfEmail": {"HasOptedOutOfEmail": True},
    "Customer.io unsubscribed": {"unsubscribed": True},
    "Braze email_subscribe": {"email_subscribe": "unsubscribed"},
    "do_not_email": {"do_not_email": 1},
}


@pytest.mark.parametrize("case", sorted(EMAIL_OFF))
def test_a_contact_flagged_unsubscribed_stops_the_email(case):
    rec = contact(EMAIL_OFF[case])
    ev = parsed(*rec)  # (the fast path hands it over: parse == parse_full)
    assert isinstance(ev, Event) and (ev.stream, ev.type) == ("engagement", "unsubscribed"), ev  # before: crm
    assert ev.uid == "crm/u-A" and "crm:A" in ev.ids
    assert offers(BASE + [rec]) == ["crm:B"]  # before: ["crm:A", "crm:B"]


@pytest.mark.parametrize("flags", [{"sms_opt_out": "yes"}, {"DoNotText": True}, {"properties": {"sms_consent":
                                                                                      "NEVER_SUBSCRIBED"}}])
def test_a_contact_flagged_no_texts_keeps_the_email(flags):
    rec = contact(flags, phone=NUMBER)
    assert parsed(*rec).attrs["channel"] == "sms"
    assert cart_sends(phone_holder() + [rec]) == [ANN]  # before: [NUMBER, ANN]


def test_a_contact_flagged_do_not_call_stops_calls_only():
    rec = contact({"DoNotCall": True}, phone=NUMBER)  # (Salesforce: the contact does not wish to be called)
    assert parsed(*rec).attrs["channel"] == "call"
    assert cart_sends(phone_holder() + [rec]) == [NUMBER, ANN]  # the cart journey texts and emails, calls nobody


@pytest.mark.parametrize("flags", [{"hs_email_optout": "false"}, {"unsubscribed": False},
                                   {"email_subscribe": "opted_in"}, {"do_not_track": True},
                                   {"unsubscribe_url": "https://x.test/u"}, {"subscription_status": "cancelled"}])
def test_other_fields_leave_the_update_as_it_was(flags):
    ev = parsed(*contact(flags))
    assert isinstance(ev, Event) and (ev.stream, ev.type) == ("crm", "contact_updated")
    assert offers(BASE + [contact(flags)]) == ["crm:A", "crm:B"]


def test_the_opt_out_keeps_the_records_profile_fields():
    ev = parsed(*contact({"hs_email_optout": "true"}, lifecycle_stage="customer", owner_id="rep-7",
                         timezone="Europe/Paris"))
    assert ev.attrs == {"lifecycle_stage": "customer", "timezone": "Europe/Paris", "owner_id": "rep-7",
                        "channel": "email"}
    state = CustomerState()
    state.apply(ev)
    assert (state.lifecycle, state.owner_id, state.tz) == ("customer", "rep-7", "Europe/Paris")
    assert state.lifecycle_at == state.owner_at == state.tz_at == ev.ts


def test_a_deletion_flag_stays_the_deletion():
    ev = parsed(*contact({"hs_email_optout": "true", "archived": True}))
    assert (ev.stream, ev.type) == ("crm", "contact_deleted")
    assert crm_opt_out({"type": "contact_deleted", "unsubscribed": True}) is None


def test_flags_of_several_channels_are_their_union():
    assert crm_opt_out({"type": "contact_updated", "HasOptedOutOfEmail": True, "DoNotCall": True}) == "all"
    assert crm_opt_out({"type": "contact_updated", "sms_opt_out": True}) == "sms"


def test_the_fast_parser_hands_over_a_record_naming_such_a_field():
    assert names_crm_flag(json.dumps(contact({"hs_email_optout": "false"})[1]).encode())
    assert names_crm_flag('{"Properties": {"HasOptedOutOfEmail": true}}')
    assert not names_crm_flag(json.dumps(contact({}, lifecycle_stage="lead")[1]).encode())


def test_the_record_sent_again_is_a_duplicate_of_itself_only():
    rec = contact({"unsubscribed": True})
    same = parsed(*rec)
    other = parsed("engagement", {"event_id": "u-A", "ts": AT, "channel": "email", "email": ANN,
                                  "type": "unsubscribed"})
    assert same.uid == "crm/u-A" and other.uid == "engagement/u-A"


def test_streaming_blocks_it_as_replay_does():
    evs = sorted((PARSER.parse(s, json.dumps(r).encode()) for s, r in BASE + [contact(EMAIL_OFF["HubSpot "
                  "v3 properties"])]), key=lambda e: e.sort_key)
    assert offered(evs) == {"crm:B"}
    _stream_decisions(evs, "memory://crm-opt-out-flags")


def created(flags: dict) -> tuple[str, dict]:
    """A's contact_created record (09-01, before A's consent) carrying ``flags``."""
    return ("crm", {"event_id": "c-A", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                    "email": ANN, "timezone": "UTC", **flags})


def test_a_contact_created_opted_out_of_calls_is_still_created_linked_and_emailed():
    """qa17j: a DoNotCall on the creation record (a CRM sync sends the flags on every record) made the whole record
    an opt-out: the contact was never created nor linked to its email, and lost its email too."""
    rec = created({"DoNotCall": True})
    ev = parsed(*rec)
    assert (ev.stream, ev.type) == ("crm", "contact_created") and ev.attrs["opted_out"] == "call"
    assert {"crm:A"} < set(ev.ids) and any(k.startswith("email:") for k in ev.ids)  # the link is made
    state = CustomerState()
    state.apply(ev)
    assert state.consent["call"][0] == "unsubscribed"
    assert offers([rec] + BASE[1:]) == ["crm:A", "crm:B"]  # (holder A's own creation replaced): email still goes


def test_a_contact_created_opted_out_of_email_is_created_with_its_email_blocked():
    ev = parsed(*created({"hs_email_optout": "true"}))
    assert (ev.stream, ev.type) == ("crm", "contact_created") and ev.attrs["opted_out"] == "email"
    state = CustomerState()
    state.apply(ev)
    assert state.consent["email"][0] == "unsubscribed"
    assert any(status for status in state.addr_status.values())  # the address itself is blocked too
