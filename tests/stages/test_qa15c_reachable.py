"""qa15c: ``customer.reachable.<channel>`` agrees with arbitration's address rule, the soft-bounce limit included.

Before: reachable read ``CustomerState.delivery_address`` without the policy's soft-bounce limit
(``deliverability.soft_bounces``: 3 within 7 days), which arbitration applies.  After three transient push errors
(FCM ``UNAVAILABLE``) the default ``welcome`` journey's branch took push, arbitration suppressed it ``no_address``,
and the onboarding tips were not sent at all.  The same for email and SMS: an address over its soft-bounce limit
was "reachable" while every send to it was suppressed.  Now reachable = the arbiter would find a delivery address
for that channel now (``journeys.context``; channel consent stays ``customer.consent``'s).  Through parse -> fold ->
decisions (``stages.bounded``), with the shipped policy."""
from __future__ import annotations

import dataclasses
import json
import pickle

import pytest

from journeyflow.model.decisions import CHANNELS
from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.journeys.context import _Ctx
from journeyflow.stages.state import CustomerState
from tests.stages.test_qa11a_mailboxes import CONFIG, PARSER
from tests.stages.test_qa13c_push_opt_outs import new_lead, onboarding
from tests.stages.test_qa13c_transactional_opt_outs import ANN, PHONE
from tests.stages.test_qa15b_bounce_words import bounce


def test_three_transient_push_errors_send_the_tips_by_email():
    # before: [] -- the branch took push (reachable), arbitration suppressed it no_address, no tips at all
    assert onboarding(bounce("push", "UNAVAILABLE", n=3, anonymous_id="app-9")) == ["email"]


@pytest.mark.parametrize("n", [0, 1, 2])
def test_below_the_soft_limit_the_tips_still_go_by_push(n):
    assert onboarding(bounce("push", "UNAVAILABLE", n=n, anonymous_id="app-9")) == ["push"]


def test_a_soft_limit_disabled_by_the_policy_keeps_push():
    """The branch reads the policy's rule, not a copy: with ``soft_bounces.enabled: false`` three transient errors
    block nothing, and the tips go by push (arbitration agrees)."""
    policy = CONFIG.policy_yaml.replace("soft_bounces:\n    enabled: true", "soft_bounces:\n    enabled: false", 1)
    assert policy != CONFIG.policy_yaml
    cfg = dataclasses.replace(CONFIG, policy_yaml=policy)
    assert _decided(cfg, new_lead(bounce("push", "UNAVAILABLE", n=3, anonymous_id="app-9")), "onboarding") == [
        ("push", "send")]


# --- email and SMS: a journey choosing its channel by customer.reachable
REACH = """version: 1
journeys:
  - id: reach
    name: Payment reminder by the first reachable channel
    category: transactional
    priority: 800
    entry: {event: payment_failed, stream: orders}
    reentry: {mode: always}
    max_duration: 1d
    steps:
      - id: pick
        branch:
          cases:
            - {when: "customer.reachable.email", next: by_email}
            - {when: "customer.reachable.sms", next: by_sms}
          else: by_push
      - id: by_email
        send: {channel: email, content_id: payment_retry}
        next: done
      - id: by_sms
        send: {channel: sms, content_id: payment_retry_sms}
        next: done
      - id: by_push
        send: {channel: push, content_id: payment_retry_push}
      - id: done
        exit: true
"""
REACH_CONFIG = dataclasses.replace(CONFIG, journeys_yaml=REACH, journeys_source="reach.yaml")


def _reminder(extra: list[tuple[str, dict]]) -> list[tuple[str, str]]:
    recs = [("crm", {"event_id": "c-A", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                     "email": ANN, "phone": PHONE, "timezone": "America/Los_Angeles"})] + extra + [
        ("orders", {"event_id": "o1", "ts": "2026-10-05T18:00:00Z", "type": "payment_failed", "crm_id": "A",
                    "order_id": "O1", "amount": 10, "currency": "USD"})]
    return _decided(REACH_CONFIG, recs, "by_")


def _decided(cfg, recs, step_prefix: str) -> list[tuple[str, str]]:
    """(channel, action) of the decisions of the steps starting with ``step_prefix``."""
    events = [PARSER.parse(s, json.dumps(r).encode()) for s, r in recs]
    assert all(isinstance(e, Event) for e in events), events
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, cfg.link_rules()), cfg.build_processor(),
                               max(e.ts for e in events) + 2 * 86_400_000):
        out += [(d.channel, d.action) for d in o.decisions if d.step_id.startswith(step_prefix)]
    return out


def test_control_every_address_fine_the_reminder_goes_by_email():
    assert _reminder([]) == [("email", "send")]


def test_an_email_over_its_soft_limit_is_not_reachable():
    # before: [("email", "suppress")] -- reachable.email held, arbitration refused the address (no_address)
    assert _reminder(bounce("email", "4.2.2 mailbox full", n=3, email=ANN)) == [("sms", "send")]


def test_email_and_phone_over_their_soft_limits_leave_push():
    recs = bounce("email", "4.2.2 mailbox full", n=3, email=ANN) + [
        ("engagement", {**r, "event_id": f"s{i}"}) for i, (_s, r) in enumerate(bounce("sms", "30003", n=3,
                                                                                       phone=PHONE))]
    assert _reminder(recs) == [("push", "send")]  # before: [("email", "suppress")]


def test_two_soft_bounces_are_below_the_limit():
    assert _reminder(bounce("email", "4.2.2 mailbox full", n=2, email=ANN)) == [("email", "send")]


# --- the rule itself: reachable is what the arbiter's address rule answers, channel by channel
NOW = 1_791_288_000_000  # 2026-10-06T12:00:00Z: within 7 days of every bounce of ``bounce``


def test_reachable_is_the_arbiters_address_rule_on_every_channel():
    engine, arbiter = CONFIG._built()[:2]
    soft_max, window = CONFIG.policy().deliverability.soft_bounces.rule()
    assert engine.soft_bounces == (soft_max, window) == (3, 7 * 86_400_000)
    assert arbiter.lookback_ms()["soft_bounces"] == window
    assert pickle.loads(pickle.dumps(engine)).soft_bounces == engine.soft_bounces  # (Beam workers get it too)
    events = [PARSER.parse(s, json.dumps(r).encode()) for s, r in
              [("crm", {"event_id": "c-A", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                        "email": ANN, "phone": PHONE}),
               ("web", {"event_id": "l1", "ts": "2026-09-02T00:00:00Z", "type": "login", "anonymous_id": "app-9",
                        "user_id": "A"})]]
    for ch, who in [("email", {"email": ANN}), ("sms", {"phone": PHONE}), ("push", {"anonymous_id": "app-9"})]:
        for n in range(5):
            st = CustomerState()
            for ev in events + [PARSER.parse(s, json.dumps(r).encode())
                                for s, r in bounce(ch, "soft", n=n, **who)]:
                st.apply(ev)
            now = NOW
            reach = _Ctx(st, now, None, None, soft=engine.soft_bounces).activation()["customer"]["reachable"]
            for c in CHANNELS:
                assert reach[c] == (st.delivery_address(c, now, soft_max, window).__class__ is tuple), (ch, n, c)
            assert reach[ch] is (n < 3), (ch, n)  # 3 within 7 days block
