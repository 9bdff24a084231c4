"""A CRM import of existing customers welcomes none of them (qa12b, a lifecycle practitioner's scenarios).

The default ``welcome`` journey entered on every ``signup`` and ``contact_created``: loading the customer base into
the CRM (one ``contact_created`` per contact, lifecycle stage ``customer``) sent each of them the welcome email and
the onboarding tips two days later, and so did a contact record created for someone who had already ordered (a
guest checkout, then the CRM record or an account).  Now both entries need a contact without an order (within the
90 days orders are kept) whom the CRM does not call a customer (``customer``/``evangelist``, any case), as welcome series
filter on "placed order zero times".  A new lead or a first signup is still welcomed.  Replayed through the public
replay API with the default journeys and policy.
"""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from tests.scenarios import Scenario, decisions_of, replay_scenario

H, D = td(hours=1), td(days=1)


def _crm(s: Scenario, at, cid: str, stage: str) -> None:
    s.add("crm", at, crm_id=cid, email=f"{cid.lower()}@example.com", type="contact_created", lifecycle_stage=stage)
    s.add("consent", at + td(seconds=1), crm_id=cid, channel="email", status="granted")


def _order(s: Scenario, at, cid: str) -> None:
    s.add("orders", at, crm_id=cid, order_id=f"O-{cid}", type="order_placed", product_ids=["MUG"], amount=12,
          currency="USD")


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    s = Scenario()
    _crm(s, td(0), "IMPORTED", "customer")      # the CRM import of the customer base
    _crm(s, td(0), "FAN", "evangelist")
    _crm(s, td(0), "LABEL", "Customer")        # the stage's label rather than its internal name
    _order(s, -10 * D, "GUEST")                 # a guest checkout (order with the CRM id), then the contact record
    _crm(s, td(0), "GUEST", "lead")
    _crm(s, td(0), "LEAD", "lead")              # a new lead: welcomed
    _crm(s, td(0), "BLANK", "")                 # no stage: welcomed
    # a web signup after an order (an account opened after a guest checkout): not welcomed; a first signup is
    _order(s, -5 * D, "ACCOUNT")
    s.add("web", td(0), anonymous_id="dev-account", user_id="ACCOUNT", email="account@example.com", type="signup")
    s.add("consent", td(seconds=1), crm_id="ACCOUNT", channel="email", status="granted")
    s.add("web", td(0), anonymous_id="dev-fresh", user_id="FRESH", email="fresh@example.com", type="signup")
    s.add("consent", td(seconds=1), crm_id="FRESH", channel="email", status="granted")
    _, audit, _ = replay_scenario(s, tmp_path_factory.mktemp("qa12b_welcome"))
    return audit


def _welcome_sends(audit, cid):
    return [d["content_id"] for d in decisions_of(audit, f"crm:{cid}")
            if d["action"] == "send" and d["journey_id"] == "welcome"]


@pytest.mark.parametrize("cid", ["IMPORTED", "FAN", "LABEL", "GUEST", "ACCOUNT"])
def test_an_existing_customer_is_not_welcomed(audit, cid):
    assert _welcome_sends(audit, cid) == []


@pytest.mark.parametrize("cid", ["LEAD", "BLANK", "FRESH"])
def test_a_new_contact_is_still_welcomed(audit, cid):
    assert _welcome_sends(audit, cid) == ["welcome", "onboarding_tips"]
