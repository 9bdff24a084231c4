"""qa13c hunt (fixed in qa14a: ``transforms.handover``, the survivor's hold also needs a processing-time grace to
end, and a hand-over that never comes is replaced by a stand-in counting every channel opted out): an opt-out held by a device's anonymous profile reaches the customer the device is linked to only through the
state hand-over (``absorb``), which the survivor waits for ``TRANSFER_WAIT_MS`` (30 s) of *event time* past the
link.  When the watermark moves past that wait in one step -- a backlog read after an outage or a restart, where
Dataflow's watermark follows the backlog's event times -- before the absorbed key's own flush has sent the
hand-over, the survivor times out and decides the trigger without the opt-out: the browse offer goes to a customer
whose device opted out (replay suppresses it).  With the watermark moving in small steps (the local runner: the
wall clock) the hand-over arrives in time and the decisions are the replay's.  The jump is run with the pipeline's
setting (``handover_grace_ms``, ``pipelines.stream``) on tests/beam/test_qa14a_handover_grace.py's loop; its
siblings (an unsubscribe, a complaint, an SMS STOP; a hand-over that never comes; a drain) are there."""
from __future__ import annotations

from journeyflow.config.engine import EngineConfig
from tests.beam import test_arrival_order
from tests.beam.test_qa11a_mailboxes_streaming import offered
from tests.beam.test_qa12a_anonymous_opt_outs_streaming import Loop, events
from tests.beam.test_qa14a_handover_grace import GraceLoop
from tests.stages.test_qa10d_two_addresses import holder
from tests.stages.test_qa13c_anonymous_opt_outs import login, opt_out


class FineLoop(Loop):
    """Hour steps far from the target time, 250 ms steps in its last two minutes (the wall clock near events)."""

    def to(self, at: int) -> None:
        while self.wm < at:
            if self.wm and at - self.wm > 120_000:
                self.wm = at - 120_000
            else:
                self.wm = min(at, self.wm + 250) if self.wm else at
            self._pump()


def run(loop: Loop, evs) -> list[str]:
    for ev in evs:
        loop.arrive(ev, ev.ts + 100)
    loop.to(evs[-1].ts + 120_000)
    until = evs[-1].ts + 3 * 86_400_000
    loop.finish(until)
    assert loop.dead == []
    return sorted(d.customer_id for d in loop.decisions if d.action == "send" and d.journey_id == "browse_offer")


def story():
    # dev-9 opted out a day before; it logs in as A one second before A's third product view (the trigger)
    recs = holder("A", "ann@example.com") + holder("B", "bob@example.com") + [
        opt_out("consent revoke", "2026-10-04T12:00:00Z"), login("2026-10-05T12:01:59Z")]
    return sorted(events(recs), key=lambda e: e.sort_key)


def test_with_a_steady_watermark_the_handover_arrives_in_time(monkeypatch):
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = story()
    assert offered(evs) == {"crm:B"}
    assert run(FineLoop("memory://qa13c-jump-fine"), evs) == ["crm:B"]


def test_a_watermark_jump_past_the_wait_keeps_the_devices_opt_out(monkeypatch):
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    assert run(GraceLoop("memory://qa13c-jump-hour", monkeypatch), story()) == ["crm:B"]  # streamed A and B before
