"""Consent and deliverability per address: never message an address that opted out (issue 16).

The four inputs of the issue, end to end through the bounded replay pipeline (one replay, one customer or two per
story), the same stories through the streaming stages, the arbitration rules on their own, and a property over
random histories with several addresses per customer and addresses shared between customers.
"""
from __future__ import annotations

import copy
from datetime import timedelta as td

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.stages.identity.keys import Hasher
from journeyflow.model.decisions import Candidate
from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser, parse_ts
from journeyflow.stages.arbitration import Arbiter, Policy
from journeyflow.stages.state import CustomerState
from tests.scenarios import Scenario, T0, decisions_of, journeys_with_test_extras, read_topic, replay_with_test_journeys

H = td(hours=1)
D = td(days=1)
M = td(minutes=1)
T = parse_ts(T0.isoformat())
HOUR_MS, DAY_MS = 3_600_000, 86_400_000
HASHER = Hasher.from_env()


def key_of(email: str) -> str:
    return HASHER.email(email)[0]


def views(s: Scenario, device: str, at: td, product: str = "SKU-7", n: int = 3, step: td = H) -> None:
    for i in range(n):
        s.add("web", at + i * step, anonymous_id=device, type="product_view", product_id=product)


def login(s: Scenario, device: str, crm_id: str, at: td = -9 * D) -> None:
    s.add("web", at, anonymous_id=device, type="login", user_id=crm_id)


# ------------------------------------------------------------------------------------------------ stories
def build() -> Scenario:
    s = Scenario()
    # 1. shared mailbox: two CRM contacts with one email (the second link is refused by the one-CRM-id cap);
    #    the address is revoked by a consent record naming it, then CRM-B browses
    s.contact(-10 * D, "SMA", email="family@example.com", phone="+1 415-555-0201", stage="lead")
    s.contact(-9 * D, "SMB", email="family@example.com", phone="+1 415-555-0202", stage="lead")
    s.add("consent", -5 * D, email="family@example.com", channel="email", status="revoked")
    login(s, "dev-smb", "SMB", -4 * D)
    views(s, "dev-smb", td(0))
    # 1b. the same with an unsubscribe for the shared email (engagement feedback)
    s.contact(-10 * D, "SUA", email="shared@example.com", phone="+1 415-555-0211", stage="lead")
    s.contact(-9 * D, "SUB", email="shared@example.com", phone="+1 415-555-0212", stage="lead")
    s.add("engagement", -5 * D, email="shared@example.com", channel="email", type="unsubscribed")
    login(s, "dev-sub", "SUB", -4 * D)
    views(s, "dev-sub", td(0))
    # 2. no address: known by CRM id only (email consent granted by CRM id, no email ever seen) ...
    s.contact(-10 * D, "NOA")
    login(s, "dev-noa", "NOA")
    views(s, "dev-noa", td(0), step=M)  # browse offer at T0 + 2 min: no address
    s.add("crm", H, crm_id="NOA", email="noa@example.com", type="contact_updated")
    s.add("web", 2 * H, anonymous_id="dev-noa", type="page_view", product_id="FLASH")  # deliverable, same day
    # ... and a payment failure for a customer without a phone: the dunning SMS 24 h later has no address
    s.contact(-10 * D, "DUN", email="dun@example.com", consent=("email", "sms"))
    s.add("orders", td(0), crm_id="DUN", order_id="O-DUN", type="payment_failed", product_ids=["SKU-1"],
          amount=9.0, currency="EUR")
    # 3. same millisecond: the third view and an opt-out carry the same ts (one customer per kind of opt-out)
    for cid, opt_out in (("SAU", {"type": "unsubscribed"}), ("SAC", {"type": "complained"}),
                         ("SAB", {"type": "bounced", "bounce_type": "hard"}), ("SAR", None)):
        email = f"{cid.lower()}@example.com"
        s.contact(-10 * D, cid, email=email)
        login(s, f"dev-{cid}", cid)
        views(s, f"dev-{cid}", td(0), n=2, step=M)
        s.add("web", 2 * M, anonymous_id=f"dev-{cid}", type="product_view", product_id="SKU-7")
        if opt_out is None:
            s.add("consent", 2 * M, email=email, channel="email", status="revoked")
        else:
            s.add("engagement", 2 * M, email=email, channel="email", **opt_out)
    # 4a. hard bounce: that address only; the customer's new address is used
    s.contact(-10 * D, "HB1", email="old@example.com")
    s.add("engagement", -5 * D, email="old@example.com", channel="email", type="bounced", bounce_type="hard")
    s.add("crm", -4 * D, crm_id="HB1", email="new@example.com", type="contact_updated")
    login(s, "dev-hb1", "HB1")
    s.add("web", td(0), anonymous_id="dev-hb1", type="page_view", product_id="FLASH")
    # 4b. the newest address bounced: the older, still deliverable one is used
    s.contact(-10 * D, "HB2", email="first@example.com")
    s.add("crm", -6 * D, crm_id="HB2", email="second@example.com", type="contact_updated")
    s.add("engagement", -5 * D, email="second@example.com", channel="email", type="bounced")  # no type: hard
    login(s, "dev-hb2", "HB2")
    s.add("web", td(0), anonymous_id="dev-hb2", type="page_view", product_id="FLASH")
    # 4c. a grant does not clear a hard bounce of the same address; transactional mail cannot go there either
    s.contact(-10 * D, "HB3", email="gone@example.com")
    s.add("engagement", -5 * D, email="gone@example.com", channel="email", type="bounced", bounce_type="hard")
    s.add("consent", -4 * D, email="gone@example.com", channel="email", status="granted")
    login(s, "dev-hb3", "HB3")
    s.add("web", td(0), anonymous_id="dev-hb3", type="page_view", product_id="FLASH")
    s.add("orders", H, crm_id="HB3", order_id="O-HB3", type="payment_failed", product_ids=["SKU-1"], amount=5.0,
          currency="EUR")
    # 4d. one soft bounce does not block
    s.contact(-10 * D, "SB1", email="full@example.com")
    s.add("engagement", -1 * D, email="full@example.com", channel="email", type="bounced", bounce_type="soft")
    login(s, "dev-sb1", "SB1")
    s.add("web", td(0), anonymous_id="dev-sb1", type="page_view", product_id="FLASH")
    # 4e. three soft bounces within 7 days do (policy deliverability.soft_bounces), until they age out
    s.contact(-10 * D, "SB3", email="flaky@example.com")
    for days in (3, 2, 1):
        s.add("engagement", -days * D, email="flaky@example.com", channel="email", type="bounced",
              bounce_type="soft")
    login(s, "dev-sb3", "SB3")
    s.add("web", td(0), anonymous_id="dev-sb3", type="page_view", product_id="FLASH")
    s.add("web", 5 * D, anonymous_id="dev-sb3", type="page_view", product_id="FLASH")
    return s


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    return replay_with_test_journeys(build(), tmp_path_factory.mktemp("addresses"), shuffle_seed=3)


of = decisions_of


def fates(audit, customer, journey):
    """(decided_at, 'sent' or the candidate's reason) of every candidate of a journey, in time order."""
    out = []
    for d in of(audit, customer):
        if d["journey_id"] == journey and d["action"] == "send":
            out.append((d["decided_at"], "sent"))
        out += [(d["decided_at"], c["reason"]) for c in d["candidates"] if c["journey_id"] == journey]
    return out


def sent_to(out, channel: str = "email") -> list[tuple[str, int, str | None]]:
    return sorted((m["customer_id"], m["decided_at"], m["address"]) for m in read_topic(out, f"decisions-{channel}"))


def test_accounting_reconciles_and_the_summary_shows_no_address(replay):
    summary, _audit, _out = replay
    assert summary.reconciles and summary.events_decided == build().n
    assert summary.suppressions["no_address"] > 0
    assert "no_address" in summary.render()


@pytest.mark.parametrize("a,b", [("SMA", "SMB"), ("SUA", "SUB")])
def test_shared_mailbox_opt_out_applies_whichever_profile_holds_the_address(replay, a, b):
    _s, audit, out = replay
    opt_out = T - 5 * DAY_MS
    assert fates(audit, f"crm:{b}", "browse_offer") == [(T + 2 * HOUR_MS, "consent")]
    shared = {"SMB": "family@example.com", "SUB": "shared@example.com"}[b]
    assert not [m for m in sent_to(out) if m[2] == shared and m[1] >= opt_out]
    assert [m for m in sent_to(out) if m[2] == shared and m[1] < opt_out]  # the welcome emails went out before
    # the two contacts stayed two customers: the identity link through the shared email was refused
    assert of(audit, f"crm:{a}") and of(audit, f"crm:{b}")


def test_send_with_no_address_is_suppressed_and_counts_toward_nothing(replay):
    _s, audit, out = replay
    assert fates(audit, "crm:NOA", "browse_offer") == [(T + 2 * 60_000, "no_address")]
    assert fates(audit, "crm:NOA", "flash_promo") == [(T + 2 * HOUR_MS, "sent")]  # not frequency_cap
    assert ("crm:NOA", T + 2 * HOUR_MS, "noa@example.com") in sent_to(out)
    # dunning: the email goes out, the SMS 24 h later has no phone to go to
    assert fates(audit, "crm:DUN", "dunning") == [(T, "sent"), (T + DAY_MS, "no_address")]
    for channel in ("email", "sms", "call"):
        assert all(m["address"] and m["address_key"] for m in read_topic(out, f"decisions-{channel}")), channel


@pytest.mark.parametrize("cid,reason", [("SAU", "consent"), ("SAC", "consent"), ("SAB", "no_address"),
                                        ("SAR", "consent")])
def test_an_opt_out_at_the_same_millisecond_as_the_trigger_is_applied_first(replay, cid, reason):
    _s, audit, _out = replay
    assert fates(audit, f"crm:{cid}", "browse_offer") == [(T + 2 * 60_000, reason)]


def test_hard_bounce_blocks_that_address_only(replay):
    _s, _audit, out = replay
    sent = sent_to(out)
    assert ("crm:HB1", T, "new@example.com") in sent
    assert ("crm:HB2", T, "first@example.com") in sent  # the bounced newer address is skipped
    assert not [m for m in sent if m[2] in ("old@example.com", "second@example.com") and m[1] >= T - 5 * DAY_MS]


def test_a_grant_does_not_clear_a_hard_bounce_and_transactional_mail_is_not_sent_there(replay):
    _s, audit, out = replay
    assert fates(audit, "crm:HB3", "flash_promo") == [(T, "no_address")]
    assert fates(audit, "crm:HB3", "dunning")[0] == (T + HOUR_MS, "no_address")
    assert not [m for m in sent_to(out) if m[2] == "gone@example.com" and m[1] >= T - 5 * DAY_MS]


def test_soft_bounces_block_only_past_the_policy_limit(replay):
    _s, audit, _out = replay
    assert fates(audit, "crm:SB1", "flash_promo") == [(T, "sent")]
    assert fates(audit, "crm:SB3", "flash_promo") == [(T, "no_address"), (T + 5 * DAY_MS, "sent")]


def test_decisions_and_snapshots_carry_hashed_address_keys_only(replay):
    from journeyflow.analytics.tables import read_table
    _s, audit, out = replay
    sends = [d for d in audit if d["action"] == "send" and d["channel"] in ("email", "sms", "call")]
    assert sends and all(d["address_key"].startswith(("email:", "phone:")) for d in sends)
    assert all("address" not in d for d in audit)
    emails = {m["decision_id"]: m for m in read_topic(out, "decisions-email")}
    assert all(key_of(m["address"]) == m["address_key"] for m in emails.values())
    snaps = read_table(out, "customer_snapshots").to_pylist()
    smb = next(r for r in snaps if r["customer_id"] == "crm:SMB")
    assert {(a["address_key"], a["channel"], a["status"]) for a in smb["address_status"]} >= {
        (key_of("family@example.com"), "email", "revoked")}


def test_quality_checks_pass_on_the_replay(replay):
    from journeyflow.analytics.quality import validate_output
    _s, _audit, out = replay
    rep = validate_output(out)
    assert rep.ok, rep.render()
    assert {("decisions", "send_has_address"), ("decisions", "send_not_to_blocked_address")} <= {
        (r.table, r.check) for r in rep.results}


def test_link_accepted_or_refused_the_address_is_blocked(tmp_path):
    """The shared mailbox with the CRM-id cap raised: the two contacts are one customer, still no promo."""
    from journeyflow.analytics.compare import fold_in_process, read_events
    s = Scenario()
    s.contact(-10 * D, "SMA", email="family@example.com", phone="+1 415-555-0201")
    s.contact(-9 * D, "SMB", email="family@example.com", phone="+1 415-555-0202")
    s.add("consent", -5 * D, email="family@example.com", channel="email", status="revoked")
    login(s, "dev-smb", "SMB", -4 * D)
    views(s, "dev-smb", td(0))
    inp = s.write(tmp_path / "in")
    rules = tmp_path / "rules.yaml"
    for cap in (1, 2):
        rules.write_text(f"max_per_kind: {{crm: {cap}}}\n")
        config = EngineConfig.from_files(link_rules=str(rules))
        events, _read, _dead = read_events(str(inp))
        decisions, _products, identity = fold_in_process(events, config, None)
        merged = identity.cluster_of["crm:SMB"] == identity.cluster_of["crm:SMA"]
        assert merged is (cap == 2)
        browse = [(d.action, [c.reason for c in d.candidates]) for d in decisions
                  if d.decided_at == T + 2 * HOUR_MS]
        assert browse == [("suppress", ["consent"])], cap
        assert not [d for d in decisions if d.action == "send" and d.decided_at >= T - 5 * DAY_MS
                    and d.address == "family@example.com"]


# ------------------------------------------------------------------------------------------------ streaming
def _stream_decisions(events: list[Event], store: str) -> None:
    """Runs ``events`` (in event-time order, two at a time) through the streaming stages; asserts that they give
    the bounded decisions."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.test_stream import TestStream
    from apache_beam.testing.util import assert_that, equal_to
    from apache_beam.transforms.window import TimestampedValue

    from journeyflow.transforms import decide_streaming as ss
    from journeyflow.transforms.address import ShareAddressStatusOnline
    from journeyflow.transforms.identity_online import ResolveIdentitiesOnline
    from tests.beam.test_streaming_state import settle

    config = EngineConfig.from_files(journeys=_extras_file())
    rules = config.link_rules()
    ts = TestStream()
    wm = None
    for i in range(0, len(events), 2):  # in event-time order, two at a time, the watermark just behind
        chunk = events[i:i + 2]
        ts = ts.add_elements([TimestampedValue(ev, ev.ts / 1000) for ev in chunk])
        rest = events[i + 2:]
        if rest and (wm is None or rest[0].ts - 1 > wm):
            wm = rest[0].ts - 1
            ts = ts.advance_watermark_to(wm / 1000)
    ts = settle(ts, events[-1].ts)
    opts = PipelineOptions()
    opts.view_as(StandardOptions).streaming = True
    with TestPipeline(options=opts) as p:
        evs = p | ts
        resolved = evs | ResolveIdentitiesOnline(store, rules)
        copies = resolved.keyed | ShareAddressStatusOnline(store, rules)
        out = (resolved.keyed, copies) | beam.Flatten() | ss.DecideOrdered(config)
        decided = out[ss.DECISIONS] | beam.Map(lambda d: (d.decision_id, d.action, d.address_key))
        assert_that(decided, equal_to(_bounded(events)))


_EXTRAS: list[str] = []


def _extras_file() -> str:
    if not _EXTRAS:
        import tempfile
        f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        f.write(journeys_with_test_extras())
        f.close()
        _EXTRAS.append(f.name)
    return _EXTRAS[0]


def _bounded(events: list[Event]) -> list[tuple]:
    from journeyflow.analytics.compare import fold_in_process
    config = EngineConfig.from_files(journeys=_extras_file())
    decisions, _p, _i = fold_in_process(events, config, 2**62)
    return [(d.decision_id, d.action, d.address_key) for d in decisions]


def _parsed(s: Scenario) -> list[Event]:
    parser = Parser(HASHER)
    events = [parser.parse(stream, rec) for stream, recs in s.records.items() for rec in recs]
    assert all(isinstance(e, Event) for e in events)
    return sorted(events, key=lambda e: e.sort_key)


def test_streaming_shares_the_address_status_and_orders_opt_outs_first():
    """Shared mailbox and same-millisecond opt-outs through the streaming stages (identity store, address
    router, ordered per-customer state): the bounded decisions, addresses included."""
    s = Scenario()
    s.contact(-10 * D, "SMA", email="family@example.com", phone="+1 415-555-0201")
    s.contact(-9 * D, "SMB", email="family@example.com", phone="+1 415-555-0202")
    s.add("consent", -5 * D, email="family@example.com", channel="email", status="revoked")
    login(s, "dev-smb", "SMB", -4 * D)
    views(s, "dev-smb", td(0))
    # a later holder of an address whose opt-out came first: the router replays the address's history to it
    s.add("engagement", -3 * D, email="late@example.com", channel="email", type="unsubscribed")
    s.contact(-2 * D, "LAT", email="late@example.com")
    login(s, "dev-lat", "LAT", -2 * D + H)
    s.add("web", td(0), anonymous_id="dev-lat", type="page_view", product_id="FLASH")
    s.contact(-10 * D, "SAU", email="sau@example.com")
    login(s, "dev-sau", "SAU")
    views(s, "dev-sau", td(0), n=2, step=M)
    s.add("web", 2 * M, anonymous_id="dev-sau", type="product_view", product_id="SKU-7")
    s.add("engagement", 2 * M, email="sau@example.com", channel="email", type="unsubscribed")
    events = _parsed(s)
    expected = _bounded(events)
    reasons = {(d.customer_id, c.reason) for d in _fold(events) for c in d.candidates}
    assert {("crm:SMB", "consent"), ("crm:LAT", "consent"), ("crm:SAU", "consent")} <= reasons
    assert expected
    _stream_decisions(events, "memory://test-address-consent-stream")


def test_streaming_a_late_opt_out_is_dead_lettered_and_still_blocks_the_address():
    """An unsubscribe that reaches its customer behind the processed horizon is dead-lettered as ``late_event``
    (as every late record), but the copy of its address change is never late: the address stays blocked."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.test_stream import TestStream
    from apache_beam.testing.util import assert_that, equal_to
    from apache_beam.transforms.window import TimestampedValue

    from journeyflow.transforms import decide_streaming as ss
    from journeyflow.transforms.address import ShareAddressStatusOnline
    from journeyflow.transforms.identity_online import ResolveIdentitiesOnline
    from tests.beam.test_streaming_state import settle

    s = Scenario()
    s.contact(-10 * D, "LTU", email="ltu@example.com")
    login(s, "dev-ltu", "LTU")
    s.add("web", -30 * M, anonymous_id="dev-ltu", type="page_view")  # processed: the horizon passes T - 1 h
    views(s, "dev-ltu", td(0))
    events = _parsed(s)
    late = _parsed_one("engagement", {"event_id": "late-unsub", "ts": T - HOUR_MS, "email": "ltu@example.com",
                                      "channel": "email", "type": "unsubscribed"})
    before = [e for e in events if e.ts < T]
    after = [e for e in events if e.ts >= T]
    ts = TestStream().add_elements([TimestampedValue(ev, ev.ts / 1000) for ev in before])
    ts = ts.advance_watermark_to((T - 1) / 1000)
    ts = ts.add_elements([TimestampedValue(late, late.ts / 1000)])  # an hour behind the watermark
    ts = ts.add_elements([TimestampedValue(ev, ev.ts / 1000) for ev in after])
    ts = settle(ts, after[-1].ts)
    opts = PipelineOptions()
    opts.view_as(StandardOptions).streaming = True
    config = EngineConfig.from_files(journeys=_extras_file())
    store = "memory://test-address-consent-late"
    with TestPipeline(options=opts) as p:
        resolved = p | ts | ResolveIdentitiesOnline(store, config.link_rules())
        copies = resolved.keyed | ShareAddressStatusOnline(store, config.link_rules())
        out = (resolved.keyed, copies) | beam.Flatten() | ss.DecideOrdered(config)
        assert_that(out[ss.DEAD] | beam.Map(lambda d: (d.source, d.reason)),
                    equal_to([("engagement/late-unsub", "late_event")]), label="late")
        browse = (out[ss.DECISIONS]
                  | beam.FlatMap(lambda d: [c.reason for c in d.candidates if c.journey_id == "browse_offer"]
                                 + (["sent"] if d.journey_id == "browse_offer" else [])))
        assert_that(browse, equal_to(["consent"]), label="browse_blocked")


def _parsed_one(stream: str, rec: dict) -> Event:
    ev = Parser(HASHER).parse(stream, rec)
    assert isinstance(ev, Event)
    return ev


def _fold(events):
    from journeyflow.analytics.compare import fold_in_process
    return fold_in_process(events, EngineConfig.from_files(journeys=_extras_file()), 2**62)[0]


def test_router_copies_changes_to_every_other_holder_and_history_to_new_holders():
    from journeyflow.transforms.address import _prune, fan_out

    copies = list(fan_out("email:k", ["crm:A", "crm:B", "crm:A"], [("crm:A", "email", "revoked", 5),
                                                                    ("crm:A", "email", "revoked", 5)]))
    assert [(h, c.attrs["status"], c.ts, c.ids) for h, c in copies] == [("crm:B", "revoked", 5, ("crm:B",))]
    many = [["email", "soft_bounce", t] for t in range(100)] + [["email", "bounced", 7], ["email", "bounced", 3]]
    kept = _prune(many)
    assert len(kept) == 64 and ["email", "bounced", 3] in kept and kept[-1] == ["email", "soft_bounce", 99]


# ------------------------------------------------------------------------------------------------ arbitration
NOON = parse_ts("2024-06-12T12:00:00+00:00")


def cand(channel="email", category="marketing", priority=1, journey="j1", content="promo") -> Candidate:
    return Candidate(journey, "s1", category, priority, "send", channel, content, "web/1", NOON)


def customer(**addresses) -> CustomerState:
    s = CustomerState(customer_id="c1", consent={ch: ["granted", 0] for ch in ("email", "sms", "push", "call")})
    for i, (key, (kind, raw)) in enumerate(addresses.items()):
        s.addresses[key.replace("_", ":")] = [kind, raw, i]
    return s


def test_the_next_candidate_of_the_moment_wins_when_the_best_has_no_address():
    arb = Arbiter()
    s = customer(email_e1=("email", "a@example.com"))
    sms = cand("sms", "transactional", 800, "dunning", "retry_sms")
    email = cand("email", "marketing", 300, "browse_offer", "browse_promo")
    (d,) = arb.arbitrate(s, [sms, email], NOON, "c1", "web/1").decisions
    assert (d.action, d.channel, d.address, d.address_key) == ("send", "email", "a@example.com", "email:e1")
    assert [(c.channel, c.reason) for c in d.candidates] == [("sms", "no_address")]
    assert [x[1] for x in s.sends] == ["email"]  # the suppressed SMS counts toward nothing
    # and a marketing SMS without a phone does not use up the 1-per-24h promo cap
    s2 = customer(email_e1=("email", "a@example.com"))
    (d1,) = arb.arbitrate(s2, [cand("sms")], NOON, "c1", "web/1").decisions
    assert d1.action == "suppress" and d1.reason_codes == ("no_address",)
    (d2,) = arb.arbitrate(s2, [cand("email")], NOON + HOUR_MS, "c1", "web/2").decisions
    assert d2.action == "send" and d2.address == "a@example.com"


def decide(arb: Arbiter, s: CustomerState, c: Candidate, now: int = NOON):
    """The decision for one candidate, on a copy of the state (a chosen send is recorded in the state)."""
    return arb.arbitrate(copy.deepcopy(s), [c], now, "c1", "t").decisions[0]


def test_channel_consent_and_address_status_are_both_checked():
    arb = Arbiter()
    s = customer(email_old=("email", "old@example.com"), email_new=("email", "new@example.com"))
    s.set_address_status("email:new", "email", "unsubscribed", NOON - DAY_MS)
    assert decide(arb, s, cand()).address == "old@example.com"  # the newest permitted address
    s.set_address_status("email:old", "email", "bounced", NOON - DAY_MS)
    assert decide(arb, s, cand()).reason_codes == ("consent",)
    assert decide(arb, s, cand("email", "transactional")).reason_codes == ("consent",)  # every category
    assert arb.explain(s, cand(), NOON) == ("consent",)
    s.set_address_status("email:new", "email", "granted", NOON - HOUR_MS)  # a later grant lifts the opt-out
    assert decide(arb, s, cand()).address == "new@example.com"
    s.set_address_status("email:new", "email", "bounced", NOON - 2 * DAY_MS)
    assert decide(arb, s, cand()).reason_codes == ("no_address",)
    s.consent["email"] = ["revoked", NOON - HOUR_MS]  # channel consent is checked first
    assert arb.explain(s, cand(), NOON) == ("consent", "no_address")
    # push goes to the customer's CRM id (the app's user id), never to an email-like one; none: no_address
    assert decide(arb, customer(), cand("push")).reason_codes == ("no_address",)
    s = customer()
    s.ids = ["anon:a1", "crm:ann@example.com", "crm:C7"]
    push = decide(arb, s, cand("push"))
    assert push.action == "send" and (push.address, push.address_key) == ("C7", "crm:C7")


def test_soft_bounce_limit_is_configurable():
    s = customer(email_e1=("email", "a@example.com"))
    for h in (1, 2):
        s.set_address_status("email:e1", "email", "soft_bounce", NOON - h * HOUR_MS)
    assert decide(Arbiter(), s, cand()).action == "send"
    two = Arbiter(Policy.from_yaml_text("deliverability:\n  soft_bounces: {max: 2, within: 1d}\n", "p.yaml"))
    assert decide(two, s, cand()).reason_codes == ("no_address",)
    assert decide(two, s, cand(), NOON + DAY_MS).action == "send"  # aged out
    off = Arbiter(Policy.from_yaml_text("deliverability:\n  soft_bounces: {enabled: false}\n", "p.yaml"))
    for h in range(3, 9):
        s.set_address_status("email:e1", "email", "soft_bounce", NOON - h * HOUR_MS)
    assert decide(off, s, cand()).action == "send"
    assert decide(Arbiter(), s, cand()).reason_codes == ("no_address",)


def test_address_status_is_latest_in_event_time_and_merges_commutatively():
    a, b = CustomerState(), CustomerState()
    changes = [("email:k", "email", "granted", 10), ("email:k", "email", "revoked", 10),
               ("email:k", "email", "granted", 5), ("email:k", "email", "bounced", 7),
               ("email:k", "email", "soft_bounce", 3), ("email:k", "email", "granted", 20)]
    for c in changes:
        a.set_address_status(*c)
    for c in reversed(changes):
        b.set_address_status(*c)
    assert a.addr_status == b.addr_status == {"email:k": {"email": ["granted", 20, 7, [3]]}}
    assert a.address_block("email:k", "email", 21) == "bounced"  # the grant at 20 does not clear the bounce
    x, y = CustomerState(customer_id="crm:X"), CustomerState(customer_id="crm:Y")
    x.set_address_status("email:k", "email", "unsubscribed", 30)
    y.set_address_status("email:k", "email", "granted", 31)
    y.set_address_status("email:j", "email", "revoked", 1)
    assert x.merge(y).addr_status == y.merge(x).addr_status
    assert x.merge(y).address_block("email:k", "email", 40) is None
    assert x.merge(y).address_block("email:j", "email", 40) == "revoked"


def test_a_version_1_state_is_upgraded_with_keyed_addresses():
    import json
    v1 = {"v": 1, "customer_id": "crm:C1", "contact": {"email": "ann@example.com", "phone": "+14155550101"},
          "consent": {"email": ["bounced", 5]}, "last_event": 9}
    s = CustomerState.from_bytes(b"J" + json.dumps(v1).encode())
    assert s.addresses == {key_of("ann@example.com"): ["email", "ann@example.com", 9],
                           HASHER.phone("+14155550101")[0]: ["phone", "+14155550101", 9]}
    assert s.consent_status("email") == "bounced"  # an old channel bounce keeps blocking the channel
    assert CustomerState.from_bytes(s.to_bytes()).to_dict() == s.to_dict()


def test_an_engagement_record_without_bounce_type_is_still_valid():
    parser = Parser(HASHER)
    old = {"event_id": "e1", "ts": T, "email": "a@example.com", "phone": None, "crm_id": None, "channel": "email",
           "type": "bounced", "decision_id": None}
    ev = parser.parse("engagement", old)
    assert isinstance(ev, Event) and "bounce_type" not in ev.attrs
    soft = parser.parse("engagement", {**old, "bounce_type": "soft"})
    assert soft.attrs["bounce_type"] == "soft"
    # an unknown bounce type is a bad optional field (issue 18): the bounce is kept, without a type (= hard, the
    # safe reading), and the dropped value is reported as a field warning
    bad = parser.parse_full("engagement", {**old, "bounce_type": "medium"})
    assert isinstance(bad.result, Event) and "bounce_type" not in bad.result.attrs
    assert [(w.field, w.reason) for w in bad.warnings] == [("bounce_type", "unknown_value")]
