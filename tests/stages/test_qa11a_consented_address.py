"""qa11a: a send that needs a grant goes to an address that was granted, not to a newer one never consented to.

The policy (``consent.requires``: marketing and sales ``granted``) asks for an explicit grant; a consent record
naming an address grants that address (and the channel).  A customer whose grant was given for ``ann@`` and whose
CRM later names a newer ``bob@`` got the browse offer at ``bob@`` (the most recently seen address), which never
consented (qa10e noted it; in the golden input four customers' marketing went to a work address so).  Now such a
send goes to the newest *granted* address that is permitted, else it is suppressed with ``consent``; a consent
given by CRM id (the person's, naming no address) still lets the newest permitted address be used, and a service
or transactional send still goes to the newest address."""
from __future__ import annotations

from tests.stages.test_qa11a_mailboxes import PARSER, holder, sends  # noqa: F401  (PARSER: the deployment's key)

ANN, BOB = "ann@example.com", "bob@example.com"


def story(grant: dict) -> list[tuple[str, dict]]:
    """CRM contact A with ann@, a grant, then the CRM names bob@ (days before A browses)."""
    return [("crm", {"event_id": "c-A", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                     "email": ANN, "timezone": "UTC"}),
            ("consent", {"event_id": "g-A", "ts": "2026-09-01T00:00:01Z", "channel": "email", "status": "granted",
                         **grant}),
            ("crm", {"event_id": "u-A", "ts": "2026-09-10T00:00:00Z", "type": "contact_updated", "crm_id": "A",
                     "email": BOB, "timezone": "UTC"})] + holder("A", ANN)[2:]


def test_a_marketing_send_goes_to_the_granted_address_not_a_newer_one():
    assert sends(story({"email": ANN})) == [("crm:A", ANN)]


def test_a_grant_by_crm_id_lets_the_newest_address_be_used():
    assert sends(story({"crm_id": "A"})) == [("crm:A", BOB)]


def test_a_granted_address_that_bounced_leaves_no_consented_address():
    bounce = ("engagement", {"event_id": "b1", "ts": "2026-09-20T00:00:00Z", "email": ANN, "channel": "email",
                             "type": "bounced", "bounce_type": "hard"})
    assert sends(story({"email": ANN}) + [bounce]) == []


def test_a_later_grant_of_the_newer_address_makes_it_the_one():
    grant = ("consent", {"event_id": "g-B", "ts": "2026-09-11T00:00:00Z", "email": BOB, "channel": "email",
                         "status": "granted"})
    assert sends(story({"email": ANN}) + [grant]) == [("crm:A", BOB)]


def test_the_arbiter_suppresses_with_consent_and_a_service_send_uses_the_newest():
    from journeyflow.stages.arbitration.arbiter import Arbiter
    from tests.beam.test_address_consent import NOON, cand, customer, decide

    s = customer(email_ann=("email", ANN), email_bob=("email", BOB))  # bob@ seen last
    s.set_address_status("email:ann", "email", "granted", NOON - 30 * 86_400_000)
    arb = Arbiter()
    assert decide(arb, s, cand("email", "marketing")).address == ANN
    assert decide(arb, s, cand("email", "transactional")).address == BOB  # no grant needed: the newest
    s.set_address_status("email:ann", "email", "bounced", NOON - 86_400_000)
    d = decide(arb, s, cand("email", "marketing"))
    assert (d.action, d.reason_codes) == ("suppress", ("consent",))


def test_a_marketing_text_goes_to_the_granted_number_and_a_service_text_to_the_newest():
    from journeyflow.stages.arbitration.arbiter import Arbiter
    from tests.beam.test_address_consent import NOON, cand, customer, decide

    s = customer(phone_a=("phone", "+14155550134"), phone_b=("phone", "+14155550135"))  # b seen last
    s.set_address_status("phone:a", "sms", "granted", NOON - 30 * 86_400_000)
    arb, day = Arbiter(), NOON + 8 * 3_600_000  # 13:00 in California: no quiet hours
    assert decide(arb, s, cand("sms", "marketing"), day).address == "+14155550134"
    assert decide(arb, s, cand("sms", "transactional"), day).address == "+14155550135"
    s.set_address_status("phone:b", "sms", "granted", NOON - 86_400_000)  # both granted: the newest
    assert decide(arb, s, cand("sms", "marketing"), day).address == "+14155550135"
