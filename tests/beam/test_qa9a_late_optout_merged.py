"""A late opt-out to a customer merged into another still blocks the survivor (streaming; replay applies it at its
own time in any order).

An anonymous signup naming ann@example.com at 10:00 (customer A = the device and the email), a consent record by that
email revoking SMS at 10:00:10, and the CRM contact C1 (SMS granted an hour before, a UK mobile) updated with the same
email at 10:01, which merges A into C1.  A payment failure of C1 at 10:02 proposes a text at once.  Replay: the
revoke is the latest SMS consent of the merged customer: no text (``consent``).  Streaming, when the revoke reaches
the pipeline after A's merge was processed (beyond the allowed lateness): it is keyed to A (its identifier was A's at
its time), whose state had been handed over to C1; the late record's status change used to be applied only to a state
that was there (``_late_status``: none) and was lost, and C1 texted the customer who had opted out.  Now the change
travels to the customer A's state went to (a status-only hand-over through the state-transfer loop, addressed to
the target's current customer: ``identity.online.transfer_target``): the text is suppressed as in replay, and the
record is still one ``late_event`` dead letter.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from tests.beam import test_arrival_order as ao
from tests.beam.test_arrival_order import LATENESS, T, key, parse
from tests.beam.test_handover_to_merged_customer import RoutedLoop

SMS_NOW = """
  - id: sms_now
    name: Payment text at once (test)
    category: transactional
    priority: 900
    entry: {event: payment_failed, stream: orders}
    reentry: {mode: always}
    steps:
      - id: sms_now_text
        send: {channel: sms, content_id: sms_now}
"""
CONFIG = EngineConfig(default_text("journeys.yaml").rstrip() + "\n" + SMS_NOW, "<test journeys>",
                      default_text("policy.yaml"), "<default policy>")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat()


def records(revoke: dict) -> list:
    return [
        ("crm", {"event_id": "c0", "ts": iso(T - 3_600_000), "crm_id": "C1", "phone": "+44 7911 123456",
                 "type": "contact_created", "timezone": "UTC"}),
        ("consent", {"event_id": "k0", "ts": iso(T - 3_599_000), "crm_id": "C1", "channel": "sms",
                     "status": "granted"}),
        ("web", {"event_id": "s1", "ts": iso(T), "anonymous_id": "d1", "type": "signup", "email": "ann@example.com"}),
        revoke,
        ("crm", {"event_id": "c1", "ts": iso(T + 60_000), "crm_id": "C1", "email": "ann@example.com",
                 "type": "contact_updated"}),
        ("orders", {"event_id": "o1", "ts": iso(T + 120_000), "crm_id": "C1", "type": "payment_failed",
                    "order_id": "O1", "amount": 10, "currency": "GBP"}),
    ]


REVOKES = {
    "consent": ("consent", {"event_id": "r1", "ts": iso(T + 10_000), "email": "ann@example.com", "channel": "sms",
                            "status": "revoked"}),
    "unsubscribe": ("engagement", {"event_id": "r1", "ts": iso(T + 10_000), "email": "ann@example.com",
                                   "channel": "sms", "type": "unsubscribed"}),
}


def bounded(events, until: int) -> list[tuple]:
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(), until):
        out += [key(d) for d in o.decisions]
    return sorted(out)


@pytest.fixture(autouse=True)
def _config(monkeypatch):
    monkeypatch.setattr(ao, "CONFIG", CONFIG)  # the Loop's DoFn and link rules


@pytest.mark.parametrize("kind", sorted(REVOKES))
@pytest.mark.parametrize("late", [False, True])
def test_a_late_opt_out_of_a_merged_away_customer_blocks_the_survivor(kind, late):
    events = parse(records(REVOKES[kind]))
    revoke = events[3]
    loop = RoutedLoop(f"memory://qa9a-late-optout-{kind}-{late}")
    for ev in events:
        if ev is revoke and late:
            continue
        loop.arrive(ev, ev.ts + 100)
        if late and ev is events[4]:
            loop.arrive(revoke, ev.ts + 30_000)  # 20 s after the merge was processed: beyond the lateness
    until = T + 180_000 + LATENESS
    loop.finish(until)
    assert [(d.customer_id, d.step_id) for d in loop.decisions if d.action == "send" and d.channel == "sms"] == []
    assert ("crm:C1", "suppress", ("consent",)) in [(d.customer_id, d.action, d.reason_codes) for d in loop.decisions]
    assert sorted(key(d) for d in loop.decisions) == bounded(events, until - LATENESS)
    # still one dead letter for the late record (decided + dead letters = records read), none otherwise
    assert [(d.source, d.reason) for d in loop.dead] == ([(revoke.uid, "late_event")] if late else [])


def test_a_late_opt_out_after_an_address_copy_revived_the_merged_away_key_still_reaches_the_survivor():
    """An address-status copy that reaches the merged-away key after its hand-over (the router copies a late change
    to the customer the holder was at the change's time, ``transforms.address``) leaves a state there holding only
    that status.  A late channel opt-out of that key used to be applied to that leftover (a state was there) and
    never reached the survivor; it goes on like one to an empty key."""
    from journeyflow.stages.deliverability import address_copy

    unsub = ("engagement", {"event_id": "u1", "ts": iso(T + 5_000), "email": "ann@example.com", "channel": "email",
                            "type": "unsubscribed"})
    recs = records(REVOKES["consent"])
    events = parse(recs[:3] + [unsub] + recs[3:])
    late = [events[3], events[4]]  # the email unsubscribe, then the SMS revoke
    loop = RoutedLoop("memory://qa9a-late-optout-after-copy")
    for ev in events:
        if ev in late:
            continue
        loop.arrive(ev, ev.ts + 100)
        if ev is events[5]:  # the merge, processed 20 s later
            gone = loop.store.root_at(ev.ids[1], late[0].ts)  # the merged-away customer (the email's at 10:00:05)
            assert gone != "crm:C1"
            loop.arrive(late[0], ev.ts + 30_000)
            email_key = late[0].contact["email_key"]
            loop.to(ev.ts + 31_000)
            loop._key(gone).add([address_copy(email_key, "email", "unsubscribed", late[0].ts, gone)])
            loop.arrive(late[1], ev.ts + 32_000)
    until = T + 180_000 + LATENESS
    loop.finish(until)
    assert [(d.customer_id, d.step_id) for d in loop.decisions if d.action == "send" and d.channel == "sms"] == []
    assert sorted(key(d) for d in loop.decisions) == bounded(events, until - LATENESS)
    assert sorted((d.source, d.reason) for d in loop.dead) == sorted((ev.uid, "late_event") for ev in late)


@pytest.mark.parametrize("order", ["as_is", "reversed", "revoke_last", "revoke_first"])
def test_replay_applies_the_opt_out_of_a_merged_away_customer_in_any_input_order(order):
    events = parse(records(REVOKES["consent"]))
    revoke = events[3]
    rest = [e for e in events if e is not revoke]
    given = {"as_is": events, "reversed": events[::-1], "revoke_last": rest + [revoke],
             "revoke_first": [revoke] + rest}[order]
    out = []
    for _c, o in fold_clusters(resolve_clusters(given, CONFIG.link_rules()), CONFIG.build_processor(), T + 200_000):
        out += o.decisions
    assert [d for d in out if d.action == "send" and d.channel == "sms"] == []
    assert ("crm:C1", "suppress", ("consent",)) in [(d.customer_id, d.action, d.reason_codes) for d in out]


def test_a_status_handover_goes_to_the_targets_current_customer():
    """``transfer_target``: a hand-over of a merged-away key's state goes to the customer the key was at the
    hand-over's time; a status-only one, dated at its record's time (before the merge), to the key's customer now."""
    from journeyflow.adapters.identity_store import open_store
    from journeyflow.model.events import Event
    from journeyflow.stages.identity.online import status_handover, transfer_target

    email = "email:" + "e" * 32
    store = open_store("memory://qa9a-status-target", CONFIG.link_rules())
    store.link("crm:C1", email, 9_000, "crm/c1")
    revoke = Event("consent/r", "consent", "consent_revoked", 5_000, (email,), {"channel": "sms", "status": "revoked"},
                   {})
    handover = status_handover(email, revoke)
    assert transfer_target(store, email, handover) == "crm:C1"
    assert store.root_at(email, handover.ts) == email  # (the rule of a whole state's hand-over would keep it here)


class _JumpLoop(RoutedLoop):
    """:class:`RoutedLoop` whose watermark moves a day at a time (months of event time in a few steps, past the wall
    clock: a simulation, ``until_clock`` off)."""

    def __init__(self, url: str):
        super().__init__(url)
        self.fn.until_clock = False

    def to(self, at: int) -> None:
        while self.wm < at:
            self.wm = min(at, self.wm + 86_400_000) if self.wm else at
            self._pump()


def test_a_late_opt_out_of_a_customer_retired_then_merged_away_blocks_the_survivor():
    """The signup's customer goes dormant and is retired (what never expires stays: its address), is merged into C1
    200 days later, and its opt-out dated at the signup arrives after the merge: the survivor's text is suppressed,
    as in replay."""
    day = 86_400_000
    recs = records(REVOKES["consent"])
    recs[4][1]["ts"] = iso(T + 200 * day)  # the merge
    recs[5][1]["ts"] = iso(T + 200 * day + 60_000)  # the payment failure
    events = parse(recs)
    revoke = events[3]
    loop = _JumpLoop("memory://qa9a-late-optout-retired")
    for ev in events:
        if ev is revoke:
            continue
        loop.arrive(ev, ev.ts + 100)
        if ev is events[4]:
            loop.arrive(revoke, ev.ts + 30_000)
    until = T + 200 * day + 180_000 + LATENESS
    loop.finish(until)
    assert [(d.customer_id, d.step_id) for d in loop.decisions if d.action == "send" and d.channel == "sms"] == []
    assert sorted(key(d) for d in loop.decisions) == bounded(events, until - LATENESS)
    assert [(d.source, d.reason) for d in loop.dead] == [(revoke.uid, "late_event")]
