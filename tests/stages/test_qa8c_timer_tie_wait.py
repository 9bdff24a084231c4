"""A wait-until event at the very millisecond a timer moves the membership into the wait (qa8c).  A timer due at
``t`` fires after the customer's events at ``t`` (the tie rule), so the event was handled while the membership was
still in the previous step and the wait that began at ``t`` never saw it.  A payment processor retrying on a fixed
schedule fails the payment again exactly 24 h after the first failure, when ``dunning``'s ``wait_24h`` ends and
``wait_refail`` begins: no call was made (1 s later: a call).  Now the wait the timer's run reaches at ``t`` resumes
on such an event of ``t``, as a wait reached at entry does (``matching.resume_in_moment``); the SMS and the call are
then candidates of one moment, and the policy's one message per moment sends the call."""
from __future__ import annotations

import pytest

from tests.stages.test_lifecycle import HOUR, at, e, fold, profile


@pytest.mark.parametrize("delay_ms", [24 * HOUR, 24 * HOUR + 1_000])
def test_a_payment_failing_again_when_the_sms_goes_out_gets_the_call(delay_ms):
    evs = profile() + [
        e("pf1", "orders", "payment_failed", at(0, "10:00"), order_id="O1", amount=50.0, currency="USD"),
        e("pf2", "orders", "payment_failed", at(0, "10:00") + delay_ms, order_id="O1", amount=50.0, currency="USD"),
    ]
    out = fold(evs, until=at(5, "00:00"))
    sent = [(d.step_id, d.decided_at) for d in out.decisions if d.journey_id == "dunning" and d.action == "send"]
    assert ("payment_call", at(0, "10:00") + delay_ms) in sent
    if delay_ms == 24 * HOUR:  # the SMS and the call proposed at one moment: one message (the call) goes out
        assert sent == [("retry_email", at(0, "10:00")), ("payment_call", at(1, "10:00"))]


def test_another_orders_failure_at_that_millisecond_does_not_resume_it():
    evs = profile() + [
        e("pf1", "orders", "payment_failed", at(0, "10:00"), order_id="O1", amount=50.0, currency="USD"),
        e("pf2", "orders", "payment_failed", at(1, "10:00"), order_id="O2", amount=20.0, currency="USD"),
    ]
    out = fold(evs, until=at(5, "00:00"))
    assert [d.step_id for d in out.decisions if d.journey_id == "dunning" and d.action == "send"
            and d.context["order_id"] == "O1"] == ["retry_email", "retry_sms"]  # (O2's, held: journeys.held)
