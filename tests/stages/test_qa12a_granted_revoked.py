"""qa12a: an address granted, then opted out by another holder of it, stays the scope of the customer's consent.

Policy ``consent.requires: granted`` (marketing, sales) asks for an explicit grant; a grant naming ``ann@`` is consent
for ``ann@`` only (``deliverability.delivery_address``, qa11a).  Customer A granted email with ``ann@``; A's CRM later
names ``bob@``.  Customer B (a second CRM contact of the family mailbox ``ann@``: its link is refused) revokes or
unsubscribes ``ann@``: the change is copied to A (an ``ADDRESS_STREAM`` copy changes the address only, A's channel
consent stays granted).  Before, A's address status of ``ann@`` became ``revoked`` and the grant was forgotten, so
A counted as having no address-level grant at all and the browse offer went to ``bob@``, never consented to (qa11a
left it: "a granted-then-revoked address copied from another holder falls back to the newest address").  Now the
record keeps the latest grant an opt-out overrode (``mailboxes.remember_grant``); the offer is suppressed."""
from __future__ import annotations

import itertools

import pytest

from journeyflow.stages.mailboxes import granted
from journeyflow.stages.state import CustomerState
from tests.stages.test_qa11a_consented_address import ANN, BOB, story
from tests.stages.test_qa11a_mailboxes import sends

LATER = "2026-09-15T00:00:00Z"
B = ("crm", {"event_id": "c-B", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "B",
             "email": ANN, "timezone": "UTC"})


def opt_out(kind: str, at: str = LATER, email: str = ANN) -> tuple[str, dict]:
    """B's opt-out of ``email`` (routed to B by its CRM id / Segment userId)."""
    if kind == "consent revoke":
        return ("consent", {"event_id": "r-B", "ts": at, "crm_id": "B", "email": email, "channel": "email",
                            "status": "revoked"})
    if kind == "Segment Unsubscribed":
        return ("track", {"type": "track", "event": "Unsubscribed", "messageId": "r-B", "userId": "B",
                          "timestamp": at, "context": {"traits": {"email": email}}})
    return ("engagement", {"event_id": "r-B", "ts": at, "crm_id": "B", "email": email, "channel": "email",
                           "type": kind})


KINDS = ("consent revoke", "unsubscribed", "complained", "Segment Unsubscribed")


@pytest.mark.parametrize("kind", KINDS)
def test_an_opt_out_copied_from_another_holder_does_not_open_the_newer_address(kind):
    assert sends(story({"email": ANN}) + [B]) == [("crm:A", ANN)]
    assert sends(story({"email": ANN}) + [B, opt_out(kind)]) == []  # before: [("crm:A", BOB)]


@pytest.mark.parametrize("order", ["grant first", "opt-out first"])
def test_at_equal_times_the_opt_out_wins_and_the_grant_still_scopes_consent(order):
    grant_at = "2026-09-01T00:00:01Z"  # A's grant (story) and B's revoke at the same millisecond
    recs = story({"email": ANN}) + [B]
    rev = opt_out("consent revoke", grant_at)
    recs = recs[:2] + [rev] + recs[2:] if order == "grant first" else [rev] + recs
    assert sends(recs) == []


def test_an_opt_out_of_another_spelling_of_the_granted_mailbox_too():
    # B opts out ann+news@: its mailbox ann@ (A's granted address) is opted out and A keeps no consented address
    assert sends(story({"email": ANN}) + [B, opt_out("unsubscribed", email="ann+news@example.com")]) == []


def test_what_stays_as_it_was():
    # a grant by CRM id (the person's, naming no address) still lets the newest permitted address be used (ann@
    # blocked by a hard bounce: B's revoke naming ann@, which A's CRM record links to A, opts A's channel out too
    # since qa14b -- every customer an opt-out's identifiers resolve to: tests/stages/test_qa14b_*)
    bounce = ("engagement", {"event_id": "b-B", "ts": LATER, "email": ANN, "channel": "email", "type": "bounced"})
    assert sends(story({"crm_id": "A"}) + [B, bounce]) == [("crm:A", BOB)]
    assert sends(story({"crm_id": "A"}) + [B, opt_out("consent revoke")]) == []
    # a later grant of bob@ makes bob@ the one; a later grant of ann@ re-opens ann@
    g_bob = ("consent", {"event_id": "g-B2", "ts": "2026-09-20T00:00:00Z", "email": BOB, "channel": "email",
                         "status": "granted"})
    assert sends(story({"email": ANN}) + [B, opt_out("unsubscribed"), g_bob]) == [("crm:A", BOB)]
    g_ann = dict(g_bob[1], email=ANN, event_id="g-A2")
    assert sends(story({"email": ANN}) + [B, opt_out("unsubscribed"), ("consent", g_ann)]) == [("crm:A", ANN)]


def newer(n: int) -> list[tuple[str, dict]]:
    """A's CRM names ``n`` more addresses after bob@ (a3@ the newest)."""
    return [("crm", {"event_id": f"u-{i}", "ts": f"2026-09-1{i}T01:00:00Z", "type": "contact_updated",
                     "crm_id": "A", "email": f"a{i}@example.com", "timezone": "UTC"}) for i in range(1, n + 1)]


@pytest.mark.parametrize("n", [3, 4])
def test_the_granted_address_is_kept_among_newer_ones(n):
    # five or more addresses: four are kept (deliverability.MAX_ADDRESSES_PER_KIND); before, ann@ (the oldest) was
    # dropped and the offer went to the newest, never consented to; now the granted one is kept first
    assert sends(story({"email": ANN}) + newer(n)) == [("crm:A", ANN)]  # before: a3@ / a4@
    assert sends(story({"email": ANN}) + newer(n) + [B, opt_out("unsubscribed")]) == []
    assert sends(story({"crm_id": "A"}) + newer(n)) == [("crm:A", f"a{n}@example.com")]  # (a grant by CRM id)


CHANGES = [("granted", 10), ("revoked", 10), ("granted", 5), ("unsubscribed", 30), ("granted", 20),
           ("bounced", 7), ("soft_bounce", 3)]


def test_the_remembered_grant_is_order_free_and_survives_a_merge():
    states = []
    for perm in itertools.permutations(CHANGES):
        s = CustomerState(customer_id="crm:X")
        for effect, ts in perm:
            s.set_address_status("email:k", "email", effect, ts)
        states.append(s.addr_status)
    assert all(a == states[0] for a in states)
    assert states[0]["email:k"]["email"] == ["unsubscribed", 30, 7, [3], 20]  # the latest grant (20) kept
    x, y = CustomerState(customer_id="crm:X"), CustomerState(customer_id="crm:Y")
    x.set_address_status("email:k", "email", "granted", 10)
    y.set_address_status("email:k", "email", "revoked", 12)
    assert not granted(y, "email:k", ANN, "email")
    for m in (x.merge(y), y.merge(x)):
        assert m.addr_status["email:k"]["email"] == ["revoked", 12, None, [], 10]
        assert granted(m, "email:k", ANN, "email") and m.address_block("email:k", "email", 20) == "revoked"
        assert m.address_rows() == [{"address_key": "email:k", "channel": "email", "status": "revoked",
                                     "since": 12}]
    # a grant after the opt-out: the latest status is the grant, nothing more kept (the form of qa11a's records)
    x.set_address_status("email:k", "email", "granted", 15)
    assert x.merge(y).addr_status["email:k"]["email"] == ["granted", 15, None, []]


def test_the_same_for_texts():
    from journeyflow.stages.arbitration.arbiter import Arbiter
    from tests.beam.test_address_consent import NOON, cand, customer, decide

    at = NOON + 8 * 3_600_000  # 13:00 in California: no quiet hours

    def text(category: str):
        return decide(arb, s, cand("sms", category)._replace(proposed_at=at), at)

    arb = Arbiter()
    s = customer(phone_ann=("phone", "+14155550134"), phone_bob=("phone", "+14155550199"))  # bob's seen last
    s.set_address_status("phone:ann", "sms", "granted", NOON - 30 * 86_400_000)
    assert text("marketing").address == "+14155550134"
    s.set_address_status("phone:ann", "sms", "revoked", NOON - 86_400_000)  # a copy: channel consent stays
    d = text("marketing")
    assert (d.action, d.reason_codes) == ("suppress", ("consent",))  # before: sent to +14155550199
    assert text("transactional").address == "+14155550199"  # no grant needed: the newest, as before


def test_a_merge_keeps_the_granted_address_too():
    x, y = CustomerState(customer_id="crm:X"), CustomerState(customer_id="crm:Y")
    x.set_address_status("email:ann", "email", "granted", 1)
    for i, key in enumerate(["email:ann", "email:b1", "email:b2", "email:b3"]):
        x.addresses[key] = ["email", f"{key[6:]}@example.com", 10 + i]
    y.addresses["email:b4"] = ["email", "b4@example.com", 20]
    for m in (x.merge(y), y.merge(x)):
        assert sorted(m.addresses) == ["email:ann", "email:b2", "email:b3", "email:b4"]  # before: ann@ dropped
        assert m.delivery_address("email", 30, granted=True) == ("email:ann", "ann@example.com")
