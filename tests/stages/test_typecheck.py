"""Type-checked conditions (issue 19, point 5): unknown fields and type mismatches are load errors with file:line,
and the fast path follows CEL's numeric comparison rules."""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.stages.attributes_loader import AttributesError, load_attributes_text
from journeyflow.stages.conditions import JourneyError, compile_condition
from journeyflow.stages.journeys import default_journeys, load_journeys_text

ATTRS_TEXT = textwrap.dedent("""\
    version: 1
    events:
      Trial Ending Soon:
        properties: {days_left: int, plan: string}
    traits: {plan: string}
    attributes:
      logins_7d: {op: count, event: login, window: 7d}
      spend_30d: {op: sum, event: order_placed, property: amount, window: 30d}
    """)
ATTRS = load_attributes_text(ATTRS_TEXT, "a.yaml")


def _journey(when: str, event: str = "product_view", stream: str = "web") -> str:
    return textwrap.dedent(f"""\
        journeys:
          - id: j
            category: marketing
            priority: 1
            entry:
              event: {event}
              stream: {stream}
              when: "{when}"
            steps: [{{id: s, exit: true}}]
        """)


def _error(when: str, **kw) -> str:
    with pytest.raises(JourneyError) as e:
        load_journeys_text(_journey(when, **kw), "j.yaml", ATTRS.declarations)
    assert len(e.value.errors) == 1, e.value.errors
    return e.value.errors[0]


@pytest.mark.parametrize("when, message", [
    ("customer.lifecycle == 'lead'", "unknown field 'lifecycle' of customer (did you mean 'lifecycle_stage'?)"),
    ("customer.product_view_7d >= 3", "unknown field 'product_view_7d' of customer (did you mean 'product_views_7d'?)"),
    ("event.produkt_id == 'p1'", "unknown field 'produkt_id' of event 'product_view' (did you mean 'product_id'?)"),
    ("customer.product_views_7d >= '3'", "customer.product_views_7d is an int, compared with a string ('3')"),
    ("event.cast > 1", "unknown field 'cast' of event 'product_view'"),
    ("customer.traits.logins_7 >= 5", "unknown field 'logins_7' of customer.traits (did you mean 'logins_7d'?)"),
    ("customer.cart_size", "the condition is an int, not a bool"),
    ("customer.cart_size + 1.0 > 2.0", "no overload for int + double"),
    ("customer.consent.emial", "unknown field 'emial' of customer.consent (did you mean 'email'?)"),
    ("has(event.csatt)", "unknown field 'csatt' of event 'product_view'"),
])
def test_the_issues_typos_are_rejected_with_file_and_line(when, message):
    err = _error(when)
    assert err.startswith("j.yaml:8: journeys[0].entry.when: "), err
    assert message in err


def test_declared_properties_are_typed_and_closed():
    assert "unknown field 'dayz_left' of the properties of event 'Trial Ending Soon'" in _error(
        "event.properties.dayz_left < 3", event="Trial Ending Soon", stream="track")
    assert "is an int, compared with a string" in _error(
        "event.properties.days_left < '3'", event="Trial Ending Soon", stream="track")
    ok = _journey("event.properties.days_left <= 7 && customer.traits.plan == 'trial' && "
                  "customer.traits.logins_7d < 5 && customer.traits.spend_30d > 99", event="Trial Ending Soon",
                  stream="track")
    assert len(load_journeys_text(ok, "j.yaml", ATTRS.declarations)) == 1


def test_undeclared_custom_events_need_stream_track_and_keep_open_properties():
    ok = _journey("event.properties.anything == 'x'", event="App Crashed", stream="track")
    assert load_journeys_text(ok, "j.yaml")[0].entry[0].type == "App Crashed"
    bad = textwrap.dedent("""\
        journeys:
          - id: j
            category: marketing
            priority: 1
            entry: {event: App Crashed}
            steps: [{id: s, exit: true}]
        """)
    with pytest.raises(JourneyError) as e:
        load_journeys_text(bad, "j.yaml")
    assert e.value.errors == ["j.yaml:5: journeys[0].entry.event: 'App Crashed' is not a known value (a user-named "
                              "event needs stream: track, or a declaration in the attributes file)"]


def test_default_journeys_type_check():
    """Every shipped journey loads (its conditions type-check: loading raises otherwise)."""
    import yaml

    from journeyflow.config.engine import default_text
    declared = [j["id"] for j in yaml.safe_load(default_text("journeys.yaml"))["journeys"]]
    assert [j.id for j in default_journeys()] == declared


@pytest.mark.parametrize("text, activation, expected", [
    ("event.amount > 99.5", {"event": {"amount": 120}}, True),      # int vs double: by value
    ("event.amount > 99.5", {"event": {"amount": 99}}, False),
    ("event.amount == 120", {"event": {"amount": 120.0}}, True),
    ("12 == 12u", {}, True),
    ("12u < 13", {}, True),
    ("event.n < 2u", {"event": {"n": 1.5}}, True),
    ("event.n >= 9007199254740993", {"event": {"n": 9007199254740992.0}}, False),  # exact, not via float
])
def test_fast_path_follows_cel_numeric_comparison(text, activation, expected):
    c = compile_condition(text, "w")
    assert c.evaluate(activation) is expected
    assert c.errors == 0 and c.fallbacks == 0


def test_runtime_errors_and_non_bool_results_are_counted():
    from journeyflow.stages.conditions import take_counts
    take_counts()
    missing = compile_condition("event.properties.plan == 'trial'", "w")
    assert missing.evaluate({"event": {"properties": {}}}) is False
    assert missing.errors == 1
    non_bool = compile_condition("event.x", "w")
    assert non_bool.evaluate({"event": {"x": 3}}) is False
    assert non_bool.non_bool == 1
    c = take_counts()
    assert (c["errors"], c["non_bool"]) == (1, 1)


def test_declared_customer_fields_are_the_facts_conditions_see():
    """``declarations.CUSTOMER_FIELDS`` is the type checker's list of ``customer`` fields: it must name exactly the
    facts ``CustomerState.facts`` and the engine's product facts give conditions (a fact added to one and not the
    other made the default journeys fail to load)."""
    from journeyflow.stages.declarations import CUSTOMER_FIELDS
    from journeyflow.stages.journeys.engine import _PRODUCT_KEYS
    from journeyflow.stages.state import CustomerState
    facts = CustomerState(customer_id="crm:c1", ids=["crm:c1"]).facts(1_790_000_000_000)
    assert set(CUSTOMER_FIELDS) == set(facts) | set(_PRODUCT_KEYS) | {"reachable"}  # (journeys.context, qa14c)


@pytest.mark.parametrize("typo, meant", [
    ("Trial Endng Soon", "Trial Ending Soon"),      # a letter missing
    ("trial ending soon", "Trial Ending Soon"),     # case
    ("TrialEndingSoon", "Trial Ending Soon"),       # spaces
    ("Trial-Ending-Soon", "Trial Ending Soon"),     # hyphens
    ("Triál Endíng Sóon", "Trial Ending Soon"),     # accents
    ("Trial Ednig Soon", "Trial Ending Soon"),      # two slips, still close (difflib)
    ("Page Viewd", "Page Viewed"),                  # the type of a Segment page call
    ("identfy", "identify"),
])
def test_a_misspelt_user_named_trigger_is_rejected_with_the_name_it_misses(typo, meant):
    mapped = {"Product Viewed": ("web", "product_view"), "Order Completed": ("orders", "order_placed")}
    decl = load_attributes_text(ATTRS_TEXT, "a.yaml", mapped=mapped).declarations
    with pytest.raises(JourneyError) as e:
        load_journeys_text(_journey("true", event=typo, stream="track"), "j.yaml", decl)
    assert e.value.errors == [f"j.yaml:6: journeys[0].entry.event: event '{typo}' is neither declared nor mapped: "
                              f"did you mean '{meant}'? (a misspelt event never fires; declare '{typo}' under events "
                              f"in the attributes file if the name is right)"]


@pytest.mark.parametrize("typo, meant", [("Product Viewd", "Product Viewed"), ("Order Complete", "Order Completed")])
def test_a_misspelt_mapped_name_points_at_the_built_in_event_at_once(typo, meant):
    mapped = {"Product Viewed": ("web", "product_view"), "Order Completed": ("orders", "order_placed")}
    decl = load_attributes_text(ATTRS_TEXT, "a.yaml", mapped=mapped).declarations
    with pytest.raises(JourneyError) as e:
        load_journeys_text(_journey("true", event=typo, stream="track"), "j.yaml", decl)
    stream, etype = mapped[meant]
    assert e.value.errors == [f"j.yaml:6: journeys[0].entry.event: event '{typo}' is neither declared nor mapped: "
                              f"did you mean '{meant}', which the Segment mapping turns into {stream} '{etype}' "
                              f"(event: {etype}, stream: {stream})? (a misspelt event never fires; declare '{typo}' "
                              f"under events in the attributes file if the name is right)"]


def test_decomposed_unicode_of_a_declared_name_is_a_near_miss():
    """``Cafe\u0301 Opened`` looks like the declared ``Café Opened`` but is another string: it would never fire."""
    decl = load_attributes_text("version: 1\nevents:\n  Café Opened: {}\n", "a.yaml").declarations
    assert decl.near_miss("Cafe\u0301 Opened") == "Café Opened" and decl.near_miss("Café Opened") is None


def test_the_built_in_track_call_types_are_the_segment_parsers():
    from journeyflow.stages.declarations import TRACK_CALL_TYPES
    from journeyflow.stages.segment.parse import CALL_TYPES
    assert TRACK_CALL_TYPES == set(CALL_TYPES.values())


@pytest.mark.parametrize("name", ["Product Reviewed", "Signed Out", "Trial Ending Later", "App Crashed",
                                  "Page Viewed", "group"])
def test_real_event_names_near_declared_ones_are_not_taken_for_typos(name):
    """Segment Spec semantic names (Product Reviewed ~ Product Viewed, Signed Out ~ Signed In) and names that differ
    by more than a slip stay user-named events of stream track."""
    mapped = {"Product Viewed": ("web", "product_view"), "Signed In": ("web", "login")}
    decl = load_attributes_text(ATTRS_TEXT, "a.yaml", mapped=mapped).declarations
    assert load_journeys_text(_journey("true", event=name, stream="track"), "j.yaml", decl)[0].entry[0].type == name


def test_an_attribute_on_a_misspelt_track_event_is_rejected():
    text = ATTRS_TEXT + "  reminders: {op: count, event: Trial Endng Soon, stream: track}\n"
    with pytest.raises(AttributesError) as e:
        load_attributes_text(text, "a.yaml")
    assert e.value.errors == ["a.yaml:9: attributes.reminders.event: event 'Trial Endng Soon' is neither declared "
                              "nor mapped: did you mean 'Trial Ending Soon'? (declare 'Trial Endng Soon' under events "
                              "if the name is right)"]
