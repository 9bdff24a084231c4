"""Property: opt-outs hold across time zones (quiet-hours deferrals), identity merges (anonymous devices that name an
address and log in later), long silences (dormant customers retired) and ties -- over random histories, no ``send``
goes to an address whose latest status at decision time is blocking (the oracle of ``test_address_properties``,
written from the raw records), none to a customer whose channel is opted out by its CRM id with no grant of any kind
since, and the replay's in-process fold gives the same sends as the streaming core (``advance``) on single-profile
histories.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyflow.analytics.compare import fold_in_process
from journeyflow.model.events import Event
from journeyflow.stages.processor import END_OF_TIME
from tests.stages.test_address_properties import (
    ADDRESS_KIND,
    BASE,
    CRMS,
    DAY,
    EMAILS,
    MIN,
    PARSER,
    address_blocked,
    config,
    operations,
)

ZONES = ("UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "Europe/London")
#: times over ~14 months on a coarse grid (many ties, dormancy past the 180-day retention) plus odd hours (quiet
#: hours in every zone)
far_times = st.integers(0, 420).map(lambda d: BASE + d * DAY) | st.integers(0, 3000).map(lambda k: BASE + k * 131 * MIN)


@st.composite
def web_identity(draw):
    """An anonymous device that names an address on the web (signup with email), then logs in as a CRM user."""
    crm = draw(st.sampled_from(CRMS))
    dev = f"anon-{draw(st.integers(0, 2))}"
    t = draw(far_times)
    out = [("web", {"ts": t, "anonymous_id": dev, "type": "signup", "email": draw(st.sampled_from(EMAILS))})]
    if draw(st.booleans()):
        out.append(("web", {"ts": t + draw(st.sampled_from([0, MIN, 3 * DAY])), "anonymous_id": dev, "type": "login",
                            "user_id": crm}))
    return out


@st.composite
def shifted(draw):
    """An operation of ``test_address_properties`` moved to a time of the long grid."""
    ops = draw(operations())
    base = min(r["ts"] for _s, r in ops)
    t = draw(far_times)
    return [(s, {**r, "ts": r["ts"] - base + t}) for s, r in ops]


@st.composite
def histories(draw):
    records = []
    for i, crm in enumerate(CRMS):
        t = BASE + i * MIN
        records.append(("crm", {"ts": t, "crm_id": crm, "email": draw(st.sampled_from((None,) + EMAILS)),
                                "phone": None, "type": "contact_created", "timezone": draw(st.sampled_from(ZONES))}))
        for channel in draw(st.lists(st.sampled_from(["email", "sms", "push"]), unique=True)):
            records.append(("consent", {"ts": t + 1000, "crm_id": crm, "channel": channel, "status": "granted"}))
    for ops in draw(st.lists(st.one_of(shifted(), shifted(), web_identity()), min_size=5, max_size=30)):
        records.extend(ops)
    return [(stream, {"event_id": f"{stream}-{n:04d}", **{k: v for k, v in rec.items() if v is not None}})
            for n, (stream, rec) in enumerate(records)]


def crm_opted_out(records, crm: str, channel: str, t: int) -> bool:
    """A consent revoke or an unsubscribe/complaint by ``crm`` on ``channel`` at or before ``t`` with no grant of
    any kind (by any identifier: a grant may reach the customer through an address) after it (or at its time)."""
    last_out = max((r["ts"] for s, r in records if s in ("consent", "engagement") and r.get("crm_id") == crm
                    and r["channel"] == channel and r["ts"] <= t
                    and (r.get("status") == "revoked" or r.get("type") in ("unsubscribed", "complained"))),
                   default=None)
    if last_out is None:
        return False
    return not any(s == "consent" and r["status"] == "granted" and r["channel"] == channel
                   and last_out < r["ts"] <= t for s, r in records)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(histories())
def test_no_send_after_an_opt_out_across_zones_merges_and_silences(records):
    events = [PARSER.parse(stream, rec) for stream, rec in records]
    assert all(isinstance(e, Event) for e in events), [e for e in events if not isinstance(e, Event)]
    events.sort(key=lambda e: e.sort_key)
    decisions, _products, identity = fold_in_process(events, config(), END_OF_TIME)
    for d in decisions:
        if d.action != "send":
            continue
        if d.channel in ADDRESS_KIND:
            assert d.address and d.address_key, d
            why = address_blocked(records, d.address, d.channel, d.decided_at)
            assert why is None, (why, d.customer_id, d.channel, d.address, d.decided_at, d.journey_id)
        crm = d.customer_id[4:] if d.customer_id.startswith("crm:") else None
        if crm is not None:
            assert not crm_opted_out(records, crm, d.channel, d.decided_at), (d.customer_id, d.channel, d.decided_at,
                                                                                d.journey_id)
