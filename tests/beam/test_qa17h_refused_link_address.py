"""qa17h: an address named only by a refused identity link is not the customer's delivery address.

V1 and V2 are CRM contacts, each with an email and a phone; V2 grants email on ``v2@`` and SMS on its number.  An
orders record then names V1's CRM id with ``v2@`` and a CRM update names V1 with V2's number: both links are refused
(``kind_cap:crm``, the addresses belong to V2).  Before, each address became V1's newest one (and V2's grants,
copied to V1 as a holder, its only granted one): V1's marketing email, its dunning email and its dunning SMS went
to V2, with V1's cart and payment details.  Now such an address is, for V1, what a support ticket's address is
(``deliverability.see_contact``): added only when V1 has no address of that kind, never made the newest, so V1's
messages go to V1's own addresses.  V1 still holds the addresses (an opt-out of them reaches V1: fail safe), and the
family mailbox of README "Shared addresses" (a second contact created with a mailbox the first holds: that contact's
only email) still delivers there (tests/beam/test_address_consent.py).  Replay, and streaming in process (the
resolution DoFn, the address router, the per-customer DoFn and the routed state-transfer loop), every arrival
order of the three late records."""
from __future__ import annotations

import itertools

import pytest
from apache_beam.pvalue import TaggedOutput

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.state import CustomerState
from journeyflow.transforms import decide_streaming as ss
from journeyflow.transforms.address import address_messages
from journeyflow.transforms.identity_online import ResolveOnlineFn
from tests.beam.test_address_copy_before_merge import AddressLoop, _Cell, iso
from tests.beam.test_arrival_order import LATENESS, T, key, parse
from tests.beam.test_arrival_order import CART_NOW

H = 3_600_000
CONFIG = EngineConfig(default_text("journeys.yaml").rstrip() + "\n" + CART_NOW, "<test journeys>",
                      default_text("policy.yaml"), "<default policy>")
V1_EMAIL, V1_PHONE = "v1@example.com", "+14155550101"
V2_EMAIL, V2_PHONE = "v2@example.com", "+14155550202"


def refusing(base: int, how: str) -> tuple:
    """The record naming V1 with V2's email: an order, or a Segment ``identify`` (its traits)."""
    if how == "orders":
        return ("orders", {"event_id": "o1", "ts": iso(base), "crm_id": "V1", "email": V2_EMAIL,
                           "type": "payment_failed", "order_id": "O1", "amount": 10, "currency": "USD"})
    return ("track", {"type": "identify", "messageId": "i1", "userId": "V1", "anonymousId": "d9",
                      "timestamp": iso(base), "traits": {"email": V2_EMAIL}})


def records(base: int, how: str = "orders") -> tuple[list, list]:
    facts = [
        ("crm", {"event_id": "c1", "ts": iso(base), "crm_id": "V1", "email": V1_EMAIL, "phone": "+1 415 555 0101",
                 "type": "contact_created", "timezone": "UTC"}),
        ("crm", {"event_id": "c2", "ts": iso(base + 1000), "crm_id": "V2", "email": V2_EMAIL,
                 "phone": "+1 415 555 0202", "type": "contact_created", "timezone": "UTC"}),
        ("consent", {"event_id": "g2", "ts": iso(base + 2000), "email": V2_EMAIL, "channel": "email",
                     "status": "granted"}),
        ("consent", {"event_id": "g2s", "ts": iso(base + 2000), "phone": "+1 415 555 0202", "channel": "sms",
                     "status": "granted"}),
        ("consent", {"event_id": "g1", "ts": iso(base + 3000), "crm_id": "V1", "channel": "email",
                     "status": "granted"}),
        ("consent", {"event_id": "g1s", "ts": iso(base + 3000), "crm_id": "V1", "channel": "sms",
                     "status": "granted"}),
    ]
    late = base + 26 * H  # a day after the welcome (its frequency cap)
    varying = [
        refusing(late, how),
        ("crm", {"event_id": "u1", "ts": iso(late + 500), "crm_id": "V1", "phone": "+1 415 555 0202",
                 "type": "contact_updated"}),
        ("web", {"event_id": "a1", "ts": iso(late + 1000), "user_id": "V1", "anonymous_id": "d1",
                 "type": "add_to_cart", "product_id": "SKU-1"}),
    ]
    if how != "orders":  # (the payment failure names V1 only: the dunning is V1's)
        varying.append(("orders", {"event_id": "o1", "ts": iso(late + 1500), "crm_id": "V1",
                                   "type": "payment_failed", "order_id": "O1", "amount": 10, "currency": "USD"}))
    return facts, varying


def sent(decisions) -> list[tuple]:
    return sorted((d.customer_id, d.journey_id or "", d.channel, d.address) for d in decisions if d.action == "send")


def replay(events, until: int) -> list:
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(), until):
        out += o.decisions
    return out


def check_v1(decisions) -> None:
    v1 = [(j, ch, addr) for c, j, ch, addr in sent(decisions) if c == "crm:V1"]
    assert not [s for s in v1 if s[2] in (V2_EMAIL, V2_PHONE)], v1  # nothing of V1's reaches V2
    assert ("dunning", "email", V1_EMAIL) in v1 and ("dunning", "sms", V1_PHONE) in v1, v1
    assert ("cart_now", "email", V1_EMAIL) in v1, v1  # V1's marketing at V1's own (CRM-id consented) address
    v2 = [(j, ch, addr) for c, j, ch, addr in sent(decisions) if c == "crm:V2"]
    assert ("welcome", "email", V2_EMAIL) in v2, v2  # V2's own messages unchanged


@pytest.mark.parametrize("how", ["orders", "identify"])
def test_replay_sends_v1s_messages_to_v1s_own_addresses(how):
    facts, varying = records(T, how)
    events = parse(facts + varying)
    check_v1(replay(events, T + 60 * H))


def test_replay_state_of_v1_names_no_v2_address_but_v1_holds_them_for_opt_outs():
    facts, varying = records(T)
    events = parse(facts + varying)
    clusters = resolve_clusters(events, CONFIG.link_rules())
    refused = [r for r in clusters.link_rows if r["status"] == "refused"]
    assert {r["event_id"] for r in refused} == {"orders/o1", "crm/u1"}, refused
    # an opt-out of V2's address by V2 still reaches V1 (a holder): fail safe
    optout = parse([("engagement", {"event_id": "x1", "ts": iso(T + 27 * H), "email": V2_EMAIL,
                                    "channel": "email", "type": "unsubscribed"})])
    copies = [c for c, (ev, _l) in [(c, it) for c, items in resolve_clusters(events + optout, CONFIG.link_rules())
                                    .groups.items() for it in items] if ev.stream == "_address"]
    assert "crm:V1" in copies, copies


class RefusedLoop(AddressLoop):
    """The streaming graph in process, resolution through the pipeline's DoFn (``ResolveOnlineFn``: the event as
    the pipeline keys it), every keyed event through the address router, transfers routed (``transfer_target``)."""

    def __init__(self, url: str):
        super().__init__(url)
        self.fn = ss.OrderedCustomerFn(CONFIG, allowed_lateness_ms=LATENESS)  # (this test's journeys: CART_NOW)
        self.fn.setup()
        self.resolver = ResolveOnlineFn(url, CONFIG.link_rules())
        self.resolver.setup()

    def arrive(self, ev, at: int) -> None:
        self.to(at)
        for out in self.resolver.process(ev):
            if isinstance(out, TaggedOutput):
                continue
            target, e = out
            self._key(target).add([e])
            for addr, msg in address_messages((target, e)):
                for holder, copy in self.router.process((addr, msg), record=self.cells.setdefault(addr, _Cell())):
                    self._key(holder).add([copy])
        self._pump()


@pytest.mark.parametrize("how,order", [("orders", o) for o in itertools.permutations(range(3))]
                         + [("identify", (3, 2, 1, 0))])
def test_streaming_sends_v1s_messages_to_v1s_own_addresses_as_replay(how, order):
    facts, varying = records(T, how)
    events = parse(facts + varying)
    fevs, pevs = events[:len(facts)], events[len(facts):]
    loop = RefusedLoop(f"memory://qa17h-refused-{how}-{''.join(map(str, order))}")
    for ev in fevs:
        loop.arrive(ev, ev.ts + 100)
    at = max(e.ts for e in pevs) + 100
    for k, idx in enumerate(order):  # 0.3 s apart: inside the allowed lateness
        loop.arrive(pevs[idx], at + 300 * k)
    until = T + 60 * H
    loop.finish(until)
    assert loop.dead == []
    check_v1(loop.decisions)
    assert sent(loop.decisions) == sent(replay(events, until - LATENESS))
    assert sorted(key(d) for d in loop.decisions) == sorted(key(d) for d in replay(events, until - LATENESS))
    # V1's state lists none of V2's identifiers (replay drops them from the event: streaming too)
    state = CustomerState.from_bytes(loop.keys["crm:V1"].customer.value)
    v2_keys = {k for ev in fevs if ev.uid.endswith("c2") for k in ev.ids}
    assert not v2_keys & set(state.ids), state.ids
