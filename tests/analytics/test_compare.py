"""journeyflow compare: per-channel automation vs journeyflow on the same events.

The conflict detectors are unit-tested on hand-made tiny examples; one generated population runs end to end
through both sides (the real replay pipeline for journeyflow).
"""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta, timezone

import pytest

from journeyflow.analytics import compare as C
from journeyflow.analytics.compare import PersonFacts, Send, Ticket
from journeyflow.cli import compare as cli_compare
from journeyflow.model.events import Event

H = 3_600_000
D = 24 * H
T = int(datetime(2026, 10, 5, 12, 0, tzinfo=timezone.utc).timestamp() * 1000)  # Monday 12:00 UTC


def send(ts: int, person: str = "P1", channel: str = "email", journey: str = "browse_offer",
         content: str = "browse_promo", category: str = "marketing", product: str | None = None,
         did: str = "") -> Send:
    return Send(person, "crm:" + person, ts, channel, journey, "step", content, category, product,
                did or f"d{ts}{channel}{content}")


# ----------------------------------------------------------------------------------------------- (1) tickets
def test_promo_during_open_ticket_counts_and_after_resolution_does_not():
    facts = {"P1": PersonFacts(tickets=[Ticket(T, T + D)])}
    during, after, before = send(T + H), send(T + D + H), send(T - H)
    assert C.open_ticket_conflicts([during, after, before], facts) == [during]


def test_unresolved_ticket_stays_open_and_service_messages_are_not_promos():
    facts = {"P1": PersonFacts(tickets=[Ticket(T, None)])}
    promo = send(T + 20 * D)
    apology = send(T + H, journey="service_recovery", content="service_apology", category="service")
    other_person = send(T + H, person="P2")
    assert C.open_ticket_conflicts([promo, apology, other_person], facts) == [promo]


def test_a_ticket_reopened_after_its_resolution_is_open_again():
    """The detectors follow the latest ticket status in event time, as journeyflow's state does (issue 17)."""
    persons = C.PersonMap({"crm:C1": "P1", "phone:p1": "P1"}, "ground_truth", 1)
    evs = [Event(f"support/{i}", "support", kind, T + i * D, (ident,), {"ticket_id": "T-1"})
           for i, (kind, ident) in enumerate([("ticket_opened", "crm:C1"), ("ticket_resolved", "crm:C1"),
                                              ("ticket_opened", "phone:p1"), ("ticket_escalated", "crm:C1")])]
    facts = C.build_person_facts(evs, persons)
    assert [(k.opened, k.resolved) for k in facts["P1"].tickets] == [(T, T + D), (T + 2 * D, None)]
    between, reopened = send(T + D + H), send(T + 4 * D)
    assert C.open_ticket_conflicts([between, reopened], facts) == [reopened]


# -------------------------------------------------------------------------------------- (2) recent purchase
def test_offer_for_a_product_bought_in_the_last_30_days():
    facts = {"P1": PersonFacts(orders=[(T - 10 * D, "O1", frozenset({"SKU-1", "SKU-2"}))])}
    bought = send(T, product="SKU-2")
    other_product = send(T + H, product="SKU-3")
    no_product = send(T + 2 * H)
    long_after = send(T + 21 * D, product="SKU-1")  # 31 days after the order
    assert C.recent_purchase_conflicts([bought, other_product, no_product, long_after], facts) == [bought]


def test_a_cancelled_order_is_no_purchase_from_its_cancellation_on():
    persons = C.PersonMap({"crm:C1": "P1"}, "ground_truth", 1)
    evs = [Event("orders/1", "orders", "order_placed", T, ("crm:C1",), {"order_id": "O1", "product_ids": ["SKU-1"]}),
           Event("orders/2", "orders", "order_cancelled", T + H, ("crm:C1",), {"order_id": "O1"})]
    facts = C.build_person_facts(evs, persons)
    before_cancel, after_cancel = send(T + 30 * 60_000, product="SKU-1"), send(T + D, product="SKU-1")
    assert C.recent_purchase_conflicts([before_cancel, after_cancel], facts) == [before_cancel]


def test_a_purchase_after_the_offer_is_not_a_conflict():
    facts = {"P1": PersonFacts(orders=[(T + H, "O1", frozenset({"SKU-1"}))])}
    assert C.recent_purchase_conflicts([send(T, product="SKU-1")], facts) == []


# ---------------------------------------------------------------------------------------- (3) duplicates
def test_same_content_on_two_channels_within_24h():
    first = send(T, channel="email", content="flash")
    second = send(T + 5 * H, channel="sms", content="flash")
    next_day = send(T + 30 * H, channel="push", content="flash")
    other_person = send(T + H, person="P2", channel="sms", content="flash")
    sends = [next_day, second, other_person, first]
    assert C.cross_channel_duplicates(sends) == [second]
    assert C.repeated_content(sends) == []


def test_same_content_again_on_the_same_channel_is_counted_apart():
    a, b = send(T, content="welcome", did="a"), send(T + H, content="welcome", did="b")
    assert C.repeated_content([a, b]) == [b]
    assert C.cross_channel_duplicates([a, b]) == []


# --------------------------------------------------------------------------------------- (4) quiet hours
@pytest.mark.parametrize("utc_hour,utc_minute,expected", [
    (13, 30, True),   # 22:30 in Tokyo
    (3, 0, False),    # 12:00
    (22, 59, True),   # 07:59
    (23, 0, False),   # 08:00: quiet hours end (exclusive)
    (12, 0, True),    # 21:00: quiet hours start (inclusive)
])
def test_quiet_hours_in_the_persons_time_zone(utc_hour, utc_minute, expected):
    ts = int(datetime(2026, 10, 5, utc_hour, utc_minute, tzinfo=timezone.utc).timestamp() * 1000)
    facts = {"P1": PersonFacts(tz="Asia/Tokyo")}
    assert bool(C.quiet_hours_conflicts([send(ts)], facts)) is expected


def test_quiet_hours_apply_to_promos_only_and_default_to_utc():
    ts = int(datetime(2026, 10, 5, 23, 0, tzinfo=timezone.utc).timestamp() * 1000)
    dunning = send(ts, journey="dunning", content="payment_retry", category="transactional")
    promo_no_tz = send(ts, person="P9")
    assert C.quiet_hours_conflicts([dunning, promo_no_tz], {"P1": PersonFacts(tz="UTC")}) == [promo_no_tz]


# ------------------------------------------------------------------------------------------- (5) consent
def _consent(*entries: tuple[int, str, str]) -> PersonFacts:
    f = PersonFacts()
    for ts, channel, status in entries:
        f.consent.setdefault(channel, []).append((ts, int(status in C.OPT_OUT), status))
    for v in f.consent.values():
        v.sort()
    return f


def test_send_after_revocation_or_before_any_grant_has_no_consent():
    facts = {"P1": _consent((T, "email", "granted"), (T + D, "email", "revoked"))}
    before_grant = send(T - H)
    granted = send(T + H)
    revoked = send(T + 2 * D)
    out = C.consent_conflicts([before_grant, granted, revoked], facts)
    assert out == {"opted_out": [revoked], "never_granted": [before_grant]}


def test_service_needs_no_grant_but_respects_an_unsubscribe_on_its_channel_only():
    facts = {"P1": _consent((T, "email", "unsubscribed"))}
    svc_email = send(T + H, journey="service_recovery", content="service_apology", category="service")
    svc_sms = send(T + H, channel="sms", journey="dunning", content="payment_retry_sms", category="transactional")
    out = C.consent_conflicts([svc_email, svc_sms], facts)
    assert out == {"opted_out": [svc_email], "never_granted": []}


def test_an_opt_out_at_the_same_instant_as_a_grant_wins():
    facts = {"P1": _consent((T, "email", "revoked"), (T, "email", "granted"))}
    assert C.consent_conflicts([send(T)], facts)["opted_out"] == [send(T)]


def test_consent_is_per_person_across_all_identifiers():
    """A revocation filed under the CRM id counts for a send keyed by the email address of the same person."""
    persons = C.PersonMap({"crm:C1": "P1", "email:e1": "P1", "anon:d1": "P1"}, "ground_truth", 1)
    revoke = Event("consent/c1", "consent", "consent_revoked", T, ("crm:C1",), {"channel": "email",
                                                                                 "status": "revoked"})
    grant = Event("consent/c0", "consent", "consent_granted", T - D, ("email:e1",), {"channel": "email",
                                                                                     "status": "granted"})
    facts = C.build_person_facts([grant, revoke], persons)
    s = Send("P1", "email:e1", T + H, "email", "browse_offer", "s", "browse_promo", "marketing")
    assert C.consent_conflicts([s], facts)["opted_out"] == [s]


# ----------------------------------------------------------------------------------------- (6) daily cap
def test_more_than_one_promo_per_person_per_24h():
    a, b, c = send(T, did="a"), send(T + 2 * H, did="b", channel="sms"), send(T + 23 * H, did="c")
    d = send(T + 48 * H, did="d")
    service = send(T + H, did="s", journey="service_recovery", category="service")
    assert sorted(x.decision_id for x in C.daily_promo_excess([a, b, c, d, service])) == ["b", "c"]


# ------------------------------------------------------------------------------------ goals and matching
def test_goal_conversions_are_orders_within_7_days_after_a_goal_journey_send():
    facts = {"P1": PersonFacts(orders=[(T - H, "O0", frozenset()), (T + 3 * D, "O1", frozenset()),
                                       (T + 9 * D, "O2", frozenset())])}
    cart = send(T, journey="cart_abandonment", content="cart_reminder_1", category="sales")
    welcome = send(T + 8 * D, journey="welcome", content="welcome")
    assert C.goal_conversions([cart, welcome], facts) == (1, 1)


def test_unnecessary_messages_are_matched_one_to_one_within_a_day():
    base = [send(T, did="b1"), send(T + 2 * H, did="b2"), send(T + 5 * D, did="b3"),
            send(T, person="P2", did="b4")]
    orch = [send(T + 20 * H, did="j1"), send(T + 3 * D, did="j2")]
    only_base, only_orch = C.match_unnecessary(base, orch)
    assert [s.decision_id for s in only_base] == ["b2", "b3", "b4"]
    assert [s.decision_id for s in only_orch] == ["j2"]


# ------------------------------------------------------------------------------------------- the baseline
def test_automation_keys_state_by_identifier_and_only_knows_its_own_opt_outs():
    from journeyflow.stages.journeys import default_journeys

    journeys = default_journeys()
    cart = next(j for j in journeys if j.id == "cart_abandonment")
    device = "anon:dev1"
    # the arm is drawn with the entering event's uid: pick a cart event in the treatment arm
    cart_uid = next(f"web/w{i}" for i in range(2, 100) if not cart.in_control(f"web/w{i}"))
    events = [
        Event("consent/c1", "consent", "consent_revoked", T - D, ("crm:C1",), {"channel": "email",
                                                                                 "status": "revoked"}),
        Event("crm/k1", "crm", "contact_created", T, ("crm:C1", "email:e1"), {"timezone": "UTC"},
              {"email": "ann@example.com"}),
        Event("web/w1", "web", "signup", T + H, ("anon:d1", "email:e1"), {}, {"email": "ann@example.com"}),
        Event(cart_uid, "web", "add_to_cart", T + H, (device,), {"product_id": "SKU-1"}),
    ]
    decisions, products = C.run_automation(events, journeys, until=T + 3 * H)
    by = {(d.customer_id, d.journey_id): d for d in decisions}
    # the CRM tool has the revocation for its CRM id: its welcome email is stopped ...
    assert by[("crm:C1", "welcome")].reason_codes == ("opted_out",)
    # ... the web signup's welcome goes to the email-keyed profile, which never heard of it
    sent = by[("email:e1", "welcome")]
    assert sent.action == "send" and sent.address == "ann@example.com"
    # an anonymous cart has nobody to email
    assert by[(device, "cart_abandonment")].reason_codes == ("undeliverable",)
    assert products[("email:e1", sent.decision_id)] is None


def test_opt_in_baseline_needs_a_grant_for_the_same_identifier():
    from journeyflow.stages.journeys import default_journeys

    events = [
        Event("consent/c1", "consent", "consent_granted", T - D, ("crm:C1",), {"channel": "email",
                                                                                 "status": "granted"}),
        Event("crm/k1", "crm", "contact_created", T, ("crm:C1", "email:e1"), {}, {"email": "ann@example.com"}),
        Event("web/w1", "web", "signup", T + H, ("anon:d1", "email:e1"), {}, {"email": "ann@example.com"}),
    ]
    decisions, _ = C.run_automation(events, default_journeys(), until=T + 2 * H, opt_in=True)
    by = {(d.customer_id, d.journey_id): d for d in decisions}
    assert by[("crm:C1", "welcome")].action == "send"  # the grant was filed under the CRM id
    assert by[("email:e1", "welcome")].reason_codes == ("not_opted_in",)  # the email tool never saw it


def test_identity_timeline_knows_when_identifiers_were_linked():
    tl = C.IdentityTimeline({"crm:C1": "crm:C1", "email:e1": "crm:C1", "phone:p1": "crm:C1", "anon:x": "anon:x"},
                            [(T, "crm:C1", "email:e1"), (T + D, "email:e1", "phone:p1")])
    assert tl.linked_at("crm:C1", "email:e1", T) and not tl.linked_at("crm:C1", "email:e1", T - 1)
    assert not tl.linked_at("crm:C1", "phone:p1", T + H) and tl.linked_at("crm:C1", "phone:p1", T + D)
    assert not tl.linked_at("crm:C1", "anon:x", T + 9 * D)


# ------------------------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from journeyflow.tools.generator import generate

    data = tmp_path_factory.mktemp("population")
    generate(customers=150, days=14, seed=5, out=data)
    return C.compare(data, work_dir=tmp_path_factory.mktemp("work"))


def test_journeyflow_sends_fewer_messages_per_person(report):
    a, j = report.automation, report.journeyflow
    assert report.person_basis == "ground_truth" and report.persons == 150
    assert 0 < j.total < a.total
    assert report.message_cut_pct > 0
    assert 0 < report.unnecessary <= a.total
    assert j.undeliverable < a.undeliverable


def test_journeyflow_has_no_consent_ticket_purchase_conflicts_and_the_baseline_has(report):
    a, j = report.automation.conflicts, report.journeyflow.conflicts
    for kind in ("no_consent", "open_ticket", "recent_purchase", "quiet_hours", "daily_promo_cap"):
        assert a[kind] > 0, kind
    assert j["no_consent"] == 0
    assert j["open_ticket"] == report.journeyflow.ticket_unlinked == 0
    assert j["recent_purchase"] == 0
    assert j["daily_promo_cap"] == 0


def test_journeyflow_quiet_hours_sends_only_when_no_source_knew_the_time_zone(report):
    """journeyflow defers promos in the customer's zone; it can only miss when no system had recorded the zone
    yet (it then falls back to the policy's default zone).  The generator leaves the zone out of 8% of CRM
    records."""
    j = report.journeyflow
    assert j.conflicts["quiet_hours"] == j.quiet_tz_unknown
    assert j.conflicts["quiet_hours"] < report.automation.conflicts["quiet_hours"] / 10


def test_in_process_fold_reproduces_the_pipeline(report):
    assert report.fold_check["identical"], report.fold_check


def test_report_renders_and_serializes(report):
    text = report.render()
    for label in ("messages sent", "(1) promo during an open support ticket", "(5) send without consent",
                  "unnecessary messages", "not an uplift measurement"):
        assert label in text
    d = json.loads(json.dumps(report.to_dict()))
    assert d["automation"]["messages"]["total"] == report.automation.total
    assert set(d["cut_pct"]["conflicts"]) == set(C.CONFLICT_KINDS)


def test_cli_writes_json_without_ground_truth(tmp_path):
    from tests.scenarios import Scenario

    s = Scenario()
    s.contact(timedelta(0), "C1", email="ann@example.com", consent=("email",), stage="lead")
    s.add("web", timedelta(hours=1), anonymous_id="dev-1", type="signup", email="ann@example.com")
    s.add("web", timedelta(hours=2), anonymous_id="dev-2", type="add_to_cart", product_id="SKU-1")
    inp = s.write(tmp_path / "in")
    parser = argparse.ArgumentParser()
    cli_compare.add_args(parser)
    ns = parser.parse_args(["--input", str(inp), "--json", str(tmp_path / "r.json")])
    assert cli_compare.run(ns) == 0
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["person_basis"] == "identity_clusters"
    # the CRM contact and the web signup are two welcome emails for the automation, one person for journeyflow
    assert d["automation"]["messages_by_journey"]["welcome"] == 2
    assert d["journeyflow"]["messages_by_journey"].get("welcome", 0) <= 1
