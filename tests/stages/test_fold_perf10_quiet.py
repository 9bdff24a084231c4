"""``CustomerProcessor.on_event`` (session 10): an event of a type the engine does not hear is left out of its
state's record of the millisecond (``Outputs.moment_events``) once the state has one, and after it only ``seen`` and
the lists its type grows are looked at for the caps.  The fold gives what it gives when every type goes through the
engine (``_heard`` None: each event recorded, ``cap_event`` called after each one): bursts of one millisecond mix
those types with exits, goals and entries (an order and an add-to-cart at one instant, a page view between)."""
from __future__ import annotations

import random

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.tools.bench_attributes import config_with_attributes
from tests.stages.test_fold_perf9_caps import bursty_customers

_KINDS = [("web", "product_view"), ("web", "add_to_cart"), ("orders", "order_placed"), ("web", "page_view"),
          ("web", "checkout_started"), ("crm", "contact_updated"), ("engagement", "delivered"), ("web", "login"),
          ("support", "ticket_opened"), ("support", "ticket_resolved"), ("orders", "payment_failed")]


def _event(rng: random.Random, i: int, ts: int) -> Event:
    stream, etype = rng.choice(_KINDS)
    attrs = {"product_id": f"p{rng.randint(0, 2)}", "order_id": f"o{rng.randint(0, 3)}",
             "amount": float(rng.randint(1, 300)), "product_ids": [f"p{rng.randint(0, 2)}"],
             "ticket_id": f"t{rng.randint(0, 2)}", "channel": "email", "email": "c@example.com"}
    return Event(f"e{i}", stream, etype, ts, (), attrs)


def _population(seed: int) -> list[Event]:
    return bursty_customers(random.Random(seed), 8, 50, (0, 0, 0, 60_000, 3_600_000, 86_400_000), _event)


def _fold(config, events: list[Event], every_type: bool) -> list:
    p = config.build_processor()
    if every_type:
        p._heard = None
    until = max(e.ts for e in events) + 3 * 86_400_000
    return [(cluster, o.decisions, o.steps, o.dead, o.events, o.timers,
             {k: s.to_bytes() for k, s in o.final_states.items()})
            for cluster, o in fold_clusters(resolve_clusters(events, config.link_rules()), p, until)]


@pytest.mark.parametrize("attributes", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_unheard_types_left_out_of_the_millisecond_change_nothing(attributes: bool, seed: int):
    config = config_with_attributes() if attributes else EngineConfig.from_files()
    events = _population(seed)
    assert config.build_processor()._heard is not None  # (the shortcut is taken)
    folded = _fold(config, events, every_type=False)
    assert sum(len(d[1]) for d in folded) > 0 and sum(len(d[2]) for d in folded) > 0
    assert folded == _fold(config, events, every_type=True)
