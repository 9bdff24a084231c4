"""Property: over random histories — several addresses per customer, addresses shared between customers (whose
identity links are refused by the one-CRM-id cap), opt-outs, grants, hard and soft bounces, often at the very
millisecond of a trigger — no ``send`` goes to an address whose latest status at decision time is blocking, and no
``send`` on email, sms or call is without an address.

The oracle is written from the rules' text over the raw records (not from journeyflow's state): the status of an
address on a channel at time t is the latest (event time, an opt-out winning a tie) of the consent records and the
engagement unsubscribes/complaints naming that address, a hard bounce (``bounce_type`` hard or absent) naming it
at or before t blocks it for good, and 3 soft bounces within 7 days (the default policy) block it too.  Records
that name the address count whoever they belong to.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyflow.analytics.compare import fold_in_process
from journeyflow.config.engine import EngineConfig
from journeyflow.stages.identity.keys import Hasher
from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser, parse_ts
from journeyflow.stages.processor import END_OF_TIME
from tests.scenarios import T0, journeys_with_test_extras

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
BASE = parse_ts(T0.isoformat()) - 20 * DAY
EMAILS = ("a@example.com", "b@example.com", "shared@example.com", "d@example.com")
PHONES = ("+14155550101", "+14155550102", "+14155550199")
CRMS = ("C0", "C1", "C2")
OPT_OUTS = {"revoked", "unsubscribed", "complained"}
ADDRESS_KIND = {"email": "email", "sms": "phone", "call": "phone"}
SOFT_MAX, SOFT_WINDOW = 3, 7 * DAY

HASHER = Hasher.from_env()
PARSER = Parser(HASHER)
_CONFIG: list[EngineConfig] = []


def config() -> EngineConfig:
    if not _CONFIG:
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(journeys_with_test_extras())
        _CONFIG.append(EngineConfig.from_files(journeys=f.name))
    return _CONFIG[0]


# ------------------------------------------------------------------------------------------------ histories
times = st.integers(0, 400).map(lambda k: BASE + 1 * DAY + k * 30 * MIN)  # a coarse grid: many ties
maybe_email = st.one_of(st.none(), st.sampled_from(EMAILS))
maybe_phone = st.one_of(st.none(), st.sampled_from(PHONES))
crms = st.sampled_from(CRMS)


@st.composite
def operations(draw):
    kind = draw(st.sampled_from(["contact", "consent", "consent", "engagement", "engagement", "engagement",
                                 "browse", "flash", "flash", "payment_failed", "order"]))
    t = draw(times)
    crm = draw(crms)
    if kind == "contact":
        return [("crm", {"ts": t, "crm_id": crm, "email": draw(maybe_email), "phone": draw(maybe_phone),
                         "type": "contact_updated"})]
    if kind == "consent":
        channel = draw(st.sampled_from(["email", "sms", "call"]))
        status = draw(st.sampled_from(["granted", "revoked"]))
        who = draw(st.sampled_from(["crm", "address", "address"]))
        rec = {"ts": t, "channel": channel, "status": status}
        if who == "crm":
            rec["crm_id"] = crm
        elif channel == "email":
            rec["email"] = draw(st.sampled_from(EMAILS))
        else:
            rec["phone"] = draw(st.sampled_from(PHONES))
        return [("consent", rec)]
    if kind == "engagement":
        channel = draw(st.sampled_from(["email", "email", "sms"]))
        typ = draw(st.sampled_from(["unsubscribed", "complained", "bounced", "bounced", "bounced", "delivered"]))
        rec = {"ts": t, "channel": channel, "type": typ}
        if typ == "bounced":
            rec["bounce_type"] = draw(st.sampled_from([None, "hard", "soft", "soft", "soft"]))
        named = draw(st.sampled_from(["address", "address", "address", "crm"]))
        if named == "crm":  # names no address: applies to the customer's current one (stricter than the oracle)
            rec["crm_id"] = crm
        elif channel == "email":
            rec["email"] = draw(st.sampled_from(EMAILS))
        else:
            rec["phone"] = draw(st.sampled_from(PHONES))
        return [("engagement", rec)]
    dev = f"dev-{crm}"
    login = ("web", {"ts": t - MIN, "anonymous_id": dev, "type": "login", "user_id": crm})
    if kind == "browse":
        views = [("web", {"ts": t + i * draw(st.sampled_from([0, MIN])), "anonymous_id": dev,
                          "type": "product_view", "product_id": "SKU-1"}) for i in range(3)]
        return [login, *views]
    if kind == "flash":
        return [login, ("web", {"ts": t, "anonymous_id": dev, "type": "page_view", "product_id": "FLASH"})]
    return [("orders", {"ts": t, "crm_id": crm, "order_id": f"O-{t}-{crm}", "type": "payment_failed"
                        if kind == "payment_failed" else "order_placed", "product_ids": ["SKU-2"], "amount": 5.0,
                        "currency": "EUR"})]


@st.composite
def histories(draw):
    records = []
    for i, crm in enumerate(CRMS):
        t = BASE + i * MIN
        records.append(("crm", {"ts": t, "crm_id": crm, "email": draw(maybe_email), "phone": draw(maybe_phone),
                                "type": "contact_created", "timezone": "UTC"}))
        for channel in draw(st.lists(st.sampled_from(["email", "sms", "call"]), unique=True)):
            records.append(("consent", {"ts": t + 1000, "crm_id": crm, "channel": channel, "status": "granted"}))
    for ops in draw(st.lists(operations(), min_size=5, max_size=30)):
        records.extend(ops)
    out = []
    for n, (stream, rec) in enumerate(records):
        out.append((stream, {"event_id": f"{stream}-{n:04d}", **{k: v for k, v in rec.items() if v is not None}}))
    return out


# ------------------------------------------------------------------------------------------------ oracle
def address_blocked(records, address: str, channel: str, t: int) -> str | None:
    """Why ``address`` may not be sent to on ``channel`` at ``t``, from the raw records naming it; None: it may."""
    kind = ADDRESS_KIND[channel]
    statuses, soft = [], []
    for stream, rec in records:
        if stream not in ("consent", "engagement") or rec["ts"] > t or rec.get(kind) != address \
                or rec["channel"] != channel:
            continue
        if stream == "consent":
            statuses.append((rec["ts"], rec["status"] in OPT_OUTS, rec["status"]))
        elif stream == "engagement" and rec["type"] in ("unsubscribed", "complained"):
            statuses.append((rec["ts"], True, rec["type"]))
        elif stream == "engagement" and rec["type"] == "bounced":
            if rec.get("bounce_type") == "soft":
                soft.append(rec["ts"])
            else:
                return "hard bounce"
    if statuses and max(statuses)[2] in OPT_OUTS:
        return max(statuses)[2]
    if sum(1 for s in soft if t - SOFT_WINDOW < s <= t) >= SOFT_MAX:
        return "soft bounces"
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(histories())
def test_no_send_to_a_blocked_or_missing_address(records):
    events = [PARSER.parse(stream, rec) for stream, rec in records]
    bad = [e for e in events if not isinstance(e, Event)]
    assert not bad, bad
    events.sort(key=lambda e: e.sort_key)
    decisions, _products, _identity = fold_in_process(events, config(), END_OF_TIME)
    for d in decisions:
        if d.action != "send" or d.channel not in ADDRESS_KIND:
            continue
        assert d.address and d.address_key, d
        kind = ADDRESS_KIND[d.channel]
        assert d.address_key == (HASHER.email(d.address) if kind == "email" else HASHER.phone(d.address))[0]
        why = address_blocked(records, d.address, d.channel, d.decided_at)
        assert why is None, (why, d.customer_id, d.channel, d.address, d.decided_at, d.journey_id)
