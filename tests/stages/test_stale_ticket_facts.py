"""A ticket with no opened/escalated event for the policy's ``open_tickets.stale_after`` no longer counts as open
when a fact is read -- not only after the daily expiry pass dropped it: the ``customer.open_tickets`` family of
journey facts and the arbiter's support suppression use one rule (``CustomerState.open_tickets_at``)."""
from __future__ import annotations

from journeyflow.stages.state import DAY, HOUR, CustomerState
from tests.stages.test_lifecycle import at, e, fold, outcomes, profile


def _ticket(cid, i, ts, severity="high", kind="ticket_opened"):
    return e(f"support/{cid}-{i}", "support", kind, ts, cid, ticket_id=f"T{i}", severity=severity)


def test_facts_leave_out_a_ticket_stale_at_the_time_they_are_read():
    s = CustomerState(customer_id="crm:S1")
    s.apply(_ticket("crm:S1", 1, 0))
    s.apply(_ticket("crm:S1", 2, 0, kind="ticket_escalated"))
    s.apply(_ticket("crm:S1", 3, 20 * DAY, severity="low"))
    now, stale = 31 * DAY, 30 * DAY
    f = s.facts(now, stale)
    assert (f["open_tickets"], f["escalated_tickets"], f["open_high_tickets"]) == (1, 0, 0)
    f = s.facts(30 * DAY - 1, stale)  # T1 and T2 are 1 ms short of stale: still open
    assert (f["open_tickets"], f["escalated_tickets"], f["open_high_tickets"]) == (3, 1, 2)
    f = s.facts(now)  # no stale_after (``null``): open until resolved
    assert (f["open_tickets"], f["escalated_tickets"], f["open_high_tickets"]) == (3, 1, 2)
    assert [t[1] for t in s.open_tickets_at(now, stale)] == [20 * DAY]


def test_a_stale_high_ticket_does_not_make_a_new_one_a_priority_case():
    """Default ``repeat_contact``: a high ticket while another high ticket is open (``open_high_tickets >= 2``).  The
    first one, opened at day 0 10:00 and silent since, is stale from day 30 10:00 (stale_after 30d); a page view at
    09:00 ran the day's expiry pass before that, so the state still holds it at 11:00."""
    def run(hhmm: str):
        cid = "crm:S2"
        evs = profile(cid) + [_ticket(cid, 1, at(0, "10:00")),
                              e(f"web/{cid}-v", "web", "page_view", at(30, "09:00"), cid, page="/help"),
                              _ticket(cid, 2, at(30, hhmm))]
        return [r[1:3] for r in outcomes(fold(evs, until=at(30, "12:00")).decisions, "repeat_contact")]

    assert run("09:59") == [("priority_case", "route_case")]  # still open: a priority case
    assert run("11:00") == []


def test_the_suppression_and_the_fact_agree_at_the_stale_boundary():
    from journeyflow.config.engine import EngineConfig
    proc = EngineConfig.from_files().build_processor()
    stale = proc.retention.open_ticket_ms
    assert stale == 30 * DAY
    s = CustomerState(customer_id="crm:S3")
    s.apply(_ticket("crm:S3", 1, 0))
    arb = proc.arbiter if hasattr(proc, "arbiter") else None
    for now in (stale - 1, stale, stale + HOUR):
        open_fact = s.facts(now, stale)["open_tickets"] > 0
        if arb is not None:
            assert arb._ticket_flags(s, now)[0] == open_fact
        assert open_fact == (now < stale)


def test_the_engine_carries_the_policys_stale_after_to_beam_workers():
    import pickle

    from journeyflow.config.engine import EngineConfig
    engine = EngineConfig.from_files().build_processor().engine
    assert engine.open_ticket_ms == 30 * DAY
    assert pickle.loads(pickle.dumps(engine)).open_ticket_ms == 30 * DAY


def test_the_snapshot_row_counts_open_tickets_by_the_same_rule():
    from journeyflow.stages.snapshot import snapshot_row
    s = CustomerState(customer_id="crm:S4")
    s.apply(_ticket("crm:S4", 1, 0))
    s.apply(_ticket("crm:S4", 2, 20 * DAY, severity="low"))
    now, stale = 31 * DAY, 30 * DAY
    assert snapshot_row(s, now, open_ticket_ms=stale)["open_tickets"] == len(s.open_tickets_at(now, stale)) == 1
    assert snapshot_row(s, now)["open_tickets"] == 2  # no stale_after (``null``): open until resolved


def test_the_replays_customer_snapshots_leave_out_a_stale_ticket(tmp_path):
    """A ticket opened 31 days before the replay horizon and silent since (no event after it: no expiry pass has
    dropped it): the decisions no longer see it open (stale_after 30d), and the analyst table's ``open_tickets``
    says the same; a ticket opened 10 days before the horizon still counts."""
    from datetime import timedelta

    from journeyflow.analytics.tables import read_table
    from journeyflow.pipelines.replay import run_replay
    from tests.scenarios import T0, Scenario

    sc = Scenario()
    sc.contact(timedelta(0), "S5", email="s5@example.com")
    sc.add("support", timedelta(hours=1), crm_id="S5", type="ticket_opened", ticket_id="T-old", severity="high")
    sc.contact(timedelta(0), "S6", email="s6@example.com")
    sc.add("support", timedelta(days=21), crm_id="S6", type="ticket_opened", ticket_id="T-new", severity="low")
    inp = sc.write(tmp_path / "in")
    until = T0 + timedelta(days=31, hours=2)
    run_replay(["--input", str(inp), "--output", str(tmp_path / "out"), "--until", until.isoformat()])
    rows = read_table(tmp_path / "out", "customer_snapshots").to_pylist()
    assert sorted((r["snapshot_at"], r["open_tickets"]) for r in rows) == [(until, 0), (until, 1)]
