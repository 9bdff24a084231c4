"""The processor skips ``JourneyEngine.on_event`` for event types the engine does not hear (``heard_types``).

An event of such a type still updates the state (``CustomerState.apply``), counts, and takes part in the moment's
ordering; the outputs and final state equal those of the full path (the same processor with the skip turned off),
and the engine is not called for it.  Declared traits (read from any event) turn the skip off.
"""
from __future__ import annotations

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.journeys import JourneyEngine
from journeyflow.stages.processor import END_OF_TIME, Outputs
from journeyflow.stages.state import CustomerState
from journeyflow.tools.bench_attributes import config_with_attributes
from tests.engine_spies import SpiedEngine
from tests.scenarios import T0, journeys_with_test_extras

T = int(T0.timestamp() * 1000)
HOUR = 3_600_000
CID = "crm:C1"


def ev(uid: str, stream: str, type_: str, ts: int, **attrs) -> Event:
    return Event(uid, stream, type_, ts, (CID,), attrs, {"email": "c1@example.com"})


def history() -> list[Event]:
    return sorted([
        ev("crm/c1", "crm", "contact_created", T - 240 * HOUR, timezone="UTC", lifecycle_stage="customer"),
        ev("consent/c1", "consent", "consent_granted", T - 240 * HOUR + 1, channel="email", status="granted"),
        ev("web/l1", "web", "login", T - HOUR),
        ev("web/w1", "web", "add_to_cart", T, product_id="SKU-1"),
        ev("web/p1", "web", "page_view", T, product_id="SKU-1"),  # same millisecond as the cart line
        ev("eng/e1", "engagement", "email_opened", T + HOUR),
        ev("orders/o1", "orders", "order_placed", T + 5 * HOUR, order_id="O1", product_ids=["SKU-9"]),
        ev("web/w3", "web", "page_view", T + 30 * HOUR, product_id="FLASH"),
    ], key=lambda e: e.sort_key)


def run(config: EngineConfig, skip: bool, monkeypatch) -> tuple[bytes, Outputs, list[str]]:
    p = config.build_processor()
    if not skip:
        p._heard = None
    called: list[str] = []
    real = JourneyEngine.on_event

    def spy(self, state, event, *rest):
        called.append(event.type)
        return real(self, state, event, *rest)
    p.engine = SpiedEngine(p.engine, on_event=spy)  # (``tests/engine_spies``: not on the compiled class)
    state, out = CustomerState(customer_id=CID), Outputs()
    p.advance(state, history(), END_OF_TIME, out)
    monkeypatch.undo()
    return state.to_bytes(), out, called


def test_unheard_types_skip_the_engine_with_the_same_outputs(monkeypatch):
    for config in (EngineConfig(journeys_with_test_extras(), "<extras>", EngineConfig.from_files().policy_yaml,
                                "<policy>"), config_with_attributes()):
        heard = config.build_processor().engine.heard_types
        assert heard is not None and "consent_granted" not in heard and "email_opened" not in heard
        full_state, full, full_calls = run(config, False, monkeypatch)
        state, out, calls = run(config, True, monkeypatch)
        assert len(full_calls) == len(history()) and set(calls) == set(full_calls) & heard
        assert len(calls) < len(full_calls)
        assert state == full_state
        assert (out.decisions, out.steps, out.dead, out.events, out.timers) == \
            (full.decisions, full.steps, full.dead, full.events, full.timers)
        assert out.events == len(history()) and full.decisions


def test_computed_attribute_types_are_heard():
    engine = config_with_attributes().build_processor().engine
    assert "login" in engine.heard_types  # a computed attribute counts logins; no journey listens to them
    assert "login" not in EngineConfig.from_files().build_processor().engine.heard_types


def test_declared_traits_turn_the_skip_off():
    engine = EngineConfig.from_files().build_processor().engine
    attrs = engine.attributes
    attrs.traits = {"plan": "string"}
    try:
        assert JourneyEngine(engine.journeys, attrs).heard_types is None
    finally:
        attrs.traits = {}
