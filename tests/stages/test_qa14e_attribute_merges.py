"""QA round 14 (qa14e): an identity merge of two profiles' computed attributes counted more events than
``max_events`` allows.  Each profile keeps at most ``max_events`` entries of a windowed attribute (a window with
more matching events counts its latest ``max_events``), and an all-time ``distinct_count`` saturates at
``max_events`` values; the merge's union holds both profiles' entries, so right after a merge
``plays_7d`` (max_events 3) was 6 where one profile seeing the same six plays says 3 (and ``genres`` 6 values).  A
merged profile now reads as one profile that saw every event: the latest ``max_events`` entries, distinct values
capped at ``max_events`` (``stages.attributes._value``)."""
from __future__ import annotations

import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from journeyflow.model.events import Event
from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.state import CustomerState

ATTRS = load_attributes_text(textwrap.dedent("""\
    version: 1
    events:
      Song Played:
        properties: {seconds: int, genre: string}
    attributes:
      plays_7d: {op: count, event: Song Played, window: 7d, max_events: 3}
      seconds_7d: {op: sum, event: Song Played, property: properties.seconds, window: 7d, max_events: 3}
      shortest_7d: {op: min, event: Song Played, property: properties.seconds, window: 7d, max_events: 3}
      longest_7d: {op: max, event: Song Played, property: properties.seconds, window: 7d, max_events: 3}
      first_7d: {op: first, event: Song Played, property: properties.genre, window: 7d, max_events: 3}
      last_7d: {op: last, event: Song Played, property: properties.genre, window: 7d, max_events: 3}
      genres: {op: distinct_count, event: Song Played, property: properties.genre, max_events: 3}
      genres_7d: {op: distinct_count, event: Song Played, property: properties.genre, window: 7d, max_events: 3}
      plays: {op: count, event: Song Played}
    """), "attributes.yaml")


def _play(i: int, ts: int, genre: str, seconds: int) -> Event:
    return Event(f"track/p{i}", "track", "Song Played", ts, ("crm:u",),
                 {"properties": {"seconds": seconds, "genre": genre}})


def _one_and_merged(plays: list[tuple[int, str, int, bool]], after: list[tuple[int, str, int]] = ()
                    ) -> tuple[dict, dict, dict]:
    """The values of one profile that saw ``plays`` and then ``after``, and of two profiles that shared ``plays``
    (``on_a``), merged (both ways), that then saw ``after``."""
    one, a, b = CustomerState(), CustomerState(customer_id="a"), CustomerState(customer_id="b")
    for i, (ts, genre, seconds, on_a) in enumerate(sorted(plays, key=lambda p: p[0])):
        ev = _play(i, ts, genre, seconds)
        ATTRS.observe(one, ev)
        ATTRS.observe(a if on_a else b, ev)
    merged, swapped = a.merge(b), b.merge(a)
    for i, (ts, genre, seconds) in enumerate(after):
        for s in (one, merged, swapped):
            ATTRS.observe(s, _play(100 + i, ts, genre, seconds))
    now = max(p[0] for p in [*plays, *after])
    return ATTRS.values(one, now), ATTRS.values(merged, now), ATTRS.values(swapped, now)


def test_six_plays_split_over_two_profiles_count_as_on_one():
    genres = ["rock", "jazz", "pop", "folk", "soul", "rap"]
    plays = [(1000 * i, g, 10 * (i + 1), i % 2 == 0) for i, g in enumerate(genres)]
    one, merged, _ = _one_and_merged(plays)
    assert one["plays_7d"] == 3 and one["seconds_7d"] == 150 and one["first_7d"] == "folk" and one["genres"] == 3
    assert merged == one


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["rock", "jazz", "pop", "folk", "soul"]),
                          st.integers(1, 500), st.booleans()), min_size=1, max_size=12, unique_by=lambda p: p[0]))
def test_a_merged_profile_reads_as_one_profile_that_saw_every_event(days):
    # distinct event times half a day apart or more: within 7 days of the last one and beyond it
    plays = [(d * 43_200_000 + i, g, s, on_a) for i, (d, g, s, on_a) in enumerate(days)]
    one, merged, swapped = _one_and_merged(plays)
    assert merged == one and swapped == one
    # and after the merge, the merged profile's next plays count as on one profile
    last = max(p[0] for p in plays)
    after = [(last + 1000 * (i + 1), g, 7) for i, g in enumerate(["rock", "jazz", "rock", "pop"])]
    one, merged, swapped = _one_and_merged(plays, after)
    assert merged == one and swapped == one


def test_a_sum_of_an_undeclared_property_is_the_double_it_is_declared():
    """A ``sum`` of an undeclared property is a ``double`` to the type checker (``customer.traits.x + 1.0``), but a sum
    of ints was an int at run time: ``type(customer.traits.points) == double`` was false, and the snapshot wrote 3,
    not 3.0.  The value is now the double it is declared."""
    from journeyflow.stages.conditions import compile_condition
    from journeyflow.stages.attributes import TraitsView
    attrs = load_attributes_text(textwrap.dedent("""\
        version: 1
        attributes:
          points: {op: sum, event: Points Earned, stream: track, property: properties.points}
          points_7d: {op: sum, event: Points Earned, stream: track, property: properties.points, window: 7d}
        """), "attributes.yaml")
    s = CustomerState()
    for i, p in enumerate([1, 2]):
        ev = Event(f"track/q{i}", "track", "Points Earned", 1000 + i, ("crm:u",), {"properties": {"points": p}})
        attrs.observe(s, ev)
    v = attrs.values(s, 2000)
    assert v == {"points": 3.0, "points_7d": 3.0} and all(type(x) is float for x in v.values())
    decl = attrs.declarations
    c = compile_condition("type(customer.traits.points) == double && customer.traits.points_7d + 1.0 == 4.0", "w",
                          decl.variables(decl.event_type("Points Earned", "track")))
    assert c.evaluate({"event": {}, "customer": {"traits": TraitsView(attrs, s, 2000)}}) is True
