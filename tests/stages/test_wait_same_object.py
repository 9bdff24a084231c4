"""A ``wait: {until: ...}`` may name fields whose value must equal the entry event's (``same_as_entry``), like exits
and goals: the default ``dunning`` waits for the payment of *its* order to fail again before the agent's call; the
failed payment of another order does not resume it (before, any ``payment_failed`` did, and the call was about the
entry's order, which had not failed again)."""
from __future__ import annotations

import textwrap

from journeyflow.stages.journeys.loader import load_journeys_text
from tests.stages.test_lifecycle import at, e, fold, outcomes, profile, steps_of


def _dunning(cid: str, second: str):
    evs = profile(cid) + [e(f"orders/{cid}-1", "orders", "payment_failed", at(0, "12:00"), cid, order_id="A"),
                          e(f"orders/{cid}-2", "orders", "payment_failed", at(2, "10:00"), cid, order_id=second)]
    out = fold(evs, until=at(5, "00:00"))
    return [r[1:3] for r in outcomes(out.decisions, "dunning")], steps_of(out.steps, "dunning", ("step", "exited"))


def test_the_same_orders_second_failure_gets_the_call():
    sent, _ = _dunning("crm:W1", "A")
    assert sent == [("retry_email", "send"), ("retry_sms", "send"), ("payment_call", "send")]


def test_another_orders_failure_does_not_resume_the_wait():
    sent, steps = _dunning("crm:W2", "B")
    # (B's own dunning, held while A's ran, follows it: journeys.held, tests/scenarios/test_qa13a_dunning_second_order)
    assert sent[:2] == [("retry_email", "send"), ("retry_sms", "send")] and ("payment_call", "send") not in sent
    assert (at(3, "12:00"), "step", "wait_refail", "resume:timeout") in steps
    assert not any(s[3] == "resume:event:payment_failed" for s in steps)


def test_a_wait_until_keeps_its_same_as_entry_fields():
    (j,) = load_journeys_text(textwrap.dedent("""\
        version: 1
        journeys:
          - id: j
            category: transactional
            priority: 800
            entry: {event: payment_failed, stream: orders}
            steps:
              - id: w
                wait: {until: payment_failed, same_as_entry: order_id, timeout: 1d}
              - id: s
                send: {channel: email, content_id: c}
        """), "<t>")
    assert j.step_map["w"].until.same == ("order_id",)
    assert "order_id" in j.entry_keys
