"""qa12a hunt: an opt-out of a shared address by its other holder at the same millisecond as a promo's trigger
(opt-outs apply first at equal times, also when the opt-out reaches the customer as an address copy), in either
arrival order, in replay and in streaming (address router included)."""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from tests.beam.test_address_consent import D, HASHER, _stream_decisions, login
from tests.scenarios import Scenario


def flashes(events: list[Event]) -> set[str]:
    from journeyflow.analytics.compare import fold_in_process
    from tests.beam.test_address_consent import EngineConfig, _extras_file

    decisions, _p, _i = fold_in_process(events, EngineConfig.from_files(journeys=_extras_file()), 2**62)
    return {d.customer_id for d in decisions if d.action == "send" and d.journey_id == "flash_promo"}


@pytest.mark.parametrize("opt_out_first", [True, False])
@pytest.mark.parametrize("kind", ["unsubscribed", "revoked"])
def test_a_copied_opt_out_at_the_trigger_s_millisecond_wins(opt_out_first, kind):
    s = Scenario()
    s.contact(-10 * D, "A", email="family@example.com")
    s.contact(-9 * D, "B", email="family@example.com")  # (B's link to the address is refused: one CRM id)
    login(s, "dev-A", "A", -2 * D)
    view = dict(anonymous_id="dev-A", type="page_view", product_id="FLASH")
    opt = (("engagement", dict(crm_id="B", email="family@example.com", channel="email", type="unsubscribed"))
           if kind == "unsubscribed" else
           ("consent", dict(crm_id="B", email="family@example.com", channel="email", status="revoked")))
    if opt_out_first:
        s.add(opt[0], td(0), **opt[1])
        s.add("web", td(0), **view)
    else:
        s.add("web", td(0), **view)
        s.add(opt[0], td(0), **opt[1])
    parser = Parser(HASHER)
    events = [parser.parse(st, r) for st, recs in s.records.items() for r in recs]
    assert all(isinstance(e, Event) for e in events)
    events.sort(key=lambda e: e.sort_key)
    assert flashes([e for e in events if e.stream not in ("engagement", "consent") or e.ts != events[-1].ts]) == {
        "crm:A"}  # without the opt-out: sent
    assert flashes(events) == set()
    _stream_decisions(events, f"memory://qa12a-tie-copy-{kind}-{opt_out_first}")
