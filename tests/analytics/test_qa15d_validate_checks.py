"""qa15d: ``journeyflow validate`` checks that could not fail on the fault they name.

Before: ``send_has_address`` looked at email/sms/call sends only -- a push send without ``address_key`` (a push
goes to the customer's CRM id, ``stages.push_devices.push_address``; ``Decision.address_key`` = ``crm:<id>``)
passed; an address of the wrong kind (a phone key on an email send) passed every check; and a send, task or case
decided for a customer after the deletion of their account (``customer_snapshots.deleted_at``, qa15a) passed.
Doctored outputs of the suites' hand-made tables (``tests/analytics/test_quality.py``) and one real replay.
"""
from __future__ import annotations

import pytest

from journeyflow.analytics.quality import validate_output
from tests.analytics.test_quality import DAY, HEX_A, HEX_B, HOUR, T0, C, _dec, build_output, good_rows

WE = "welcome"


def _report(tmp_path, rows):
    rep = validate_output(build_output(tmp_path, rows))
    return rep, {(r.table, r.check): r for r in rep.results}


# ------------------------------------------------------------------------------------------------ addresses
def test_a_push_without_address_key_fails(tmp_path):
    rows = good_rows()
    d = _dec("d_000000000000000000000101", C(1), T0 + 3 * DAY, "send", WE, "push_1", "push", trigger="crm/evt-101")
    d["address_key"] = None
    rows["decisions"].append(d)
    rep, by = _report(tmp_path, rows)
    assert rep.failed_checks() == {("decisions", "send_has_address")}  # before: passed
    assert by[("decisions", "send_has_address")].keys == ("d_000000000000000000000101",)


WRONG_KIND = [("email", f"phone:{HEX_A}"), ("sms", f"email:{HEX_B}"), ("call", C(1)), ("push", f"email:{HEX_B}"),
              ("push", "anon:dev-1")]


def test_an_address_of_another_kind_than_the_channel_fails(tmp_path):
    """Each of :data:`WRONG_KIND` (one output holding all five, one validation: the suite's time) is named."""
    rows = good_rows()
    ids = [f"d_0000000000000000000001{20 + k}" for k in range(len(WRONG_KIND))]
    for did, (channel, key) in zip(ids, WRONG_KIND):
        rows["decisions"].append(_dec(did, C(1), T0 + 3 * DAY, "send", WE, "x_1", channel, trigger=f"crm/evt-{did[-3:]}",
                                      address_key=key))
    rep, by = _report(tmp_path, rows)
    assert rep.failed_checks() == {("decisions", "send_address_fits_channel")}  # before: no such check, passed
    assert sorted(by[("decisions", "send_address_fits_channel")].keys) == ids


def test_an_address_of_the_channel_kind_passes(tmp_path):
    rows = good_rows()
    for k, channel in enumerate(["email", "sms", "call", "push"]):
        rows["decisions"].append(_dec(f"d_0000000000000000000001{30 + k}", C(1), T0 + 3 * DAY, "send", WE, "x_1",
                                      channel, trigger=f"crm/evt-{130 + k}"))
    assert validate_output(build_output(tmp_path, rows)).failed_checks() == set()


# ------------------------------------------------------------------------------------------------ deleted accounts
def _deleted(rows: dict, cust: str, at: int) -> dict:
    snap = next(s for s in rows["customer_snapshots"] if s["customer_id"] == cust)
    snap["deleted_at"] = at
    return rows


ACTION = "no_action_after_account_deleted"
STEP = "no_journey_step_after_account_deleted"


def test_an_action_for_a_deleted_account_fails(tmp_path):
    """C(6) (no decision of its own) deleted at T0 + 1 day; a send, a task, a case and a wait decided for it 2 hours
    later (one output, one validation: the suite's time): each is named."""
    rows = _deleted(good_rows(), C(6), T0 + DAY)
    ids = []
    for k, (action, channel) in enumerate([("send", "email"), ("create_task", "crm_task"),
                                           ("route_case", "service_case"), ("wait", "email")]):
        did = f"d_0000000000000000000001{11 + k * 10}"
        d = _dec(did, C(6), T0 + DAY + 2 * HOUR, action, WE, "welcome_1", channel, trigger=f"crm/evt-{did[-3:]}",
                 category="sales" if action != "send" else "marketing")
        if action == "wait":
            d.update(reason_codes=["quiet_hours_deferred"], due_at=T0 + DAY + 9 * HOUR)
            next(w for w in rows["decisions"] if w["action"] == "wait")["due_at"] = T0 + DAY + 11 * HOUR  # (qa15b)
        rows["decisions"].append(d)
        ids.append(did)
    rep, by = _report(tmp_path, rows)
    assert rep.failed_checks() == {("decisions", ACTION)}  # before: no check, passed
    assert sorted(by[("decisions", ACTION)].keys) == sorted(ids)


def test_an_action_at_the_deletion_millisecond_fails(tmp_path):
    """At equal times the deletion applies first (a status record)."""
    rows = _deleted(good_rows(), C(5), T0 + 2 * DAY)  # C(5)'s task is decided at T0 + 2 days
    rows["journey_steps"] = [s for s in rows["journey_steps"] if not (s["customer_id"] == C(5) and s["at"] >= T0 + DAY)]
    rep, by = _report(tmp_path, rows)
    assert rep.failed_checks() == {("decisions", ACTION)}
    assert by[("decisions", ACTION)].keys == ("d_000000000000000000000010",)


def test_a_journey_step_of_a_deleted_account_fails(tmp_path):
    """C(5) deleted at T0 + 1 day still advanced (call_back step, then goal): both checks name it."""
    rows = _deleted(good_rows(), C(5), T0 + DAY)
    rep, by = _report(tmp_path, rows)
    assert rep.failed_checks() == {("decisions", ACTION), ("journey_steps", STEP)}
    assert by[("journey_steps", STEP)].keys == (C(5),) and by[("journey_steps", STEP)].unexpected_count == 2


def test_what_a_deletion_writes_and_earlier_actions_pass(tmp_path):
    """Before the deletion anything; at and after it: the exits, a refused entry, a cancelled deferral and its
    ``suppress`` record (``stages.deletion.settle``)."""
    at = T0 + DAY + 11 * HOUR + 1  # after C(2)'s first reminder, before its second
    rows = _deleted(good_rows(), C(2), at)
    rows["journey_steps"] = [s for s in rows["journey_steps"] if not (s["customer_id"] == C(2) and s["at"] >= at)]
    rows["decisions"] = [d for d in rows["decisions"] if not (d["customer_id"] == C(2) and d["decided_at"] >= at)]
    rows["suppressed_candidates"] = [s for s in rows["suppressed_candidates"]
                                     if not (s["customer_id"] == C(2) and s["decided_at"] >= at)]
    for kind, step, detail in [("exited", None, "account_deleted"), ("cancelled", "reminder_2", "account_deleted"),
                               ("entry_refused", None, "held_ended:account_deleted")]:
        rows["journey_steps"].append({"customer_id": C(2), "journey_id": "cart_abandonment", "step_id": step,
                                      "kind": kind, "at": at, "trigger_id": "crm/evt-000029", "detail": detail})
    rows["decisions"].append(_dec("d_000000000000000000000112", C(2), at, "suppress", codes=("account_deleted",),
                                  trigger="crm/evt-000029"))
    assert validate_output(build_output(tmp_path, rows)).failed_checks() == set()


def test_a_deleted_profile_merged_later_is_checked_from_the_link_on(tmp_path):
    """C(6)'s snapshot holds a deletion of a profile merged into it at T0 + 2 days: its send at T0 + 1 day 2 h was
    before it was deleted (passes); one after the link fails."""
    rows = _deleted(good_rows(), C(6), T0 + DAY)
    rows["customer_snapshots"][5]["identifiers"] = [C(6), C(7)]
    rows["identity_links"].append({"identifier_a": C(6), "identifier_b": C(7), "customer_id": C(6),
                                   "event_id": "crm/evt-000113", "stream": "crm", "ts": T0 + 2 * DAY,
                                   "status": "accepted", "reason": None})
    rows["decisions"].append(_dec("d_000000000000000000000113", C(6), T0 + DAY + 2 * HOUR, "send", WE, "welcome_1",
                                  "email", trigger="crm/evt-113"))
    assert validate_output(build_output(tmp_path / "a", rows)).failed_checks() == set()
    rows["decisions"].append(_dec("d_000000000000000000000114", C(6), T0 + 2 * DAY + HOUR, "send", WE, "welcome_2",
                                  "email", trigger="crm/evt-114"))
    rep, by = _report(tmp_path / "b", rows)
    assert rep.failed_checks() == {("decisions", ACTION)}
    assert by[("decisions", ACTION)].keys == ("d_000000000000000000000114",)


def test_a_deletion_that_came_late_is_not_checked(tmp_path):
    """Streaming: a deletion after the customer's processed horizon is a late_event dead letter; what was sent
    before it arrived stays sent."""
    rows = _deleted(good_rows(), C(5), T0 + DAY)
    rows["dead_letter"].append({"stream": "crm", "reason": "late_event", "detail": "late", "payload": "",
                                "source": "crm/evt-000115", "event_time": T0 + DAY})
    assert validate_output(build_output(tmp_path, rows)).failed_checks() == set()


# ------------------------------------------------------------------------------------------------ a real replay
def test_a_replay_with_deletions_merges_and_a_new_account_passes_every_check(tmp_path):
    """No false failure on a real output (the public replay): A deleted ten minutes after its cart; B's deleted
    device merged into B by a login after B's dunning email (B's snapshot shows the device's earlier deletion: B is
    deleted from the link on only); C deleted, then a new account a week later (``deleted_at`` null again)."""
    import json

    from journeyflow.pipelines.replay import run_replay
    from journeyflow.analytics.tables import read_table
    from tests.stages.test_qa15a_account_deletion import DEL, activity, contact, deletion, ms, signup

    anon_del = ("track", {"type": "track", "event": "Account Deleted", "messageId": "del-dB", "anonymousId": "d-B",
                          "timestamp": "2026-10-04T00:00:00Z"})
    login = ("web", {"event_id": "l-B", "ts": DEL, "type": "login", "anonymous_id": "d-B", "user_id": "B"})
    records = (contact("A") + activity("A") + [deletion("crm contact_deleted", crm="A")]
               + contact("B", "bob@example.com", "+14155550102") + activity("B") + [anon_del, login]
               + contact("C", "cid@example.com", "+14155550103") + activity("C")
               + [deletion("crm contact_deleted", crm="C"), signup("web signup", "2026-10-12T10:00:00Z", crm="C")])
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    for stream in {s for s, _ in records}:
        (inp / f"{stream}.jsonl").write_text("".join(json.dumps(r) + "\n" for s, r in records if s == stream))
    run_replay(["--input", str(inp), "--output", str(out), "--until", "end"])
    deleted = {r["customer_id"]: r["deleted_at"] for r in read_table(out, "customer_snapshots").to_pylist()}
    assert deleted["crm:A"] is not None and deleted["crm:B"] is not None and deleted["crm:C"] is None
    b_at = ms("2026-10-04T00:00:00Z")
    b_sends = [d for d in read_table(out, "decisions").to_pylist() if d["customer_id"] == "crm:B"
               and d["action"] == "send" and b_at <= int(d["decided_at"].timestamp() * 1000) < ms(DEL)]
    assert b_sends  # (the merge case is exercised: sent after the device's deletion, before the link)
    rep = validate_output(out)
    assert rep.failed_checks() == set(), rep.render(verbose=False)
    by = {(r.table, r.check): r for r in rep.results}
    assert by[("decisions", ACTION)].element_count > 0 and by[("journey_steps", STEP)].element_count > 0
