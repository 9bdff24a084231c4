"""qa15a in the Beam replay and in streaming: a deleted account gets no message, the same decisions as the in-process
bounded path (tests/stages/test_qa15a_account_deletion.py: the fault and the rules), at any arrival order within
the allowed lateness, and a deletion arriving later than that (a ``late_event``) still stops every pending message."""
from __future__ import annotations

import json

import pyarrow.dataset as ds
import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.pipelines.replay import run_replay
from tests.beam import test_arrival_order
from tests.beam.test_qa12a_anonymous_opt_outs_streaming import Loop
from tests.scenarios import read_topic
from tests.stages.test_qa15a_account_deletion import DEL, DAY, activity, contact, deletion, events, ms, signup

SENDS = ("decisions-email", "decisions-sms", "decisions-push", "decisions-call", "decisions-crm-task",
         "decisions-service-case")


def arrive_with_burst(loop, evs: list, lo: int, reverse: bool) -> int:
    """Feed ``evs`` (time order) to ``loop``, each 100 ms after its time, the records of the second from ``lo``
    (epoch ms) in reverse order at the second's last time when ``reverse`` (within the allowed lateness); finish
    40 days after the last record and return that horizon."""
    burst = [e for e in evs if lo <= e.ts <= lo + 1000]
    last = max(e.ts for e in burst)
    for ev in [e for e in evs if e.ts < lo]:
        loop.arrive(ev, ev.ts + 100)
    for ev in (reversed(burst) if reverse else burst):
        loop.arrive(ev, (last if reverse else ev.ts) + 100)
    for ev in [e for e in evs if e.ts > lo + 1000]:
        loop.arrive(ev, ev.ts + 100)
    until = evs[-1].ts + 40 * DAY
    loop.finish(until)
    return until


def _write(inp, records):
    inp.mkdir(parents=True)
    for stream in {s for s, _ in records}:
        (inp / f"{stream}.jsonl").write_text("".join(json.dumps(r) + "\n" for s, r in records if s == stream))


def _table(out, name, columns):
    return ds.dataset(out / "tables" / name, format="parquet", partitioning="hive",
                      ignore_prefixes=[".", "_"]).to_table(columns=columns).to_pylist()


@pytest.mark.parametrize("buckets", ["1", "3"])
def test_the_beam_replay_sends_nothing_to_a_deleted_account(tmp_path, buckets):
    records = (contact("A") + activity("A") + [deletion("crm contact_deleted", crm="A")]
               + contact("B", "bob@example.com", "+14155550102") + activity("B")
               + [deletion("Segment Account Deleted", crm="B")]
               + contact("C", "cid@example.com", "+14155550103") + activity("C")
               + [deletion("crm contact.deletion", crm="C"), deletion("crm contact.deletion", crm="C")])  # resent
    _write(tmp_path / "in", records if buckets == "1" else records[::-1])  # (bucketed: the files in reverse order)
    out = tmp_path / "out"
    summary = run_replay(["--input", str(tmp_path / "in"), "--output", str(out), "--until", "end",
                          "--buckets", buckets])
    sent = [(m["customer_id"], m["journey_id"]) for t in SENDS for m in read_topic(out, t)
            if m["decided_at"] >= ms(DEL)]
    assert sent == []  # before: the cart reminders, dunning SMS and win-backs of all three
    assert summary.reconciles and dict(summary.dead_letters) == {"duplicate_event": 1}
    exited = {(r["customer_id"], r["journey_id"]) for r in _table(out, "journey_steps", ["customer_id", "journey_id",
                                                                                         "kind", "detail"])
              if r["kind"] == "exited" and r["detail"] == "account_deleted"}
    assert {(c, j) for c in ("crm:A", "crm:B", "crm:C") for j in ("cart_abandonment", "dunning", "winback")} <= exited
    snaps = {r["customer_id"]: r for r in _table(out, "customer_snapshots", [
        "customer_id", "deleted_at", "timezone", "lifecycle_stage", "consent_email", "orders_90d", "cart_size",
        "active_journeys", "pending_timers"])}
    for c in ("crm:A", "crm:B", "crm:C"):  # erased: no personal facts left, the deletion's time shown
        r = snaps[c]
        assert r["deleted_at"] is not None
        assert (r["timezone"], r["lifecycle_stage"], r["consent_email"], r["orders_90d"], r["cart_size"],
                r["active_journeys"], r["pending_timers"]) == (None, None, None, 0, 0, [], 0)


# ---------------------------------------------------------------------------------------------------- streaming
def story(*extra):
    return sorted(events(contact() + activity() + list(extra)), key=lambda e: e.sort_key)


def _sent_after(loop, at: int) -> list:
    return [(d.journey_id, d.channel) for d in loop.decisions if d.action == "send" and d.decided_at > at]


SOON = "2026-10-05T10:00:01Z"  # a second after the cart and the failed payment
CASES = {
    "crm deletion ten minutes later": (deletion("crm contact_deleted"),),
    "crm deletion a second later": (deletion("crm contact_deleted", SOON),),
    "Segment Account Deleted a second later": (deletion("Segment Account Deleted", SOON),),
    "deletion at the triggers' millisecond": (deletion("crm contact_deleted", "2026-10-05T10:00:00Z"),),
    "deletion then a new account": (deletion("crm contact_deleted", SOON),
                                    signup("web signup", "2026-10-12T10:00:00Z")),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("reverse", [False, True])
def test_streaming_gives_the_replays_decisions_at_any_arrival_order(case, reverse, monkeypatch):
    """Events arrive in time order, or the records of the cart's second (10:00:00 to 10:00:01: the cart, the
    failed payment and the deletion) in reverse order within the allowed lateness (3 s): the streaming decisions are
    the bounded replay's, and nothing of the deleted account is sent after the deletion."""
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = story(*CASES[case])
    loop = Loop(f"memory://qa15a-{abs(hash((case, reverse)))}")
    lo = ms("2026-10-05T10:00:00Z")
    until = arrive_with_burst(loop, evs, lo, reverse)
    assert sorted(map(test_arrival_order.key, loop.decisions)) == test_arrival_order.bounded_decisions(evs, until)
    deleted_at = min(e.ts for e in evs if e.type == "contact_deleted")
    new_account = ms("2026-10-12T10:00:00Z")
    sent = [d for d in loop.decisions if d.action == "send" and d.decided_at > deleted_at]
    assert all(d.decided_at > new_account for d in sent), [(d.journey_id, d.decided_at) for d in sent]
    assert loop.dead == []


def test_a_deletion_arriving_after_the_allowed_lateness_still_stops_the_pending_messages(monkeypatch):
    """The deletion (10:10) arrives at 12:00, behind the customer's processed horizon (the cart reminder went out at
    11:00: that one cannot be taken back): a ``late_event`` dead letter (no journey runs on it), but its mark is
    applied to the stored state at its own time (``OrderedCustomerFn._late_status``, as a late opt-out's), so the
    dunning SMS, the cart SMS and the win-back are not sent, and the memberships end at the next moment
    (``stages.deletion.settle``: ``exited``, ``account_deleted``)."""
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = story()
    (late,) = events([deletion("crm contact_deleted")])
    loop = Loop("memory://qa15a-late")
    for ev in evs:
        loop.arrive(ev, ev.ts + 100)
    arrival = ms("2026-10-05T12:00:00Z")
    loop.arrive(late, arrival)
    loop.finish(evs[-1].ts + 40 * DAY)
    assert ("cart_abandonment", "email") in _sent_after(loop, ms(DEL))  # (11:00, before the deletion arrived)
    assert _sent_after(loop, arrival) == []  # before: the dunning SMS, the cart SMS, the win-back
    assert [d.reason.value for d in loop.dead] == ["late_event"]
    cancelled = [d for d in loop.decisions if d.reason_codes == ("account_deleted",)]
    assert cancelled == [] or all(d.action == "suppress" for d in cancelled)


@pytest.mark.parametrize("deletion_first", [False, True])
def test_a_deletion_at_the_triggers_millisecond_in_a_test_stream(deletion_first):
    """The real streaming transforms (ResolveIdentitiesOnline, the address router, the per-customer stage) on a
    TestStream: a Segment ``Account Deleted`` at the very millisecond of the cart and the failed payment, fed before
    or after them in one step: the replay's decisions (``_stream_decisions`` checks), and nothing sent."""
    from tests.beam.test_address_consent import _stream_decisions

    evs = story()
    (gone,) = events([deletion("Segment Account Deleted", "2026-10-05T10:00:00Z")])
    at = [i for i, e in enumerate(evs) if e.ts == gone.ts]  # the cart and the failed payment
    cut = at[0] if deletion_first else at[-1] + 1
    evs = evs[:cut] + [gone] + evs[cut:]
    from journeyflow.analytics.compare import fold_in_process
    from tests.beam.test_address_consent import _extras_file

    decided, _p, _i = fold_in_process(evs, EngineConfig.from_files(journeys=_extras_file()), 2**62)
    assert [d for d in decided if d.action == "send" and d.decided_at >= gone.ts] == []
    _stream_decisions(evs, f"memory://qa15a-tie-{deletion_first}")


@pytest.mark.parametrize("login_first", [False, True])
def test_a_deleted_device_merged_into_the_customer_in_streaming(login_first, monkeypatch):
    """The device's anonymous profile was deleted (Segment ``Account Deleted`` by anonymousId); a login links the
    device to A, whose cart reminder is pending: the deleted state reaches A through the state hand-over and A is
    that deleted person from the link on (fail safe), as in the replay; the login and the deletion a second apart,
    arriving in either order."""
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    anon_del = ("track", {"type": "track", "event": "Account Deleted", "messageId": "del-d", "anonymousId": "d-A",
                          "timestamp": "2026-10-05T10:10:00Z"})
    login = ("web", {"event_id": "l-A", "ts": "2026-10-05T10:10:01Z", "type": "login", "anonymous_id": "d-A",
                     "user_id": "A"})
    cart = ("web", {"event_id": "a-A", "ts": "2026-10-05T10:00:00Z", "type": "add_to_cart", "anonymous_id": "d-A2",
                    "user_id": "A", "product_id": "P1"})
    evs = sorted(events(contact() + [cart, anon_del, login]), key=lambda e: e.sort_key)
    *head, d, lg = evs
    loop = _FineNear(f"memory://qa15a-merged-{login_first}", lg.ts)
    for ev in head:
        loop.arrive(ev, ev.ts + 100)
    for ev in ([lg, d] if login_first else [d, lg]):
        loop.arrive(ev, lg.ts + 100)
    until = evs[-1].ts + 40 * DAY
    loop.finish(until)
    assert sorted(map(test_arrival_order.key, loop.decisions)) == test_arrival_order.bounded_decisions(evs, until)
    assert _sent_after(loop, d.ts) == []  # before: A's cart reminder at 11:00


class _FineNear(Loop):
    """:class:`Loop` whose watermark moves in 1 s steps from 5 s before ``near`` to a minute after it (hour steps
    elsewhere), as a runner's watermark follows the wall clock: the hand-over of the absorbed state arrives within
    the survivor's event-time wait (a watermark jumping an hour past the link is the hand-over hold's case, with its
    processing-time grace and stand-in: tests/beam/test_qa14a_handover_grace.py)."""

    def __init__(self, url: str, near: int):
        super().__init__(url)
        self.near = near

    def to(self, at: int) -> None:
        while self.wm < at:
            fine = self.near - 5000 <= self.wm <= self.near + 60_000
            nxt = self.wm + (1000 if fine else 3_600_000)
            if not fine and self.wm < self.near - 5000:
                nxt = min(nxt, self.near - 5000)
            self.wm = min(at, nxt) if self.wm else at
            self._pump()
