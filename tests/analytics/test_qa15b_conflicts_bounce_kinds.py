"""qa15b: compare's conflict detectors read a bounce in the providers' words as the pipeline does
(``stages.bounce_words`` through ``deliverability.bounce_effect``): a Segment bounce keeps the provider's word
unparsed.  A transient one (``4.2.2``, ``MailboxFull``) or the sender's own fault (``ExpiredProviderToken``) is no
hard bounce -- before, a later send there was counted as a conflict the pipeline rightly did not see -- and a refusal
because the person opted out (Twilio ``21610``, a STOP; ``SpamComplaint``) is that opt-out's status."""
from __future__ import annotations

import pytest

from journeyflow.analytics.conflicts import build_address_facts
from tests.analytics.test_conflicts_bounce_words import _bounce


@pytest.mark.parametrize("word", ["4.2.2 mailbox full", "MailboxFull", "UNAVAILABLE", "ExpiredProviderToken",
                                  "30003"])
def test_a_transient_or_senders_bounce_is_not_hard(word):
    assert build_address_facts([_bounce(word)]).hard_bounce == {}


@pytest.mark.parametrize("word, status", [("21610", "unsubscribed"), ("SpamComplaint", "complained")])
def test_a_bounce_that_is_an_opt_out_is_that_status(word, status):
    facts = build_address_facts([_bounce(word)])
    assert facts.hard_bounce == {} and facts.status[("email:k1", "email")] == [(1_000, 1, status)]
