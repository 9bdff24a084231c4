"""The survivor's side of a streaming identity merge (issue 23.4), for ``transforms.decide_streaming``: the
sub-profiles a flush decides before their link and the absorbed key's events packed into its hand-over.  Pure
helpers over ``journeyflow.stages`` objects; no Beam state here."""
from __future__ import annotations

import base64

from journeyflow.model.events import Event, encode_event
from journeyflow.stages.identity.flush_plan import FlushPlan
from journeyflow.stages.identity.online import ABSORB, IDENTITY_STREAM
from journeyflow.stages.processor import CustomerProcessor, Outputs
from journeyflow.stages.state import CustomerState

__all__ = ["pack_forwarded", "with_subprofiles"]


def with_subprofiles(processor: CustomerProcessor, plan: FlushPlan, out: Outputs) -> list[Event]:
    """``plan.main`` with, after each ``merge_from``, the absorb of its sub-profile: the absorbed identifiers'
    events dated before the link that reached this key, decided under the absorbed id up to the link's time
    (``journeyflow.stages.identity.flush_plan``); their decisions go to ``out``."""
    if not plan.subs:
        return plan.main
    absorbs: dict[str, Event] = {}
    for mf, events in plan.subs:
        if not events:
            continue
        sub = CustomerState(customer_id=mf.attrs["from"])
        processor.advance(sub, events, mf.ts - 1, out)
        absorbs[mf.uid] = Event(f"absorb:sub:{mf.uid}", IDENTITY_STREAM, ABSORB, mf.ts, (mf.ids[0],),
                                {"state": base64.b64encode(sub.to_bytes()).decode(), "from": sub.customer_id})
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
