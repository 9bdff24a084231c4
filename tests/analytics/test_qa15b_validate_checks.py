"""qa15b: ``journeyflow validate`` fails an output that sends a push no device could take, or whose ``wait``
decisions say nothing (or nonsense) about when they are due.

Before: ``send_not_to_blocked_address`` read only the email/sms/call statuses (revoked, unsubscribed, complained,
bounced): a push to a customer whose every device was ``unregistered`` (a dead token: ``stages.push_devices``)
passed; and ``decisions.due_at`` (qa14d: a ``wait``'s due time, NULL elsewhere) had no check at all -- a wait
without it, a send with one, a due time before the decision: all passed.  Doctored outputs of the suites'
hand-made tables (``tests/analytics/test_quality.py``)."""
from __future__ import annotations

import pytest

from journeyflow.analytics.quality import validate_output
from tests.analytics.test_quality import DAY, HOUR, T0, C, _dec, build_output, good_rows

CA = "cart_abandonment"


def _push(at: int, did: str = "d_000000000000000000000091") -> dict:
    return _dec(did, C(1), at, "send", "welcome", "onboarding_push", "push", trigger="crm/evt-000091",
                address_key=C(1))


def _device(rows: dict, key: str, status: str, since: int, consent: str | None = None) -> dict:
    snap = rows["customer_snapshots"][0]
    assert snap["customer_id"] == C(1)
    snap["address_status"].append({"address_key": key, "channel": "push", "status": status, "since": since})
    snap["consent_push"] = consent
    return rows


def _failed(tmp_path, rows) -> set:
    return validate_output(build_output(tmp_path, rows)).failed_checks()


def test_a_push_to_a_customer_whose_only_device_is_unregistered_fails(tmp_path):
    rows = _device(good_rows(), "anon:app-1", "unregistered", T0 + 2 * DAY)
    rows["decisions"].append(_push(T0 + 3 * DAY))
    rep = validate_output(build_output(tmp_path, rows))
    assert rep.failed_checks() == {("decisions", "send_not_to_blocked_address")}  # before: passed
    by = {(r.table, r.check): r for r in rep.results}
    assert by[("decisions", "send_not_to_blocked_address")].keys == ("d_000000000000000000000091",)


def test_a_push_to_a_user_whose_bounce_named_no_device_fails(tmp_path):
    rows = _device(good_rows(), C(1), "unregistered", T0 + 2 * DAY)
    rows["decisions"].append(_push(T0 + 3 * DAY))
    assert _failed(tmp_path, rows) == {("decisions", "send_not_to_blocked_address")}


@pytest.mark.parametrize("case", ["sent before the device died", "another device registered",
                                  "push consent in the snapshot", "the device re-granted"])
def test_a_push_that_may_have_been_right_passes(tmp_path, case):
    rows = _device(good_rows(), "anon:app-1", "unregistered", T0 + 2 * DAY,
                   consent="granted" if case == "push consent in the snapshot" else None)
    if case == "another device registered":
        _device(rows, "anon:app-2", "registered", T0 + DAY)
    if case == "the device re-granted":
        rows["customer_snapshots"][0]["address_status"][-1]["status"] = "granted"
    rows["decisions"].append(_push(T0 + DAY if case == "sent before the device died" else T0 + 3 * DAY))
    assert _failed(tmp_path, rows) == set()


def _rows_with_due() -> dict:
    """The good rows, their own wait (deferred to T0 + 1 day 11 h: its send's trigger says so) with its due_at."""
    rows = good_rows()
    next(d for d in rows["decisions"] if d["action"] == "wait")["due_at"] = T0 + DAY + 11 * HOUR
    return rows


def _wait(due: int | None, at: int = T0 + 23 * HOUR, action: str = "wait") -> dict:
    d = _dec("d_000000000000000000000092", C(2), at, action, CA, "reminder_1", "email",
             codes=("quiet_hours_deferred",) if action == "wait" else ("chosen",), trigger="web/evt-000092")
    d["due_at"] = due
    return d


def test_a_wait_with_its_due_time_passes(tmp_path):
    rows = _rows_with_due()
    rows["decisions"].append(_wait(T0 + 32 * HOUR))
    assert _failed(tmp_path, rows) == set()


def test_a_wait_without_due_at_fails_when_the_column_holds_values(tmp_path):
    rows = good_rows()  # (its own wait has no due_at: alone, the output reads as written before the column)
    rows["decisions"].append(_wait(T0 + 32 * HOUR))
    rep = validate_output(build_output(tmp_path, rows))
    assert rep.failed_checks() == {("decisions", "due_at_set_on_wait")}
    assert {(r.table, r.check): r for r in rep.results}[("decisions", "due_at_set_on_wait")].keys == (
        "d_000000000000000000000003",)


def test_a_due_time_at_or_before_the_decision_fails(tmp_path):
    rows = _rows_with_due()
    rows["decisions"].append(_wait(T0 + 23 * HOUR))
    assert _failed(tmp_path, rows) == {("decisions", "due_at_after_decided_at")}


def test_a_due_time_on_a_send_fails(tmp_path):
    rows = _rows_with_due()
    rows["decisions"].append(_wait(T0 + 32 * HOUR, action="send"))
    assert _failed(tmp_path, rows) == {("decisions", "due_at_only_on_wait")}


def test_a_replayed_output_with_waits_and_push_bounces_passes_the_new_checks(tmp_path):
    """No false failure on a real output: a quiet-hours wait (its due_at), push devices dead, alive, transient and
    the sender's errors (stages.bounce_words), through the public replay."""
    from datetime import timedelta as td

    from tests.analytics.test_qa14d_decisions_due_at import _treated
    from tests.scenarios import Scenario, replay_scenario
    H, M = td(hours=1), td(minutes=1)
    s = Scenario()
    s.contact(-30 * td(days=1), "NIGHT", email="night@example.com", tz="Europe/London")
    s.add("web", 9 * H + 30 * M, anonymous_id="dev-night", user_id="NIGHT", type="add_to_cart", product_id="LAMP",
          event_id=_treated("night"))
    for cid, word in [("LIVE", "UNAVAILABLE"), ("DEAD", "Unregistered"), ("KEY", "ExpiredProviderToken")]:
        s.contact(td(0), cid, email=f"{cid.lower()}@example.com", consent=("email", "push"), stage="lead")
        s.add("web", H - M, anonymous_id=f"dev-{cid}", user_id=cid, type="login")
        s.add("engagement", H, crm_id=cid, anonymous_id=f"dev-{cid}", channel="push", type="delivered")
        s.add("engagement", td(days=1), crm_id=cid, anonymous_id=f"dev-{cid}", channel="push", type="bounced",
              bounce_type=word)
    _, audit, out = replay_scenario(s, tmp_path)
    assert any(d["action"] == "wait" for d in audit) and any(d["channel"] == "push" and d["action"] == "send"
                                                             for d in audit)
    assert validate_output(out).failed_checks() == set()
    tips = {d["customer_id"]: d["channel"] for d in audit if d["action"] == "send"
            and d["content_id"] in ("onboarding_tips", "onboarding_tips_push")}
    assert tips == {"crm:LIVE": "push", "crm:DEAD": "email", "crm:KEY": "push"}  # (the replay reads the words too)
