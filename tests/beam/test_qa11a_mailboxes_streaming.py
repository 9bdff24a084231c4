"""qa11a: an opt-out of one spelling of a mailbox blocks the customers holding other spellings, in streaming as in
replay (the address router keys the mailbox's status by its key, ``deliverability.held_addresses``).

Customer A holds a spelling of a mailbox, customer B another one (or nobody: the opt-out makes a customer of its
own); an opt-out names a third or B's.  A and B browse days later: neither gets the browse offer, whether A named
its address before or after the opt-out (the router hands the kept change to a new holder).  Before, only the
customer holding the exact spelling was blocked."""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from tests.beam.test_address_consent import D, HASHER, _stream_decisions, login, views
from tests.scenarios import Scenario

CASES = {  # A's address, B's address, the opt-out (stream, fields), A's contact before the opt-out
    "base opted out, tagged held": ("ann+shop@example.com", "ann@example.com",
                                    ("consent", dict(email="ann@example.com", channel="email", status="revoked")),
                                    True),
    "tag opted out, other tag held later": ("ann+b@example.com", "bob@example.com",
                                            ("engagement", dict(email="ann+a@example.com", channel="email",
                                                                type="unsubscribed")), False),
    "googlemail dotted held, gmail tag opted out": ("a.nn@googlemail.com", "bob@example.com",
                                                   ("engagement", dict(email="ann+x@gmail.com", channel="email",
                                                                       type="complained")), True),
}


def scenario(case: str) -> list[Event]:
    a_email, b_email, (stream, rec), a_first = CASES[case]
    s = Scenario()
    s.contact(-10 * D if a_first else -3 * D, "A", email=a_email)
    s.contact(-10 * D, "B", email=b_email)
    s.add(stream, -5 * D, **rec)
    for crm in ("A", "B"):
        login(s, f"dev-{crm}", crm, -2 * D)
        views(s, f"dev-{crm}", td(0))
    parser = Parser(HASHER)  # Hasher.from_env(): the key mailbox keys are hashed with
    events = [parser.parse(st, r) for st, recs in s.records.items() for r in recs]
    assert all(isinstance(e, Event) for e in events)
    return sorted(events, key=lambda e: e.sort_key)


def offered(events: list[Event]) -> set[str]:
    from journeyflow.analytics.compare import fold_in_process
    from tests.beam.test_address_consent import EngineConfig, _extras_file

    decisions, _p, _i = fold_in_process(events, EngineConfig.from_files(journeys=_extras_file()), 2**62)
    return {d.customer_id for d in decisions if d.action == "send" and d.journey_id == "browse_offer"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_opt_out_of_one_spelling_blocks_the_other_holders_in_replay_and_streaming(case):
    events = scenario(case)
    b_blocked = CASES[case][1] != "bob@example.com"
    assert offered(events) == ({"crm:B"} if not b_blocked else set())  # A never; B only with another mailbox
    _stream_decisions(events, f"memory://qa11a-mailbox-{case[:12].replace(' ', '-')}")
