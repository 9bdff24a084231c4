"""A trait set to ``null`` by an ``identify`` call is cleared (qa8c), as the Segment Spec's destinations treat it
(Braze, Customer.io: null removes the attribute; Segment's Profiles Sync propagates "traits cleared or reset" as
null): ``has(customer.traits.plan)`` is false from that event time on, and the snapshot's ``traits`` leave it out.
Before, the parser dropped the null silently and the old value stayed for good: a customer whose app cleared
``plan: trial`` when the trial ended still got the trial-ending email.  The latest in event time wins, as for any
trait value (a null older than the value clears nothing), also across an identity merge."""
from __future__ import annotations

from pathlib import Path

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.attributes import TraitsView
from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.state import CustomerState
from journeyflow.stages.state_merge import merge_states

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trial_ending"


def _replay(tmp_path, null_day: int) -> list:
    from tests.stages.test_trial_ending import replay_example
    summary, audit = replay_example(tmp_path, [
        {"type": "identify", "messageId": "m-1", "userId": "u-42", "timestamp": "2026-03-02T09:00:00Z",
         "traits": {"email": "ann@example.com", "plan": "trial"}},
        {"type": "identify", "messageId": "m-0", "userId": "u-42", "timestamp": f"2026-03-0{null_day}T09:00:00Z",
         "traits": {"plan": None}},
        {"type": "track", "messageId": "m-2", "userId": "u-42", "event": "Trial Ending Soon",
         "timestamp": "2026-03-04T09:00:00Z", "properties": {"days_left": 3}},
    ])
    assert summary.condition_errors == 0
    return [(d["journey_id"], d["action"]) for d in audit]


@pytest.mark.parametrize("null_day, expected", [(3, []), (1, [("trial_ending", "send")])])
def test_a_null_trait_after_the_value_clears_it_and_one_before_does_not(tmp_path, null_day, expected):
    assert _replay(tmp_path, null_day) == expected


ATTRS = load_attributes_text("version: 1\ntraits: {plan: string}\n", "a.yaml")


def _identify(uid: str, ts: int, plan) -> Event:
    return Event(uid, "track", "identify", ts, ("crm:u",), {"traits": {"plan": plan}})


def test_a_cleared_trait_is_absent_and_a_merge_keeps_the_latest_clear():
    a, b = CustomerState(customer_id="crm:a"), CustomerState(customer_id="crm:b")
    ATTRS.observe(a, _identify("i1", 1_000, "trial"))
    ATTRS.observe(b, _identify("i2", 2_000, None))
    assert ATTRS.values(a, 3_000) == {"plan": "trial"} and ATTRS.values(b, 3_000) == {}
    for m in (merge_states(a, b), merge_states(b, a)):
        assert ATTRS.values(m, 3_000) == {}
        assert "plan" not in TraitsView(ATTRS, m, 3_000)
    ATTRS.observe(a, _identify("i3", 4_000, "pro"))
    assert ATTRS.values(merge_states(a, b), 5_000) == {"plan": "pro"}
