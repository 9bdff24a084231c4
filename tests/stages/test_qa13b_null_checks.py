"""``x == null`` on a declared property or trait (or any field of a known type) is refused at load time, naming
``!has(x)`` (qa13b, lead 5).  Such a value is never null: a null sent is removed on input (absent), and CEL does not
read an absent field as null -- selecting an absent map key is an error and ``has()`` tests presence (cel-spec
langdef "Field Selection" and "Macros"; ``_==_`` is ``(A, A) -> bool``, null only of its own type, as cel-go's
checker refuses ``string == null``).  Before, ``event.properties.plan == null`` loaded and never held (each
evaluation a counted error), so a journey meant for events without a plan never fired.  Undeclared (``dyn``) values,
which may hold a JSON null, still compare with null."""
from __future__ import annotations

import pytest

from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.conditions import JourneyError, compile_condition

ATTRS = """version: 1
events:
  Trial Ending Soon:
    properties: {plan: string, days_left: int, tags: 'list<string>'}
traits:
  plan: string
"""


def _vars(event: str = "Trial Ending Soon"):
    decl = load_attributes_text(ATTRS, "attributes.yaml").declarations
    return decl.variables(decl.event_type(event, "track"))


@pytest.mark.parametrize("text, advice", [
    ("event.properties.plan == null", "!has(event.properties.plan)"),
    ("null == event.properties.plan", "!has(event.properties.plan)"),
    ("event.properties.days_left != null && event.properties.days_left < 3", "has(event.properties.days_left)"),
    ("event.properties.tags == null", "!has(event.properties.tags)"),
    ("customer.traits.plan == null", "!has(customer.traits.plan)"),
    ("customer.lifecycle_stage == null", "never null"),
    ("event.ts != null", "never null"),
])
def test_null_compared_with_a_typed_field_is_refused_with_the_presence_test(text, advice):
    with pytest.raises(JourneyError) as e:
        compile_condition(text, "journeys.yaml:7: journeys[0].entry.when", _vars())
    message = str(e.value)
    assert "never null" in message and advice in message, message


def test_the_presence_tests_load_and_hold():
    c = compile_condition("!has(event.properties.plan)", "j.yaml:1", _vars())
    base = {"stream": "track", "type": "Trial Ending Soon", "ts": 1}
    assert c.evaluate({"event": {**base, "properties": {}}, "customer": {}}) is True
    assert c.evaluate({"event": {**base, "properties": {"plan": "pro"}}, "customer": {}}) is False


def test_an_undeclared_value_still_compares_with_null():
    c = compile_condition("event.properties.coupon == null", "j.yaml:1", _vars("Other Event"))
    act = {"event": {"stream": "track", "type": "Other Event", "ts": 1, "properties": {"coupon": None}},
           "customer": {}}
    assert c.evaluate(act) is True and c.errors == 0


def test_a_journey_file_says_where(tmp_path):
    from journeyflow.config.engine import EngineConfig
    (tmp_path / "attributes.yaml").write_text(ATTRS)
    (tmp_path / "journeys.yaml").write_text("""version: 1
journeys:
  - id: no_plan
    category: marketing
    priority: 100
    entry:
      event: Trial Ending Soon
      stream: track
      when: "event.properties.plan == null"
    steps:
      - {id: mail, send: {channel: email, content_id: pick_a_plan}}
""")
    with pytest.raises(Exception) as e:
        EngineConfig.from_files(journeys=str(tmp_path / "journeys.yaml"),
                                attributes=str(tmp_path / "attributes.yaml")).journeys()
    assert "journeys.yaml:9" in str(e.value) and "!has(event.properties.plan)" in str(e.value), str(e.value)
