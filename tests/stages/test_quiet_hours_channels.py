"""Calls and texts keep quiet hours whatever their category (``quiet_hours.channels``, default ``[sms, call]``).

Before: transactional messages were exempt from quiet hours on every channel, so the default ``dunning`` journey
texted (and later rang) a customer at 03:00 local time about a failed payment, which US Regulation F
(12 CFR 1006.6(b)(1)) and the TCPA (47 CFR 64.1200(c)(1)) treat as inconvenient hours.  The email of the same
journey is still sent at once (email waits in the inbox).
"""
from __future__ import annotations

import dataclasses

from journeyflow.config.engine import EngineConfig
from test_lifecycle import at, e, fold, profile


def dunning_sends(policy_text: str | None = None, tz: str = "America/New_York") -> list[tuple]:
    """(time, channel, action) of the dunning decisions of a customer whose payment fails at 02:00 local (07:00Z)
    and is never paid."""
    config = EngineConfig.from_files()
    if policy_text is not None:
        config = dataclasses.replace(config, policy_yaml=policy_text)
    failed = e("orders/pf1", "orders", "payment_failed", at(0, "03:00"), "crm:C1", order_id="O1")
    out = fold(profile(tz=tz) + [failed], until=at(3, "00:00"), config=config)
    return [(d.decided_at, d.channel, d.action) for d in out.decisions if d.journey_id == "dunning"
            and d.channel in ("email", "sms", "call")]


def test_a_payment_text_due_at_night_waits_for_the_morning_the_email_does_not():
    got = dunning_sends()
    # payment failed 03:00Z = 23:00 EDT: the email goes out at once (transactional email keeps no quiet hours)
    assert (at(0, "03:00"), "email", "send") in got
    # its SMS is due 24 h later, 23:00 EDT again: deferred (wait) to 08:00 EDT = 12:00Z, then sent
    sms = [(t, a) for t, ch, a in got if ch == "sms"]
    assert sms == [(at(1, "03:00"), "wait"), (at(1, "12:00"), "send")], sms


def test_the_channels_can_be_left_out_of_quiet_hours():
    from importlib import resources
    text = resources.files("journeyflow.defaults").joinpath("policy.yaml").read_text()
    assert "  channels: [sms, call]\n" in text
    got = dunning_sends(text.replace("  channels: [sms, call]\n", "  channels: []\n"))
    assert [(t, a) for t, ch, a in got if ch == "sms"] == [(at(1, "03:00"), "send")]
