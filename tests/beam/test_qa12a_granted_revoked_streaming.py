"""qa12a: an address granted by A and opted out by B (another holder) keeps A's marketing from a newer address, in
streaming as in replay (``tests/stages/test_qa12a_granted_revoked.py`` has the story).  The address router replays
kept changes to a holder naming the address later, and prunes what it keeps: the latest grant is always kept now
(``transforms.address._prune``), else a holder told only of the opt-out forgot that the address was granted."""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from journeyflow.stages.state import CustomerState
from tests.beam.test_address_consent import D, HASHER, _stream_decisions, login, views
from tests.beam.test_qa11a_mailboxes_streaming import offered
from tests.scenarios import Scenario

ANN, BOB = "ann@example.com", "bob@example.com"


def scenario(tie: bool) -> list[Event]:
    s = Scenario()
    grant_at = -10 * D + td(seconds=1)  # A's grant names ann@; B's unsubscribe too, days later or at the same ms
    s.contact(-10 * D, "A", email=ANN, consent=())
    s.add("consent", grant_at, email=ANN, channel="email", status="granted")
    s.contact(-10 * D, "B", email=ANN, consent=())
    s.add("engagement", grant_at if tie else -5 * D, crm_id="B", email=ANN, channel="email", type="unsubscribed")
    s.add("crm", -3 * D, crm_id="A", email=BOB, type="contact_updated", timezone="UTC")
    login(s, "dev-A", "A", -2 * D)
    views(s, "dev-A", td(0))
    parser = Parser(HASHER)
    events = [parser.parse(st, r) for st, recs in s.records.items() for r in recs]
    assert all(isinstance(e, Event) for e in events)
    return sorted(events, key=lambda e: e.sort_key)


@pytest.mark.parametrize("tie", [False, True])
def test_the_copied_opt_out_keeps_the_offer_from_the_newer_address_in_replay_and_streaming(tie):
    events = scenario(tie)
    assert offered(events) == set()  # before: {"crm:A"} at bob@
    _stream_decisions(events, f"memory://qa12a-granted-{tie}")


def test_the_router_keeps_the_latest_grant_of_a_long_history():
    from transforms.address import MAX_KEPT_CHANGES, _prune

    changes = [["email", "granted", 1], ["email", "granted", 2], ["email", "revoked", 3]]
    changes += [["email", f"soft_bounce:{i:08x}", 10 + i] for i in range(MAX_KEPT_CHANGES + 5)]
    kept = _prune([list(c) for c in changes])
    s = CustomerState(customer_id="crm:A")
    for ch, effect, at in kept:
        s.set_address_status("email:k", ch, effect, at)
    assert s.addr_status["email:k"]["email"][:2] == ["revoked", 3]
    assert s.addr_status["email:k"]["email"][4:] == [2]  # granted before the opt-out: still the consent's scope
