"""The arbiter: decide once, upstream, what happens for one customer at one moment, and record why.

Several journeys may propose :class:`~journeyflow.model.decisions.Candidate` actions for the same customer at the same
event time; the processor gathers the candidates of every input of that millisecond (events with the same ``ts``
and the timers due then) into one call (:mod:`.moment`), so the rules below apply across them.  :class:`Arbiter` applies the business rules of a :class:`Policy` (loaded from YAML, defaults in
``journeyflow/defaults/policy.yaml``; :mod:`.policy`) and returns :class:`Decision` records: the chosen actions, the deferred ones
(quiet hours) and, for everything else, one reason code per candidate.

Plain Python, no Beam import.  Rules run in a fixed order; the first one that applies is the candidate's reason:

=====  ========================  ===================================================================
order  reason code               what
=====  ========================  ===================================================================
0      ``invalid_candidate``     unknown category, or an action/channel pair that does not exist
0      ``duplicate_candidate``   the very same candidate twice in one batch (kept once)
1      ``control_group``         ``Candidate.control``: recorded, never executed
2      ``consent``               the channel's consent does not allow the category, or every address the
                                 customer has for the channel opted out (revoked, unsubscribed, complained)
2      ``no_address``            no deliverable address for the channel: none known, or every known one
                                 hard-bounced or over the soft-bounce limit (email, sms and call need one),
                                 or for sms every permitted one is a landline
3      ``exclusion_group``       another journey holds the group: active, entered first (ties: its id)
4      ``open_ticket``           open (or recently resolved) ticket; escalated ticket for sales tasks
5      ``recent_purchase``       the promoted product was bought recently
6      ``quiet_hours_deferred``  not dropped: a ``wait`` decision plus a due time to re-arbitrate at
7      ``duplicate_content``     same content sent on another channel recently
8      ``frequency_cap``         a global or per-channel cap would be exceeded
9      ``exclusion_group``       a better candidate of another journey in the same group was chosen now
9      ``duplicate_content``     a better candidate with the same content was chosen now
9      ``lower_priority``        ``max_messages_per_moment`` already reached by better candidates
9      ``frequency_cap``         the sends chosen now by better candidates reach a cap
=====  ========================  ===================================================================

One more reason code is not a rule of this module: ``journey_exited``, on the ``suppress`` decision the processor
writes when a deferred send is cancelled because its journey membership ended before it was due
(:mod:`journeyflow.stages.journeys.engine`, "Lifecycle"; the code is in
:mod:`.reasons`).

A send on email, sms or call goes to :meth:`CustomerState.delivery_address`: the most recently seen address of the
channel's kind whose own status permits it (``Decision.address`` / ``address_key``; rules in
:mod:`journeyflow.stages.deliverability`; a text never goes to a landline: ``no_address`` when the customer has
landlines only); rule 2 is where that address is chosen, so a candidate without one never counts toward a cap or
the per-moment limit and the next candidate of the moment can win.  Quiet hours (rule 6) hold in the customer's
zones, and for a text or call also in the zones of the number it goes to (:mod:`.zones`).  Push goes to the
customer's external id (its CRM id, :func:`~journeyflow.stages.push_devices.push_address`): none, no push; every
known device of the customer unregistered (a push bounce) or opted out, none either (``push_devices``).

Rules 1-8 look at one candidate and the customer's history; the rules of step 9 look at what better candidates
(visited best first) were already chosen in this moment.  Customer messages are ``send`` actions on the channels
of ``model.CHANNELS``; tasks and cases (``crm_task``, ``service_case``) are internal: consent, quiet hours, caps,
de-duplication and the per-moment message limit do not apply to them.

Best first: category (``model.CATEGORY_RANK``: service > transactional > sales > marketing), journey priority
(higher first), score (higher first, see :class:`~.scoring.Scorer`), then journey_id, step_id, channel, content_id and the
remaining fields, so the result never depends on the order of the input list.

Records: every chosen candidate gives a :class:`Decision` (reason ``chosen``), every deferred one a ``wait`` decision
(and an entry in ``ArbitrationResult.deferred``); the first of them lists all other candidates with their reason.
When nothing is chosen or deferred, one ``suppress`` decision (``none`` if all were control group) lists them all.
Windows are event time, ``(now - window, now]``, like :meth:`CustomerState.sends_within`.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from journeyflow.model.decisions import (
    ADDRESSED_CHANNELS,
    CATEGORIES,
    CATEGORY_RANK,
    CHANNELS,
    TASK_TARGETS,
    Candidate,
)
from journeyflow.stages.arbitration.policy import Policy, default_policy
from journeyflow.stages.arbitration.reasons import (
    CONSENT,
    CONTROL_GROUP,
    DUPLICATE_CANDIDATE,
    DUPLICATE_CONTENT,
    EXCLUSION_GROUP,
    FREQUENCY_CAP,
    INVALID_CANDIDATE,
    LOWER_PRIORITY,
    NO_ADDRESS,
    OPEN_TICKET,
    QUIET_HOURS_DEFERRED,
    RECENT_PURCHASE,
)
from journeyflow.stages.arbitration.records import ArbitrationResult, decisions_of
from journeyflow.stages.arbitration.scoring import DEFAULT_SCORER_MODULES, DefaultScorer, Scorer, load_scorer
from journeyflow.stages.arbitration.zones import PHONE_CHANNELS, QuietClock
from journeyflow.stages.deliverability import ADDRESS_OPTED_OUT
from journeyflow.stages.state import BLOCKING, CustomerState

__all__ = ["ArbitrationResult", "Arbiter"]

# ================================================================================================== arbitration
_VALID_TARGETS = frozenset({("send", ch) for ch in CHANNELS}
                           | {(a, t) for a in ("create_task", "route_case") for t in TASK_TARGETS})


class _Moment:
    """Per-call lazily computed facts (history counts, ticket flags, active groups, quiet-hours due times)."""

    __slots__ = ("active", "addr", "dues", "hist", "now", "quiet_due", "state", "tickets")

    def __init__(self, state: CustomerState, now: int) -> None:
        self.state = state
        self.now = now
        self.addr: dict[str, tuple[str, str] | str] | None = None  # channel -> delivery_address()
        self.hist: tuple | None = None
        self.tickets: tuple[bool, bool] | None = None
        self.active: dict[str, str] | None = None  # exclusion group -> journey holding it (_active_groups)
        self.quiet_due: int = 0  # the due time of the candidate _reason saw last (0: not quiet)
        self.dues: dict[str | None, int] | None = None  # phone number (None: no phone) -> quiet-hours due time


class Arbiter:
    """Applies a :class:`Policy` to the candidates of one customer at one moment.

    Settings are copied into plain attributes here so that :meth:`arbitrate` does no pydantic access.
    ``arbitrate`` mutates only ``state.sends`` (chosen sends are recorded so later moments see them in caps).
    """

    def __init__(self, policy: Policy | None = None, scorer: Scorer | None = None, *,
                 allowed_scorer_modules: Sequence[str] = DEFAULT_SCORER_MODULES) -> None:
        p = policy if policy is not None else default_policy()
        self.policy = p
        sc = p.scoring
        w = sc.weights
        self._weights = {c: getattr(w, c) for c in CATEGORIES}
        self._journey_weights = dict(sc.journey_weights)
        if scorer is None and sc.scorer:
            scorer = load_scorer(sc.scorer, sc.options, allowed_scorer_modules)
        if type(scorer) is DefaultScorer:  # its weights replace the policy's
            self._weights = {c: scorer.weights.get(c, 1.0) for c in CATEGORIES}
            self._journey_weights = dict(scorer.journey_weights)
            scorer = None
        self._scorer = scorer  # None: the default scorer, inlined in the hot path
        self._rank = dict(CATEGORY_RANK)
        self._needs_grant = frozenset(c for c in CATEGORIES if getattr(p.consent.requires, c) == "granted")
        self._blocking = BLOCKING
        self._soft_max, self._soft_window = p.deliverability.soft_bounces.rule()  # (reachable: the same rule)

        ot = p.open_tickets
        self._ticket_cats = frozenset(ot.categories) if ot.enabled else frozenset()
        self._escalated_cats = frozenset(ot.escalated_task_categories) if ot.enabled else frozenset()
        self._grace = _ms(ot.grace)
        self._stale = _ms(ot.stale_after) if ot.stale_after is not None else None

        rp = p.recent_purchase
        self._purchase_cats = frozenset(rp.categories) if rp.enabled else frozenset()
        self._purchase_window = _ms(rp.window)

        qh = p.quiet_hours
        self._quiet_cats = frozenset(qh.categories) if qh.enabled else frozenset()
        self._quiet_channels = frozenset(qh.channels) if qh.enabled else frozenset()
        self._quiet = QuietClock(qh.start, qh.end, p.default_timezone)

        dc = p.duplicate_content
        self._dup_cats = frozenset(dc.categories) if dc.enabled else frozenset()
        self._dup_window = _ms(dc.window) if dc.enabled else 0
        self._dup_same_channel = dc.same_channel

        fc = p.frequency_caps
        g, pc = fc.global_, fc.per_channel
        self._g_cats = frozenset(g.categories) if fc.enabled and g.limits else frozenset()
        self._g_counted = frozenset(g.counted if g.counted is not None else g.categories)
        self._g_limits = tuple((lim.max, _ms(lim.per)) for lim in g.limits)
        self._c_limits = {ch: tuple((lim.max, _ms(lim.per)) for lim in getattr(pc.limits, ch)) for ch in CHANNELS}
        self._c_limits = {ch: v for ch, v in self._c_limits.items() if v}
        self._c_cats = frozenset(pc.categories) if fc.enabled and self._c_limits else frozenset()
        self._c_counted = frozenset(pc.counted if pc.counted is not None else pc.categories)
        spans = [self._dup_window]
        if self._g_cats:
            spans += [w for _, w in self._g_limits]
        if self._c_cats:
            spans += [w for lims in self._c_limits.values() for _, w in lims]
        self._hist_span = max(spans)
        self._hist_cats = self._dup_cats | self._g_cats | self._c_cats

        self._max_messages = p.max_messages_per_moment

    def __repr__(self) -> str:
        return f"Arbiter(policy=<{len(self.policy.model_dump_json())} bytes>, scorer={self._scorer!r})"

    def lookback_ms(self) -> dict[str, int]:
        """How far back each state entry must be kept for this policy (compare with ``state.Retention``:
        entries expired earlier would silently under-count caps, purchases or the ticket grace period), and
        ``sends_per_kind``: the largest frequency-cap ``max`` (a count: ``Retention.sends_per_kind``); ``open_tickets``
        (only with ``stale_after``): how long an open ticket with no new event counts as open."""
        maxima = [mx for mx, _w in self._g_limits] if self._g_cats else []
        maxima += [mx for lims in self._c_limits.values() for mx, _w in lims] if self._c_cats else []
        return {"sends": self._hist_span, "sends_per_kind": max(maxima, default=0),
                "purchases": self._purchase_window if self._purchase_cats else 0,
                "resolved_tickets": self._grace if self._ticket_cats else 0,
                "soft_bounces": self._soft_window if self._soft_max else 0,
                **({"open_tickets": self._stale} if self._stale is not None else {})}

    # ---------------------------------------------------------------------------------------------- hot path
    def arbitrate(self, state: CustomerState, candidates: Sequence[Candidate], now: int, customer_id: str,
                  trigger_id: str) -> ArbitrationResult:
        """Decide for one customer at one moment (event time ``now``, ms).  See the module docstring."""
        if not candidates:
            return ArbitrationResult([], [])
        lost: list[tuple[Candidate, str]] = []
        ordered = self._order(candidates, state, now, lost) if len(candidates) > 1 else candidates
        m = _Moment(state, now)
        acted: list[tuple[Candidate, int]] = []  # (candidate, due); due 0 = chosen now
        deferred: list[tuple[int, Candidate]] = []
        moment_groups: dict[str, str] | None = None  # exclusion group -> journey chosen in it this moment
        moment_content: set[str] | None = None
        moment_global = 0
        moment_channel: dict[str, int] | None = None
        n_messages = 0
        for c in ordered:
            reason = self._reason(c, m)
            if reason is None:
                # ---- against what this moment already chose (candidates come best first)
                grp = c.exclusion_group
                if grp is not None and moment_groups and moment_groups.get(grp, c.journey_id) != c.journey_id:
                    reason = EXCLUSION_GROUP
                elif c.action == "send":
                    cat, ch, cid = c.category, c.channel, c.content_id
                    if n_messages:
                        if cid is not None and cid in moment_content and cat in self._dup_cats:  # type: ignore
                            reason = DUPLICATE_CONTENT
                        elif n_messages >= self._max_messages:
                            reason = LOWER_PRIORITY
                        elif self._capped(cat, ch, m, moment_global, moment_channel.get(ch, 0)):  # type: ignore
                            reason = FREQUENCY_CAP
                    elif not self._max_messages:
                        reason = LOWER_PRIORITY
                    if reason is None:
                        n_messages += 1
                        if n_messages == 1:
                            moment_content, moment_channel = set(), {}
                        if cid is not None:
                            moment_content.add(cid)  # type: ignore[union-attr]
                        if cat in self._g_counted:
                            moment_global += 1
                        if cat in self._c_counted:
                            moment_channel[ch] = moment_channel.get(ch, 0) + 1  # type: ignore[index,union-attr]
                if reason is None:
                    if grp is not None:
                        if moment_groups is None:
                            moment_groups = {}
                        moment_groups[grp] = c.journey_id
                    acted.append((c, 0))
                    continue
            elif reason is QUIET_HOURS_DEFERRED:
                acted.append((c, m.quiet_due))
                deferred.append((m.quiet_due, c))
                continue
            lost.append((c, reason))
        if n_messages:
            # recorded only now, so that this moment's history counts above never include its own sends
            for c, due in acted:
                if not due and c.action == "send":
                    state.record_send(now, c.channel, c.category, c.content_id)
        return ArbitrationResult(decisions_of(acted, lost, now, customer_id, trigger_id, m.addr,
                                                 state, self._stale), deferred, m)

    def _order(self, candidates: Sequence[Candidate], state: CustomerState, now: int,
               lost: list[tuple[Candidate, str]]) -> list[Candidate]:
        """Best first, independent of the input order; exact duplicates go to ``lost``."""
        scorer, weights, jw, rank = self._scorer, self._weights, self._journey_weights, self._rank
        keyed = []
        for c in candidates:
            if scorer is None:
                s = c.score * weights.get(c.category, 1.0)
                if jw:
                    s *= jw.get(c.journey_id, 1.0)
            else:
                s = float(scorer.score(c, state, now))
            if s != s:  # noqa: PLR0124 - NaN (it would make the order depend on the input order)
                s = 0.0
            keyed.append(((rank.get(c.category, 99), -c.priority, -s, c.journey_id, c.step_id, c.channel,
                           c.content_id or "", c.action), c))
        keyed.sort(key=_first)
        for i in range(1, len(keyed)):
            if keyed[i][0] == keyed[i - 1][0]:
                # rare: a tie on the usual fields; order by every field, then drop exact duplicates
                keyed.sort(key=_full_key)
                out: list[Candidate] = []
                for _, c in keyed:
                    if out and c == out[-1]:
                        lost.append((c, DUPLICATE_CANDIDATE))
                    else:
                        out.append(c)
                return out
        return [c for _, c in keyed]

    def _reason(self, c: Candidate, m: _Moment, every: list[str] | None = None) -> str | None:
        """The first history rule that applies to one candidate, in rule order (None: none applies).

        With a list as ``every``, all rules run and every reason that applies is appended to it (``explain``).
        """
        cat, ch = c.category, c.channel
        if cat not in self._rank or (c.action, ch) not in _VALID_TARGETS:
            if every is None:
                return INVALID_CANDIDATE
            every.append(INVALID_CANDIDATE)
            return None
        if c.control:
            if every is None:
                return CONTROL_GROUP
            every.append(CONTROL_GROUP)
        state, now = m.state, m.now
        send = c.action == "send"
        if send:
            st = state.consent_status(ch)
            if st in self._blocking or (st != "granted" and cat in self._needs_grant):
                if every is None:
                    return CONSENT
                every.append(CONSENT)
            if ch in ADDRESSED_CHANNELS:
                if m.addr is None:
                    m.addr = {}
                grant = cat in self._needs_grant  # (a grant-needing send: a granted address, cached per category)
                addr = m.addr.get((ch, cat) if grant else ch)
                if addr is None:
                    addr = m.addr[(ch, cat) if grant else ch] = state.delivery_address(
                        ch, now, self._soft_max, self._soft_window, grant)
                if addr.__class__ is str:
                    why = CONSENT if addr == ADDRESS_OPTED_OUT else NO_ADDRESS
                    if every is None:
                        return why
                    if why not in every:
                        every.append(why)
        grp = c.exclusion_group
        if grp is not None and state.journeys:
            if m.active is None:
                m.active = _active_groups(state)
            holder = m.active.get(grp)
            if holder is not None and holder != c.journey_id:
                if every is None:
                    return EXCLUSION_GROUP
                every.append(EXCLUSION_GROUP)
        if (state.tickets or state.resolved) and cat in (self._ticket_cats if send else self._escalated_cats):
            if m.tickets is None:
                m.tickets = self._ticket_flags(state, now)
            if m.tickets[0 if send else 1]:
                if every is None:
                    return OPEN_TICKET
                every.append(OPEN_TICKET)
        pid = c.product_id
        if pid is not None and cat in self._purchase_cats:
            if state.bought_within(pid, now, self._purchase_window):
                if every is None:
                    return RECENT_PURCHASE
                every.append(RECENT_PURCHASE)
        if not send:
            return None
        if cat in self._quiet_cats or ch in self._quiet_channels:
            # texts and calls: also the zones of the number they go to (zones.send_zones); rule 2 chose it
            number = (m.addr.get((ch, cat)) or m.addr.get(ch)) if ch in PHONE_CHANNELS and m.addr else None
            number = number[1] if number.__class__ is tuple else None  # type: ignore[index]
            if m.dues is None:
                m.dues = {}
            due = m.dues.get(number)
            if due is None:
                due = m.dues[number] = self._quiet.due(state, now, ch, number)
            m.quiet_due = due
            if due:
                if every is None:
                    return QUIET_HOURS_DEFERRED
                every.append(QUIET_HOURS_DEFERRED)
        if cat in self._hist_cats:
            cid = c.content_id
            if cid is not None and state.sends and cat in self._dup_cats:
                chans = set(state.content_sent_within(cid, now, self._dup_window))
                if chans and (self._dup_same_channel or len(chans) > 1 or ch not in chans):
                    if every is None:
                        return DUPLICATE_CONTENT
                    every.append(DUPLICATE_CONTENT)
            if self._capped(cat, ch, m, 0, 0):
                if every is None:
                    return FREQUENCY_CAP
                every.append(FREQUENCY_CAP)
        return None

    def _capped(self, cat: str, ch: str, m: _Moment, extra_global: int, extra_channel: int) -> bool:
        """True when one more send would exceed a cap, given history plus this moment's chosen sends."""
        g, c = cat in self._g_cats, cat in self._c_cats
        if not g and not c:
            return False
        if m.hist is None:
            m.hist = self._history(m.state.sends, m.now)
        if g:
            ages = m.hist[0]
            for mx, w in self._g_limits:
                if bisect_left(ages, w) + extra_global >= mx:  # ages ascend: bisect counts ages < w
                    return True
        if c:
            lims = self._c_limits.get(ch)
            if lims:
                ages = m.hist[1].get(ch, ())
                for mx, w in lims:
                    if bisect_left(ages, w) + extra_channel >= mx:
                        return True
        return False

    def _history(self, sends: list[list], now: int) -> tuple[list[int], dict[str, list[int]]]:
        """One pass over the send history within the longest window: ages (now - ts, ascending) of the sends
        counted by the global cap, and the same per channel (``bisect`` then counts the sends of any window)."""
        g_counted = self._g_counted if self._g_cats else ()
        c_counted = self._c_counted if self._c_cats else ()
        c_limits = self._c_limits
        ages_g: list[int] = []
        ages_c: dict[str, list[int]] = {}
        span = self._hist_span
        # state.sends is sorted by time (CustomerState keeps it so): walk back from the newest, stop past the span
        for snd in reversed(sends):  # (a merge may tag an entry with a fifth element: state_merge.merge_sends)
            ts, ch, cat = snd[0], snd[1], snd[2]
            age = now - ts
            if age < 0:
                continue
            if age >= span:
                break
            if cat in g_counted:
                ages_g.append(age)
            if cat in c_counted and ch in c_limits:
                a = ages_c.get(ch)
                if a is None:
                    ages_c[ch] = [age]
                else:
                    a.append(age)
        return ages_g, ages_c

    def _ticket_flags(self, state: CustomerState, now: int) -> tuple[bool, bool]:
        """(messages suppressed: open ticket or resolved within grace, tasks suppressed: escalated ticket).  A ticket
        whose latest open/escalate event is ``stale_after`` old or older is not open (expiry drops it later)."""
        tickets = state.open_tickets_at(now, self._stale)
        if tickets:
            return True, any(t[2] for t in tickets)
        last = state.last_ticket_resolved()
        return last is not None and last > now - self._grace, False

    def quiet_until(self, state: CustomerState, c: Candidate, now: int, moment: Any = None) -> int:
        """When quiet hours (rule 6) let ``c`` go out if it is proposed at ``now`` (epoch ms), or 0 when they do not
        hold it (not a send, not a quiet category or channel, outside the window).  Rule 6 alone: the other rules
        are not applied, so the journeys' timing (``journeys.deferral``) does not depend on consent or caps.  A text
        or call keeps the quiet hours of the number rule 2 would choose as well.  ``moment``: the ``.moment`` of
        this state's ``arbitrate`` result at ``now`` just before: its address (no grant) and due times are reused."""
        if c.action != "send" or not (c.category in self._quiet_cats or c.channel in self._quiet_channels):
            return 0
        m = moment if moment is not None and moment.state is state and moment.now == now else None
        number = None
        if c.channel in PHONE_CHANNELS:
            addr = m.addr.get(c.channel) if m is not None and m.addr else None
            if addr is None:
                addr = state.delivery_address(c.channel, now, self._soft_max, self._soft_window)
            number = addr[1] if addr.__class__ is tuple else None
        due = m.dues.get(number) if m is not None and m.dues else None
        return self._quiet.due(state, now, c.channel, number) if due is None else due

    # ----------------------------------------------------------------------------------------- diagnostics
    def explain(self, state: CustomerState, candidate: Candidate, now: int) -> tuple[str, ...]:
        """Every history rule that applies to ``candidate`` on its own, in rule order; mutates nothing.

        For audits and debugging ("what else would have stopped this?"): ``arbitrate`` records only the first.
        """
        every: list[str] = []
        self._reason(candidate, _Moment(state, now), every)
        return tuple(every)


def _first(kv: tuple) -> Any:
    return kv[0]


def _full_key(kv: tuple) -> tuple:
    c = kv[1]
    raw = c.score if c.score == c.score else 0.0
    return (kv[0], c.content_id is None, c.category, c.product_id or "", c.product_id is None,
            c.exclusion_group or "", c.exclusion_group is None, c.trigger_id, c.proposed_at, c.control, -raw)


def _ms(td: timedelta) -> int:
    return td.days * 86_400_000 + td.seconds * 1000 + td.microseconds // 1000


def _active_groups(state: CustomerState) -> dict[str, str]:
    """Exclusion group -> the journey holding it: of the customer's active memberships in the group, the one that
    entered first (ties: journey id).  Two are active at once only after an identity merge (the engine refuses a
    second entry): the one a single profile would have kept holds the group, the other's sends are excluded (before,
    both were, for as long as both lasted)."""
    best: dict[str, tuple] = {}
    for jid, mem in state.journeys.items():
        if isinstance(mem, dict) and mem.get("step") is not None and (g := mem.get("group")) is not None:
            key = (mem.get("entered") or 0, jid)
            if g not in best or key < best[g]:
                best[g] = key
    return {g: k[1] for g, k in best.items()}
