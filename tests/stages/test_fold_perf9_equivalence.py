"""The session-9 fast paths of the decision core give what the plain rules give (no behaviour change):

* ``AttributeSet.observe`` (windowed attributes folded inline) equals folding each attribute with
  ``attributes._windowed`` / ``_all_time`` one by one, for random events in and out of time order, ties included;
* ``state_bounds.expire_journeys`` (a first pass that picks the memberships a pass may change) equals the rule
  applied to every membership, for random membership records (markers, finished, active, journeys no longer
  configured, entries old and over the cap).
"""
from __future__ import annotations

import copy
import random
import textwrap

from journeyflow.model.events import Event
from journeyflow.stages.attributes import _all_time, _windowed
from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.state import CustomerState, Retention
from journeyflow.stages.state_bounds import expire_journeys

DAY = 86_400_000
ATTRS = load_attributes_text(textwrap.dedent("""\
    version: 1
    events:
      Song Played:
        properties: {seconds: int, genre: string, rating: double}
    attributes:
      plays_2d: {op: count, event: Song Played, window: 2d, max_events: 5}
      plays: {op: count, event: Song Played}
      seconds_2d: {op: sum, event: Song Played, property: properties.seconds, window: 2d}
      min_rating_2d: {op: min, event: Song Played, property: properties.rating, window: 2d}
      max_rating_2d: {op: max, event: Song Played, property: properties.rating, window: 2d, max_events: 3}
      first_genre_2d: {op: first, event: Song Played, property: properties.genre, window: 2d}
      last_genre_2d: {op: last, event: Song Played, property: properties.genre, window: 2d}
      genres_2d: {op: distinct_count, event: Song Played, property: properties.genre, window: 2d, max_events: 3}
      long_plays_2d: {op: count, event: Song Played, where: "event.properties.seconds > 200", window: 2d}
      track_plays: {op: count, event: Song Played, stream: track, window: 2d}
      max_rating: {op: max, event: Song Played, property: properties.rating}
      last_product_2d: {op: last, event: product_view, property: product_id, window: 2d}
      products_2d: {op: distinct_count, event: product_view, property: product_id, window: 2d}
      first_product_2d: {op: first, event: product_view, property: product_id, window: 2d}
    """), "a.yaml")


def _reference_observe(state: CustomerState, ev: Event) -> None:
    """``AttributeSet.observe`` before session 9 (one call of the aggregate's function per attribute)."""
    for a in ATTRS._by_type.get(ev.type, ()):
        if a.stream is not None and a.stream != ev.stream:
            continue
        if a.where is not None and not a.where.evaluate(
                {"event": {**ev.attrs, "stream": ev.stream, "type": ev.type, "ts": ev.ts}}):
            continue
        if a.window_ms is not None:
            _windowed(state.computed, a, ev.ts, None if a.op == "count" else a.value_of(ev))
        elif a.op == "count":
            rec = state.computed.get(a.name)
            state.computed[a.name] = {"n": 1} if rec is None else {"n": rec["n"] + 1}
        else:
            _all_time(state.computed, a, ev.ts, a.value_of(ev))


def test_observe_equals_the_attribute_by_attribute_fold():
    rng = random.Random(19)
    for _ in range(100):
        fast, ref = CustomerState(), CustomerState()
        ts = 0
        for i in range(rng.randint(1, 40)):
            ts += rng.choice((0, 0, 1, 3_600_000, DAY, 3 * DAY)) * (1 if rng.random() < 0.9 else -1)
            props = {"seconds": rng.choice((50, 250, "x", None)), "genre": rng.choice(("rock", "pop", "jazz", 7)),
                     "rating": rng.choice((1.0, 2.5, 4, float("nan"), True))}
            if rng.random() < 0.4:  # a top-level string property (of any type here, or too long, or missing)
                pid = rng.choice(("p1", "p2", 7, None, "x" * 300, True))
                ev = Event(f"e{i}", "web", "product_view", ts, ("crm:u",), {} if pid is None else {"product_id": pid})
            else:
                ev = Event(f"e{i}", rng.choice(("track", "web")), "Song Played", ts, ("crm:u",),
                           {"properties": props})
            ATTRS.observe(fast, ev)
            _reference_observe(ref, ev)
            assert fast.computed == ref.computed
            assert repr(fast.computed) == repr(ref.computed)  # (the same order and value types too)


def _reference_expire_journeys(journeys: dict, now: int, r: Retention) -> None:
    """``expire_journeys`` before session 9: the rule applied to every membership."""
    lo, most, configured = now - r.journey_history_ms, r.max_entries_per_journey, r.journey_ids
    for jid, m in list(journeys.items()):
        step = m.get("step")
        if not step and configured is not None and jid not in configured:
            del journeys[jid]
            continue
        entries = m.get("entries")
        if entries is None:
            m["entries"] = entries = []
        elif not entries or (min(entries) > lo and len(entries) <= most):
            pass
        else:
            entries = m["entries"] = [e for e in entries if e > lo][-most:]
        if not step and not entries:
            if m.get("n"):
                journeys[jid] = {k: m[k] for k in ("n", "c") if k in m}
            else:
                del journeys[jid]


def _membership(rng: random.Random) -> dict:
    kind = rng.choice(("marker", "finished", "active", "active", "finished"))
    if kind == "marker":
        return {"n": 1, **({"c": 0} if rng.random() < 0.5 else {})}
    m: dict = {"step": "s1" if kind == "active" else None, "entered": 10 * DAY, "goal": None}
    if rng.random() < 0.9:
        m["entries"] = sorted(rng.choice((DAY, 50 * DAY, 100 * DAY)) + i for i in range(rng.choice((0, 1, 3, 6))))
    if rng.random() < 0.3:
        m["n"] = 1
    return m


def test_expire_journeys_equals_the_rule_on_every_membership():
    rng = random.Random(23)
    for _ in range(500):
        r = Retention(journey_history_ms=rng.choice((30, 180)) * DAY, max_entries_per_journey=rng.choice((2, 5, 20)),
                      journey_ids=rng.choice((None, frozenset({"j0", "j1", "j2"}))))
        journeys = {f"j{i}": _membership(rng) for i in range(rng.randint(0, 6))}
        ref = copy.deepcopy(journeys)
        now = rng.choice((60, 120, 200)) * DAY
        expire_journeys(journeys, now, r)
        _reference_expire_journeys(ref, now, r)
        assert journeys == ref and list(journeys) == list(ref)


def _reference_expire_computed(computed: dict, windows: dict, now: int) -> None:
    """``expire_computed`` before session 9: every windowed attribute looked up in turn."""
    from bisect import bisect_right
    declared = frozenset(windows)
    gone = [n for n in computed if n not in declared]
    lost = []
    for name, w in ((k, w) for k, w in windows.items() if w is not None):
        rec = computed.get(name)
        if rec is not None and "e" in rec:
            e = rec["e"]
            if e and e[0][0] <= now - w:
                e = rec["e"] = e[bisect_right(e, now - w, key=lambda x: x[0]):]
            if not e:
                lost.append(name)
    for name in gone + lost:
        del computed[name]


def test_expire_computed_equals_the_attribute_by_attribute_pass():
    from journeyflow.stages.attributes import expire_computed
    rng = random.Random(29)
    pairs = tuple(sorted(ATTRS.windows().items()))
    for _ in range(300):
        state = CustomerState()
        ts = 0
        for i in range(rng.randint(0, 30)):
            ts += rng.choice((0, 3_600_000, DAY))
            ATTRS.observe(state, Event(f"e{i}", "track", "Song Played", ts, ("crm:u",),
                                       {"properties": {"seconds": 300, "genre": "rock", "rating": 2.0}}))
        if rng.random() < 0.3:
            state.computed["dropped_attr"] = {"n": 3}
        ref = copy.deepcopy(state.computed)
        now = ts + rng.choice((0, DAY, 2 * DAY, 5 * DAY))
        expire_computed(state.computed, pairs, now)
        _reference_expire_computed(ref, dict(pairs), now)
        assert state.computed == ref and list(state.computed) == list(ref)


def test_recent_equals_the_filter_then_the_newest():
    """``state_bounds._recent`` (``seen`` and ``purchases`` at expiry) cuts time-ordered dicts at the first kept
    entry without a loop per entry; any dict gives what the filter gives, in the same order."""
    from journeyflow.stages.state_bounds import _recent
    rng = random.Random(31)
    for _ in range(2000):
        n = rng.randint(1, 30)
        times = sorted(rng.randint(0, 20) for _ in range(n))
        if rng.random() < 0.4:  # not in time order (a merge, a state read back)
            rng.shuffle(times)
        d = {f"k{i}": t for i, t in enumerate(times)}
        cutoff, most = rng.randint(-1, 21), rng.choice((3, 10, 100))
        kept = {k: v for k, v in d.items() if v > cutoff} if min(d.values()) <= cutoff else d
        if len(kept) > most:
            kept = dict(sorted(kept.items(), key=lambda kv: (kv[1], kv[0]))[-most:])
        got = _recent(dict(d), cutoff, most)
        assert got == kept and list(got) == list(kept)
