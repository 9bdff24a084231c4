"""qa14a: a survivor's hold on an identity link fails safe (``transforms.handover``).

The absorbed profile's opt-outs reach the survivor only in the state hand-over.  The survivor used to give up on it
after ``TRANSFER_WAIT_MS`` of *event time*: a watermark that jumps past that in one step (a backlog after an outage
or a restart) gave up before the absorbed key had even flushed, and the trigger was decided without the opt-out
(qa13c's strict xfail, tests/beam/test_qa13c_handover_watermark_jump.py).  Now the hold also needs a processing-time
grace to end, and a hand-over that never comes is replaced by a stand-in that counts every channel opted out.

Driven on the in-process streaming graph of tests/beam/test_arrival_order.py (identity store, a DoFn key each, the
state-transfer loop closed) with the pipeline's setting (``handover_grace_ms``) and a processing-time clock."""
from __future__ import annotations

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.stages.identity.online import route_transfer
from journeyflow.stages.state_codec import decode_state
from journeyflow.transforms import decide_streaming as ss
from journeyflow.transforms import handover
from tests.beam import test_arrival_order
from tests.beam.test_qa11a_mailboxes_streaming import offered
from tests.beam.test_qa12a_anonymous_opt_outs_streaming import Loop, events
from tests.stages.test_qa10d_two_addresses import holder
from tests.stages.test_qa13c_anonymous_opt_outs import login, opt_out

DAY = 86_400_000


class GraceLoop(Loop):
    """The streaming graph with the pipeline's hand-over grace; the watermark jumps straight to each arrival (a
    backlog read in one step), processing time advances ``STEP`` per step; ``lost``: absorbed customers whose
    hand-over is withheld (a lost worker or transfer message) until :meth:`deliver`."""

    STEP = 1_000

    def __init__(self, url: str, monkeypatch, lost=lambda absorbed: False):
        super().__init__(url)
        self.fn = ss.OrderedCustomerFn(test_arrival_order.CONFIG, allowed_lateness_ms=test_arrival_order.LATENESS,
                                       handover_grace_ms=handover.GRACE_MS)
        self.fn.setup()
        self.clock = 1_800_000_000_000
        monkeypatch.setattr(handover, "processing_now_ms", lambda: self.clock)
        self.lost, self.withheld = lost, []
        self.copies = 1  # deliveries of each hand-over (the state-transfer subscription is at-least-once)

    def to(self, at: int) -> None:
        if self.wm < at:
            self.wm = at
            self.clock += self.STEP
            self._pump()

    def tick(self, ms: int) -> None:
        """Processing time passes (the watermark stays)."""
        self.clock += ms
        self._pump()

    def _before_advance(self, d) -> None:
        d.fire_grace(self.clock)  # (due grace timers fire first)

    def _transfer(self, target: str, ev) -> bool:
        """A lost hand-over is withheld; the others are addressed through the identity store, as
        ``transforms.state_transfer.DecodeTransferFn`` does, and delivered ``copies`` times."""
        if self.lost(ev.attrs["from"]):
            self.withheld.append((target, ev))
            return False
        target, ev = route_transfer(self.store, target, ev)
        self._key(target).add([ev] * self.copies)
        return True

    def restart(self) -> None:
        """A new worker: a fresh DoFn instance (no caches), the keys' state cells and timers kept."""
        fn = ss.OrderedCustomerFn(test_arrival_order.CONFIG, allowed_lateness_ms=test_arrival_order.LATENESS,
                                  handover_grace_ms=handover.GRACE_MS)
        fn.setup()
        self.fn = fn
        for d in self.keys.values():
            d.fn = fn

    def deliver(self) -> None:
        """The withheld hand-overs arrive after all."""
        self.lost = lambda absorbed: False
        for target, ev in self.withheld:
            self._key(target).add([ev])
        self.withheld = []
        self._pump()


def run(loop: Loop, evs, until: int | None = None) -> list:
    for ev in evs:
        loop.arrive(ev, ev.ts + 100)
    loop.finish(until or evs[-1].ts + 3 * DAY)
    assert loop.dead == []
    return loop.decisions


def browse_sends(decisions) -> list[str]:
    return sorted(d.customer_id for d in decisions if d.action == "send" and d.journey_id == "browse_offer")


def story(kind: str | None):
    """dev-9 opts out of email (``kind``; None: it does not) a day before; it logs in as A one second before A's
    third product view (the browse offer's trigger).  B holds nothing of dev-9's."""
    recs = holder("A", "ann@example.com") + holder("B", "bob@example.com") + [login("2026-10-05T12:01:59Z")]
    if kind is not None:
        recs.append(opt_out(kind, "2026-10-04T12:00:00Z"))
    return sorted(events(recs), key=lambda e: e.sort_key)


@pytest.mark.parametrize("kind", ["consent revoke", "unsubscribed", "complained"])
def test_a_watermark_jump_waits_for_the_handover_of_each_kind_of_opt_out(kind, monkeypatch):
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = story(kind)
    assert offered(evs) == {"crm:B"}
    until = evs[-1].ts + 3 * DAY
    decisions = run(GraceLoop(f"memory://qa14a-jump-{kind.replace(' ', '-')}", monkeypatch), evs, until)
    assert browse_sends(decisions) == ["crm:B"]
    # the hand-over arrived within the grace: every decision is the replay's
    assert sorted(map(test_arrival_order.key, decisions)) == test_arrival_order.bounded_decisions(evs, until)


PHONE = "+14155550134"


def sms_story(stop: bool):
    """dev-9 texts STOP (a consent revoke of sms naming only the device) a day before it logs in as A; A's payment
    fails a second after the login (dunning: an email at once, a text 24 h later)."""
    recs = [("crm", {"event_id": "c-A", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                     "email": "ann@example.com", "phone": PHONE, "timezone": "America/Los_Angeles"}),
            ("web", {"event_id": "l0", "ts": "2026-10-05T17:59:59Z", "type": "login", "anonymous_id": "dev-9",
                     "user_id": "A"}),
            ("orders", {"event_id": "o1", "ts": "2026-10-05T18:00:00Z", "type": "payment_failed", "crm_id": "A",
                        "order_id": "O1", "amount": 10, "currency": "USD"})]
    if stop:
        recs.append(("consent", {"event_id": "s1", "ts": "2026-10-04T12:00:00Z", "anonymous_id": "dev-9",
                                 "channel": "sms", "status": "revoked"}))
    return sorted(events(recs), key=lambda e: e.sort_key)


def texts(decisions) -> list[str]:
    return sorted(d.customer_id for d in decisions if d.action == "send" and d.channel == "sms")


def test_a_watermark_jump_past_the_wait_and_the_dunning_text_keeps_the_devices_stop(monkeypatch):
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = sms_story(stop=True)
    until = evs[-1].ts + 3 * DAY
    replay = test_arrival_order.bounded_decisions(evs, until)
    assert not [k for k in replay if k[2] == "send" and str(k[3]).startswith("phone")]  # replay: no text
    decisions = run(GraceLoop("memory://qa14a-jump-stop", monkeypatch), evs, until)
    assert texts(decisions) == []
    assert sorted(map(test_arrival_order.key, decisions)) == replay


def _lost_run(kind, monkeypatch, name):
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = story(kind)
    loop = GraceLoop(f"memory://qa14a-lost-{name}", monkeypatch, lost=lambda absorbed: absorbed.startswith("anon:"))
    run(loop, evs)
    assert loop.withheld  # the device's hand-over did not come
    return loop


def _of_a(loop) -> dict[str, str]:
    """crm:A's decisions so far: decision id → action."""
    return {d.decision_id: d.action for d in loop.decisions if d.customer_id == "crm:A"}


@pytest.mark.parametrize("kind", [None, "consent revoke"])
def test_a_handover_that_never_comes_ends_in_no_message_the_opt_out_could_block(kind, monkeypatch):
    loop = _lost_run(kind, monkeypatch, f"never-{kind}")
    held = _of_a(loop)  # nothing at or after the link decided yet (the browse offer's trigger is held)
    assert browse_sends(loop.decisions) == ["crm:B"]
    loop.tick(handover.GRACE_MS)  # the grace ends without the hand-over
    new = {k: v for k, v in _of_a(loop).items() if k not in held}
    assert new and "send" not in new.values()  # decided (the trigger's suppression), and nothing sent
    state = decode_state(loop.keys["crm:A"].customer.value)
    assert {ch: state.consent[ch][0] for ch in ("email", "sms", "push")} == dict.fromkeys(
        ("email", "sms", "push"), handover.STAND_IN_STATUS)
    # it comes after all: the stand-in is lifted, the device's own statuses apply (its revoke, or A's grant)
    loop.deliver()
    state = decode_state(loop.keys["crm:A"].customer.value)
    assert state.consent["email"][0] == ("revoked" if kind else "granted")
    assert "sms" not in state.consent
    assert loop.dead == []


def test_a_drain_ends_the_hold_with_the_stand_in(monkeypatch):
    loop = _lost_run(None, monkeypatch, "drain")
    held = _of_a(loop)
    loop.to(ss._END_MS + 1)  # the watermark reaches the end of the global window (a drain): nothing can come
    new = {k: v for k, v in _of_a(loop).items() if k not in held}
    assert new and "send" not in new.values()


def test_two_links_past_their_wait_each_get_a_stand_in_from_the_state_before_it(monkeypatch):
    """Two links (10 minutes apart) whose hand-overs never come, the watermark past both waits in one step: held at
    each link until its grace ends (the firing that finds a link past its wait starts the link's grace: the second
    one's after the first is given up on), each given up on from the state just before it (A's email grant before
    the first; the sms grant between the links, before the second), nothing decided past a link without its
    stand-in."""
    from journeyflow.stages.identity.online import merge_from_event
    from journeyflow.tools.bench_state import CellDriver
    from tests.beam.test_streaming_state import HOUR, MIN, T, e

    clock = [1_800_000_000_000]
    monkeypatch.setattr(handover, "processing_now_ms", lambda: clock[0])
    fn = ss.OrderedCustomerFn(EngineConfig.from_files(), handover_grace_ms=handover.GRACE_MS)
    fn.setup()
    fn.start_bundle()
    d = CellDriver(fn, "crm:C1")
    links = [e(f"web/login-{i}", "web", "login", T + i * 10 * MIN) for i in range(2)]
    d.add([e("crm/c", "crm", "contact_created", T - HOUR, timezone="UTC"),
           e("consent/g1", "consent", "consent_granted", T - MIN, channel="email"),
           e("consent/g2", "consent", "consent_granted", T + 5 * MIN, channel="sms")])
    for i, link in enumerate(links):
        d.add([link, merge_from_event(f"anon:a{i}", "crm:C1", link, [f"anon:a{i}"], (f"anon:a{i}", "crm:C1"))])
    d.advance(T + 2 * HOUR)  # past both waits at once
    for link in links:
        assert d.done.value == link.ts - 1  # held at the link
        clock[0] += handover.GRACE_MS
        assert d.fire_grace(clock[0])
        d.advance(T + 2 * HOUR)  # (the flushes the grace's flush re-armed, up to the watermark)
    wait = handover.HandoverWait.read(d.handover.value)
    assert sorted(wait.stand_ins) == ["anon:a0", "anon:a1"]
    assert wait.stand_ins["anon:a0"][1]["email"][0] == "granted" and wait.stand_ins["anon:a0"][1]["sms"] is None
    assert wait.stand_ins["anon:a1"][1]["sms"][0] == "granted"
    state = decode_state(d.customer.value)
    assert {ch: st for ch, (st, _ts) in state.consent.items()} == dict.fromkeys(("call", "email", "push", "sms"),
                                                                              handover.STAND_IN_STATUS)
    assert wait.link is None and d.done.value >= links[1].ts  # nothing held any more
