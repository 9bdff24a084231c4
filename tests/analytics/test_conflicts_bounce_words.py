"""The conflict detectors read a bounce's type as the pipeline does (``deliverability.bounce_effect``): a Segment
``Email Bounced`` mapped from its properties keeps the ESP's own word (``SoftBounce``, ``soft_bounce``,
``Transient``), and reading every such word as hard made ``compare`` count a later send to that address as a
conflict the pipeline rightly did not see (the address is only soft-bounced)."""
from __future__ import annotations

import pytest

from journeyflow.analytics.conflicts import build_address_facts
from journeyflow.model.events import Event


def _bounce(word):
    attrs = {"channel": "email"} if word is None else {"channel": "email", "bounce_type": word}
    return Event(uid="b1", stream="engagement", type="bounced", ts=1_000, ids=("crm:C1",), attrs=attrs,
                 contact={"email_key": "email:k1"})


@pytest.mark.parametrize("word", ["soft", "SoftBounce", "soft_bounce", "Transient", "temporary"])
def test_a_soft_bounce_in_an_esps_words_is_not_a_hard_bounce(word):
    assert build_address_facts([_bounce(word)]).hard_bounce == {}


@pytest.mark.parametrize("word", [None, "hard", "HardBounce", "Permanent", "something_else"])
def test_a_hard_or_unknown_bounce_is_hard(word):
    assert build_address_facts([_bounce(word)]).hard_bounce == {("email:k1", "email"): 1_000}
