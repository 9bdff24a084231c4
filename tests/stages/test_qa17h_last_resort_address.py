"""qa17h: an address the customer holds only as a last resort stays one after the customer has its own.

An address named only by a refused identity link (another customer's: ``mailboxes.REFUSED_KINDS``) or typed by a
support desk (``deliverability.MENTION_STREAMS``) is added when the customer has no address of that kind, and is a
delivery address only while the customer has none (README "Consent and deliverability").  Before, once added it was
an address like any other: when the customer later gave its own, a grant of the last-resort address by another
holder (copied to every holder, README "Shared addresses") made it the customer's only *granted* address, and the
customer's marketing went there -- A, a second CRM contact of B's family mailbox ``ann@``, later giving its own
``bob@``, got its browse offer at ``ann@`` once B granted ``ann@``.  Now such an address is kept marked as a last
resort (``CustomerState.addresses``: a fourth item), and :func:`delivery_address` looks at it only when the customer
has no other address of the kind."""
from __future__ import annotations

from journeyflow.stages.deliverability import delivery_address, see_contact
from journeyflow.stages.mailboxes import REFUSED_KINDS, hashed_key
from journeyflow.stages.state import CustomerState
from tests.stages.test_qa11a_consented_address import ANN, BOB, story
from tests.stages.test_qa11a_mailboxes import sends
from tests.stages.test_qa13c_consent_scope import B_GRANTS_ANN, FAMILY, without_a_grant

DESK, OWN = "+14155550100", "+14155550177"


def test_a_family_mailbox_another_holder_granted_is_no_scope_once_the_customer_has_its_own():
    assert sends(FAMILY + story({"crm_id": "A"})) == [("crm:A", BOB)]
    assert sends(FAMILY + story({"crm_id": "A"}) + [B_GRANTS_ANN]) == [("crm:A", BOB)]  # before: ann@ (B's)
    # without a grant of its own, still nothing (qa13c)
    assert sends(FAMILY + without_a_grant(story({"crm_id": "A"})) + [B_GRANTS_ANN]) == []


def test_the_family_mailbox_is_still_the_delivery_address_of_a_contact_with_no_other():
    # A's only email is B's family mailbox: A's marketing goes there (README "Shared addresses": both deliver to it)
    only_ann = [r for r in story({"crm_id": "A"}) if r[1]["event_id"] != "u-A"]
    assert sends(FAMILY + only_ann) == [("crm:A", ANN)]


def state_with(stream_or_refused: str) -> CustomerState:
    """A customer whose first phone is a desk phone (a ticket's, or one a refused link named), then its own."""
    s = CustomerState(customer_id="crm:A")
    if stream_or_refused == "support":
        see_contact(s, {"phone": DESK}, 1_000, "support")
    else:
        see_contact(s, {"phone": DESK, REFUSED_KINDS: "phone"}, 1_000, "orders")
    see_contact(s, {"phone": OWN}, 2_000, "crm")
    return s


def test_a_granted_desk_phone_is_not_the_scope_of_a_customer_with_its_own_number():
    for how in ("support", "refused"):
        s = state_with(how)
        desk = hashed_key("phone", DESK)
        s.set_address_status(desk, "sms", "granted", 500)  # the desk's owner granted SMS on it (a copy)
        assert delivery_address(s, "sms", 3_000, granted=True) == (hashed_key("phone", OWN), OWN), how
        assert delivery_address(s, "sms", 3_000) == (hashed_key("phone", OWN), OWN), how
        # the customer's own number opted out: nothing, never the desk (fail safe)
        s.set_address_status(hashed_key("phone", OWN), "sms", "revoked", 2_500)
        assert delivery_address(s, "sms", 3_000) == "opted_out", how


def test_the_last_resort_mark_survives_a_merge_and_the_codec_and_an_own_sighting_lifts_it():
    from journeyflow.stages.state_codec import decode_state, encode_state
    s = state_with("refused")
    other = CustomerState(customer_id="crm:A2")
    see_contact(other, {"email": "x@example.com"}, 1_500, "crm")
    for m in (s.merge(other), other.merge(s)):
        m = decode_state(encode_state(m))
        m = CustomerState.from_bytes(m.to_bytes())
        desk = hashed_key("phone", DESK)
        assert m.addresses[desk][3:] == [1]
        assert delivery_address(m, "sms", 3_000) == (hashed_key("phone", OWN), OWN)
    # the customer's own record naming the desk number makes it its own (a later sighting: the newest)
    see_contact(s, {"phone": DESK}, 2_500, "crm")
    assert s.addresses[hashed_key("phone", DESK)][3:] == []
    assert delivery_address(s, "sms", 3_000) == (hashed_key("phone", DESK), DESK)
