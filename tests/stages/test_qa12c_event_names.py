"""Event names a data engineer writes in the attributes and journey files (qa12c): a declaration, journey trigger
or computed attribute that could never apply is refused at load with file:line and what to write, instead of
silently never checking a type or never firing (``stages.attributes_loader._events``, ``journeys.loader``)."""
from __future__ import annotations

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.conditions import JourneyError
from journeyflow.stages.journeys.loader import load_journeys_text

HEAD = "version: 1\nevents:\n"
JOURNEY = """version: 1
journeys:
  - id: upgrade_thanks
    category: marketing
    priority: 1
    entry: {event: %s, stream: track}
    steps:
      - id: thanks
        send: {channel: email, content_id: upgrade_thanks}
"""


@pytest.fixture(scope="module")
def mapped():
    return EngineConfig.from_files().mapped()  # the shipped Segment mapping (Product Added -> web add_to_cart)


def _errors(text: str, mapped) -> str:
    with pytest.raises(JourneyError) as e:
        load_attributes_text(text, "attributes.yaml", mapped)
    return "\n".join(e.value.errors)


@pytest.mark.parametrize("events, line, words", [
    ("  ' Plan Upgraded ':\n    properties: {seats: int}\n", 3, ["spaces around it", "'Plan Upgraded'"]),
    ("  Product Added:\n    properties: {sku: string}\n", 3, ["Segment mapping", "add_to_cart"]),
    ("  Plan Upgraded:\n    stream: web\n    properties: {seats: int}\n", 4, ["not a built-in web event", "track"]),
    ("  Login:\n    properties: {method: string}\n", 3, ["built-in event 'login'", "stream: track"]),
    ("  add to cart:\n    properties: {sku: string}\n", 3, ["built-in event 'add_to_cart'"]),
    ("  Plan Upgraded:\n    properties: {seats: int}\n  plan upgraded:\n    properties: {seats: string}\n", 5,
     ["declared twice", "'Plan Upgraded'"]),
])
def test_a_declaration_that_could_never_apply_is_refused(mapped, events, line, words):
    message = _errors(HEAD + events, mapped)
    assert message.startswith(f"attributes.yaml:{line}: "), message
    for w in words:
        assert w in message, message


def test_the_intended_declarations_load(mapped):
    text = HEAD + ("  Login:\n    stream: track\n    properties: {method: string}\n"
                   "  add_to_cart:\n    properties: {sku: string}\n  Plan Upgraded:\n    properties: {seats: int}\n")
    decl = load_attributes_text(text, "attributes.yaml", mapped).declarations
    assert {n: d.stream for n, d in decl.events.items()} == {
        "Login": "track", "add_to_cart": "web", "Plan Upgraded": "track"}


def test_a_trigger_or_attribute_on_a_name_with_spaces_around_it_is_refused(mapped):
    with pytest.raises(JourneyError) as e:
        load_journeys_text(JOURNEY % "' Plan Renewed '", "journeys.yaml")
    assert e.value.errors[0].startswith("journeys.yaml:6: ") and "spaces around it" in e.value.errors[0]
    message = _errors("version: 1\nattributes:\n  renewals: {op: count, event: ' Plan Renewed ', stream: track}\n",
                      mapped)
    assert message.startswith("attributes.yaml:3: ") and "spaces around it" in message, message
    assert load_journeys_text(JOURNEY % "'Plan Renewed'", "journeys.yaml")  # the trimmed name loads


@pytest.mark.parametrize("call", ["identify", "group", "alias"])
def test_properties_declared_for_a_call_that_has_none_are_refused(mapped, call):
    message = _errors(HEAD + f"  {call}:\n    properties: {{plan: string}}\n", mapped)
    assert message.startswith(f"attributes.yaml:4: events.{call}.properties: ") and "traits" in message, message
