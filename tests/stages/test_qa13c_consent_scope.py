"""qa13c lead 4: two cases qa12a left, decided: neither sends to an address it must not (documented here).

* "A grant arriving as a copy after the address was evicted falls back to the newest address": a copy changes an
  address's status only, never the channel consent (README "Shared addresses").  So a customer holding a family
  mailbox that *another* holder granted gets no marketing without a grant of its own; with its own grant by CRM id
  (the person's consent, naming no address) the newest permitted address is used, as for any CRM-id grant -- the
  copied grant of an address the customer no longer delivers to neither widens nor narrows that.
* "ann@ granted, revoked by the customer, then a consent by CRM id with a newer bob@ -> marketing suppressed": the
  customer's own grant of ann@ stays the scope of the email consent after its revoke (``mailboxes.remember_grant``),
  so the later grant by CRM id does not open bob@, never named by any consent: the send is suppressed with
  ``consent``.  Fail safe (a missed promotion, never a message to an address without consent); kept.
These held before this round (regression guards)."""
from __future__ import annotations

from tests.stages.test_qa11a_consented_address import ANN, BOB, story
from tests.stages.test_qa11a_mailboxes import sends
from tests.stages.test_qa12a_granted_revoked import newer

FAMILY = [("crm", {"event_id": "c-B", "ts": "2026-08-01T00:00:00Z", "type": "contact_created", "crm_id": "B",
                   "email": ANN, "timezone": "UTC"})]  # B holds ann@ first: A's link of it is refused
B_GRANTS_ANN = ("consent", {"event_id": "g-B", "ts": "2026-09-20T00:00:00Z", "email": ANN, "channel": "email",
                            "status": "granted"})  # routed to B (the address's customer), copied to A


def without_a_grant(records):
    """``records`` with A's own consent record left out."""
    return [r for r in records if r[1]["event_id"] != "g-A"]


def test_another_holders_grant_of_a_shared_mailbox_is_no_consent_of_this_customer():
    assert sends(FAMILY + without_a_grant(story({"crm_id": "A"}))) == []
    assert sends(FAMILY + without_a_grant(story({"crm_id": "A"})) + [B_GRANTS_ANN]) == []
    assert sends(FAMILY + without_a_grant(story({"crm_id": "A"})) + newer(4) + [B_GRANTS_ANN]) == []


def test_a_copied_grant_after_eviction_leaves_the_crm_id_grant_as_it_was():
    # A consented by CRM id, then four newer addresses evict ann@ from A's delivery addresses: a4@, the newest
    base = FAMILY + story({"crm_id": "A"}) + newer(4)
    assert sends(base) == [("crm:A", "a4@example.com")]
    assert sends(base + [B_GRANTS_ANN]) == [("crm:A", "a4@example.com")]


def test_a_customers_own_revoked_grant_keeps_scoping_a_later_crm_id_grant():
    revoke = ("consent", {"event_id": "r-A", "ts": "2026-09-05T00:00:00Z", "email": ANN, "channel": "email",
                          "status": "revoked"})
    again = ("consent", {"event_id": "g-A2", "ts": "2026-09-06T00:00:00Z", "crm_id": "A", "channel": "email",
                         "status": "granted"})
    assert sends(story({"email": ANN}) + [revoke, again]) == []  # bob@ never consented: suppressed (fail safe)
    # a grant naming bob@ makes it the one
    grant_bob = ("consent", {"event_id": "g-A3", "ts": "2026-09-12T00:00:00Z", "email": BOB, "channel": "email",
                             "status": "granted"})
    assert sends(story({"email": ANN}) + [revoke, again, grant_bob]) == [("crm:A", BOB)]
