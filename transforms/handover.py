"""The survivor's side of a streaming identity merge (issue 23.4), for ``transforms.decide_streaming``: the
sub-profiles a flush decides before their link, the absorbed key's events packed into its hand-over, and the
fail-safe hold for a hand-over that is late or lost.  Pure helpers over ``journeyflow.stages`` objects; no Beam
state here (the DoFn keeps :class:`HandoverWait` in its ``handover`` cell).

The hold (qa13c, qa14a).  A survivor holds everything from a ``merge_from`` on until the absorbed customer's state
arrives (``flush_plan``), at least ``TRANSFER_WAIT_MS`` of event time.  Event time alone is no bound to give up on:
when the watermark moves past the wait in one step (a backlog read after an outage or restart: Dataflow's watermark
follows the backlog's event times) the absorbed key has not flushed yet, and going on then decided the survivor's
trigger without the absorbed side's opt-out (a device's consent revoke, an SMS STOP or an email unsubscribe it
held).  So the rule, where the transfers are read back into the step (``DecideOrdered(handover_grace_ms=...)``,
set by ``pipelines.stream``; without it a survivor goes on after the event-time wait, as a graph without the loop
must), is:

1. a link is given up on only when its event-time wait has passed *and* a processing-time grace (:data:`GRACE_MS`,
   a REAL_TIME timer started when a flush first found the wait passed; one link's at a time, in event-time order,
   each covering the links whose wait had passed by the horizon that flush wanted) has ended, or the input has
   ended (a drain: the watermark reaches the end of the global window, for which a held key keeps its flush timer
   armed; nothing can arrive any more).  Until then the survivor holds (no decision at or after the link,
   transactional included: each may depend on an opt-out it does not know yet);
2. given up on, the link is applied with a *stand-in* for the absorbed state (:func:`stand_in_absorb`): every
   channel counts as revoked at the link's time.  An opt-out blocks every category (``state.BLOCKING``), and the
   absorbed side's statuses are all dated at or before the link, so nothing the real state could block is sent:
   no message at all on a channel until a grant dated after the link (which would override the absorbed opt-out
   in replay too) or the hand-over itself.  Counter ``handovers_timed_out``, one warning per bundle;
3. a hand-over that arrives after that (applied at the next moment, ``decide_streaming.process``) first lifts the
   stand-in (:func:`lift_stand_ins`): each channel still at the stand-in's revoke gets back the status it had
   before the link, and the real state is then merged as usual (its opt-outs block from then on).  Decisions taken
   meanwhile stay (suppressions the replay might have sent: fail safe, not the replay's result).
"""
from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field

from journeyflow.model.decisions import CHANNELS
from journeyflow.model.events import Event, encode_event
from journeyflow.stages.identity.flush_plan import FlushPlan
from journeyflow.stages.identity.online import ABSORB, IDENTITY_STREAM, link_of
from journeyflow.stages.processor import CustomerProcessor, Outputs
from journeyflow.stages.state import CustomerState

__all__ = ["GRACE_MS", "STAND_IN_STATUS", "HandoverWait", "consent_before", "lift_stand_ins", "pack_forwarded",
           "processing_now_ms", "stand_in_absorb", "with_subprofiles"]

#: Processing time (ms) a survivor keeps holding a link whose event-time wait has passed without its hand-over:
#: the absorbed key's flush (fired by the same watermark step) and the round trip of the state-transfer topic.
GRACE_MS = 120_000
#: The status a stand-in gives every channel (``state.BLOCKING``).
STAND_IN_STATUS = "revoked"
_STAND_IN = "absorb:stand-in:"
#: Absorbs that are not the absorbed customer's state: a stand-in, a sub-profile's, a late status change of the
#: absorbed customer (``identity.online.status_handover``: one change, the rest of its state may still be lost).
_NOT_THE_STATE = (_STAND_IN, "absorb:sub:", "absorb:status:")


def processing_now_ms() -> int:
    """The processing time (epoch ms) a grace timer is set from (a function: tests move a clock instead)."""
    return int(time.time() * 1000)


@dataclass
class HandoverWait:
    """The ``handover`` cell of a survivor key (JSON; absent when all is None/empty).

    ``link``: event time (epoch ms) of the link held past its event-time wait, whose grace timer runs (None: none);
    ``wanted``: the flush horizon the event-time timer asked for meanwhile (epoch ms); ``over``: links dated at or
    before it have had their grace; ``stand_ins``: absorbed customer id → ``[link time, {channel: its consent entry
    [status, ts] before the link, or None}]`` for each link given up on whose hand-over has not arrived."""

    link: int | None = None
    wanted: int | None = None
    over: int | None = None
    stand_ins: dict[str, list] = field(default_factory=dict)

    @classmethod
    def read(cls, raw: bytes | None) -> "HandoverWait":
        """From the cell's bytes (None: nothing waits)."""
        if not raw:
            return cls()
        d = json.loads(raw)
        return cls(d.get("link"), d.get("wanted"), d.get("over"), d.get("stand_ins") or {})

    def to_bytes(self) -> bytes | None:
        """The cell's bytes, or None when there is nothing to keep (the cell is then cleared)."""
        if self.link is None and self.over is None and not self.stand_ins:
            return None
        return json.dumps({"link": self.link, "wanted": self.wanted, "over": self.over,
                           "stand_ins": self.stand_ins}, sort_keys=True, separators=(",", ":")).encode()

    def graced(self, link: Event) -> bool:
        """True when ``link`` (a ``merge_from``) has had its processing-time grace."""
        return self.over is not None and link.ts <= self.over

    def end_grace(self, wait_ms: int) -> int | None:
        """The grace timer fired: every link whose event-time wait had passed by ``wanted`` has had its grace.
        Returns the horizon to flush to (None: nothing was waiting)."""
        if self.link is None:
            return None
        wanted = self.wanted if self.wanted is not None else self.link + wait_ms
        self.over = max(self.over if self.over is not None else self.link, self.link, wanted - wait_ms)
        self.link = self.wanted = None
        return wanted


def stand_in_absorb(mf: Event, key: str) -> Event:
    """The absorb applied when ``mf``'s hand-over was given up on (module docstring, rule 2): a state of the
    absorbed customer with every channel revoked at the link's time."""
    stand_in = CustomerState(customer_id=str(mf.attrs.get("from") or ""),
                             consent={ch: [STAND_IN_STATUS, mf.ts] for ch in CHANNELS})
    return Event(f"{_STAND_IN}{mf.uid}", IDENTITY_STREAM, ABSORB, mf.ts, (key,),
                 {"state": base64.b64encode(stand_in.to_bytes()).decode(), "from": stand_in.customer_id,
                  "link": link_of(mf)})


def consent_before(state: CustomerState, mf: Event, ready: list[Event]) -> dict[str, list | None]:
    """Each channel's consent entry just before ``mf``'s stand-in: ``state`` (the survivor at the link's time - 1)
    with the statuses of ``mf``'s sub-profile (its absorb in ``ready``, ``with_subprofiles``) merged in."""
    merged = state
    sub = next((e for e in ready if e.uid == f"absorb:sub:{mf.uid}"), None)
    if sub is not None:
        merged = CustomerState(consent=dict(state.consent)).merge(
            CustomerState.from_bytes(base64.b64decode(sub.attrs["state"])))
    return {ch: (list(merged.consent[ch]) if ch in merged.consent else None) for ch in CHANNELS}


def lift_stand_ins(wait: HandoverWait, state: CustomerState, ready: list[Event]) -> int:
    """Rule 3 (module docstring): for each absorb in ``ready`` that is the state of a customer with a stand-in (not a
    status-only hand-over: it carries one change), the channels still at the stand-in's revoke get their earlier
    entry back (before the absorb is merged).  Returns how many
    stand-ins were lifted."""
    lifted = 0
    for ev in ready:
        if ev.stream != IDENTITY_STREAM or ev.type != ABSORB or ev.uid.startswith(_NOT_THE_STATE):
            continue
        entry = wait.stand_ins.pop(str(ev.attrs.get("from")), None)
        if entry is None:
            continue
        at, before = entry
        for ch in CHANNELS:
            if state.consent.get(ch) == [STAND_IN_STATUS, at]:
                if before.get(ch) is None:
                    del state.consent[ch]
                else:
                    state.consent[ch] = list(before[ch])
        lifted += 1
    return lifted


def with_subprofiles(processor: CustomerProcessor, plan: FlushPlan, out: Outputs, steps: bool = True) -> list[Event]:
    """``plan.main`` with, after each ``merge_from``, the absorb of its sub-profile: the absorbed identifiers'
    events dated before the link that reached this key, decided under the absorbed id up to the link's time
    (``journeyflow.stages.identity.flush_plan``); their decisions go to ``out`` (their journey-step rows too
    unless ``steps`` is False: ``CustomerProcessor.advance``)."""
    if not plan.subs:
        return plan.main
    absorbs: dict[str, Event] = {}
    for mf, events in plan.subs:
        if not events:
            continue
        sub = CustomerState(customer_id=mf.attrs["from"])
        processor.advance(sub, events, mf.ts - 1, out, steps=steps)
        absorbs[mf.uid] = Event(f"absorb:sub:{mf.uid}", IDENTITY_STREAM, ABSORB, mf.ts, (mf.ids[0],),
                                {"state": base64.b64encode(sub.to_bytes()).decode(), "from": sub.customer_id,
                                 "link": link_of(mf)})
    ready: list[Event] = []
    for e in plan.main:
        ready.append(e)
        if e.uid in absorbs:
            ready.append(absorbs[e.uid])
    return ready


def pack_forwarded(out: Outputs, key: str, merge: Event, events: list[Event]) -> None:
    """Put ``events`` (what ``key`` held after its ``merge_into`` ``merge``) into the absorb in ``out.transfers``
    that hands its state over."""
    uid = f"absorb:{key}:{merge.uid}"
    for i, (target, ev) in enumerate(out.transfers):
        if ev.uid == uid:
            attrs = dict(ev.attrs, events=[base64.b64encode(encode_event(e)).decode() for e in events])
            out.transfers[i] = (target, Event(ev.uid, ev.stream, ev.type, ev.ts, ev.ids, attrs, ev.contact))
            return
