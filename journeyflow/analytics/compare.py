"""``journeyflow compare``: the same events through per-channel marketing automation and through journeyflow.

The project's central claim is that one decision layer upstream of all channels sends fewer, better messages than
per-channel automation.  :func:`compare` makes that measurable on a replay input directory:

* **automation** (the baseline) runs in plain Python over the same parsed events.  Each journey runs on its own
  triggers with the real :class:`~journeyflow.stages.journeys.JourneyEngine`, driven by the real
  :class:`~journeyflow.stages.processor.CustomerProcessor`, but

  - without identity unification: state is keyed by the event's own primary identifier only, so an anonymous
    device, an email address and a CRM id are three different "customers";
  - without cross-journey arbitration: :class:`PassThroughArbiter` sends every candidate, and journeys'
    exclusion groups are removed (each workflow is configured on its own);
  - without service suppression, caps, quiet hours or de-duplication.

  What a channel tool does know is modelled too: its own channel's opt-outs (revoked, unsubscribed, complained,
  bounced) *for the identifier it was told about*, and whether it has an address for that identifier (an email or
  SMS without one is "undeliverable", not sent).  Journeys' control groups (holdouts) are honoured on both sides.
* **journeyflow** is the real bounded replay pipeline (:func:`journeyflow.pipelines.replay.run_replay`); messages
  are read from its channel topics (``decisions-email|sms|push|call``).  The same cluster fold is also run in
  process, only to learn which product each send promotes (decisions do not carry it) and to check that the
  in-process fold and the pipeline decided exactly the same sends.

Both sides' messages are mapped to real persons with the generator's ground truth
(:func:`journeyflow.analytics.identity_score.truth_keys`) when ``ground_truth.jsonl`` exists, else to journeyflow's
resolved identity clusters.  The conflict detectors below are independent of journeyflow's policy code (simple
re-implementations over the raw events of each person) and are applied identically to both sides:

=====================  ======================================================================================
conflict               a message counts when
=====================  ======================================================================================
``open_ticket``        a promo (marketing/sales) send while the person has a support ticket opened and not
                       yet resolved (from the raw support events, across all of the person's identifiers)
``recent_purchase``    a promo send for a product the person ordered in the 30 days before
``cross_channel``      the same content_id went to the person on another channel within the previous 24 h
``repeated_content``   (extra) the same content_id went to the person on the same channel within 24 h
``quiet_hours``        a promo send between 21:00 and 08:00 in the person's own time zone
``no_consent``         a send without consent at send time: promo needs the latest status to be ``granted``,
                       service/transactional only needs it not to be an opt-out; the status is the latest
                       (event time) of the consent stream and of engagement unsubscribes/complaints/bounces
                       across all of the person's identifiers
``daily_promo_cap``    a promo send with another promo send to the person in the previous 24 h
=====================  ======================================================================================

Two breakdowns say what no system could have known at send time, measured on both sides: open-ticket sends
where no open ticket was filed under an identifier linked to the recipient yet (by journeyflow's identity
resolution), and quiet-hours sends while no source had recorded the person's time zone yet.

``unnecessary`` messages are automation sends that journeyflow did not make (matched one to one per person,
journey and content within ±1 day).  Goal conversions are orders a person placed within 7 days after a send of
their cart_abandonment / browse_offer / winback journeys: in a replay the customers' behaviour is fixed, so this
is an association, not an uplift measurement.

``opt_in_baseline=True`` (CLI ``--opt-in-baseline``) makes the baseline stricter: channel tools also send promos
only to identifiers with an explicit opt-in recorded for that same identifier.

Command line (:mod:`journeyflow.cli.compare`)::

    journeyflow compare --input DIR [--journeys F] [--policy F] [--json OUT.json] [--opt-in-baseline]
                        [--work-dir DIR]
"""
from __future__ import annotations

import bisect
import json
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from journeyflow.model.events import STREAMS, Event
from journeyflow.model.decisions import Candidate, Decision, decision_id

__all__ = [
    "AUTOMATION",
    "CONFLICT_KINDS",
    "CompareReport",
    "IdentityTimeline",
    "JOURNEYFLOW",
    "PassThroughArbiter",
    "PersonFacts",
    "Send",
    "SideSummary",
    "Ticket",
    "build_person_facts",
    "compare",
    "consent_conflicts",
    "cross_channel_duplicates",
    "daily_promo_excess",
    "goal_conversions",
    "match_unnecessary",
    "open_ticket_conflicts",
    "quiet_hours_conflicts",
    "recent_purchase_conflicts",
    "repeated_content",
    "run_automation",
]

AUTOMATION = "automation"
JOURNEYFLOW = "journeyflow"

HOUR = 3_600_000
DAY = 24 * HOUR
MESSAGE_CHANNELS: tuple[str, ...] = ("email", "sms", "push", "call")
#: Channels that need an address (email, E.164 phone) to be delivered; push goes to the app user / device.
ADDRESS_OF: Mapping[str, str] = {"email": "email", "sms": "phone", "call": "phone"}
PROMO: frozenset[str] = frozenset({"marketing", "sales"})
#: Consent states that stop a channel.  Deliberately spelled out here (not imported from journeyflow's state or
#: policy): the baseline's channel tools and the detectors must not depend on the code they are compared with.
OPT_OUT: frozenset[str] = frozenset({"revoked", "unsubscribed", "complained", "bounced"})
GOAL_JOURNEYS: tuple[str, ...] = ("cart_abandonment", "browse_offer", "winback")

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

    @property
    def promo(self) -> bool:
        return self.category in PROMO


class Ticket(NamedTuple):
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
    #: (ts, order_id, product ids) of every order_placed, sorted by time
    orders: list[tuple[int, str, frozenset[str]]] = field(default_factory=list)
    #: channel -> [(ts, blocking 0/1, status)] sorted; the last entry at or before t is the status at t
    consent: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)

    def consent_at(self, channel: str, t: int) -> str | None:
        entries = self.consent.get(channel)
        if not entries:
            return None
        i = bisect.bisect_right(entries, (t, 2, ""))
        return entries[i - 1][2] if i else None

    def open_tickets_at(self, t: int) -> list[Ticket]:
        return [k for k in self.tickets if k.opened <= t and (k.resolved is None or t < k.resolved)]

    def ticket_open_at(self, t: int) -> bool:
        return bool(self.open_tickets_at(t))

    def bought_within(self, product_id: str, t: int, window_ms: int) -> bool:
        return any(t - window_ms < ts <= t and product_id in pids for ts, _oid, pids in self.orders)


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


_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str | None) -> ZoneInfo:
    key = name or "UTC"
    z = _ZONES.get(key)
    if z is None:
        try:
            z = ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError):
            z = ZoneInfo("UTC")
        _ZONES[key] = z
    return z


def in_quiet_hours(ts: int, tz: str | None) -> bool:
    local = datetime.fromtimestamp(ts / 1000, _zone(tz))
    minute = local.hour * 60 + local.minute
    return minute >= QUIET_START_MIN or minute < QUIET_END_MIN


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
        parent: dict[str, str] = {}

        def find(k: str) -> str:
            while parent.get(k, k) != k:
                k = parent[k]
            return k

        for ts, x, y in self.links.get(ca, ()):
            if ts > t:
                break
            rx, ry = find(x), find(y)
            if rx != ry:
                parent[rx] = ry
        return find(a) == find(b)


def _ticket_linked(s: Send, facts: Mapping[str, PersonFacts], identity: IdentityTimeline) -> bool:
    """Whether an open ticket at the send was filed under an identifier linked to the recipient at send time
    (by journeyflow's identity resolution: what an identity-resolving system could have known then)."""
    f = facts.get(s.person)
    if f is None:
        return False
    return any(identity.linked_at(s.customer_id, k, s.ts) for t in f.open_tickets_at(s.ts) for k in t.ids)


def _tz_known(f: PersonFacts | None, t: int) -> bool:
    return f is not None and f.tz_known_since is not None and f.tz_known_since <= t


def quiet_hours_conflicts(sends: Iterable[Send], facts: Mapping[str, PersonFacts]) -> list[Send]:
    """Promo sends between 21:00 and 08:00 in the person's time zone (UTC when it is unknown)."""
    out = []
    for s in sends:
        f = facts.get(s.person)
        if s.promo and in_quiet_hours(s.ts, f.tz if f is not None else None):
            out.append(s)
    return out


def consent_conflicts(sends: Iterable[Send], facts: Mapping[str, PersonFacts]) -> dict[str, list[Send]]:
    """Sends without consent at send time, split into ``opted_out`` (latest status is an opt-out) and
    ``never_granted`` (a promo send without an explicit grant)."""
    out: dict[str, list[Send]] = {"opted_out": [], "never_granted": []}
    for s in sends:
        f = facts.get(s.person)
        status = f.consent_at(s.channel, s.ts) if f is not None else None
        if status in OPT_OUT:
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


# ============================================================================================ inputs
def read_events(input_dir: str | Path, region: str = "US") -> tuple[list[Event], int, int]:
    """(events, records read, dead letters) of ``DIR/<stream>.jsonl|.avro``, parsed like the replay does."""
    from journeyflow.stages.identity import Hasher
    from journeyflow.stages.parse import ParseConfig, Parser

    parser = Parser(Hasher.from_env(region), ParseConfig(default_region=region))
    events: list[Event] = []
    read = dead = 0
    d = Path(input_dir)
    found = False
    for stream in STREAMS:
        for ext in ("jsonl", "avro"):
            path = d / f"{stream}.{ext}"
            if not path.exists():
                continue
            found = True
            with open(path, "rb") as f:
                if ext == "avro":
                    import fastavro
                    records: Iterable[Any] = fastavro.reader(f)
                    for i, rec in enumerate(records, 1):
                        read += 1
                        ev = parser.parse(stream, rec, f"{path}#{i}")
                        if isinstance(ev, Event):
                            events.append(ev)
                        else:
                            dead += 1
                else:
                    for i, line in enumerate(f, 1):
                        line = line.rstrip(b"\r\n")
                        if not line.strip():
                            continue
                        read += 1
                        ev = parser.parse(stream, line, f"{path}:{i}")
                        if isinstance(ev, Event):
                            events.append(ev)
                        else:
                            dead += 1
    if not found:
        raise FileNotFoundError(f"no <stream>.jsonl or <stream>.avro files in {input_dir} "
                                f"(streams: {', '.join(STREAMS)})")
    events.sort(key=lambda e: e.sort_key)
    return events, read, dead


class PersonMap:
    """identifier key → person id: ground truth when available, else journeyflow's final identity clusters."""

    def __init__(self, of_key: Mapping[str, str], basis: str, persons: int | None = None,
                 timezones: Mapping[str, str] | None = None):
        self.of_key = of_key
        self.basis = basis
        self.persons = persons
        self.timezones = dict(timezones or {})

    def person(self, key: str) -> str:
        p = self.of_key.get(key)
        return p if p is not None else "?" + key

    def persons_of(self, ev: Event) -> set[str]:
        ps = {self.of_key[k] for k in ev.ids if k in self.of_key}
        if not ps:
            ps = {"?" + min(ev.ids, key=_rank)}
        return ps


def _rank(key: str) -> tuple[int, str]:
    global _rank_key
    if _rank_key is None:
        from journeyflow.stages.identity import rank_key
        _rank_key = rank_key
    return _rank_key(key)


_rank_key: Any = None


def person_map(input_dir: str | Path, cluster_of: Mapping[str, str], region: str = "US") -> PersonMap:
    d = Path(input_dir)
    if (d / "ground_truth.jsonl").exists():
        from journeyflow.stages.identity import Hasher
        from journeyflow.analytics.identity_score import truth_keys

        truth, _shared = truth_keys(d, Hasher.from_env(region), region)
        tzs: dict[str, str] = {}
        n = 0
        with open(d / "ground_truth.jsonl") as f:
            for line in f:
                if line.strip():
                    p = json.loads(line)
                    n += 1
                    if p.get("timezone"):
                        tzs[p["person_id"]] = p["timezone"]
        return PersonMap(truth, "ground_truth", n, tzs)
    return PersonMap(cluster_of, "identity_clusters")


def build_person_facts(events: Iterable[Event], persons: PersonMap) -> dict[str, PersonFacts]:
    """Per person: tickets, orders, consent timeline and time zone, from the raw events."""
    facts: dict[str, PersonFacts] = defaultdict(PersonFacts)
    tickets: dict[tuple[str, str], list] = {}
    crm_tz: dict[str, tuple[int, str]] = {}
    tz_first: dict[str, int] = {}
    seen: set[str] = set()
    for ev in events:
        if ev.uid in seen:
            continue
        seen.add(ev.uid)
        a = ev.attrs
        for person in persons.persons_of(ev):
            f = facts[person]
            if ev.stream == "support":
                t = tickets.setdefault((person, str(a.get("ticket_id"))), [None, None, set()])
                t[2].update(ev.ids)
                if ev.type in ("ticket_opened", "ticket_escalated"):
                    t[0] = ev.ts if t[0] is None else min(t[0], ev.ts)
                elif ev.type == "ticket_resolved":
                    t[1] = ev.ts if t[1] is None else max(t[1], ev.ts)
            elif ev.stream == "orders" and ev.type == "order_placed":
                f.orders.append((ev.ts, str(a.get("order_id")), frozenset(a.get("product_ids") or ())))
            elif ev.stream == "consent":
                status = "granted" if ev.type == "consent_granted" else "revoked"
                f.consent.setdefault(a["channel"], []).append((ev.ts, int(status in OPT_OUT), status))
            elif ev.stream == "engagement" and ev.type in OPT_OUT:
                f.consent.setdefault(a["channel"], []).append((ev.ts, 1, ev.type))
            elif ev.stream == "crm" and a.get("timezone"):
                if person not in crm_tz or ev.ts >= crm_tz[person][0]:
                    crm_tz[person] = (ev.ts, a["timezone"])
                tz_first[person] = min(tz_first.get(person, ev.ts), ev.ts)
    for (person, _tid), (opened, resolved, ids) in tickets.items():
        if opened is None and resolved is None:
            continue
        if opened is not None and resolved is not None and resolved < opened:
            resolved = None  # a resolution before the (re)opening: the ticket is open again
        facts[person].tickets.append(Ticket(opened if opened is not None else -(2**62), resolved, frozenset(ids)))
    for person, f in facts.items():
        f.tickets.sort()
        f.orders.sort()
        for entries in f.consent.values():
            entries.sort()  # at equal times an opt-out (1) sorts after a grant (0): it wins
        f.tz = persons.timezones.get(person) or (crm_tz[person][1] if person in crm_tz else None)
        f.tz_known_since = tz_first.get(person)
    return dict(facts)


# ============================================================================================ automation
@dataclass(slots=True)
class _Result:
    decisions: list[Decision]
    deferred: list = field(default_factory=list)


class PassThroughArbiter:
    """What per-channel tools do: every proposed candidate goes out, unless the channel's own opt-out list has
    the identifier it was told about, or that identifier has no address on the channel.

    Same ``arbitrate`` signature as :class:`journeyflow.stages.arbitration.Arbiter`.  ``products`` collects
    ``(customer_id, decision_id) -> product_id`` of every send, for the recent-purchase detector.

    ``opt_in_categories``: categories whose sends the channel tool only makes to identifiers with an explicit
    ``granted`` status on the channel (a stricter baseline; empty by default: tools only know opt-outs).
    """

    def __init__(self, opt_in_categories: Iterable[str] = ()) -> None:
        self.products: dict[tuple[str, str], str | None] = {}
        self.opt_in = frozenset(opt_in_categories)

    def arbitrate(self, state: Any, candidates: Sequence[Candidate], now: int, customer_id: str,
                  trigger_id: str) -> _Result:
        out: list[Decision] = []
        for c in sorted(candidates, key=lambda c: (c.journey_id, c.step_id, c.channel, c.content_id or "")):
            reason = None
            if c.control:
                reason = "control_group"
            elif c.action == "send":
                st = state.consent.get(c.channel)
                if st and st[0] in OPT_OUT:
                    reason = "opted_out"
                elif c.category in self.opt_in and not (st and st[0] == "granted"):
                    reason = "not_opted_in"
                elif c.channel in ADDRESS_OF and not state.contact.get(ADDRESS_OF[c.channel]):
                    reason = "undeliverable"
            action = c.action if reason is None else ("none" if reason == "control_group" else "suppress")
            did = decision_id("automation", customer_id, trigger_id, c.journey_id, c.step_id, action, c.channel,
                              c.content_id, now)
            out.append(Decision(did, customer_id, now, c.journey_id, c.step_id, action, c.channel, c.content_id,
                                c.category, c.priority, (reason or "sent",), (), trigger_id))
            if reason is None and c.action == "send":
                state.record_send(now, c.channel, c.category, c.content_id)
                self.products[(customer_id, did)] = c.product_id
        return _Result(out)


def _independent(journeys: Iterable[Any]) -> list[Any]:
    """Journeys configured one by one in separate tools: no exclusion groups between them."""
    return [replace(j, exclusion_group=None) if j.exclusion_group is not None else j for j in journeys]


def run_automation(events: Sequence[Event], journeys: Iterable[Any], until: int | None,
                   retention: Any = None, opt_in: bool = False
                   ) -> tuple[list[Decision], dict[tuple[str, str], str | None]]:
    """The baseline: each identifier's own events, time-sorted, through the journeys and PassThroughArbiter
    (with ``opt_in``, promo sends also need an explicit grant recorded for that same identifier)."""
    from journeyflow.stages.journeys import JourneyEngine
    from journeyflow.stages.processor import CustomerProcessor, Outputs
    from journeyflow.stages.state import CustomerState, Retention

    arbiter = PassThroughArbiter(PROMO if opt_in else ())
    proc = CustomerProcessor(JourneyEngine(_independent(journeys)), arbiter, retention or Retention())
    by_key: dict[str, list[Event]] = defaultdict(list)
    for ev in events:
        by_key[min(ev.ids, key=_rank)].append(ev)
    decisions: list[Decision] = []
    for key in sorted(by_key):
        evs = sorted(by_key[key], key=lambda e: e.sort_key)
        out = Outputs()
        proc.advance(CustomerState(customer_id=key), evs, until, out)
        decisions.extend(out.decisions)
    return decisions, arbiter.products


# ============================================================================================ journeyflow
class _RecordingArbiter:
    """Wraps the real Arbiter; remembers the product of every chosen send (decisions do not carry it)."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.products: dict[tuple[str, str], str | None] = {}

    def arbitrate(self, state: Any, candidates: Sequence[Candidate], now: int, customer_id: str,
                  trigger_id: str) -> Any:
        res = self.inner.arbitrate(state, candidates, now, customer_id, trigger_id)
        for d in res.decisions:
            if d.action == "send":
                for c in candidates:
                    if (c.journey_id, c.step_id, c.channel, c.content_id) == (d.journey_id, d.step_id, d.channel,
                                                                              d.content_id):
                        self.products[(customer_id, d.decision_id)] = c.product_id
                        break
        return res


def fold_in_process(events: Sequence[Event], config: Any, until: int | None
                    ) -> tuple[list[Decision], dict[tuple[str, str], str | None], IdentityTimeline]:
    """The pipeline's bounded decision path without Beam: resolve identities, key by cluster, ClusterFold.

    Returns (decisions, products of sends, the accepted identity links: final clusters and link times).
    """
    from journeyflow.stages.processor import ClusterFold
    from journeyflow.transforms.identity import build_cluster_map, event_links, key_by_cluster

    rules = config.link_rules()
    links = [lk for ev in events for lk in event_links(ev, rules)]
    cmap, _rows = build_cluster_map(links, rules)
    groups: dict[str, list] = defaultdict(list)
    for ev in events:
        cluster, item = key_by_cluster(ev, cmap, rules)
        groups[cluster].append(item)
    proc = config.build_processor()
    recorder = _RecordingArbiter(proc.arbiter)
    proc.arbiter = recorder
    fold = ClusterFold(proc)
    decisions: list[Decision] = []
    for cluster in sorted(groups):
        items = sorted(groups[cluster], key=lambda it: it[0].sort_key)
        decisions.extend(fold.run(items, until).decisions)
    cluster_of = dict(cmap.root_of)
    for ev in events:
        for k in ev.ids:
            cluster_of.setdefault(k, k)
    accepted = [(lk.ts, lk.a, lk.b) for lk in links if (lk.event_id, lk.a, lk.b) in cmap.accepted]
    return decisions, recorder.products, IdentityTimeline(cluster_of, accepted)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# ================================================================================================ report
@dataclass
class SideSummary:
    name: str
    messages: Counter = field(default_factory=Counter)  # channel -> messages delivered to the channel tool
    by_journey: Counter = field(default_factory=Counter)
    undeliverable: int = 0  # email/sms/call sends without an address for the customer id
    opted_out: int = 0  # automation: stopped by the channel tool's own opt-out list
    not_opted_in: int = 0  # automation with opt_in: promo without a grant for that identifier
    tasks: int = 0  # crm tasks / service cases (not messages)
    persons_messaged: int = 0
    max_per_person: int = 0
    conflicts: dict[str, int] = field(default_factory=dict)
    consent_detail: dict[str, int] = field(default_factory=dict)
    ticket_unlinked: int = 0  # open-ticket sends where no open ticket was linked to the recipient at send time
    quiet_tz_unknown: int = 0  # quiet-hours sends to persons whose time zone no source had recorded yet
    examples: dict[str, list[str]] = field(default_factory=dict)  # conflict -> a few decision ids
    goal_sends: int = 0
    conversions: int = 0  # orders within 7 days after a goal-journey send
    converted_persons: int = 0

    @property
    def total(self) -> int:
        return sum(self.messages.values())

    def to_dict(self, persons: int) -> dict[str, Any]:
        return {
            "messages": {"total": self.total, **{ch: self.messages.get(ch, 0) for ch in MESSAGE_CHANNELS}},
            "messages_by_journey": dict(sorted(self.by_journey.items())),
            "messages_per_person": round(self.total / persons, 4) if persons else None,
            "messages_per_messaged_person": round(self.total / self.persons_messaged, 4)
            if self.persons_messaged else None,
            "persons_messaged": self.persons_messaged,
            "max_messages_per_person": self.max_per_person,
            "undeliverable": self.undeliverable,
            "opted_out_by_channel_tool": self.opted_out,
            "not_opted_in_by_channel_tool": self.not_opted_in,
            "tasks_and_cases": self.tasks,
            "conflicts": dict(self.conflicts),
            "no_consent_detail": dict(self.consent_detail),
            "open_ticket_not_linked_to_recipient_at_send": self.ticket_unlinked,
            "quiet_hours_tz_unknown_at_send": self.quiet_tz_unknown,
            "conflict_examples": {k: v for k, v in self.examples.items() if v},
            "goal_journey_sends": self.goal_sends,
            "goal_conversions": {"orders": self.conversions, "persons": self.converted_persons},
        }


def _pct_cut(before: int, after: int) -> float | None:
    return None if before == 0 else round(100.0 * (before - after) / before, 1)


@dataclass
class CompareReport:
    input_dir: str
    person_basis: str  # ground_truth | identity_clusters
    persons: int
    events: int
    horizon: int | None
    automation: SideSummary
    journeyflow: SideSummary
    unnecessary: int
    unnecessary_by_journey: Counter
    journeyflow_only: int
    journeyflow_only_by_journey: Counter
    fold_check: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    opt_in_baseline: bool = False

    @property
    def message_cut_pct(self) -> float | None:
        return _pct_cut(self.automation.total, self.journeyflow.total)

    @property
    def unnecessary_pct(self) -> float | None:
        b = self.automation.total
        return None if b == 0 else round(100.0 * self.unnecessary / b, 1)

    def conflict_cuts(self) -> dict[str, float | None]:
        return {k: _pct_cut(self.automation.conflicts.get(k, 0), self.journeyflow.conflicts.get(k, 0))
                for k in CONFLICT_KINDS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input_dir,
            "person_basis": self.person_basis,
            "automation_baseline": "opt_in" if self.opt_in_baseline else "opt_out_only",
            "persons": self.persons,
            "events": self.events,
            "horizon": self.horizon,
            AUTOMATION: self.automation.to_dict(self.persons),
            JOURNEYFLOW: self.journeyflow.to_dict(self.persons),
            "cut_pct": {"messages": self.message_cut_pct,
                        **{ch: _pct_cut(self.automation.messages.get(ch, 0), self.journeyflow.messages.get(ch, 0))
                           for ch in MESSAGE_CHANNELS},
                        "conflicts": self.conflict_cuts()},
            "unnecessary": {"messages": self.unnecessary, "pct_of_automation_messages": self.unnecessary_pct,
                            "by_journey": dict(sorted(self.unnecessary_by_journey.items()))},
            "journeyflow_only": {"messages": self.journeyflow_only,
                                 "by_journey": dict(sorted(self.journeyflow_only_by_journey.items()))},
            "fold_check": dict(self.fold_check),
            "notes": list(self.notes),
        }

    def render(self) -> str:
        a, j = self.automation, self.journeyflow
        n = self.persons
        w = 44

        def row(label: str, av: Any, jv: Any, cut: Any = "") -> str:
            return f"{label:<{w}}{_fmt(av):>12}{_fmt(jv):>13}{_fmt(cut):>9}"

        def cut(x: int, y: int) -> str:
            c = _pct_cut(x, y)
            return "" if c is None else f"{c:.1f}%"

        lines = [f"compare: {self.input_dir}  ({self.events} events, {n} persons by {self.person_basis})",
                 "",
                 f"{'':<{w}}{'automation':>12}{'journeyflow':>13}{'cut':>9}",
                 row("messages sent", a.total, j.total, cut(a.total, j.total))]
        for ch in MESSAGE_CHANNELS:
            lines.append(row(f"  {ch}", a.messages.get(ch, 0), j.messages.get(ch, 0),
                             cut(a.messages.get(ch, 0), j.messages.get(ch, 0))))
        lines += [
            row("messages per person", a.total / n if n else 0.0, j.total / n if n else 0.0),
            row("messages per messaged person", a.total / a.persons_messaged if a.persons_messaged else 0.0,
                j.total / j.persons_messaged if j.persons_messaged else 0.0),
            row("persons messaged", a.persons_messaged, j.persons_messaged),
            row("most messages to one person", a.max_per_person, j.max_per_person),
            row("not sent: no address (undeliverable)", a.undeliverable, j.undeliverable),
            row("not sent: channel tool's opt-out list", a.opted_out, "-"),
            *([row("not sent: no opt-in for that identifier", a.not_opted_in, "-")] if self.opt_in_baseline else []),
            row("tasks and cases (not messages)", a.tasks, j.tasks),
            "",
            "conflicts (messages; detectors independent of journeyflow's policy code)",
        ]
        for k in CONFLICT_KINDS:
            av, jv = a.conflicts.get(k, 0), j.conflicts.get(k, 0)
            lines.append(row(CONFLICT_LABELS[k], av, jv, cut(av, jv)))
            if k == "open_ticket":
                lines.append(row("      ticket not linked to recipient yet", a.ticket_unlinked,
                                 j.ticket_unlinked))
            if k == "quiet_hours":
                lines.append(row("      time zone not yet in any source", a.quiet_tz_unknown, j.quiet_tz_unknown))
            if k == "no_consent":
                for sub in ("opted_out", "never_granted"):
                    lines.append(row(f"      {sub.replace('_', ' ')}", a.consent_detail.get(sub, 0),
                                     j.consent_detail.get(sub, 0)))
        lines += [
            "",
            row("goal-journey sends (cart/browse/winback)", a.goal_sends, j.goal_sends),
            row("orders <=7 d after such a send", a.conversions, j.conversions),
            row("  persons with such an order", a.converted_persons, j.converted_persons),
            "",
            f"unnecessary messages: {self.unnecessary} = {_pct(self.unnecessary_pct)} of automation's {a.total}",
            "  (automation sends journeyflow did not make, matched per person + journey + content within ±1 day)",
        ]
        if self.unnecessary_by_journey:
            lines.append("  by journey: " + ", ".join(f"{k} {v}" for k, v in sorted(
                self.unnecessary_by_journey.items(), key=lambda kv: (-kv[1], kv[0]))))
        lines.append(f"journeyflow-only messages (no automation counterpart): {self.journeyflow_only}")
        if self.journeyflow_only_by_journey:
            lines.append("  by journey: " + ", ".join(f"{k} {v}" for k, v in sorted(
                self.journeyflow_only_by_journey.items(), key=lambda kv: (-kv[1], kv[0]))))
        fc = self.fold_check
        lines.append(f"pipeline check: {fc.get('pipeline_sends', 0)} sends from the pipeline, "
                     f"{fc.get('matched', 0)} identical in the in-process fold"
                     + ("" if fc.get("identical") else "  (MISMATCH: see fold_check in --json)"))
        if self.notes:
            lines.append("")
            lines += [f"note: {x}" for x in self.notes]
        return "\n".join(lines)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}%"


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def _summarize(name: str, sends: list[Send], undeliverable: int, opted_out: int, tasks: int,
               facts: Mapping[str, PersonFacts], identity: IdentityTimeline) -> SideSummary:
    s = SideSummary(name, undeliverable=undeliverable, opted_out=opted_out, tasks=tasks)
    per_person: Counter = Counter()
    for m in sends:
        s.messages[m.channel] += 1
        s.by_journey[m.journey_id or "-"] += 1
        per_person[m.person] += 1
    s.persons_messaged = len(per_person)
    s.max_per_person = max(per_person.values(), default=0)
    consent = consent_conflicts(sends, facts)
    found = {
        "open_ticket": open_ticket_conflicts(sends, facts),
        "recent_purchase": recent_purchase_conflicts(sends, facts),
        "cross_channel": cross_channel_duplicates(sends),
        "repeated_content": repeated_content(sends),
        "quiet_hours": quiet_hours_conflicts(sends, facts),
        "no_consent": consent["opted_out"] + consent["never_granted"],
        "daily_promo_cap": daily_promo_excess(sends),
    }
    s.conflicts = {k: len(found[k]) for k in CONFLICT_KINDS}
    s.consent_detail = {k: len(v) for k, v in consent.items()}
    s.ticket_unlinked = sum(1 for m in found["open_ticket"] if not _ticket_linked(m, facts, identity))
    s.quiet_tz_unknown = sum(1 for m in found["quiet_hours"] if not _tz_known(facts.get(m.person), m.ts))
    s.examples = {k: sorted(x.decision_id for x in v)[:3] for k, v in found.items()}
    s.goal_sends = sum(1 for m in sends if m.journey_id in GOAL_JOURNEYS)
    s.conversions, s.converted_persons = goal_conversions(sends, facts)
    return s


def _sends_from(decisions: Iterable[Any], products: Mapping[tuple[str, str], str | None],
                persons: PersonMap) -> tuple[list[Send], int, int]:
    """(messages delivered to channel tools, undeliverable sends, tasks) from decision records or dicts."""
    sends: list[Send] = []
    undeliverable = tasks = 0
    for d in decisions:
        if not isinstance(d, dict):
            d = d.to_dict(with_address=True)
        action, ch = d["action"], d["channel"]
        if action in ("create_task", "route_case"):
            tasks += 1
            continue
        if action != "send" or ch not in MESSAGE_CHANNELS:
            continue
        if ch in ADDRESS_OF and not d.get("address"):
            undeliverable += 1
            continue
        cid = d["customer_id"]
        sends.append(Send(persons.person(cid), cid, d["decided_at"], ch, d["journey_id"], d["step_id"],
                          d["content_id"], d["category"], products.get((cid, d["decision_id"])), d["decision_id"]))
    return sends, undeliverable, tasks


# ================================================================================================== main
def compare(input_dir: str | Path, journeys: str | None = None, policy: str | None = None,
            work_dir: str | Path | None = None, region: str = "US", opt_in_baseline: bool = False) -> CompareReport:
    """Replay ``input_dir`` through per-channel automation and through journeyflow; measure both the same way.

    ``journeys`` / ``policy``: YAML files (default: the shipped ones; the policy only applies to journeyflow).
    ``work_dir``: where the journeyflow replay writes topics/ and tables/ (a temporary directory by default,
    removed afterwards).  ``opt_in_baseline``: the automation's channel tools also require an explicit opt-in,
    recorded for the identifier they were given, before a promo send (default: they only know opt-outs).
    """
    from journeyflow.config.engine import EngineConfig
    from journeyflow.pipelines.replay import run_replay

    input_dir = str(input_dir)
    config = EngineConfig.from_files(journeys, policy)
    events, _read, _dead = read_events(input_dir, region)
    horizon = max((e.ts for e in events), default=None)

    # journeyflow: the real pipeline, plus the same fold in process (products of sends, identity clusters)
    tmp = None
    if work_dir is None:
        tmp = tempfile.mkdtemp(prefix="journeyflow-compare-")
        out_dir = Path(tmp)
    else:
        out_dir = Path(work_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
    try:
        argv = ["--input", input_dir, "--output", str(out_dir), "--default_region", region]
        if journeys:
            argv += ["--journeys", journeys]
        if policy:
            argv += ["--policy", policy]
        run_replay(argv)
        topics = out_dir / "topics"
        jf_decisions = [d for ch in MESSAGE_CHANNELS for d in _read_jsonl(topics / f"decisions-{ch}.jsonl")]
        jf_tasks = [d for t in ("crm-task", "service-case") for d in _read_jsonl(topics / f"decisions-{t}.jsonl")]
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    fold_decisions, jf_products, identity = fold_in_process(events, config, horizon)
    cluster_of = identity.cluster_of

    fold_sends = {d.decision_id for d in fold_decisions if d.action == "send"}
    pipe_sends = {d["decision_id"] for d in jf_decisions}
    fold_check = {"pipeline_sends": len(pipe_sends), "fold_sends": len(fold_sends),
                  "matched": len(pipe_sends & fold_sends), "identical": pipe_sends == fold_sends}

    persons = person_map(input_dir, cluster_of, region)
    facts = build_person_facts(events, persons)
    n_persons = persons.persons if persons.persons is not None else len({persons.person(k) for k in cluster_of})

    jf_sends, jf_undeliverable, _ = _sends_from(jf_decisions, jf_products, persons)
    jf = _summarize(JOURNEYFLOW, jf_sends, jf_undeliverable, 0, len(jf_tasks), facts, identity)

    auto_decisions, auto_products = run_automation(events, config.journeys(), horizon, config.retention,
                                                   opt_in=opt_in_baseline)
    auto_sends, auto_undeliverable, auto_tasks = _sends_from(auto_decisions, auto_products, persons)
    auto_undeliverable += sum(1 for d in auto_decisions if d.reason_codes == ("undeliverable",))
    auto_opted_out = sum(1 for d in auto_decisions if d.reason_codes == ("opted_out",))
    auto = _summarize(AUTOMATION, auto_sends, auto_undeliverable, auto_opted_out, auto_tasks, facts, identity)
    auto.not_opted_in = sum(1 for d in auto_decisions if d.reason_codes == ("not_opted_in",))

    only_auto, only_jf = match_unnecessary(auto_sends, jf_sends)
    notes = [
        ("In a replay the customers' behaviour is fixed: the same orders happen whatever was sent, so goal "
         "conversions are an association (orders after a send), not an uplift measurement. Uplift needs the "
         "journeys' control groups on live traffic."),
        "Automation = the same journeys run per identifier (no identity unification), each journey on its own "
        "(no arbitration, no exclusion groups, no service suppression, caps, quiet hours or de-duplication); a "
        "channel tool only knows its own opt-outs"
        + (" and opt-ins (promos need an explicit grant)" if opt_in_baseline else "")
        + " for the identifier it was given and needs an address for it. "
        "Control groups (holdouts) are honoured on both sides.",
        "Promo = marketing and sales categories. Conflicts are counted per message against each person's raw "
        "events across all of their identifiers"
        + (" (persons from the generator's ground truth)." if persons.basis == "ground_truth"
           else " (no ground_truth.jsonl: persons are journeyflow's resolved identity clusters)."),
    ]
    if not fold_check["identical"]:
        notes.append("The in-process fold did not reproduce the pipeline's sends exactly: products of the "
                     "unmatched sends are unknown to the recent-purchase detector.")
    return CompareReport(
        input_dir=input_dir, person_basis=persons.basis, persons=n_persons, events=len(events), horizon=horizon,
        automation=auto, journeyflow=jf,
        unnecessary=len(only_auto), unnecessary_by_journey=Counter(s.journey_id or "-" for s in only_auto),
        journeyflow_only=len(only_jf), journeyflow_only_by_journey=Counter(s.journey_id or "-" for s in only_jf),
        fold_check=fold_check, notes=notes, opt_in_baseline=opt_in_baseline)
