"""perf20e (issue 22): cheaper journey conditions, the same results.

* ``Condition.evaluate_in(ctx)`` gives what ``evaluate(ctx.activation())`` gives; a condition whose parse tree names
  no ``event`` gets ``{"customer": ...}`` only (``reads_event`` False: the event's dict is not built), and a fallback
  to cel-python still sees the whole activation.
* ``customer.reachable`` is a Mapping computed per channel when read: the same values as a dict of all channels.
* ``matches()`` remembers its result per text: the same as cel-python's, for repeated, many and long texts.
"""
from __future__ import annotations

import pytest

from journeyflow.model.decisions import CHANNELS
from journeyflow.model.events import Event
from journeyflow.stages.conditions import compile_condition
from journeyflow.stages.journeys.context import _Ctx
from journeyflow.stages.state import CustomerState

NOW = 1_700_000_000_000


def _event(**attrs) -> Event:
    return Event(uid="u1", stream="support", type="ticket_opened", ts=NOW, ids=(), attrs=attrs)


@pytest.mark.parametrize("text, reads", [
    ("customer.orders_90d >= 0", False),
    ("customer.lifecycle_stage.matches('^lead$') || customer.orders_90d > 2", False),
    ("has(event.severity)", True),
    ("customer.orders_90d >= 0 && event.type == 'ticket_opened'", True),
    ("customer.orders_90d >= 0 || 'event' == 'x'", False),  # a string is no variable
])
def test_reads_event_from_the_parse_tree(text, reads):
    assert compile_condition(text, "t").reads_event is reads


@pytest.mark.parametrize("text", [
    "customer.orders_90d >= 0",
    "customer.orders_90d < 0 || customer.lifecycle_stage == 'lead'",
    "has(event.severity) && event.severity == 'high'",
    "event.properties.plan == 'pro'",  # no properties key in the attributes: {} then, a missing key: an error
    "customer.reachable.push || customer.reachable.email",
    "size(customer.reachable) == 4 && customer.reachable.fax",  # unknown channel: a CEL error, counted
    "customer.reachable == {'email': false}",  # a map compared: cel-python (fallback) with the whole activation
    "event.severity.matches('^h') && customer.lifecycle_stage.matches('lead')",
])
@pytest.mark.parametrize("event", [None, _event(severity="high"), _event(severity=3)])
def test_evaluate_in_is_evaluate_of_the_activation(text, event):
    c1, c2 = compile_condition(text, "a"), compile_condition(text, "b")
    st = CustomerState()
    got = c1.evaluate_in(_Ctx(st, NOW, event, None))
    want = c2.evaluate(_Ctx(st, NOW, event, None).activation())
    assert got is want
    assert (c1.errors, c1.non_bool, c1.fallbacks) == (c2.errors, c2.non_bool, c2.fallbacks)


def test_customer_activation_shares_the_customer():
    ctx = _Ctx(CustomerState(), NOW, _event(), None)
    assert list(ctx.customer_activation()) == ["customer"]
    assert ctx.customer_activation()["customer"] is ctx.activation()["customer"]
    assert list(ctx.activation()) == ["event", "customer"]


def test_reachable_reads_as_the_dict_of_every_channel():
    st = CustomerState()
    reach = _Ctx(st, NOW, None, None).activation()["customer"]["reachable"]
    want = {ch: st.delivery_address(ch, NOW).__class__ is tuple for ch in CHANNELS}
    assert dict(reach) == want and list(reach) == list(CHANNELS) and len(reach) == len(CHANNELS)
    assert "push" in reach and "fax" not in reach
    with pytest.raises(KeyError):
        reach["fax"]


def test_matches_remembers_nothing_wrong():
    c = compile_condition("customer.lifecycle_stage.matches('(?i)^(customer|evangelist)$')", "m")

    def check(stage: str) -> None:
        act = {"customer": {"lifecycle_stage": stage}}
        assert c.evaluate(act) is c.evaluate_slow(act), stage

    for stage in ["Customer", "lead", "customer", "Customer", "lead", "x" * 500 + "customer", "x" * 500]:
        check(stage)
    for i in range(1100):  # beyond the remembered texts
        check(f"customer{i % 3 or ''}")
        check(f"stage-{i}")
    assert c.fallbacks == 7 + 2200 and c.errors == 0  # (only evaluate_slow: the fast path never fell back)
