"""Helpdesks' own priority words are severities: Zendesk's and Freshdesk's ``urgent`` is ``critical``, Zendesk's
``normal`` is ``medium``.

The default ``repeat_contact`` journey routes a customer who contacts support again while a high- or critical-
severity ticket is open to the priority queue.  A desk exporting Zendesk priorities (low, normal, high, urgent) had
every ``urgent`` ticket's severity dropped (``unknown_value`` field warning) and counted as low: the customer with
two urgent tickets open was never routed, while two ``high`` ones were.  Replayed through the public replay API.
"""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from tests.scenarios import Scenario, decisions_of, read_topic

H = td(hours=1)
WORDS = [("URGENT", "urgent", True), ("URGENT_CASED", "Urgent", True), ("HIGH", "high", True),
         ("NORMAL", "normal", False), ("LOW", "low", False)]


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    from journeyflow.pipelines.replay import run_replay

    s = Scenario()
    for name, word, _ in WORDS:
        s.contact(-30 * 24 * H, name, email=f"{name.lower()}@example.com")
        s.add("support", td(0), crm_id=name, ticket_id=f"{name}-1", type="ticket_opened", severity=word)
        s.add("support", H, crm_id=name, ticket_id=f"{name}-2", type="ticket_opened", severity=word)
    base = tmp_path_factory.mktemp("qa10e_priorities")
    inp = s.write(base / "in")
    run_replay(["--input", str(inp), "--output", str(base / "out"), "--until", "end"])
    return read_topic(base / "out", "decisions-audit"), read_topic(base / "out", "field-warnings")


@pytest.mark.parametrize("name, word, routed", WORDS, ids=[w[0] for w in WORDS])
def test_a_second_ticket_of_a_helpdesk_priority_is_routed_as_its_severity(replay, name, word, routed):
    audit, _ = replay
    cases = [d for d in decisions_of(audit, f"crm:{name}") if d["action"] == "route_case"]
    assert len(cases) == (1 if routed else 0)


def test_the_helpdesk_words_are_no_field_warnings(replay):
    _, warnings = replay
    assert [w for w in warnings if w["field"] == "severity"] == []
