"""The conflict detectors of ``journeyflow compare`` (:mod:`journeyflow.analytics.compare`) and the records they
read: a message (:class:`Send`) and what is known about its recipient (:class:`PersonFacts`).

The detectors are independent of journeyflow's policy code (simple re-implementations over the raw events of each
person; quiet hours judge the zones by the pipeline's own functions, so a detector and the pipeline never disagree
on where a person is) and are applied identically to both sides:


=====================  ======================================================================================
conflict               a message counts when
=====================  ======================================================================================
``open_ticket``        a promo (marketing/sales) send while the person has a support ticket opened and not
                       yet resolved (from the raw support events, across all of the person's identifiers; a
                       ticket opened or escalated again after its resolution is open again)
``recent_purchase``    a promo send for a product the person ordered in the 30 days before (an order no longer
                       counts from its cancellation on)
``cross_channel``      the same content_id went to the person on another channel within the previous 24 h
``repeated_content``   (extra) the same content_id went to the person on the same channel within 24 h
``quiet_hours``        a promo send between 21:00 and 08:00 local time, in the zones the pipeline keeps quiet
                       hours in (``arbitration.zones.send_zones``): the person's own zone, else the zones of
                       their phone numbers, else the shipped policy's ``default_timezone``; a text or call also
                       in the zones of the number it went to.  Quiet in any of them is quiet
                       (``arbitration.quiet.quiet_due_any``)
``no_consent``         a send without consent at send time: promo needs the latest status to be ``granted``,
                       service/transactional only needs it not to be an opt-out; the status is the latest
                       (event time) of the consent stream and of engagement unsubscribes/complaints
                       across all of the person's identifiers; also (``opted_out``) a send to an address
                       whose own latest status is an opt-out or that hard-bounced before the send, from the
                       records naming that address, whoever they belong to (:class:`AddressFacts`)
``daily_promo_cap``    a promo send with another promo send to the person in the previous 24 h
=====================  ======================================================================================

Two breakdowns say what no system could have known at send time, measured on both sides: open-ticket sends
where no open ticket was filed under an identifier linked to the recipient yet (by journeyflow's identity
resolution), and quiet-hours sends while no source had recorded the person's time zone yet.

``unnecessary`` messages are automation sends that journeyflow did not make (:func:`match_unnecessary`: matched one
to one per person, journey and content within ±1 day).  Goal conversions (:func:`goal_conversions`) are orders a
person placed within 7 days after a send of their cart_abandonment / browse_offer / winback journeys, or of any
journey whose goal is an order (:func:`goal_journeys`).
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import time
from typing import Any, Iterable, Mapping, NamedTuple, Sequence
from zoneinfo import ZoneInfo

from journeyflow.stages.arbitration.policy import default_policy, zone_or_none
from journeyflow.stages.arbitration.quiet import quiet_due_any
from journeyflow.stages.arbitration.zones import send_zones
from journeyflow.stages.deliverability import HARD_BOUNCE, bounce_effect, channels_of, named_keys

HOUR = 3_600_000
DAY = 24 * HOUR
MESSAGE_CHANNELS: tuple[str, ...] = ("email", "sms", "push", "call")
#: Channels that need an address (email, E.164 phone) to be delivered; push goes to the app user / device.
ADDRESS_OF: Mapping[str, str] = {"email": "email", "sms": "phone", "call": "phone"}
PROMO: frozenset[str] = frozenset({"marketing", "sales"})
#: Consent states that stop a channel.  Deliberately spelled out here (not imported from journeyflow's state or
#: policy): the baseline's channel tools and the detectors must not depend on the code they are compared with.
#: (``bounced``: a hard bounce, which stops the address it names, not the channel.)
OPT_OUT: frozenset[str] = frozenset({"revoked", "unsubscribed", "complained", "bounced"})
GOAL_JOURNEYS: tuple[str, ...] = ("cart_abandonment", "browse_offer", "winback")
#: Goal events that are an order: a journey of another id whose goal is one of them counts as a goal journey too.
ORDER_GOALS: tuple[str, ...] = ("order_placed",)


def goal_journeys(journeys: Iterable[Any]) -> tuple[str, ...]:
    """The ids of ``journeys`` (the run's :class:`~journeyflow.stages.journeys.Journey` objects, file order) whose
    sends :func:`goal_conversions` follows: the shipped :data:`GOAL_JOURNEYS` and any journey whose goal is an order
    (:data:`ORDER_GOALS`), so that a journeys file with its own ids (``abandoned_cart``) is measured too."""
    return tuple(j.id for j in journeys
                 if j.id in GOAL_JOURNEYS or any(t.type in ORDER_GOALS for t in getattr(j, "goal", ())))

RECENT_PURCHASE_MS = 30 * DAY
DUPLICATE_WINDOW_MS = DAY
PROMO_CAP_WINDOW_MS = DAY
CONVERSION_WINDOW_MS = 7 * DAY
MATCH_TOLERANCE_MS = DAY
QUIET_START_MIN = 21 * 60  # inclusive, local time
QUIET_END_MIN = 8 * 60  # exclusive

CONFLICT_KINDS: tuple[str, ...] = ("open_ticket", "recent_purchase", "cross_channel", "repeated_content",
                                   "quiet_hours", "no_consent", "daily_promo_cap")
CONFLICT_LABELS: Mapping[str, str] = {
    "open_ticket": "(1) promo during an open support ticket",
    "recent_purchase": "(2) offer for a product bought <30 d",
    "cross_channel": "(3) same content on 2 channels <24 h",
    "repeated_content": "    same content again, same channel",
    "quiet_hours": "(4) promo in quiet hours 21-08 local",
    "no_consent": "(5) send without consent",
    "daily_promo_cap": "(6) >1 promo per person per 24 h",
}


# ================================================================================================ records
class Send(NamedTuple):
    """One message that reached a channel's execution tool (with an address where the channel needs one)."""

    person: str
    customer_id: str
    ts: int
    channel: str
    journey_id: str | None
    step_id: str | None
    content_id: str | None
    category: str | None
    product_id: str | None = None
    decision_id: str = ""
    address_key: str | None = None  # hashed key of the delivery address (email, sms, call)

    @property
    def promo(self) -> bool:
        """True for the promo categories (:data:`PROMO`: marketing, sales)."""
        return self.category in PROMO


class Ticket(NamedTuple):
    """One support ticket of a person: opened/resolved times (epoch ms) and the identifier keys it was filed under."""

    opened: int
    resolved: int | None  # None: still open at the end of the input
    ids: frozenset[str] = frozenset()  # identifier keys the ticket was filed under


@dataclass
class PersonFacts:
    """What really happened to one person, from the raw events of all their identifiers (never from either
    system's state)."""

    tz: str | None = None
    #: first event time at which any source recorded the person's time zone (None: never)
    tz_known_since: int | None = None
    tickets: list[Ticket] = field(default_factory=list)
    #: (ts, order_id, product ids) of every order placed (a re-sent report of a standing order is no other), sorted
    #: by time
    orders: list[tuple[int, str, frozenset[str]]] = field(default_factory=list)
    #: order_id -> times of its cancellations (each ends the placements of the order before it)
    cancelled: dict[str, list[int]] = field(default_factory=dict)
    #: channel -> [(ts, blocking 0/1, status)] sorted; the last entry at or before t is the status at t
    consent: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)
    #: phone key -> E.164 number, of every phone the person's raw records name (where quiet hours are kept)
    phones: dict[str, str] = field(default_factory=dict)

    @property
    def addresses(self) -> dict[str, tuple[str, str, int]]:
        """The phones as ``CustomerState.addresses`` holds them (key -> (kind, raw, seen)): what
        ``arbitration.zones.customer_zones`` reads, with :attr:`tz`."""
        return {k: ("phone", raw, 0) for k, raw in self.phones.items()}

    def consent_at(self, channel: str, t: int) -> str | None:
        """The person's latest consent status on ``channel`` at ``t`` (epoch ms; at equal times a blocking status
        wins), or None when nothing was recorded yet."""
        entries = self.consent.get(channel)
        if not entries:
            return None
        i = bisect.bisect_right(entries, (t, 2, ""))
        return entries[i - 1][2] if i else None

    def open_tickets_at(self, t: int) -> list[Ticket]:
        """The tickets open at ``t`` (opened at or before, not yet resolved)."""
        return [k for k in self.tickets if k.opened <= t and (k.resolved is None or t < k.resolved)]

    def ticket_open_at(self, t: int) -> bool:
        """Whether any ticket is open at ``t``."""
        return bool(self.open_tickets_at(t))

    def bought_within(self, product_id: str, t: int, window_ms: int) -> bool:
        """Whether an order placed in ``(t - window_ms, t]`` and not cancelled between its placement and ``t``
        contains ``product_id`` (an order placed again after its cancellation is bought again)."""
        return any(t - window_ms < ts <= t and product_id in pids
                   and not any(ts <= c <= t for c in self.cancelled.get(oid, ()))
                   for ts, oid, pids in self.orders)


def _sorted_sends(sends: Iterable[Send]) -> list[Send]:
    return sorted(sends, key=lambda s: (s.person, s.ts, s.channel, s.content_id or "", s.decision_id))


def _by_person(sends: Iterable[Send]) -> dict[str, list[Send]]:
    out: dict[str, list[Send]] = defaultdict(list)
    for s in _sorted_sends(sends):
        out[s.person].append(s)
    return out


# ============================================================================================== detectors
def open_ticket_conflicts(sends: Iterable[Send], facts: Mapping[str, PersonFacts]) -> list[Send]:
    """Promo sends while the person had a ticket opened and not yet resolved."""
    out = []
    for s in sends:
        f = facts.get(s.person)
        if s.promo and f is not None and f.ticket_open_at(s.ts):
            out.append(s)
    return out


def recent_purchase_conflicts(sends: Iterable[Send], facts: Mapping[str, PersonFacts],
                              window_ms: int = RECENT_PURCHASE_MS) -> list[Send]:
    """Promo sends for a product the person ordered within ``window_ms`` before the send."""
    out = []
    for s in sends:
        f = facts.get(s.person)
        if s.promo and s.product_id and f is not None and f.bought_within(s.product_id, s.ts, window_ms):
            out.append(s)
    return out


def _content_repeats(sends: Iterable[Send], window_ms: int, same_channel: bool) -> list[Send]:
    out = []
    for person_sends in _by_person(sends).values():
        for i, s in enumerate(person_sends):
            if s.content_id is None:
                continue
            for p in reversed(person_sends[:i]):
                if s.ts - p.ts >= window_ms:
                    break
                if p.content_id == s.content_id and (p.channel == s.channel) == same_channel:
                    out.append(s)
                    break
    return out


def cross_channel_duplicates(sends: Iterable[Send], window_ms: int = DUPLICATE_WINDOW_MS) -> list[Send]:
    """Sends whose content already went to the same person on another channel within ``window_ms``."""
    return _content_repeats(sends, window_ms, same_channel=False)


def repeated_content(sends: Iterable[Send], window_ms: int = DUPLICATE_WINDOW_MS) -> list[Send]:
    """Sends whose content already went to the same person on the same channel within ``window_ms``."""
    return _content_repeats(sends, window_ms, same_channel=True)


_OFFSETS: dict[tuple, Any] = {}  # (zone, UTC hour) -> UTC offset: quiet.local_second's cache (bounded there)


def in_quiet_hours(ts: int, tz: str | None, channel: str = "email", number: str | None = None,
                   phones: Mapping[str, str] | None = None, default_timezone: str | None = None) -> bool:
    """Whether ``ts`` (epoch ms) falls in 21:00-08:00 local time where the pipeline keeps quiet hours for a send on
    ``channel`` to ``number`` (E.164, sms/call) of a person with profile zone ``tz`` and ``phones`` (key ->
    E.164): ``arbitration.zones.send_zones`` (an unknown ``tz`` counts as none; no zone at all: the
    ``default_timezone``, by default the shipped policy's), judged by ``arbitration.quiet.quiet_due_any``."""
    view = PersonFacts(tz=tz, phones=dict(phones or {}))
    default = ZoneInfo(default_timezone or _default_timezone())
    zones = send_zones(view, channel, number, default, zone_or_none)
    return quiet_due_any(zones, ts, QUIET_START_MIN * 60, QUIET_END_MIN * 60, _QUIET_END, _OFFSETS) != 0


_QUIET_END = time(QUIET_END_MIN // 60, QUIET_END_MIN % 60)
_DEFAULT_TZ: list[str] = []


def _default_timezone() -> str:
    """The shipped policy's ``default_timezone`` (read once)."""
    if not _DEFAULT_TZ:
        _DEFAULT_TZ.append(default_policy().default_timezone)
    return _DEFAULT_TZ[0]


class IdentityTimeline:
    """journeyflow's accepted identity links with their event times: who was linked to whom, and since when."""

    def __init__(self, cluster_of: Mapping[str, str], links: Iterable[tuple[int, str, str]] = ()):
        self.cluster_of = cluster_of
        self.links: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        for ts, a, b in links:
            self.links[cluster_of.get(a, a)].append((ts, a, b))
        for v in self.links.values():
            v.sort()

    def linked_at(self, a: str, b: str, t: int) -> bool:
        """Whether identifiers ``a`` and ``b`` were linked by trusted events at or before ``t``."""
        if a == b:
            return True
        ca = self.cluster_of.get(a, a)
        if ca != self.cluster_of.get(b, b):
            return False
        from journeyflow.stages.identity.graph import IdentityGraph

        graph = IdentityGraph(guarded=False)  # the links were accepted by the guarded resolution already
        for ts, x, y in self.links.get(ca, ()):
            if ts > t:
                break
            graph.link(x, y)
        return graph.find(a) == graph.find(b)


def _ticket_linked(s: Send, facts: Mapping[str, PersonFacts], identity: IdentityTimeline) -> bool:
    """Whether an open ticket at the send was filed under an identifier linked to the recipient at send time
    (by journeyflow's identity resolution: what an identity-resolving system could have known then)."""
    f = facts.get(s.person)
    if f is None:
        return False
    return any(identity.linked_at(s.customer_id, k, s.ts) for t in f.open_tickets_at(s.ts) for k in t.ids)


def _tz_known(f: PersonFacts | None, t: int) -> bool:
    return f is not None and f.tz_known_since is not None and f.tz_known_since <= t


def quiet_hours_conflicts(sends: Iterable[Send], facts: Mapping[str, PersonFacts],
                          default_timezone: str | None = None) -> list[Send]:
    """Promo sends between 21:00 and 08:00 local time in any zone the pipeline keeps quiet hours in for that send
    (:func:`in_quiet_hours`: the person's zone, else their phones' zones, else ``default_timezone`` -- by default
    the shipped policy's; texts and calls also in the zones of the number sent to, ``Send.address_key``)."""
    out = []
    for s in sends:
        if not s.promo:
            continue
        f = facts.get(s.person) or PersonFacts()
        number = f.phones.get(s.address_key) if s.address_key and s.channel in ("sms", "call") else None
        if in_quiet_hours(s.ts, f.tz, s.channel, number, f.phones, default_timezone):
            out.append(s)
    return out


@dataclass
class AddressFacts:
    """What happened to each delivery address, from the raw records that name it (whoever they belong to)."""

    #: (address key, channel) -> [(ts, blocking 0/1, status)] sorted: consent records, unsubscribes, complaints
    status: dict[tuple[str, str], list[tuple[int, int, str]]] = field(default_factory=dict)
    #: (address key, channel) -> time of the first hard bounce
    hard_bounce: dict[tuple[str, str], int] = field(default_factory=dict)

    def blocked_at(self, key: str | None, channel: str, t: int) -> str | None:
        """The opt-out status or ``bounced`` that forbids a send to this address at ``t`` (epoch ms), else None."""
        if key is None:
            return None
        hb = self.hard_bounce.get((key, channel))
        if hb is not None and hb <= t:
            return "bounced"
        entries = self.status.get((key, channel))
        if not entries:
            return None
        i = bisect.bisect_right(entries, (t, 2, ""))
        st = entries[i - 1][2] if i else None
        return st if st in OPT_OUT else None


def build_address_facts(events: Iterable[Any]) -> AddressFacts:
    """Per address: its status timeline and hard bounces, from the consent and engagement records naming it
    (``Event.contact[<kind>_key]`` and every other address an opt-out names: ``deliverability.named_keys``; a
    record of every channel, ``channel: all``, on each channel the address takes, ``deliverability.channels_of``;
    a bounce is hard unless ``deliverability.bounce_effect`` reads its
    ``bounce_type`` as soft, in the ESPs' words too: ``SoftBounce``, ``Transient`` ...)."""
    facts = AddressFacts()
    seen: set[str] = set()
    for ev in events:
        if ev.uid in seen or ev.stream not in ("consent", "engagement"):
            continue
        seen.add(ev.uid)
        for ch in channels_of(ev.attrs.get("channel")):  # ("all": every channel, as the pipeline reads it)
            kind = ADDRESS_OF.get(ch)
            for key in named_keys(ev.contact, kind) if kind else ():
                if ev.stream == "consent":
                    status = "granted" if ev.type == "consent_granted" else "revoked"
                elif ev.type in ("unsubscribed", "complained"):
                    status = ev.type
                elif ev.type == "bounced" and bounce_effect(ev) in ("unsubscribed", "complained"):
                    status = bounce_effect(ev)  # (a refusal because the person opted out: Twilio 21610, a STOP)
                elif ev.type == "bounced" and bounce_effect(ev) == HARD_BOUNCE:  # (the pipeline's rule: ESPs' words)
                    k = (key, ch)
                    facts.hard_bounce[k] = min(facts.hard_bounce.get(k, ev.ts), ev.ts)
                    continue
                else:
                    continue
                facts.status.setdefault((key, ch), []).append((ev.ts, int(status in OPT_OUT), status))
    for entries in facts.status.values():
        entries.sort()
    return facts


def consent_conflicts(sends: Iterable[Send], facts: Mapping[str, PersonFacts],
                      addresses: AddressFacts | None = None) -> dict[str, list[Send]]:
    """Sends without consent at send time, split into ``opted_out`` (latest status is an opt-out, or the address
    sent to is opted out or hard-bounced: ``addresses``) and ``never_granted`` (a promo send without an explicit
    grant)."""
    out: dict[str, list[Send]] = {"opted_out": [], "never_granted": []}
    for s in sends:
        f = facts.get(s.person)
        status = f.consent_at(s.channel, s.ts) if f is not None else None
        if status in OPT_OUT or (addresses is not None and addresses.blocked_at(s.address_key, s.channel, s.ts)):
            out["opted_out"].append(s)
        elif s.promo and status != "granted":
            out["never_granted"].append(s)
    return out


def daily_promo_excess(sends: Iterable[Send], window_ms: int = PROMO_CAP_WINDOW_MS, limit: int = 1) -> list[Send]:
    """Promo sends that come after ``limit`` other promo sends to the same person within ``window_ms``."""
    out = []
    for person_sends in _by_person(s for s in sends if s.promo).values():
        times: list[int] = []
        for s in person_sends:
            lo = bisect.bisect_right(times, s.ts - window_ms)
            if len(times) - lo >= limit:
                out.append(s)
            times.append(s.ts)
    return out


def goal_conversions(sends: Iterable[Send], facts: Mapping[str, PersonFacts],
                     journeys: Sequence[str] = GOAL_JOURNEYS,
                     window_ms: int = CONVERSION_WINDOW_MS) -> tuple[int, int]:
    """(orders, persons): orders placed within ``window_ms`` after a send of one of ``journeys`` to the person."""
    sent: dict[str, list[int]] = defaultdict(list)
    for s in sends:
        if s.journey_id in journeys:
            sent[s.person].append(s.ts)
    orders = persons = 0
    for person, times in sent.items():
        f = facts.get(person)
        if f is None:
            continue
        times.sort()
        n = 0
        for ts, _oid, _pids in f.orders:
            i = bisect.bisect_left(times, ts)  # sends strictly before the order
            if i and ts - times[i - 1] <= window_ms:
                n += 1
        orders += n
        persons += 1 if n else 0
    return orders, persons


def match_unnecessary(baseline: Iterable[Send], orchestrated: Iterable[Send],
                      tolerance_ms: int = MATCH_TOLERANCE_MS) -> tuple[list[Send], list[Send]]:
    """(baseline sends with no orchestrated counterpart, orchestrated sends with no baseline counterpart).

    Sends are matched one to one per (person, journey, content), each baseline send (in time order) to the
    earliest unmatched orchestrated send within ``tolerance_ms``.
    """
    groups: dict[tuple, tuple[list[Send], list[Send]]] = defaultdict(lambda: ([], []))
    for s in baseline:
        groups[(s.person, s.journey_id, s.content_id)][0].append(s)
    for s in orchestrated:
        groups[(s.person, s.journey_id, s.content_id)][1].append(s)
    only_base: list[Send] = []
    only_orch: list[Send] = []
    for key in sorted(groups, key=lambda k: tuple("" if x is None else x for x in k)):
        b, o = groups[key]
        b.sort(key=lambda s: (s.ts, s.decision_id))
        o.sort(key=lambda s: (s.ts, s.decision_id))
        used = [False] * len(o)
        for s in b:
            for i, t in enumerate(o):
                if not used[i] and abs(t.ts - s.ts) <= tolerance_ms:
                    used[i] = True
                    break
            else:
                only_base.append(s)
        only_orch.extend(t for i, t in enumerate(o) if not used[i])
    return only_base, only_orch


