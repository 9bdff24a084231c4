"""A state hand-over addressed to a customer that was itself merged away meanwhile (a link dated *earlier* arriving
last) goes on to the final customer (issue 23.4; a known limitation until now).

An anonymous cart at 9.5 s, the login naming the email at 10 s (the device joins the email customer), and the CRM
record naming the same email dated 9 s (the email customer joins the CRM customer, who granted email consent).
Replay: the cart's reminder an hour later is the CRM customer's and is sent.  When the login arrives before the
CRM record, the device's state is handed to the *email* key at 10 s, but the email customer was merged into the CRM
customer at 9 s: the hand-over used to be decided there (the reminder suppressed as ``consent`` under the email
id) while the CRM customer went on without it after 30 s.  Transfers read back from ``state-transfer`` are now
addressed to the customer their target belonged to at the hand-over's time (``RouteTransfers``, the store's
``root_at``).  Every arrival order, in process (resolution, DoFn and transfer loop routed as the pipeline routes).
"""
from __future__ import annotations

import base64
import itertools
from datetime import datetime, timezone

import pytest

from journeyflow.stages.identity.online import transfer_target
from tests.beam.test_arrival_order import LATENESS, T, Loop, bounded_decisions, key, parse


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat()


class RoutedLoop(Loop):
    """:class:`Loop` whose transfers go through the pipeline's ``RouteTransfers`` rule before delivery."""

    def _transfer(self, target: str, ev) -> bool:
        """Through the pipeline's ``RouteTransfers`` rule (:meth:`_route`) before delivery."""
        target, ev = self._route(target, ev)
        self._key(target).add([ev])
        return True

    def _route(self, target: str, ev):
        """(key, event) a transfer is delivered to."""
        return transfer_target(self.store, target, ev), ev


def records(base: int) -> list:
    return [
        ("consent", {"event_id": "k1", "ts": iso(base), "crm_id": "C1", "channel": "email", "status": "granted"}),
        ("web", {"event_id": "a1", "ts": iso(base + 9_500), "anonymous_id": "d1", "type": "add_to_cart",
                 "product_id": "SKU-1"}),
        ("web", {"event_id": "l1", "ts": iso(base + 10_000), "anonymous_id": "d1", "type": "login",
                 "email": "ann@example.com"}),
        ("crm", {"event_id": "c1", "ts": iso(base + 9_000), "crm_id": "C1", "email": "ann@example.com",
                 "type": "contact_updated", "timezone": "UTC"}),
    ]


@pytest.mark.parametrize("order", list(itertools.permutations(range(1, 4))))
def test_a_handover_to_a_customer_merged_away_meanwhile_reaches_the_final_customer(order):
    events = parse(records(T))
    loop = RoutedLoop(f"memory://handover-{''.join(map(str, order))}")
    loop.arrive(events[0], events[0].ts + 100)
    at = T + 10_100
    for k, i in enumerate(order):  # 0.3 s apart, within the 3 s allowed lateness of every event time
        loop.arrive(events[i], at + 300 * k)
    until = T + 3_700_000 + LATENESS  # past the reminder an hour after the cart
    loop.finish(until)
    assert sorted(key(d) for d in loop.decisions) == bounded_decisions(events, until - LATENESS)
    assert loop.dead == []
    reminder = [(d.customer_id, d.action, d.reason_codes) for d in loop.decisions
                if d.journey_id == "cart_abandonment" and d.action != "wait"]
    assert reminder == [("crm:C1", "send", ("chosen",))]



def test_decode_transfer_addresses_only_handovers_to_merged_away_customers():
    """The streaming graph's ``DecodeTransfer`` step with the identity store, on a store where ``email:E`` joined
    ``crm:C1`` at 9 s: a sealed hand-over to the email id dated 10 s goes to the CRM id, one dated 8 s stays."""
    import apache_beam as beam
    from apache_beam.testing.util import assert_that, equal_to

    from apache_beam.io.gcp.pubsub import PubsubMessage

    from journeyflow.adapters.identity_store import open_store
    from journeyflow.model.events import Event
    from journeyflow.stages.identity.online import ABSORB, IDENTITY_STREAM
    from journeyflow.stages.state import CustomerState
    from journeyflow.transforms.outputs import DEAD
    from journeyflow.transforms.state_transfer import TRANSFERS_IN, DecodeTransferFn, transfer_message
    from tests.beam.test_arrival_order import CONFIG

    url, email = "memory://decode-transfer-routing", "email:" + "e" * 32
    open_store(url, CONFIG.link_rules()).link("crm:C1", email, 9_000, "crm/c1")
    state = base64.b64encode(CustomerState(customer_id="anon:d1").to_bytes()).decode()
    msgs = [transfer_message((email, Event(f"absorb:{t}", IDENTITY_STREAM, ABSORB, t, (email,),
                                           {"from": "anon:d1", "state": state})))
            for t in (10_000, 8_000)]
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    # in process (the memory store is per process) and without sys.argv's flags (pytest's, under xdist)
    with beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions([])) as p:
        decoded = (p | beam.Create([PubsubMessage(m.data, m.attributes) for m in msgs])
                   | beam.ParDo(DecodeTransferFn(store_url=url, rules=CONFIG.link_rules())).with_outputs(
                       DEAD, main=TRANSFERS_IN))
        got = decoded[TRANSFERS_IN] | beam.Map(lambda kv: (kv[0], kv[1].uid))
        assert_that(got, equal_to([("crm:C1", "absorb:10000"), (email, "absorb:8000")]))
