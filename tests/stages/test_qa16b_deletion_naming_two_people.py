"""qa16b: an account deletion naming identifiers of several customers deletes every one of them (in-process bounded
path; the Beam replay and streaming: tests/beam/test_qa16b_deletion_naming_two_people_beam.py).

qa15a's deletion (``stages.deletion``) was decided for the record's own customer only: identity resolution keys a
record by its canonical identifier and dropped the identifiers of other clusters from it.  So a Segment
``Account Deleted`` with ``userId`` B and ``anonymousId`` D, D's device profile never linked to B (the crm link rules
leave device ids out), left D's profile as it was (its browsing facts kept, its cart journey going on), and a crm
deletion naming crm_id B and A's email (a contact merged in the CRM, an export row with two people's identifiers)
left A with the win-back.  Erasure is compliance (GDPR art. 17), so it now fails safe like an opt-out: a deletion
reaches every customer any of its identifiers resolves to at the record's time (``stages.identity.opt_outs``), as
a status-only copy that is no event read (``decided + dead letters = records read``) and links nothing."""
from __future__ import annotations

import pytest

from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.deletion import is_deleted
from tests.stages.test_qa15a_account_deletion import (CONFIG, DAY, DEL, LATER, T, activity, contact, events, ms,
                                                      sends)

ANN, BOB, A_PHONE = "ann@example.com", "bob@example.com", "+14155550101"
#: A and B: two CRM contacts, each with a cart, a failed payment and an order pending their reminders
BOTH = contact("A", ANN, A_PHONE) + activity("A") + contact("B", BOB, "+14155550102") + activity("B")


def deletion(form: str, at: str = DEL, **ids) -> tuple[str, dict]:
    """B's deletion (keyed by B's CRM id / userId) in input ``form``, naming also ``ids`` (``email``, ``phone``,
    ``anonymous_id``)."""
    if form == "Segment Account Deleted":
        seg = {"anonymousId": ids["anonymous_id"]} if "anonymous_id" in ids else {
            "context": {"traits": dict(ids)}}
        return ("track", {"type": "track", "event": "Account Deleted", "messageId": "del-B", "userId": "B",
                          "timestamp": at, **seg})
    if form.startswith("crm flagged "):  # a contact record flagged deleted (HubSpot archived, Salesforce IsDeleted)
        return ("crm", {"event_id": "del-B", "ts": at, "type": "contact_updated", "crm_id": "B",
                        form[len("crm flagged "):]: True, **ids})
    return ("crm", {"event_id": "del-B", "ts": at, "type": form[4:], "crm_id": "B", **ids})


CRM_FORMS = ["crm contact_deleted", "crm contact.deletion", "crm erasure_requested", "crm flagged archived",
             "crm flagged IsDeleted"]
FORMS = CRM_FORMS + ["Segment Account Deleted"]


def run(records: list[tuple[str, dict]], until_days: int = 40):
    """(decisions, journey steps, final sub-profile states by customer id, bounded clusters) of ``records`` on the
    in-process bounded path; checks that every record read is decided on or a dead letter, once."""
    evs = events(records)
    clusters = resolve_clusters(evs, CONFIG.link_rules())
    decisions, steps, states, counted = [], [], {}, 0
    for _c, o in fold_clusters(clusters, CONFIG.build_processor(), max(e.ts for e in evs) + until_days * DAY):
        decisions += o.decisions
        steps += o.steps
        states.update(o.final_states)
        counted += o.events + len(o.dead)
    assert counted == len(evs)  # the copies are no records read
    return decisions, steps, states, clusters


def test_without_the_deletion_both_get_their_reminders():
    decisions = run(BOTH)[0]
    for c in ("crm:A", "crm:B"):
        assert ("winback", "email") in sends(decisions, c, after=DEL)


@pytest.mark.parametrize("form", FORMS)
def test_a_deletion_naming_b_and_as_email_deletes_both(form):
    decisions, steps, states, _c = run(BOTH + [deletion(form, email=ANN)])
    assert sends(decisions, "crm:B", after=DEL) == []
    assert sends(decisions, "crm:A", after=DEL) == []  # before: A's cart SMS, dunning SMS, win-back
    exited = {s.journey_id for s in steps if s.customer_id == "crm:A" and s.detail == "account_deleted"}
    assert {"cart_abandonment", "dunning", "winback"} <= exited
    a = states["crm:A"]
    assert is_deleted(a) and a.account[1] == ms(DEL)
    assert not a.orders and not a.cart and not a.addresses and a.tz is None  # erased


@pytest.mark.parametrize("form", CRM_FORMS)
def test_a_deletion_naming_b_and_as_number_deletes_both(form):
    decisions = run(BOTH + [deletion(form, phone=A_PHONE)])[0]
    assert sends(decisions, "crm:A", after=DEL) == []  # before: A's reminders


@pytest.mark.parametrize("form", FORMS)
def test_a_deletion_at_as_triggers_millisecond_applies_first(form):
    decisions = run(BOTH + [deletion(form, T, email=ANN)])[0]
    assert sends(decisions, "crm:A", after=T) == []  # before: A's dunning email at once, and the rest


#: D: a device that browsed and filled a cart without ever logging in (a profile of its own, ``anon:dev-D``)
DEVICE = [("web", {"event_id": f"v-D-{i}", "ts": f"2026-10-05T09:0{i}:00Z", "type": "product_view",
                   "anonymous_id": "dev-D", "product_id": "P1"}) for i in range(3)] + [
    ("web", {"event_id": "a-D", "ts": T, "type": "add_to_cart", "anonymous_id": "dev-D", "product_id": "P1"})]


def device_outcome(records):
    """(journey steps of the device's profile from the deletion on, the device's final state)."""
    _d, steps, states, clusters = run(records)
    root = clusters.cmap.root_of.get("anon:dev-D", "anon:dev-D")
    return [(s.journey_id, s.kind, s.detail) for s in steps if s.customer_id == root and s.at >= ms(DEL)], states[root]


def test_a_segment_account_deleted_naming_a_device_never_linked_deletes_the_device_profile():
    steps, state = device_outcome(BOTH + DEVICE)
    assert state.views and not is_deleted(state)  # without the deletion: the device's own profile, browsing kept
    steps, state = device_outcome(BOTH + DEVICE + [deletion("Segment Account Deleted", anonymous_id="dev-D")])
    # before: the device profile went on (its views and cart kept, no account mark, its cart journey not ended)
    assert is_deleted(state) and not state.views and not state.cart
    assert ("cart_abandonment", "exited", "account_deleted") in steps
    later = [("web", {"event_id": "v-D-9", "ts": LATER, "type": "add_to_cart", "anonymous_id": "dev-D",
                      "product_id": "P2"})]
    steps, state = device_outcome(BOTH + DEVICE + [deletion("Segment Account Deleted", anonymous_id="dev-D")] + later)
    assert [s for s in steps if s[1] == "entered"] == []  # the device's later cart enters nothing


def test_the_copies_are_no_events_and_link_nothing():
    recs = BOTH + DEVICE + [deletion("Segment Account Deleted", anonymous_id="dev-D")]
    _d, _s, _st, clusters = run(recs)  # (run checks decided + dead letters = records read)
    assert clusters.cmap.root_of.get("anon:dev-D", "anon:dev-D") == "anon:dev-D"  # not linked to B
    copies = [(c, ev.ids) for c, items in clusters.groups.items() for ev, _ in items if ev.uid.startswith("absorb:")]
    assert copies == [("anon:dev-D", ("anon:dev-D",))]
    _d, _s, _st, clusters = run(BOTH + [deletion("crm contact_deleted", email=ANN)])
    assert clusters.cmap.root_of.get("email:" + _key(ANN)) == "crm:A"  # (B's link to A's email: refused, one CRM id)


def _key(email: str) -> str:
    from tests.stages.test_qa15a_account_deletion import PARSER
    return PARSER.hasher.email(email)[0].partition(":")[2]


def login(at: str) -> tuple[str, dict]:
    return ("web", {"event_id": f"l-{at}", "ts": at, "type": "login", "anonymous_id": "dev-D", "user_id": "A"})


@pytest.mark.parametrize("at", ["2026-10-01T00:00:00Z", DEL, LATER])
def test_a_device_linked_to_a_before_at_or_after_the_deletion_carries_it_to_a(at):
    """The device B's deletion names is A's (a login, before the deletion, at its millisecond or a week later): A is
    deleted from the deletion (linked before) or from the link on (linked later: the deleted device profile merges
    into A, qa15a's rule for a deleted profile merged later)."""
    decisions = run(BOTH + [deletion("Segment Account Deleted", anonymous_id="dev-D"), login(at)])[0]
    assert sends(decisions, "crm:A", after=max(at, DEL)) == []  # before: A's win-back (and more)


def test_without_the_deletion_a_login_changes_nothing():
    decisions = run(BOTH + [login(LATER)])[0]
    assert ("winback", "email") in sends(decisions, "crm:A", after=LATER)


def resignup(crm: str, email: str) -> list[tuple[str, dict]]:
    at = "2026-10-12T10:00:00Z"
    return [("crm", {"event_id": f"new-{crm}", "ts": at, "type": "contact_created", "crm_id": crm, "email": email,
                     "timezone": "UTC"}),
            ("consent", {"event_id": f"g-new-{crm}", "ts": "2026-10-12T10:00:05Z", "crm_id": crm,
                         "channel": "email", "status": "granted"}),
            ("web", {"event_id": f"a-new-{crm}", "ts": "2026-10-13T10:00:00Z", "type": "add_to_cart",
                     "anonymous_id": f"d-new-{crm}", "user_id": crm, "product_id": "P2"})]


@pytest.mark.parametrize("who", ["A", "B"])
def test_a_new_account_reopens_only_the_customer_that_signed_up_again(who):
    """After B's deletion naming A's email, a new account of one of them (``contact_created``, a new grant, a cart)
    is a new profile for that one; the other stays deleted (its later cart gets nothing)."""
    other = "B" if who == "A" else "A"
    recs = BOTH + [deletion("crm contact_deleted", email=ANN)] + resignup(who, ANN if who == "A" else BOB) + [
        ("consent", {"event_id": f"g-late-{other}", "ts": "2026-10-12T10:00:05Z", "crm_id": other,
                     "channel": "email", "status": "granted"}),
        ("web", {"event_id": f"a-late-{other}", "ts": "2026-10-13T10:00:00Z", "type": "add_to_cart",
                 "anonymous_id": f"d-{other}", "user_id": other, "product_id": "P2"})]
    decisions = run(recs)[0]
    assert ("cart_abandonment", "email") in sends(decisions, f"crm:{who}", after=LATER)
    assert sends(decisions, f"crm:{other}", after=DEL) == []  # (A before: its cart reminder and win-back)


def test_a_grant_or_an_ordinary_update_naming_two_people_reaches_nobody_else():
    update = ("crm", {"event_id": "u-B", "ts": DEL, "type": "contact_updated", "crm_id": "B", "email": ANN})
    decisions = run(BOTH + [update])[0]
    assert ("winback", "email") in sends(decisions, "crm:A", after=DEL)
    assert ("winback", "email") in sends(decisions, "crm:B", after=DEL)



def test_a_deletion_naming_bs_device_not_yet_linked_deletes_that_profile_too():
    """B's second browser is a customer of its own (x@: a signup, a grant, views) until B's CRM record names x@ five
    days after the offer (one final cluster, two sub-profiles at the deletion's time): ``ClusterFold`` gives the
    deletion to both (before: x@'s profile got the browse offer on 5 Oct)."""
    from tests.stages.test_qa14b_opt_outs_naming_two_people import SECOND_DEVICE, holder, offers_key

    def offered(extra):
        decisions, _s, _st, clusters = run(holder("B", BOB) + SECOND_DEVICE + extra)
        assert clusters.cmap.root_of["anon:dev-B2"] == "crm:B"
        return sorted({d.customer_id for d in decisions if d.action == "send" and d.journey_id == "browse_offer"})

    assert offered([]) == ["crm:B", "email:" + offers_key("x@example.com")]
    assert offered([deletion("Segment Account Deleted", "2026-10-02T00:00:00Z", anonymous_id="dev-B2")]) == []


def test_a_family_mailbox_named_by_bs_deletion_deletes_its_other_holder_too():
    """A and B, two CRM contacts with one family mailbox (two customers: the one-CRM-id cap refuses B's link; the
    mailbox resolves to A).  B's deletion by CRM id alone is B's (qa15a); one that names the mailbox too (a CRM export
    row with the contact's email) reaches A as well: which of the two the mailbox stands for is not known, and an
    erasure fails safe (README "Account deletion and erasure")."""
    fam = contact("A", "fam@example.com", A_PHONE) + activity("A") + contact(
        "B", "fam@example.com", "+14155550102") + activity("B")
    decisions = run(fam + [deletion("crm contact_deleted")])[0]
    assert ("winback", "email") in sends(decisions, "crm:A", after=DEL)
    decisions = run(fam + [deletion("crm contact_deleted", email="fam@example.com")])[0]
    assert sends(decisions, "crm:A", after=DEL) == [] == sends(decisions, "crm:B", after=DEL)
