"""``customer.reachable.<channel>`` lets a journey fall back to another channel for every kind of dead address
(qa14c, the kind of lead 1): an email hard bounce, a text to a landline only, a push device unregistered or no
address at all, as arbitration sees them (``CustomerState.delivery_address``: ``no_address``/``consent``).
Before, conditions could see consent only (``customer.consent``), so a branch kept choosing a channel its send
was then suppressed on.  Replayed through the public replay API with a custom transactional journey."""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from tests.scenarios import Scenario, decisions_of, replay_scenario

JOURNEYS = """version: 1
journeys:
  - id: receipt
    category: transactional
    priority: 800
    entry: {event: order_placed, stream: orders}
    steps:
      - id: pick
        branch:
          cases:
            - {when: "customer.reachable.email", next: by_email}
            - {when: "customer.reachable.sms", next: by_sms}
          else: by_push
      - {id: by_email, send: {channel: email, content_id: receipt_email}, next: done}
      - {id: by_sms, send: {channel: sms, content_id: receipt_sms}, next: done}
      - {id: by_push, send: {channel: push, content_id: receipt_push}}
      - {id: done, exit: true}
"""
H = td(hours=1)


@pytest.fixture(scope="module")
def channels(tmp_path_factory):
    s = Scenario()
    s.contact(td(0), "OK", email="ok@example.com", phone="+442079460958", tz="Europe/London")
    s.contact(td(0), "BOUNCED", email="bounced@example.com", phone="+447911123456", tz="Europe/London")
    s.add("engagement", H, email="bounced@example.com", channel="email", type="bounced", bounce_type="hard")
    s.contact(td(0), "LANDLINE", email="landline@example.com", phone="+442079460958", tz="Europe/London")
    s.add("engagement", H, email="landline@example.com", channel="email", type="bounced")
    for cid in ("OK", "BOUNCED", "LANDLINE"):
        s.add("orders", 2 * H, crm_id=cid, order_id=f"{cid}-1", type="order_placed", amount=5, currency="GBP")
    _, audit, _ = replay_scenario(s, tmp_path_factory.mktemp("qa14c_reachable"), JOURNEYS)
    return {cid: [d["channel"] for d in decisions_of(audit, f"crm:{cid}") if d["action"] == "send"]
            for cid in ("OK", "BOUNCED", "LANDLINE")}


def test_a_deliverable_email_is_used(channels):
    assert channels["OK"] == ["email"]


def test_a_hard_bounced_email_falls_back_to_a_mobile_number(channels):
    assert channels["BOUNCED"] == ["sms"]


def test_a_landline_is_no_text_address_so_the_branch_goes_on(channels):
    assert channels["LANDLINE"] == ["push"]
