"""Opt-outs of every channel, consent statuses and bounce types in other sources' words (compliance fails safe).

Before: a preference centre's "unsubscribe from everything" (``channel: "all"``, ``"*"``, absent or null), a consent
``status`` of ``opted_out`` / ``withdrawn`` / ``false`` and an ESP's unsubscribe naming no channel were dead letters,
so the next promo still went out; Amazon SES's ``Transient`` bounce type was dropped with a warning and read as a
hard bounce (the address blocked for good).  Each is parsed here, and the opt-outs are run through the bounded core
(``test_optout_spellings.promo_emails``) against a control run without them.
"""
from __future__ import annotations

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.state import CustomerState
from test_optout_spellings import DAY, customer, parse, promo_emails

EVERY = {
    "channel all": {"channel": "all"},
    "channel ALL": {"channel": "ALL"},
    "channel *": {"channel": "*"},
    "channel Global": {"channel": "Global"},
    "no channel": {},
    "channel null": {"channel": None},
    "channel empty": {"channel": ""},
}


@pytest.mark.parametrize("name", list(EVERY))
def test_a_consent_revoke_of_every_channel_blocks_every_channel(name):
    ev = parse("consent", {"event_id": "r1", "ts": f"{DAY}T09:00:00Z", "crm_id": "A", "status": "revoked",
                           **EVERY[name]})
    assert isinstance(ev, Event), ev
    st = CustomerState(customer_id="crm:A")
    for ch in ("email", "sms", "push", "call"):
        st.apply(parse("consent", {"event_id": f"g-{ch}", "ts": f"{DAY}T08:00:00Z", "crm_id": "A", "channel": ch,
                                   "status": "granted"}))
        assert st.has_consent(ch)
    st.apply(ev)
    assert [ch for ch in ("email", "sms", "push", "call") if st.has_consent(ch)] == []
    # and end to end: the browse offer's email does not go out
    opt_out = ("consent", {"event_id": "r1", "ts": f"{DAY}T09:00:00Z", "crm_id": "A", "status": "revoked",
                           **EVERY[name]})
    assert promo_emails(customer("A", "ann@example.com")) == {"crm:A": 1}
    assert promo_emails(customer("A", "ann@example.com") + [opt_out]) == {}


def test_a_revoke_of_every_channel_by_address_blocks_that_address_on_its_channels():
    ev = parse("consent", {"event_id": "r2", "ts": f"{DAY}T09:00:00Z", "phone": "+14155550134", "channel": "all",
                           "status": "revoked"})
    from journeyflow.stages.deliverability import address_effects
    assert sorted(ch for _k, ch, effect, _ts in address_effects(ev) if effect == "revoked") == ["call", "sms"]
    ev = parse("consent", {"event_id": "r3", "ts": f"{DAY}T09:00:00Z", "email": "ann@example.com",
                           "status": "revoked"})
    assert [ch for _k, ch, _e, _ts in address_effects(ev)] == ["email"]


@pytest.mark.parametrize("channel", ["all", None, "*"])
def test_a_grant_must_name_one_channel(channel):
    got = parse("consent", {"event_id": "g1", "ts": f"{DAY}T09:00:00Z", "crm_id": "A", "status": "granted",
                            **({"channel": channel} if channel is not None else {})})
    assert isinstance(got, DeadLetter) and got.reason == DeadLetterReason.SCHEMA_VIOLATION, got
    assert "only an opt-out may name every channel" in got.detail


@pytest.mark.parametrize("status", ["opted_out", "Opted Out", "opt-out", "unsubscribed", "withdrawn", "denied",
                                    "DECLINED", False, "false", "no"])
def test_a_consent_status_in_a_sources_words_is_a_revoke(status):
    ev = parse("consent", {"event_id": "s1", "ts": f"{DAY}T09:00:00Z", "crm_id": "A", "channel": "email",
                           "status": status})
    assert isinstance(ev, Event) and ev.type == "consent_revoked", ev
    opt_out = ("consent", {"event_id": "s1", "ts": f"{DAY}T09:00:00Z", "crm_id": "A", "channel": "email",
                           "status": status})
    assert promo_emails(customer("A", "ann@example.com") + [opt_out]) == {}


@pytest.mark.parametrize("status", ["opted_in", "Subscribed", True, "yes"])
def test_a_consent_status_in_a_sources_words_is_a_grant(status):
    ev = parse("consent", {"event_id": "s2", "ts": f"{DAY}T09:00:00Z", "crm_id": "A", "channel": "email",
                           "status": status})
    assert isinstance(ev, Event) and ev.type == "consent_granted", ev


@pytest.mark.parametrize("fields", [{}, {"channel": "all"}, {"channel": None}])
@pytest.mark.parametrize("etype", ["unsubscribed", "Unsubscribe", "complaint", "spamreport"])
def test_an_esp_opt_out_naming_no_channel_blocks_every_channel(etype, fields):
    ev = parse("engagement", {"event_id": "u1", "ts": f"{DAY}T09:00:00Z", "crm_id": "A", "type": etype, **fields})
    assert isinstance(ev, Event) and ev.attrs["channel"] == "all", ev
    opt_out = ("engagement", {"event_id": "u1", "ts": f"{DAY}T09:00:00Z", "crm_id": "A", "type": etype, **fields})
    assert promo_emails(customer("A", "ann@example.com") + [opt_out]) == {}


@pytest.mark.parametrize("etype", ["delivered", "opened", "bounced"])
def test_an_engagement_that_is_no_opt_out_must_name_its_channel(etype):
    got = parse("engagement", {"event_id": "d1", "ts": f"{DAY}T09:00:00Z", "crm_id": "A", "type": etype,
                               "channel": "all"})
    assert isinstance(got, DeadLetter) and got.reason == DeadLetterReason.SCHEMA_VIOLATION, got


@pytest.mark.parametrize("bounce_type,expected", [("Transient", "soft"), ("temporary", "soft"),
                                                  ("Undetermined", "soft"), ("Permanent", "hard"),
                                                  ("HARD", "hard"), ("soft", "soft")])
def test_bounce_types_in_email_providers_words(bounce_type, expected):
    from journeyflow.stages.parse import Parser
    from journeyflow.stages.identity.keys import Hasher
    res = Parser(Hasher(b"test-key")).parse_full(
        "engagement", b'{"event_id": "b1", "ts": "2026-10-05T09:00:00Z", "email": "ann@example.com", '
        b'"channel": "email", "type": "bounced", "bounce_type": "%s"}' % bounce_type.encode())
    assert isinstance(res.result, Event) and res.result.attrs["bounce_type"] == expected, res
    assert not res.warnings  # understood, not dropped with a warning
