"""What both sides of ``journeyflow compare`` are measured against: the input events parsed like the replay does,
who is who (:class:`PersonMap`: the generator's ground truth when present, else journeyflow's identity clusters),
and the raw facts of every person (:class:`~journeyflow.analytics.conflicts.PersonFacts`)."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from journeyflow.model.events import SEGMENT_STREAM, STREAMS, Event
from journeyflow.stages.deliverability import channels_of
from journeyflow.stages.json_text import jsonl_lines
from journeyflow.stages.segment.batch import split_batch
from journeyflow.analytics.conflicts import OPT_OUT, PersonFacts, Ticket

# ============================================================================================ inputs
def iter_records(path: Path) -> Iterator[tuple[Any, str]]:
    """``(record, source)`` of one input file, as the replay source reads it (``transforms/sources.py``): decoded
    records of a ``.avro`` file (source ``<file>#<n>``, the file named relative to its folder), or the non-blank
    lines of a ``.jsonl`` file as bytes without the line ending (source ``<file>:<line>``)."""
    with open(path, "rb") as f:
        if path.suffix == ".avro":
            import fastavro
            for i, rec in enumerate(fastavro.reader(f), 1):
                yield rec, f"{path.name}#{i}"
        else:
            segment = path.stem == SEGMENT_STREAM
            for i, line in jsonl_lines(f):  # LF, CRLF or CR-only line ends
                if line.strip():
                    batch = split_batch(line) if segment else None  # a Segment batch: one record per message
                    if batch is None:
                        yield line, f"{path.name}:{i}"
                    else:
                        yield from ((m, f"{path.name}:{i}#{k}") for k, m in enumerate(batch, 1))


def read_events(input_dir: str | Path, region: str = "US", config: Any = None) -> tuple[list[Event], int, int]:
    """(events, records read, dead letters) of ``DIR/<stream>.jsonl|.avro``, parsed like the replay does, with the
    parser settings ``config`` (a ``ParseConfig``: the replay's declared types and Segment mapping; default: none
    declared, the shipped mapping, phone region ``region``)."""
    from journeyflow.stages.identity.keys import Hasher
    from journeyflow.stages.parse import ParseConfig, Parser

    parser = Parser(Hasher.from_env(region), config if config is not None else ParseConfig(default_region=region))
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
            for raw, source in iter_records(path):
                read += 1
                ev = parser.parse(stream, raw, source)
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
        """The person of identifier ``key``; an unknown key is its own person ``?<key>``."""
        p = self.of_key.get(key)
        return p if p is not None else "?" + key

    def persons_of(self, ev: Event) -> set[str]:
        """The persons of an event's identifiers; ``{?<highest-ranked key>}`` when none is known."""
        ps = {self.of_key[k] for k in ev.ids if k in self.of_key}
        if not ps:
            ps = {"?" + min(ev.ids, key=_rank)}
        return ps


def _rank(key: str) -> tuple[int, str]:
    global _rank_key
    if _rank_key is None:
        from journeyflow.stages.identity.keys import rank_key
        _rank_key = rank_key
    return _rank_key(key)


_rank_key: Any = None


def person_map(input_dir: str | Path, cluster_of: Mapping[str, str], region: str = "US") -> PersonMap:
    """Who is who for ``input_dir``: the generator's ground truth (with time zones) when ``ground_truth.jsonl``
    exists, else ``cluster_of`` (journeyflow's final identity clusters, identifier key -> cluster id)."""
    d = Path(input_dir)
    if (d / "ground_truth.jsonl").exists():
        from journeyflow.stages.identity.keys import Hasher
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
    """Per person: tickets, orders, consent timeline, time zone and phone numbers, from the raw events.  An order
    is one order however often it is reported (an ``order_placed`` of an order the person placed, not cancelled
    and no payment of it failed since, completes that order's items), as in the pipeline's state."""
    facts: dict[str, PersonFacts] = defaultdict(PersonFacts)
    tickets: dict[tuple[str, str], list] = {}  # (person, ticket id) -> [[(ts, 1 open|0 resolved)], ids]
    crm_tz: dict[str, tuple[int, str]] = {}
    tz_first: dict[str, int] = {}
    seen: set[str] = set()
    # (person, order id) -> index in the person's orders while that order stands: an order_placed of it is the
    # order reported again (README "Per-customer state"), not another purchase; a cancellation or a payment
    # failure ends it (so the events are read in event-time order, as read_events returns them)
    placed: dict[tuple[str, str], int] = {}
    for ev in sorted(events, key=lambda e: e.sort_key):
        if ev.uid in seen:
            continue
        seen.add(ev.uid)
        a = ev.attrs
        phone = (ev.contact.get("phone_key"), ev.contact.get("phone")) if ev.contact else (None, None)
        for person in persons.persons_of(ev):
            f = facts[person]
            if phone[0] and phone[1]:
                f.phones[phone[0]] = phone[1]  # (where quiet hours are kept: conflicts.in_quiet_hours)
            if ev.stream == "support":
                t = tickets.setdefault((person, str(a.get("ticket_id"))), [[], set()])
                t[1].update(ev.ids)
                if ev.type in ("ticket_opened", "ticket_escalated"):
                    t[0].append((ev.ts, 1))
                elif ev.type == "ticket_resolved":
                    t[0].append((ev.ts, 0))
            elif ev.stream == "orders" and ev.type == "order_placed":
                oid = str(a.get("order_id"))
                pids = frozenset(a.get("product_ids") or ())
                i = placed.get((person, oid))
                if i is None:
                    placed[(person, oid)] = len(f.orders)
                    f.orders.append((ev.ts, oid, pids))
                else:  # that order again (re-sent, or the other input form): no new order; its items complete it
                    ts0, _, pids0 = f.orders[i]
                    f.orders[i] = (ts0, oid, pids0 | pids)
            elif ev.stream == "orders" and ev.type in ("order_cancelled", "payment_failed"):
                oid = str(a.get("order_id"))
                placed.pop((person, oid), None)  # placed again after this, it is placed again (as the pipeline)
                if ev.type == "order_cancelled":
                    f.cancelled.setdefault(oid, []).append(ev.ts)
            elif ev.stream == "consent":
                status = "granted" if ev.type == "consent_granted" else "revoked"
                for ch in channels_of(a["channel"]):  # ("all": every channel, as the pipeline reads it)
                    f.consent.setdefault(ch, []).append((ev.ts, int(status in OPT_OUT), status))
            elif ev.stream == "engagement" and ev.type in OPT_OUT and ev.type != "bounced":
                # (a bounce stops the address it names, not the person's channel: conflicts.AddressFacts)
                for ch in channels_of(a["channel"]):
                    f.consent.setdefault(ch, []).append((ev.ts, 1, ev.type))
            elif ev.stream == "crm" and a.get("timezone"):
                if person not in crm_tz or ev.ts >= crm_tz[person][0]:
                    crm_tz[person] = (ev.ts, a["timezone"])
                tz_first[person] = min(tz_first.get(person, ev.ts), ev.ts)
    for (person, _tid), (changes, ids) in tickets.items():
        # the latest status in event time wins: each opening (or escalation) after a resolution starts a new open
        # period; a resolution with no opening before it closes a period open since before the input
        opened: int | None = None
        started = False
        for ts, is_open in sorted(changes):  # ties: the resolution first, so the ticket stays open (fail safe)
            if is_open:
                if opened is None:
                    opened, started = ts, True
            else:
                if opened is not None or not started:
                    facts[person].tickets.append(Ticket(opened if opened is not None else -(2**62), ts,
                                                        frozenset(ids)))
                opened, started = None, True
        if opened is not None:
            facts[person].tickets.append(Ticket(opened, None, frozenset(ids)))
    for person, f in facts.items():
        # a total order (still-open tickets, resolved None, after resolved ones opened at the same time)
        f.tickets.sort(key=lambda t: (t.opened, t.resolved is None, t.resolved or 0, sorted(t.ids)))
        f.orders.sort()
        for entries in f.consent.values():
            entries.sort()  # at equal times an opt-out (1) sorts after a grant (0): it wins
        f.tz = persons.timezones.get(person) or (crm_tz[person][1] if person in crm_tz else None)
        f.tz_known_since = tz_first.get(person)
    return dict(facts)


