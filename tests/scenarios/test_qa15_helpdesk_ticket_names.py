"""A helpdesk's own event names on the support stream (Zendesk ``ticket.created`` / ``ticket.solved``, Freshdesk
``ticket_created``, HubSpot ``ticket.creation``, "Ticket Reopened", Salesforce cases): before, every one was an
``unknown_type`` dead letter, so a ticket open in the desk was not open here and the browse promo went out while it
was (the product's first example of a channel optimizing locally); a solved one stayed open until stale.  Now they
are the stream's ``ticket_opened`` / ``ticket_resolved`` / ``ticket_escalated`` (``spellings.ENUM_SYNONYMS``), as its
severities already were.  A status word (``pending``, ``on_hold``) is no event and stays a dead letter.
Replayed through the public replay API, default journeys and policy."""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from tests.scenarios import Scenario, decisions_of, read_topic, replay_scenario

H = td(hours=1)


def _views(s: Scenario, crm: str, start: td) -> None:
    for k in range(3):  # three views of one product in a day: the browse offer's entry
        s.add("web", start + k * H, anonymous_id=f"dev-{crm}", user_id=crm, type="product_view", product_id="SKU-9")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    s = Scenario()
    for crm, opened in (("ZENDESK", "ticket.created"), ("FRESHDESK", "Ticket Created"), ("HUBSPOT", "ticket.creation"),
                        ("CASE", "case_opened"), ("OWN", "ticket_opened")):
        s.contact(-td(days=30), crm, email=f"{crm.lower()}@example.com")
        s.add("support", td(0), crm_id=crm, ticket_id=f"T-{crm}", type=opened, severity="high")
        _views(s, crm, H)
    # solved in the desk's words: no longer open; re-opened in its words: open again
    s.contact(-td(days=30), "SOLVED", email="solved@example.com")
    s.add("support", td(0), crm_id="SOLVED", ticket_id="T-S", type="ticket_created", severity="high")
    s.add("support", H, crm_id="SOLVED", ticket_id="T-S", type="ticket.solved", csat=5)
    s.contact(-td(days=30), "REOPENED", email="reopened@example.com")
    s.add("support", td(0), crm_id="REOPENED", ticket_id="T-R", type="ticket_created", severity="high")
    s.add("support", H, crm_id="REOPENED", ticket_id="T-R", type="Closed")
    s.add("support", 2 * H, crm_id="REOPENED", ticket_id="T-R", type="Ticket Reopened")
    # a status is no event: still a dead letter, with its reason
    s.contact(-td(days=30), "STATUS", email="status@example.com")
    s.add("support", td(0), crm_id="STATUS", ticket_id="T-P", type="pending", event_id="status-pending")
    # control: no ticket, the offer goes out
    s.contact(-td(days=30), "NOTICKET", email="noticket@example.com")
    _views(s, "NOTICKET", H)
    base = tmp_path_factory.mktemp("helpdesk")
    summary, audit, out = replay_scenario(s, base)
    return summary, audit, out


def _snapshot(out, crm):
    from journeyflow.analytics.query import query
    return query(out, f"SELECT open_tickets FROM customer_snapshots WHERE customer_id = 'crm:{crm}' "
                      "ORDER BY snapshot_at DESC LIMIT 1").to_pylist()[0]


@pytest.mark.parametrize("crm", ["ZENDESK", "FRESHDESK", "HUBSPOT", "CASE", "OWN"])
def test_no_browse_promo_while_a_ticket_opened_in_the_desks_words_is_open(replayed, crm):
    _summary, audit, out = replayed
    promo = [d for d in decisions_of(audit, f"crm:{crm}") if "browse_promo" in (d.get("content_id") or "")
             or any(c.get("content_id") == "browse_promo" for c in d.get("candidates") or [])]
    assert promo, "the browse offer was proposed"
    assert [d for d in promo if d["action"] == "send"] == []
    assert any("open_ticket" in d["reason_codes"] for d in promo)
    assert _snapshot(out, crm)["open_tickets"] == 1


def test_the_browse_promo_goes_without_a_ticket(replayed):
    _summary, audit, _out = replayed
    assert [d for d in decisions_of(audit, "crm:NOTICKET")
            if d.get("content_id") == "browse_promo" and d["action"] == "send"]


def test_solved_and_reopened_in_the_desks_words(replayed):
    _summary, _audit, out = replayed
    assert _snapshot(out, "SOLVED")["open_tickets"] == 0
    assert _snapshot(out, "REOPENED")["open_tickets"] == 1


def test_a_status_word_stays_a_dead_letter_and_the_books_balance(replayed):
    summary, _audit, out = replayed
    dead = [d for d in read_topic(out, "dead-letter") if d["source"].endswith("status-pending")
            or "status-pending" in d.get("payload", "")]
    assert [d["reason"] for d in dead] == ["unknown_type"]
    assert summary.reconciles
