"""The records of arbitration: :class:`ArbitrationResult` and the :class:`~journeyflow.model.decisions.Decision`
records of one moment (chosen, deferred, suppressed), with the reason of every other candidate."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from journeyflow.model.decisions import (
    Candidate,
    CandidateOutcome,
    Decision,
    decision_id,
)
from journeyflow.stages.arbitration.context import message_context
from journeyflow.stages.arbitration.reasons import (
    CHOSEN,
    CONTROL_GROUP,
    QUIET_HOURS_DEFERRED,
)

__all__ = ["ArbitrationResult", "decisions_of", "with_trigger"]

_new = tuple.__new__  # (``_new(Decision, (every field))``: the namedtuple without its ``__new__`` frame)
_CHOSEN_CODES = (CHOSEN,)
_DEFERRED_CODES = (QUIET_HOURS_DEFERRED,)
_ONLY_CONTROL = (CONTROL_GROUP,)


@dataclass(slots=True)
class ArbitrationResult:
    """What :meth:`Arbiter.arbitrate` returns: the decision records of the moment and the deferred candidates."""

    decisions: list[Decision] = field(default_factory=list)
    #: (due time in ms, candidate): re-arbitrate the candidate at that time (all rules apply again then)
    deferred: list[tuple[int, Candidate]] = field(default_factory=list)
    #: what the arbiter worked out for the moment (its delivery addresses and quiet-hours due times), for
    #: ``Arbiter.quiet_until`` right after (``journeys.deferral``); not part of the result's value
    moment: Any = field(default=None, compare=False, repr=False)


def decisions_of(acted: list[tuple[Candidate, int]], lost: list[tuple[Candidate, str]], now: int,
                 customer_id: str, trigger_id: str, addr: dict | None = None, state=None,
                 stale_ms: int | None = None) -> list[Decision]:
    """The decision records of one moment (event time ``now``, ms).

    ``acted``: (candidate, due) best first, due 0 = chosen now, else deferred to ``due`` (a ``wait`` decision);
    ``lost``: (candidate, reason code).  The first record lists every lost candidate as a ``CandidateOutcome``;
    with nothing chosen or deferred, one ``suppress`` record (``none`` if all were control group) lists them all.
    Decision ids are deterministic (:func:`~journeyflow.model.decisions.decision_id`).  ``addr``: channel ->
    ``(address key, raw address)`` chosen by the arbiter's rule 2 (``CustomerState.delivery_address``), written to
    each chosen email/sms/call/push send (``Decision.address_key`` / ``address``).  ``state``: the customer's
    :class:`~journeyflow.stages.state.CustomerState`; with it every chosen send, task and case carries its message
    ``context`` (:func:`~journeyflow.stages.arbitration.context.message_context`; ``stale_ms``: the policy's
    ``open_tickets.stale_after`` in ms, or None).
    """
    outcomes = tuple([_new(CandidateOutcome, (c.journey_id, c.step_id, c.action, c.channel, c.content_id,
                                              c.category, c.priority, r)) for c, r in lost]) if lost else ()
    if not acted:
        if len(lost) == 1:
            c, r = lost[0]
            reasons: tuple[str, ...] = (r,)
            keys = ["\x1e".join((c.journey_id, c.step_id, c.action, c.channel, c.content_id or ""))]
        else:
            reasons = tuple(sorted({r for _, r in lost}))
            keys = sorted(["\x1e".join((c.journey_id, c.step_id, c.action, c.channel, c.content_id or ""))
                           for c, _ in lost])
        return [Decision(decision_id(customer_id, trigger_id, now, *keys), customer_id, now, None, None,
                         "none" if reasons == _ONLY_CONTROL else "suppress", None, None, None, 0, reasons,
                         outcomes, trigger_id)]
    out = []
    for c, due in acted:
        if due:
            action, codes = "wait", _DEFERRED_CODES
        else:
            action, codes = c.action, _CHOSEN_CODES
        jid, sid, ch, cid = c.journey_id, c.step_id, c.channel, c.content_id
        key = raw = ctx = None
        if not due:
            if addr and action == "send":  # chosen by rule 2: (key, raw) for email/sms/call/push
                key, raw = addr.get((ch, c.category)) or addr.get(ch) or (None, None)  # (a grant-needing send's)
            if state is not None:
                ctx = message_context(c, state, now, stale_ms)
        out.append(_new(Decision, (decision_id(customer_id, trigger_id, jid, sid, action, ch, cid, now), customer_id,
                                   now, jid, sid, action, ch, cid, c.category, c.priority, codes, outcomes, trigger_id,
                                   raw, key, ctx, due or None)))  # (every field, in order: no namedtuple frame)
        outcomes = ()
    return out


def with_trigger(d: Decision, trigger_id: str) -> Decision:
    """``d`` (a chosen or deferred record of :func:`decisions_of`) as if its moment's trigger were ``trigger_id``:
    its ``trigger_event_id`` and its id (the same formula).  A moment gathering the candidates of several inputs at
    one event time (``stages.arbitration.moment``) gives each record its own candidate's trigger."""
    return d._replace(decision_id=decision_id(d.customer_id, trigger_id, d.journey_id, d.step_id, d.action, d.channel,
                                              d.content_id, d.decided_at), trigger_event_id=trigger_id)
