"""Declared computed attributes (issue 19, point 4): the aggregates over sliding event-time windows and all time,
their bounds, expiry, identity merges, and the attributes file's errors with file:line."""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.attributes_loader import AttributesError, load_attributes_text
from journeyflow.stages.state import CustomerState, Retention

DAY = 86_400_000
FILE = textwrap.dedent("""\
    version: 1
    events:
      Song Played:
        properties: {seconds: int, genre: string, rating: double}
    traits: {plan: string, seats: int}
    attributes:
      plays_7d: {op: count, event: Song Played, window: 7d}
      plays: {op: count, event: Song Played}
      seconds_7d: {op: sum, event: Song Played, property: properties.seconds, window: 7d}
      seconds: {op: sum, event: Song Played, property: properties.seconds}
      min_rating_7d: {op: min, event: Song Played, property: properties.rating, window: 7d}
      max_rating: {op: max, event: Song Played, property: properties.rating}
      first_genre: {op: first, event: Song Played, property: properties.genre}
      last_genre_7d: {op: last, event: Song Played, property: properties.genre, window: 7d}
      genres_7d: {op: distinct_count, event: Song Played, property: properties.genre, window: 7d}
      genres: {op: distinct_count, event: Song Played, property: properties.genre, max_events: 2}
      long_plays: {op: count, event: Song Played, where: "event.properties.seconds > 200"}
      spend: {op: sum, event: order_placed, property: amount}
    """)
ATTRS = load_attributes_text(FILE, "a.yaml")


def _play(i: int, ts: int, seconds: int, genre: str, rating: float | int) -> Event:
    return Event(f"track/p{i}", "track", "Song Played", ts, ("crm:u",),
                 {"properties": {"seconds": seconds, "genre": genre, "rating": rating}})


def _values(state: CustomerState, now: int) -> dict:
    return ATTRS.values(state, now)


def test_aggregates_over_windows_and_all_time():
    s = CustomerState()
    plays = [(0, 100, "rock", 4.5), (1 * DAY, 300, "jazz", 3), (8 * DAY, 250, "pop", 5.0), (9 * DAY, 50, "rock", 2.0)]
    for i, (ts, sec, g, r) in enumerate(plays):
        ATTRS.observe(s, _play(i, ts, sec, g, r))
    ATTRS.observe(s, Event("orders/o1", "orders", "order_placed", 9 * DAY, ("crm:u",), {"amount": 19}))
    v = _values(s, 9 * DAY)
    assert v["plays_7d"] == 2 and v["plays"] == 4
    assert v["seconds_7d"] == 300 and v["seconds"] == 700
    assert v["min_rating_7d"] == 2.0 and v["max_rating"] == 5.0
    assert v["first_genre"] == "rock" and v["last_genre_7d"] == "rock"
    assert v["genres_7d"] == 2 and v["genres"] == 2  # all-time distinct values saturate at max_events (2)
    assert v["long_plays"] == 2
    assert v["spend"] == 19.0 and isinstance(v["spend"], float)  # a double property sums as a double
    # an empty window: counts are 0, min/first/last have no value (has() is false)
    later = _values(s, 30 * DAY)
    assert later["plays_7d"] == 0 and "min_rating_7d" not in later and "last_genre_7d" not in later


def test_a_property_of_the_wrong_type_is_skipped_but_counted():
    s = CustomerState()
    ATTRS.observe(s, _play(0, 0, "long", "rock", 1.0))  # seconds is a string here
    v = _values(s, 0)
    assert v["plays"] == 1 and v["seconds"] == 0


def test_windowed_state_is_bounded_and_expires():
    s = CustomerState()
    for i in range(500):
        ATTRS.observe(s, _play(i, i * 60_000, 10, f"g{i}", 1.0))
    assert all(len(rec.get("e", ())) <= 100 for rec in s.computed.values())
    assert len(s.computed["genres"]["d"]) == 2
    r = Retention(attributes=tuple(sorted(ATTRS.windows().items())))
    s.expire(40 * DAY, r)
    assert "plays_7d" not in s.computed and s.computed["plays"] == {"n": 500}
    s.expire(40 * DAY, Retention(attributes=(("plays", None),)))  # attributes no longer declared are dropped
    assert set(s.computed) == {"plays"}


def test_traits_keep_only_declared_ones_latest_in_event_time():
    s = CustomerState()
    ATTRS.observe(s, Event("track/i2", "track", "identify", 20, ("crm:u",), {"traits": {"plan": "pro", "x": 1}}))
    ATTRS.observe(s, Event("track/i1", "track", "identify", 10, ("crm:u",), {"traits": {"plan": "trial",
                                                                                       "seats": "many"}}))
    assert s.traits == {"plan": ["pro", 20]}


def test_a_group_calls_traits_are_the_groups_not_the_customers():
    """Segment ``group`` traits describe the company (``plan: enterprise`` of the account), not the user."""
    s = CustomerState()
    ATTRS.observe(s, Event("track/i", "track", "identify", 10, ("crm:u",), {"traits": {"plan": "trial"}}))
    ATTRS.observe(s, Event("track/g", "track", "group", 20, ("crm:u",), {"groupId": "acme",
                                                                        "traits": {"plan": "enterprise", "seats": 50}}))
    ATTRS.observe(s, Event("track/t", "track", "Report Built", 30, ("crm:u",), {"traits": {"seats": 3}}))
    assert s.traits == {"plan": ["trial", 10], "seats": [3, 30]}
    # a track call whose event is named "group" is no group call: its context.traits are the user's
    ATTRS.observe(s, Event("track/t2", "track", "group", 40, ("crm:u",), {"traits": {"plan": "pro"}}))
    assert s.traits["plan"] == ["pro", 40]


def test_merge_is_a_commutative_union():
    a, b = CustomerState(customer_id="a"), CustomerState(customer_id="b")
    ATTRS.observe(a, _play(0, 0, 100, "rock", 4.0))
    ATTRS.observe(b, _play(1, DAY, 300, "jazz", 2.0))
    ATTRS.observe(b, Event("track/i", "track", "identify", 5, ("crm:u",), {"traits": {"plan": "trial"}}))
    m1, m2 = a.merge(b), b.merge(a)
    assert m1.computed == m2.computed and m1.traits == m2.traits
    v = _values(m1, DAY)
    assert v["plays"] == 2 and v["plays_7d"] == 2 and v["first_genre"] == "rock" and v["min_rating_7d"] == 2.0
    assert v["genres"] == 2 and v["plan"] == "trial"
    assert CustomerState.from_bytes(m1.to_bytes()).computed == m1.computed


@pytest.mark.parametrize("body, message", [
    ("  x: {op: avg, event: login}", "a.yaml:3: attributes.x.op: 'avg' is not one of count, sum"),
    ("  x: {op: sum, event: login}", "a.yaml:3: attributes.x.property: sum needs a property"),
    ("  x: {op: sum, event: order_placed, property: currency}", "sum needs a number, 'currency' is a string"),
    ("  x: {op: count, event: order_placed, property: amout}",
     "unknown field 'amout' of event 'order_placed' (did you mean 'amount'?)"),
    ("  x: {op: count, event: login, window: 7days}", "a.yaml:3: attributes.x.window:"),
    ("  x: {op: count, event: login, where: \"event.produkt == 1\"}", "unknown field 'produkt' of event 'login'"),
    ("  x: {op: count, event: login, where: \"customer.cart_size > 1\"}", "unknown variable 'customer'"),
    ("  x: {op: count, event: login, max_events: 5000}", "max_events is an integer from 1 to 1000"),
    ("  Bad: {op: count, event: login}", "is not a valid attribute name"),
    ("  x: {op: count, event: add_to_cart, stream: orders}", "unknown event 'add_to_cart' in stream 'orders'"),
    ("  x: {op: count, event: add_to_crat}", "a.yaml:3: attributes.x.event: unknown event 'add_to_crat' (did you mean 'add_to_cart'?)"),
])
def test_attribute_errors_have_file_and_line(body, message):
    with pytest.raises(AttributesError) as e:
        load_attributes_text("version: 1\nattributes:\n" + body + "\n", "a.yaml")
    assert any(message in err for err in e.value.errors), e.value.errors


def test_unknown_top_level_keys_and_types():
    with pytest.raises(AttributesError) as e:
        load_attributes_text("version: 1\ntraits: {plan: text}\nattributes_: {}\n", "a.yaml")
    assert e.value.errors == [
        "a.yaml:2: traits.plan: unknown type 'text' (use string, int, double, bool, timestamp, dyn, list<T> or "
        "map<T>)",
        "a.yaml:3: attributes_: unknown field 'attributes_' (allowed: attributes, events, traits, version)"]


def test_a_property_named_without_properties_prefix_gets_the_path_as_hint():
    """``property`` is a path of the event as conditions see it: a Segment event's declared property is
    ``properties.<name>``; naming it bare says so."""
    with pytest.raises(AttributesError) as e:
        load_attributes_text("version: 1\nevents:\n  Trial Ending Soon:\n    properties: {days_left: int}\n"
                             "attributes:\n  x: {op: last, event: Trial Ending Soon, property: days_left}\n", "a.yaml")
    assert e.value.errors == ["a.yaml:6: attributes.x.property: unknown field 'days_left' of event 'Trial Ending Soon' "
                              "(did you mean 'properties.days_left'?)"]


def test_an_attribute_on_a_mapped_segment_event_points_at_the_built_in_one():
    """``Signed In`` is web ``login`` after the Segment mapping: counting it on stream track would count nothing."""
    body = "version: 1\nattributes:\n  x: {op: count, event: Signed In%s}\n"
    with pytest.raises(AttributesError) as e:
        load_attributes_text(body % "", "a.yaml")
    assert e.value.errors == ["a.yaml:3: attributes.x.event: unknown event 'Signed In' (the Segment mapping turns it "
                              "into web 'login': use event: login)"]
    assert load_attributes_text(body % ", stream: track", "a.yaml").attributes  # without the mapping: user-named
    with pytest.raises(AttributesError) as e:
        load_attributes_text(body % ", stream: track", "a.yaml", mapped={"Signed In": ("web", "login")})
    assert e.value.errors == ["a.yaml:3: attributes.x.event: event 'Signed In' never reaches stream 'track': the "
                              "Segment mapping turns it into web 'login' (use event: login)"]
