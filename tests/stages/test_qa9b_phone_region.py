"""qa9b: a national-format number in an opt-out, read in the default region.

``020 7946 0018`` / ``07700 900123`` (UK numbers written nationally) in a consent revoke or an unsubscribe with the
default region US are no US numbers: the record stays an ``invalid_identifier`` dead letter -- the built-in opt-out
records carry no country or region field to read them in, and a trunk ``0`` is no hint (most of the world dials
one): journeyflow never guesses a region.  But the reason said only "phone is not a possible number", hiding that
it was read as a US number; now it names the region (so the fix, the number's +44 or --default_region, is plain).
The Segment stream reads such a number in its device's ``context.locale`` region (en-GB), as before."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import ParseConfig, Parser
from tests.stages.test_input_edge_cases import GOOD, P

UK = ["020 7946 0018", "07911 123456", "07700 900123"]  # (the last: Ofcom's drama range, valid nowhere)
OPT_OUTS = [("consent", {"status": "revoked", "channel": "sms"}), ("engagement", {"type": "unsubscribed",
                                                                                  "channel": "sms"})]


def full(stream, rec, parser=P):
    res = parser.parse_full(stream, json.dumps(rec).encode(), "t:1")
    return res.result, res.warnings


@pytest.mark.parametrize("number", UK)
@pytest.mark.parametrize("stream, extra", OPT_OUTS)
def test_the_dead_letter_of_a_national_number_names_the_region_it_was_read_in(stream, extra, number):
    rec = {k: v for k, v in {**GOOD[stream], **extra, "phone": number}.items() if k != "crm_id"}
    dead, _w = full(stream, rec)
    assert isinstance(dead, DeadLetter) and dead.reason == "invalid_identifier"
    assert "region US" in dead.detail and "+<country code>" in dead.detail
    assert number not in dead.detail  # (the number itself is never in a reason)
    gb = Parser(Hasher(b"test-key", "GB"), ParseConfig(default_region="GB"))
    ev, _w = full(stream, rec, gb)
    if number != UK[2]:
        assert isinstance(ev, Event) and ev.contact["phone"].startswith("+44")
    else:
        assert isinstance(ev, DeadLetter) and "not a valid number in region GB" in ev.detail


@pytest.mark.parametrize("number", UK)
def test_an_optional_national_number_beside_a_usable_id_says_the_region_in_its_warning(number):
    ev, warnings = full("support", {**GOOD["support"], "phone": number})
    assert isinstance(ev, Event) and [w.field for w in warnings] == ["phone"]
    assert "region US" in warnings[0].detail


@pytest.mark.parametrize("number", ["+44 20 7946 001", "0044 20 12", "tel:+1 23", "not a number"])
def test_a_number_not_read_in_a_region_names_none(number):
    """A number written with its country code (or no number at all) was not read in the default region: its
    reason must not blame the region."""
    with pytest.raises(Exception) as e:
        Hasher(b"k").phone(number)
    assert "region" not in str(e.value)


def test_segment_reads_a_national_number_in_its_locale_region_and_names_the_default_otherwise():
    msg = {**GOOD["track"], "event": "Unsubscribed", "context": {"traits": {"phone": UK[1]}, "locale": "en-GB"}}
    ev, _w = full("track", msg)
    assert isinstance(ev, Event) and ev.contact["phone"] == "+447911123456"
    ev, warnings = full("track", {**msg, "context": {"traits": {"phone": UK[1]}}})
    assert isinstance(ev, Event) and "phone" not in ev.contact
    assert [w.field for w in warnings] == ["traits.phone"] and "region US" in warnings[0].detail
