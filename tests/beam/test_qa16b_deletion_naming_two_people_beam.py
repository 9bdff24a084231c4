"""qa16b in the Beam replay (one pipeline and bucketed) and in streaming: an account deletion keyed by B that also
names A's email, or a device never linked to B, deletes A (the device's profile) too, at any arrival order and at a
trigger's millisecond; the streaming decisions are the replay's and the copies are no records read.  (The fault and
the rules: tests/stages/test_qa16b_deletion_naming_two_people.py.)"""
from __future__ import annotations

import json

import pyarrow.dataset as ds
import pytest

from journeyflow.analytics.quality import validate_output
from journeyflow.config.engine import EngineConfig
from journeyflow.pipelines.replay import run_replay
from tests.beam import test_arrival_order
from tests.beam.test_qa12a_anonymous_opt_outs_streaming import Loop
from tests.beam.test_qa15a_account_deletion_beam import SENDS, _FineNear, arrive_with_burst
from tests.scenarios import read_topic
from tests.stages.test_qa15a_account_deletion import DAY, DEL, LATER, T, events, ms
from tests.stages.test_qa16b_deletion_naming_two_people import ANN, BOTH, DEVICE, deletion, login


def _write(inp, records):
    inp.mkdir(parents=True)
    for stream in {s for s, _ in records}:
        (inp / f"{stream}.jsonl").write_text("".join(json.dumps(r) + "\n" for s, r in records if s == stream))


def _snapshots(out) -> dict[str, dict]:
    rows = ds.dataset(out / "tables" / "customer_snapshots", format="parquet", partitioning="hive",
                      ignore_prefixes=[".", "_"]).to_table(columns=["customer_id", "deleted_at"]).to_pylist()
    return {r["customer_id"]: r for r in rows}


@pytest.mark.parametrize("form", ["crm contact_deleted", "crm flagged archived", "Segment Account Deleted"])
@pytest.mark.parametrize("buckets", ["1", "3"])
def test_the_beam_replay_deletes_everyone_the_record_names(tmp_path, buckets, form):
    """Also: ``journeyflow validate`` finds no action nor journey step of a deleted customer after its
    ``deleted_at`` (the device's profile, linked to nobody, is shown deleted from the record's time)."""
    ids = {"email": ANN} if form.startswith("crm") else {"anonymous_id": "dev-D"}
    records = BOTH + DEVICE + [deletion(form, **ids),
                               # a deletion naming a device no other record names: nobody more to delete
                               ("track", {"type": "track", "event": "Account Deleted", "messageId": "del-B2",
                                          "userId": "B", "anonymousId": "dev-unknown", "timestamp": DEL})]
    _write(tmp_path / "in", records)
    out = tmp_path / "out"
    summary = run_replay(["--input", str(tmp_path / "in"), "--output", str(out), "--until", "end",
                          "--buckets", buckets])
    sent = {m["customer_id"] for t in SENDS for m in read_topic(out, t) if m["decided_at"] >= ms(DEL)}
    named = "crm:A" if form.startswith("crm") else "anon:dev-D"
    assert "crm:B" not in sent and named not in sent  # before (crm): A's cart SMS, dunning SMS and win-back
    assert summary.records_read == summary.events_decided == len(records) and summary.reconciles
    snaps = _snapshots(out)
    deleted_at = snaps["crm:B"]["deleted_at"]
    assert deleted_at is not None and deleted_at.timestamp() * 1000 == ms(DEL)
    assert snaps[named]["deleted_at"] == deleted_at  # before: None (not deleted, its facts kept)
    other = "anon:dev-D" if named == "crm:A" else "crm:A"
    assert snaps[other]["deleted_at"] is None  # not named: untouched
    assert len(snaps) == 3  # no customer made of a copy to an identifier seen nowhere else
    failed = {check for _table, check in validate_output(out).failed_checks()}
    assert not failed & {"no_action_after_account_deleted", "no_journey_step_after_account_deleted"}


def test_the_beam_replay_of_a_device_linked_to_a_after_the_deletion_validates(tmp_path):
    """The device B's deletion names is linked to A a week later: A is that deleted person from the link on (its
    snapshot's ``deleted_at`` is the deletion's time, the validate checks start at the link: no failure)."""
    records = BOTH + DEVICE + [deletion("Segment Account Deleted", anonymous_id="dev-D"), login(LATER)]
    _write(tmp_path / "in", records)
    out = tmp_path / "out"
    summary = run_replay(["--input", str(tmp_path / "in"), "--output", str(out), "--until", "end"])
    assert summary.reconciles and summary.records_read == summary.events_decided == len(records)
    assert {m["customer_id"] for t in SENDS for m in read_topic(out, t) if m["decided_at"] >= ms(LATER)} == set()
    assert _snapshots(out)["crm:A"]["deleted_at"] is not None  # before: None (A's win-back went out)
    failed = {check for _table, check in validate_output(out).failed_checks()}
    assert not failed & {"no_action_after_account_deleted", "no_journey_step_after_account_deleted"}


# ---------------------------------------------------------------------------------------------------- streaming
SOON = "2026-10-05T10:00:01Z"  # a second after A's (and B's, the device's) cart and failed payment
CASES = {
    "crm deletion naming A's email": [deletion("crm contact_deleted", SOON, email=ANN)],
    "crm deletion naming A's email at A's triggers' millisecond": [deletion("crm contact_deleted", T, email=ANN)],
    "Segment Account Deleted naming A's email": [deletion("Segment Account Deleted", SOON, email=ANN)],
    "Segment Account Deleted naming a device linked to A before": [
        login("2026-10-01T00:00:00Z"), deletion("Segment Account Deleted", SOON, anonymous_id="dev-D")],
    "Segment Account Deleted naming a device linked to A later": [
        deletion("Segment Account Deleted", SOON, anonymous_id="dev-D"), login(LATER)],
    "Segment Account Deleted naming a device never linked": [
        deletion("Segment Account Deleted", SOON, anonymous_id="dev-D")],
}


def _sent(loop, customers, after: int) -> list:
    return [(d.customer_id, d.journey_id) for d in loop.decisions
            if d.action == "send" and d.customer_id in customers and d.decided_at >= after]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("reverse", [False, True])
def test_streaming_deletes_everyone_the_record_names_at_any_arrival_order(case, reverse, monkeypatch):
    """Records in time order, or the records of the carts' second (10:00:00 to 10:00:01: the carts, the failed
    payments and the deletion) in reverse order within the allowed lateness: the replay's decisions, nothing sent to
    a customer the deletion names from the deletion on (or from the later link on), no dead letter."""
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = sorted(events(BOTH + DEVICE + CASES[case]), key=lambda e: e.sort_key)
    gone = next(e for e in evs if e.type == "contact_deleted")
    lo = ms(T)
    loop = _FineNear(f"memory://qa16b-{abs(hash((case, reverse)))}", lo)
    until = arrive_with_burst(loop, evs, lo, reverse)
    assert sorted(map(test_arrival_order.key, loop.decisions)) == test_arrival_order.bounded_decisions(evs, until)
    start = max([gone.ts] + [e.ts for e in evs if e.type == "login"])
    named = {"crm:B", "anon:dev-D"} if case.endswith("never linked") else {"crm:A", "crm:B"}
    assert _sent(loop, named, start) == []  # before: A's reminders and win-back (the device's profile: not deleted)
    device = [d.reason_codes for d in loop.decisions if d.customer_id == "anon:dev-D" and d.decided_at > gone.ts]
    if "device" in case:
        assert all(r == ("account_deleted",) for r in device), device  # before: its cart reminder decided on
    if "crm:A" not in named:
        assert ("crm:A", "winback") in _sent(loop, {"crm:A"}, start)  # not named: untouched
    assert loop.dead == []


def test_a_late_deletion_naming_a_device_merged_away_since_deletes_the_survivor(monkeypatch):
    """The device was linked to A (login a week after the deletion) before the deletion arrived (a day after the
    login): the device's customer at the deletion's time was merged into A already, so the copy goes to A too
    (``online_copies``: its customer now) and A is deleted; no dead letter."""
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = sorted(events(BOTH + DEVICE + [login(LATER)]), key=lambda e: e.ts)
    (gone,) = events([deletion("Segment Account Deleted", anonymous_id="dev-D")])
    loop = Loop("memory://qa16b-late-link")
    arrival = ms(LATER) + DAY
    for ev in evs:
        if gone is not None and ev.ts > arrival:
            loop.arrive(gone, arrival)
            gone = None
        loop.arrive(ev, ev.ts + 100)
    if gone is not None:
        loop.arrive(gone, arrival)
    loop.finish(evs[-1].ts + 40 * DAY)
    assert _sent(loop, {"crm:A"}, arrival) == []  # before: A's win-back
    assert [d.reason.value for d in loop.dead] == ["late_event"]  # (the record itself, behind B's horizon)


@pytest.mark.parametrize("deletion_first", [False, True])
def test_a_deletion_at_as_triggers_millisecond_in_a_test_stream(deletion_first):
    """The real streaming transforms (ResolveIdentitiesOnline, the address router, the per-customer stage) on a
    TestStream: B's deletion naming A's email at the millisecond of A's cart and failed payment, fed before or after
    them in one step: the replay's decisions (``_stream_decisions`` checks), nothing sent to A."""
    from journeyflow.analytics.compare import fold_in_process
    from tests.beam.test_address_consent import _extras_file, _stream_decisions

    evs = sorted(events(BOTH), key=lambda e: e.sort_key)
    (gone,) = events([deletion("crm contact_deleted", T, email=ANN)])
    at = [i for i, e in enumerate(evs) if e.ts == gone.ts]
    cut = at[0] if deletion_first else at[-1] + 1
    evs = evs[:cut] + [gone] + evs[cut:]
    decided, _p, _i = fold_in_process(evs, EngineConfig.from_files(journeys=_extras_file()), 2**62)
    assert [d for d in decided if d.action == "send" and d.decided_at >= gone.ts] == []  # before: A's
    _stream_decisions(evs, f"memory://qa16b-tie-{deletion_first}")


def test_a_deletion_naming_bs_device_not_yet_linked_in_streaming(monkeypatch):
    """B's second browser is a customer of its own (x@) until B's CRM record names x@ after the offer: the deletion
    naming B and that browser deletes both in streaming too (the copy goes to the browser's customer then)."""
    from tests.beam.test_qa12a_anonymous_opt_outs_streaming import streamed_offers
    from tests.stages.test_qa14b_opt_outs_naming_two_people import BOB, SECOND_DEVICE, holder

    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    gone = deletion("Segment Account Deleted", "2026-10-02T00:00:00Z", anonymous_id="dev-B2")
    evs = sorted(events(holder("B", BOB) + SECOND_DEVICE + [gone]), key=lambda e: e.ts)
    assert streamed_offers(Loop("memory://qa16b-second-device"), evs) == set()  # before: {"email:<x@>"}


def test_a_new_account_after_the_deletion_reopens_only_its_own_customer_in_streaming(monkeypatch):
    """B's deletion naming A's email, then B's new account (``contact_created``, a grant, a cart) and A's new cart:
    the replay's decisions; B's new cart gets its reminder, A (deleted by the copy, no new account) nothing."""
    from tests.stages.test_qa16b_deletion_naming_two_people import resignup

    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    a_cart = [("consent", {"event_id": "g-late-A", "ts": "2026-10-12T10:00:05Z", "crm_id": "A", "channel": "email",
                           "status": "granted"}),
              ("web", {"event_id": "a-late-A", "ts": "2026-10-13T10:00:00Z", "type": "add_to_cart",
                       "anonymous_id": "d-A", "user_id": "A", "product_id": "P2"})]
    evs = sorted(events(BOTH + [deletion("crm contact_deleted", email=ANN)] + resignup("B", "bob@example.com")
                        + a_cart), key=lambda e: e.sort_key)
    loop = Loop("memory://qa16b-new-account")
    for ev in evs:
        loop.arrive(ev, ev.ts + 100)
    until = evs[-1].ts + 40 * DAY
    loop.finish(until)
    assert sorted(map(test_arrival_order.key, loop.decisions)) == test_arrival_order.bounded_decisions(evs, until)
    assert _sent(loop, {"crm:A"}, ms(DEL)) == []  # before: A's reminders, its new cart's, its win-back
    assert ("crm:B", "cart_abandonment") in _sent(loop, {"crm:B"}, ms(LATER))
