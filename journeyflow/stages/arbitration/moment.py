"""One decision moment per customer and event time: the candidates of every input at that millisecond, together.

Plain Python, no Beam.  A customer may have several inputs at one event time: events with the same ``ts`` (a
payment failure and a third product view in the same millisecond), and the timers due then (a cart reminder due at
the very millisecond of a browse trigger).  Each is handled in ``Event.sort_key`` order (timers after the events of
their time), but the candidates they propose are arbitrated **once**, together, when the customer's next input is at
a later time (or the call ends): so ``max_messages_per_moment``, the caps and the best-first order (category,
priority, score) apply across journeys at equal times, and the outcome does not depend on which input of the
millisecond happened to sort first.  Before the change each input was arbitrated on its own: two messages went out
in one millisecond, and a marketing promo triggered by an event beat a sales reminder due at the same time.

An input of that millisecond that ends a journey (exit event, goal, ``max_duration``, exit step) drops the
candidates the journey proposed earlier in it (the tie rule of the journeys: at equal times an exit applies before
the step, as it does for a timer step), each recorded as a ``suppress`` with reason ``journey_exited``.

:class:`PendingMoment` is the buffer; ``CustomerProcessor`` (``stages.processor``) owns when it is flushed.  The
deferred-send payload helpers live here too (a deferral is a candidate kept for a later moment).
"""
from __future__ import annotations

from typing import Any

from journeyflow.model.decisions import Candidate, CandidateOutcome, Decision, decision_id
from journeyflow.stages.arbitration.reasons import ACCOUNT_DELETED, JOURNEY_EXITED
from journeyflow.stages.arbitration.records import with_trigger

__all__ = ["PendingMoment", "cancelled_decision", "candidate_from_payload", "candidate_to_payload", "pop_all_due_at",
           "retrigger"]


class PendingMoment:
    """The candidates proposed for one customer state at event time ``now`` (ms), by input, in handling order.

    ``entries``: ``[trigger id, candidates, poison keys]`` per input (the keys exclude the input on a re-run when
    the joint arbitration raises: ``stages.processor`` "Poison inputs")."""

    __slots__ = ("entries", "now", "state")

    def __init__(self, state: Any, now: int) -> None:
        self.state = state
        self.now = now
        self.entries: list[tuple[str, list[Candidate], tuple]] = []

    def add(self, trigger_id: str, candidates: list[Candidate], keys: tuple) -> None:
        """Add the candidates of one input (its trigger id: the event uid, or the smallest timer id)."""
        self.entries.append((trigger_id, list(candidates), keys))

    def drop_journeys(self, ended: dict[str, str]) -> list[tuple[Candidate, str, str]]:
        """Remove the candidates of the journeys in ``ended`` (journey id -> why it ended); returns
        ``(candidate, trigger id, why)`` of each removed one, in handling order."""
        gone: list[tuple[Candidate, str, str]] = []
        for trigger, cands, _keys in self.entries:
            keep = [c for c in cands if c.journey_id not in ended]
            if len(keep) != len(cands):
                gone += [(c, trigger, ended[c.journey_id]) for c in cands if c.journey_id in ended]
                cands[:] = keep
        return gone

    def cancel(self, ended: dict[str, str], trigger_id: str, decisions: list, steps: list) -> None:
        """Drop the candidates of the journeys ``ended`` (journey id -> why) by the input ``trigger_id``: each is a
        ``suppress`` decision (``journey_exited``) appended to ``decisions`` and a ``cancelled`` row to ``steps``."""
        if not ended:
            return
        from journeyflow.stages.journeys.model import JourneyStep
        cid = self.state.customer_id
        for c, trig, why in self.drop_journeys(ended):
            timer = [self.now, f"moment:{trig}:{c.journey_id}:{c.step_id}:{c.channel}", "deferred",
                     candidate_to_payload(c)]
            decisions.append(cancelled_decision(cid, timer, self.now, trigger_id,
                                                ACCOUNT_DELETED if why == ACCOUNT_DELETED else JOURNEY_EXITED))
            steps.append(JourneyStep(cid, c.journey_id, c.step_id, "cancelled", self.now, trigger_id, why))

    def journeys(self) -> set[str]:
        """The journeys with a candidate pending."""
        return {c.journey_id for _t, cands, _k in self.entries for c in cands}

    def merged(self) -> tuple[list[Candidate], str, dict[tuple, str] | None]:
        """(every candidate, the moment's trigger id -- its first input's --, and when the moment had more than one
        input with candidates: ``(journey, step, channel, content)`` -> the trigger of the input that proposed it
        (the first one), else None)."""
        entries = [e for e in self.entries if e[1]]
        if not entries:
            return [], self.entries[0][0] if self.entries else "", None
        if len(entries) == 1:
            return entries[0][1], entries[0][0], None
        triggers: dict[tuple, str] = {}
        for t, cs, _k in entries:
            for c in cs:
                triggers.setdefault((c.journey_id, c.step_id, c.channel, c.content_id), t)
        return [c for _t, cs, _k in entries for c in cs], entries[0][0], triggers

    def keys(self) -> tuple:
        """The poison keys of every input of the moment."""
        return tuple(k for _t, _c, keys in self.entries for k in keys)


def candidate_to_payload(c: Candidate) -> dict[str, Any]:
    """Compact JSON-able form of a deferred candidate, stored in a ``deferred`` timer's payload (``e``: the entry
    time of the membership that owns it, when known)."""
    p = {"j": c.journey_id, "s": c.step_id, "cat": c.category, "p": c.priority, "a": c.action,
         "ch": c.channel, "c": c.content_id, "t": c.trigger_id, "at": c.proposed_at, "pid": c.product_id,
         "g": c.exclusion_group, "sc": c.score}
    if c.entered is not None:
        p["e"] = c.entered  # the owning membership (older deferrals have none)
    if c.refs:
        p["r"] = [list(kv) for kv in c.refs]
    return p


def candidate_from_payload(p: dict[str, Any], now: int) -> Candidate:
    """Inverse of :func:`candidate_to_payload`, re-proposed at ``now`` (the timer's due time, epoch ms)."""
    return tuple.__new__(Candidate, (  # (every field, in order: no namedtuple frame)
        p["j"], p["s"], p["cat"], p["p"], p["a"], p["ch"], p["c"], p["t"], now, p.get("pid"), p.get("g"),
        p.get("sc", 0.0), False, p.get("e"), tuple(tuple(kv) for kv in p.get("r") or ())))


def cancelled_decision(customer_id: str, timer: list, now: int, trigger_id: str, reason: str = JOURNEY_EXITED
                       ) -> Decision:
    """The audit record of a pending send cancelled with its membership (``JourneyOutput.cancelled``).

    ``timer``: ``[due, timer_id, "deferred", candidate payload]``; ``now``: event time of the cancellation (ms);
    ``trigger_id``: the event uid or timer id that ended the membership.  A ``suppress`` decision with reason code
    ``journey_exited`` (``reason``: ``account_deleted`` when an account deletion ended it, ``stages.deletion``)
    listing the cancelled candidate; its id is a hash of the customer, trigger, time and timer id.
    """
    p = timer[3]
    outcome = CandidateOutcome(p.get("j"), p.get("s"), p.get("a") or "send", p.get("ch"), p.get("c"),
                               p.get("cat") or "", p.get("p") or 0, reason)
    return Decision(decision_id(customer_id, trigger_id, now, "cancelled", timer[1]), customer_id, now, None, None,
                    "suppress", None, None, None, 0, (reason,), (outcome,), trigger_id)


def pop_all_due_at(state: Any, due: int) -> list[list]:
    """Pop every timer due exactly at ``due`` from a ``CustomerState`` (they make one decision moment)."""
    timers = []
    while state.timers and state.timers[0][0] == due:
        timers.append(state.pop_due(due))
    return timers


def retrigger(decisions: list[Decision], triggers: dict[tuple, str], trigger_id: str) -> list[Decision]:
    """The records of a moment's arbitration (run with the moment's ``trigger_id``), each chosen or deferred one
    with the trigger of the input that proposed its candidate (``PendingMoment.merged``)."""
    out = []
    for d in decisions:
        t = trigger_id if d.journey_id is None else triggers.get(
            (d.journey_id, d.step_id, d.channel, d.content_id), trigger_id)
        out.append(d if t == trigger_id else with_trigger(d, t))
    return out
