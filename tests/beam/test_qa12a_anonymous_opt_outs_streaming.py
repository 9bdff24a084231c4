"""qa12a hunt: an opt-out on an anonymous profile that is later (or at the same millisecond, or earlier) merged into
a known customer, and a grant and an opt-out at the same millisecond on two streams, in both arrival orders: no
browse offer, in replay and in streaming (the streaming decisions equal the replay's).  These held before this
round (regression guards for the round's hunt: tests/stages/test_qa12a_granted_revoked.py has the fault found)."""
from __future__ import annotations

import json

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from tests.beam import test_arrival_order
from tests.beam.test_address_consent import _stream_decisions
from tests.beam.test_qa11a_mailboxes_streaming import offered
from tests.stages.test_qa10d_two_addresses import holder
from tests.stages.test_qa11a_mailboxes import PARSER

T, LATER = "2026-09-20T00:00:00Z", "2026-09-25T00:00:00Z"
UNSUB = ("track", {"type": "track", "event": "Unsubscribed", "messageId": "m1", "anonymousId": "dev-9",
                   "timestamp": T})


def link(kind: str, at: str) -> tuple[str, dict]:
    """The anonymous device dev-9 becomes customer A's: a web login, a Segment identify or alias."""
    if kind == "login":
        return ("web", {"event_id": "l1", "ts": at, "type": "login", "anonymous_id": "dev-9", "user_id": "A"})
    if kind == "identify":
        return ("track", {"type": "identify", "messageId": "i1", "anonymousId": "dev-9", "userId": "A",
                          "timestamp": at})
    return ("track", {"type": "alias", "messageId": "a1", "previousId": "dev-9", "userId": "A", "timestamp": at})


def events(records: list[tuple[str, dict]]) -> list[Event]:
    evs = [PARSER.parse(st, json.dumps(r).encode()) for st, r in records]
    assert all(isinstance(e, Event) for e in evs), evs
    return evs


CASES = {
    "login after": [UNSUB, link("login", LATER)],
    "login at the same ms": [UNSUB, link("login", T)],
    "login at the same ms, arriving first": [link("login", T), UNSUB],
    "login before": [link("login", "2026-09-10T00:00:00Z"), UNSUB],
    "identify after": [UNSUB, link("identify", LATER)],
    "alias after": [UNSUB, link("alias", LATER)],
}


class Loop(test_arrival_order.Loop):
    """test_arrival_order's streaming graph in process (identity store, one OrderedCustomerFn key each, the
    state-transfer loop closed: the anonymous profile's state reaches the customer it is merged into), on the
    default journeys, the watermark moved in hour steps (the story spans weeks)."""

    def to(self, at: int) -> None:
        while self.wm < at:
            self.wm = min(at, self.wm + 3_600_000) if self.wm else at
            self._pump()


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_anonymous_opt_out_merged_into_the_customer_blocks_it(case, monkeypatch):
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    base = holder("A", "ann@example.com") + holder("B", "bob@example.com")
    assert offered(sorted(events(base), key=lambda e: e.sort_key)) == {"crm:A", "crm:B"}
    evs = sorted(events(base + CASES[case]), key=lambda e: e.sort_key)
    assert offered(evs) == {"crm:B"}
    assert streamed_offers(Loop(f"memory://qa12a-anon-{case.replace(' ', '-').replace(',', '')}"), evs) == {"crm:B"}


def streamed_offers(loop: Loop, evs) -> set[str]:
    """``evs`` through ``loop`` (each arriving 100 ms after its time), finished three days after the last: the
    customers sent the browse offer, after checking that every decision is the replay's."""
    for ev in evs:
        loop.arrive(ev, ev.ts + 100)
    until = evs[-1].ts + 3 * 86_400_000
    loop.finish(until)
    assert sorted(map(test_arrival_order.key, loop.decisions)) == test_arrival_order.bounded_decisions(evs, until)
    return {d.customer_id for d in loop.decisions if d.action == "send" and d.journey_id == "browse_offer"}


@pytest.mark.parametrize("revoke_first", [False, True])
def test_a_grant_and_an_opt_out_at_one_millisecond_on_two_streams(revoke_first):
    grant = ("consent", {"event_id": "g9", "ts": T, "crm_id": "A", "channel": "email", "status": "granted"})
    unsub = ("engagement", {"event_id": "u9", "ts": T, "email": "ann@example.com", "channel": "email",
                            "type": "unsubscribed"})
    evs = sorted(events(holder("A", "ann@example.com") + holder("B", "bob@example.com")), key=lambda e: e.sort_key)
    pair = events([unsub, grant] if revoke_first else [grant, unsub])
    at = next(i for i, e in enumerate(evs) if e.ts > pair[0].ts)
    evs = evs[:at] + pair + evs[at:]  # fed to the stream in this order (the same watermark step)
    assert offered(evs) == {"crm:B"}
    _stream_decisions(evs, f"memory://qa12a-tie-{revoke_first}")
