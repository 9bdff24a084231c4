"""A poison record cannot block a customer: an event (or a due timer) whose handling raises is isolated.

The real engine (default journeys + test extras, default policy) with one method monkeypatched to raise for one
specific event uid or timer (a content-triggered bug in a journey condition or in arbitration): an event fails after
``CustomerProcessor.on_event`` has handled it in full (every event goes through it, including the types no journey
listens to, which skip the engine), a timer in ``JourneyEngine.on_timer``, a decision moment in ``Arbiter.arbitrate``.  Compared with the
same input without the offender, the processor produces exactly the same decisions, journey steps and final state
(bytes), plus one ``processing_error`` dead letter for the offender, and the accounting holds (events decided +
dead letters = events in).  Both paths: ``CustomerProcessor.advance`` (streaming, with and without a pre-existing
state) and ``ClusterFold.run`` (bounded replay), and the whole bounded replay pipeline.  A failure that does not go
away is raised after a bounded number of re-runs.
"""
from __future__ import annotations

import json
import logging
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from journeyflow.stages import processor as proc_mod
from journeyflow.config.engine import EngineConfig
from journeyflow.stages.journeys import JourneyEngine
from journeyflow.model.events import Event
from journeyflow.stages.arbitration import Arbiter
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.bounded import ClusterFold
from journeyflow.stages.processor import END_OF_TIME, CustomerProcessor, Outputs
from journeyflow.stages.state import CustomerState
from tests.engine_spies import SpiedEngine
from tests.scenarios import T0, Scenario, journeys_with_test_extras, read_topic

PROCESSING_ERROR = DeadLetterReason.PROCESSING_ERROR

CONFIG = EngineConfig(journeys_with_test_extras(), "<journeys with test extras>",
                      EngineConfig.from_files().policy_yaml, "<default policy>")
T = int(T0.timestamp() * 1000)
HOUR = 3_600_000
DAY = 24 * HOUR
CID = "crm:C1"
EMAIL, PHONE = "c1@example.com", "+1 415-555-0134"
RAW_PII = re.compile(r"c1@example\.com|415-555-0134|4155550134")


def ev(uid: str, stream: str, type_: str, ts: int, ids: tuple[str, ...] = (CID,), **attrs) -> Event:
    return Event(uid, stream, type_, ts, ids, attrs, {"email": EMAIL})


def history() -> list[Event]:
    """Welcome journey (timers), a cart reminder (1h timer), flash promos (one capped), an order that starts
    bundle_promo and cross_sell waits due at the same instant (one timer moment of two), and a win-back wait."""
    return sorted([
        ev("crm/c1", "crm", "contact_created", T - 10 * DAY, timezone="UTC", lifecycle_stage="lead"),
        ev("consent/c1", "consent", "consent_granted", T - 10 * DAY + 1, channel="email", status="granted"),
        ev("web/w1", "web", "add_to_cart", T, product_id="SKU-1"),
        ev("web/w2", "web", "page_view", T + 2 * HOUR, product_id="FLASH"),
        ev("orders/o1", "orders", "order_placed", T + 5 * HOUR, order_id="O1", product_ids=["SKU-9"]),
        ev("web/w3", "web", "page_view", T + 30 * HOUR, product_id="FLASH"),
        ev("web/w4", "web", "page_view", T + 80 * HOUR, product_id="FLASH"),
    ], key=lambda e: e.sort_key)


UIDS = [e.uid for e in history()]


class Boom(RuntimeError):
    pass


@pytest.fixture
def poison(monkeypatch):
    """``poison.events`` / ``poison.timers`` (timer-id prefixes) / ``poison.arbitration`` (trigger ids): what the
    patched engine and arbiter raise on.  ``poison.calls`` counts the raises."""
    P = SimpleNamespace(events=set(), timers=set(), arbitration=set(), calls=Counter())

    def message(what: str) -> str:
        return f"condition blew up on {what} for {EMAIL} / {PHONE}"

    on_event, on_timer, arbitrate = CustomerProcessor.on_event, JourneyEngine.on_timer, Arbiter.arbitrate

    def bad_on_event(self, state, event, out):
        # every event goes through the processor (the engine skips the types no journey listens to): the event is
        # handled in full first (state, journeys, proposed sends, steps), then fails: all of that must be undone
        result = on_event(self, state, event, out)
        if event.uid in P.events:
            P.calls[event.uid] += 1
            raise Boom(message(event.uid))
        return result

    def bad_on_timer(self, state, timer, customer_id):
        if any(timer[1].startswith(t) for t in P.timers):
            P.calls[timer[1]] += 1
            raise Boom(message(timer[1]))
        return on_timer(self, state, timer, customer_id)

    def bad_arbitrate(self, state, candidates, now, customer_id, trigger_id):
        if any(trigger_id.startswith(t) for t in P.arbitration):
            P.calls[trigger_id] += 1
            raise ZeroDivisionError(message(trigger_id))
        return arbitrate(self, state, candidates, now, customer_id, trigger_id)

    # (a subclass where processors are made: the compiled core builds CustomerProcessor as an extension type,
    # whose methods cannot be replaced on the class itself; ``EngineConfig.build_processor`` imports it per call)
    def poisoned_init(self, engine, *args, **kw):
        CustomerProcessor.__init__(self, SpiedEngine(engine, on_timer=bad_on_timer), *args, **kw)
    monkeypatch.setattr(proc_mod, "CustomerProcessor", type("PoisonedProcessor", (CustomerProcessor,),
                                                            {"on_event": bad_on_event, "__init__": poisoned_init}))
    monkeypatch.setattr(Arbiter, "arbitrate", bad_arbitrate)
    return P


# ------------------------------------------------------------------------------------------------ helpers
def advance(events: list[Event], split: int | None = None, pass_bytes: bool = False, until: int = END_OF_TIME,
            drop_timers: tuple[str, ...] = (), processor=None) -> tuple[CustomerState, Outputs]:
    """Streaming-like: events up to ``split`` in a first flush (horizon ``split``), the state stored as bytes, the
    rest in a second flush on the state read back, the same ``Outputs`` collecting both.  ``drop_timers``:
    timer-id prefixes removed from the state between the two flushes (the reference for a dropped timer)."""
    p = processor or CONFIG.build_processor()
    out = Outputs()
    state = CustomerState(customer_id=CID)
    rest = events
    if split is not None:
        p.advance(state, [e for e in events if e.ts <= split], split, out)
        if drop_timers:
            state.timers = [t for t in state.timers if not t[1].startswith(drop_timers)]
            state.timers.sort()
        raw = state.to_bytes()
        state = CustomerState.from_bytes(raw)
        rest = [e for e in events if e.ts > split]
        p.advance(state, rest, until, out, state_bytes=raw if pass_bytes else None)
    else:
        p.advance(state, rest, until, out)
    return state, out


def fold(events: list[Event], links: dict[str, tuple] | None = None, processor=None) -> Outputs:
    items = [(e, (links or {}).get(e.uid, ())) for e in sorted(events, key=lambda e: e.sort_key)]
    return ClusterFold(processor or CONFIG.build_processor()).run(items, END_OF_TIME)


def ids(out: Outputs) -> list[str]:
    return [d.decision_id for d in out.decisions]


def without(events: list[Event], *uids: str) -> list[Event]:
    return [e for e in events if e.uid not in uids]


def errors(out: Outputs) -> list:
    return [d for d in out.dead if d.reason == PROCESSING_ERROR]


def assert_masked_dead_letter(dl, source: str, event_time: int, stream: str) -> None:
    assert (dl.reason, dl.source, dl.event_time, dl.stream) == (PROCESSING_ERROR, source, event_time, stream)
    assert dl.detail.startswith(("Boom: condition blew up on", "ZeroDivisionError: condition blew up on")), dl.detail
    assert "<email>" in dl.detail and "<phone>" in dl.detail, dl.detail
    assert not RAW_PII.search(json.dumps(dl.to_dict())), dl


def test_the_history_exercises_events_timers_and_a_shared_timer_moment():
    state, out = advance(history())
    assert len(out.decisions) >= 7 and out.timers >= 6 and not out.dead
    triggers = {d.trigger_event_id for d in out.decisions}
    assert {"web/w3", "web/w4"} <= triggers
    assert any(t.startswith("cart_abandonment:wait_1h:") for t in triggers)
    assert any(t.startswith("bundle_promo:wait_3d:") for t in triggers)  # the moment with cross_sell's timer
    # the replay path gives the same decisions (the references below use either)
    assert ids(fold(history())) == ids(out)


# ------------------------------------------------------------------------------------------ streaming path
@pytest.mark.parametrize("uid", UIDS)
def test_advance_isolates_a_poison_event(poison, uid):
    clean_state, clean = advance(without(history(), uid))
    poison.events.add(uid)
    state, out = advance(history())
    assert poison.calls[uid] == 1  # isolated on the first failure, skipped on the re-run
    assert ids(out) == ids(clean)
    assert out.steps == clean.steps
    assert state.to_bytes() == clean_state.to_bytes()
    assert out.events == clean.events == len(UIDS) - 1
    assert [d.source for d in out.dead] == [uid]
    assert_masked_dead_letter(out.dead[0], uid, next(e.ts for e in history() if e.uid == uid), uid.split("/")[0])
    assert out.events + len(out.dead) == len(UIDS)


@pytest.mark.parametrize("pass_bytes", [False, True], ids=["snapshot", "caller-bytes"])
@pytest.mark.parametrize("uid", ["web/w1", "orders/o1", "web/w3", "web/w4"])
def test_advance_on_a_pre_existing_state_restores_it_in_place(poison, uid, pass_bytes):
    """Second flush on a state with journeys, timers and sends; the ``Outputs`` already hold the first flush's."""
    split = T - DAY  # the contact and its consent in the first flush, the rest in the second
    clean_state, clean = advance(without(history(), uid), split=split)
    poison.events.add(uid)
    state, out = advance(history(), split=split, pass_bytes=pass_bytes)
    assert ids(out) == ids(clean) and out.steps == clean.steps
    assert state.to_bytes() == clean_state.to_bytes()
    assert out.events + len(out.dead) == len(UIDS) and [d.source for d in errors(out)] == [uid]


def test_the_callers_state_object_is_restored_in_place_and_earlier_outputs_are_kept(poison):
    p = CONFIG.build_processor()
    events = history()
    first = [e for e in events if e.ts <= T]
    state, out = CustomerState(customer_id=CID), Outputs()
    p.advance(state, first, T, out)
    before = (list(out.decisions), list(out.steps), out.events, out.timers)
    assert before[0] and state.journeys and state.timers
    ref_state, ref_out = CustomerState.from_bytes(state.to_bytes()), Outputs()
    p.advance(ref_state, [e for e in events if e.ts > T and e.uid != "web/w3"], END_OF_TIME, ref_out)

    poison.events.add("web/w3")
    same = state
    p.advance(state, [e for e in events if e.ts > T], END_OF_TIME, out)
    assert state is same
    assert state.to_bytes() == ref_state.to_bytes()
    assert out.decisions[:len(before[0])] == before[0] and out.steps[:len(before[1])] == before[1]
    assert out.decisions[len(before[0]):] == ref_out.decisions
    assert out.events == before[2] + ref_out.events and out.timers == before[3] + ref_out.timers


def test_a_poison_event_delivered_twice_is_dead_lettered_twice(poison):
    events = history()
    copy = next(e for e in events if e.uid == "web/w3")
    clean_state, clean = advance(without(events, "web/w3"))
    poison.events.add("web/w3")
    state, out = advance(sorted(events + [copy], key=lambda e: e.sort_key))
    assert ids(out) == ids(clean) and state.to_bytes() == clean_state.to_bytes()
    assert [(d.source, d.reason) for d in out.dead] == [("web/w3", PROCESSING_ERROR)] * 2
    assert out.events + len(out.dead) == len(events) + 1


def test_several_poison_events_are_each_isolated(poison):
    bad = ("consent/c1", "web/w2", "web/w4")
    clean_state, clean = advance(without(history(), *bad))
    poison.events.update(bad)
    state, out = advance(history())
    assert ids(out) == ids(clean) and state.to_bytes() == clean_state.to_bytes()
    assert sorted(d.source for d in out.dead) == sorted(bad)
    assert out.events + len(out.dead) == len(UIDS)


def test_a_failing_arbitration_isolates_the_event_that_triggered_it(poison):
    clean_state, clean = advance(without(history(), "web/w3"))
    poison.arbitration.add("web/w3")
    state, out = advance(history())
    assert ids(out) == ids(clean) and out.steps == clean.steps and state.to_bytes() == clean_state.to_bytes()
    assert len(out.dead) == 1
    assert_masked_dead_letter(out.dead[0], "web/w3", T + 30 * HOUR, "web")


# ------------------------------------------------------------------------------------------------ timers
def _due(prefix: str) -> int:
    """When the timer with that id prefix fires (its resume step, in a run without poison)."""
    state, out = advance(history())
    return next(s.at for s in out.steps if s.trigger_id.startswith(prefix) and s.detail.startswith("resume:"))


@pytest.mark.parametrize("pass_bytes", [False, True], ids=["snapshot", "caller-bytes"])
@pytest.mark.parametrize("prefix", ["cart_abandonment:wait_1h:", "bundle_promo:wait_3d:", "cross_sell:wait_3d:"])
def test_a_failing_timer_is_dropped_and_dead_lettered(poison, prefix, pass_bytes):
    """Reference: the same events with that timer removed from the state just before it is due.  bundle_promo and
    cross_sell are due at the same instant: only the failing one of the moment is dropped."""
    due = _due(prefix)
    clean_state, clean = advance(history(), split=due - 1, drop_timers=(prefix,))
    poison.timers.add(prefix)
    state, out = advance(history(), split=due - 1, pass_bytes=pass_bytes)
    assert poison.calls and all(n == 1 for n in poison.calls.values())
    assert ids(out) == ids(clean) and out.steps == clean.steps
    assert state.to_bytes() == clean_state.to_bytes()
    assert out.events == clean.events == len(UIDS)
    assert len(out.dead) == 1
    (timer_id,) = poison.calls
    assert_masked_dead_letter(out.dead[0], f"timer {timer_id}", due, "_timer")
    assert not any(d.trigger_event_id == timer_id for d in out.decisions)
    # the same in a single flush (advance from an empty state)
    state1, out1 = advance(history())
    assert ids(out1) == ids(clean) and state1.to_bytes() == clean_state.to_bytes()


def test_a_failing_arbitration_of_a_timer_moment_drops_the_moment(poison):
    due = _due("bundle_promo:wait_3d:")
    both = ("bundle_promo:wait_3d:", "cross_sell:wait_3d:")
    clean_state, clean = advance(history(), split=due - 1, drop_timers=both)
    poison.arbitration.add("bundle_promo:wait_3d:")  # the moment's trigger id: the smallest timer id
    state, out = advance(history())
    assert ids(out) == ids(clean) and state.to_bytes() == clean_state.to_bytes()
    assert sorted(d.source.split(":")[0] for d in out.dead) == ["timer bundle_promo", "timer cross_sell"]
    assert all(d.reason == PROCESSING_ERROR and d.event_time == due for d in out.dead)


# ------------------------------------------------------------------------------------------------ replay path
@pytest.mark.parametrize("uid", UIDS)
def test_cluster_fold_isolates_a_poison_event(poison, uid):
    clean = fold(without(history(), uid))
    poison.events.add(uid)
    out = fold(history())
    assert poison.calls[uid] == 1
    assert ids(out) == ids(clean) and out.steps == clean.steps
    assert {k: s.to_bytes() for k, s in out.final_states.items()} == \
        {k: s.to_bytes() for k, s in clean.final_states.items()}
    assert [d.source for d in out.dead] == [uid] and out.events + len(out.dead) == len(UIDS)
    assert_masked_dead_letter(out.dead[0], uid, next(e.ts for e in history() if e.uid == uid), uid.split("/")[0])


def test_cluster_fold_drops_a_failing_timer(poison):
    prefix = "cart_abandonment:wait_1h:"
    due = _due(prefix)
    clean_state, clean = advance(history(), split=due - 1, drop_timers=(prefix,))
    poison.timers.add(prefix)
    out = fold(history())
    assert ids(out) == ids(clean) and out.steps == clean.steps
    assert out.final_states[CID].to_bytes() == clean_state.to_bytes()
    assert [(d.reason, d.event_time) for d in out.dead] == [(PROCESSING_ERROR, due)]
    assert out.events == len(UIDS)


ANON = "anon:dev-1"


def linked_history() -> tuple[list[Event], dict[str, tuple]]:
    """An anonymous device browsing (its own sub-profile, with a cart reminder), then a login linking it to C1."""
    events = history() + [
        ev("web/a1", "web", "add_to_cart", T - 3 * DAY, ids=(ANON,), product_id="SKU-5"),
        ev("web/a2", "web", "page_view", T - 3 * DAY + HOUR, ids=(ANON,), product_id="FLASH"),
        ev("web/login", "web", "login", T - 2 * DAY, ids=(ANON, CID)),
    ]
    return sorted(events, key=lambda e: e.sort_key), {"web/login": ((ANON, CID),)}


@pytest.mark.parametrize("uid", ["web/a1", "web/w3"])
def test_cluster_fold_with_sub_profiles_isolates_a_poison_event(poison, uid):
    events, links = linked_history()
    clean = fold(without(events, uid), links)
    assert len(clean.final_states) == 1
    poison.events.add(uid)
    out = fold(events, links)
    assert ids(out) == ids(clean) and out.steps == clean.steps
    assert {k: s.to_bytes() for k, s in out.final_states.items()} == \
        {k: s.to_bytes() for k, s in clean.final_states.items()}
    assert [d.source for d in out.dead] == [uid] and out.events + len(out.dead) == len(events)


def test_a_poison_linking_event_still_links_its_identities(poison):
    """Identity is resolved upstream (as streaming does): the merge happens at the event's time even though the
    event itself is dead-lettered."""
    events, links = linked_history()
    poison.events.add("web/login")
    out = fold(events, links)
    assert [d.source for d in out.dead] == ["web/login"] and out.events == len(events) - 1
    assert list(out.final_states) == [CID]
    assert {d.customer_id for d in out.decisions if d.decided_at > T - 2 * DAY} == {CID}


def test_a_failing_identity_merge_isolates_the_linking_event(poison, monkeypatch):
    events, links = linked_history()
    clean = fold(without(events, "web/login"))  # without the event, nothing links the two profiles either
    assert len(clean.final_states) == 2

    def broken_merge(self, other):
        raise Boom(f"merge blew up for {EMAIL}")
    monkeypatch.setattr(CustomerState, "merge", broken_merge)
    out = fold(events, links)
    assert ids(out) == ids(clean) and out.steps == clean.steps
    assert {k: s.to_bytes() for k, s in out.final_states.items()} == \
        {k: s.to_bytes() for k, s in clean.final_states.items()}
    assert [(d.source, d.reason) for d in out.dead] == [("web/login", PROCESSING_ERROR)]
    assert "<email>" in out.dead[0].detail and not RAW_PII.search(out.dead[0].detail)


# ------------------------------------------------------------------------------------------------ bounds
@pytest.mark.parametrize("path", ["advance", "fold"])
def test_a_failure_on_every_event_is_raised_after_a_bounded_number_of_re_runs(poison, path):
    p = CONFIG.build_processor()
    p.max_isolated = 3
    poison.events.update(UIDS)
    with pytest.raises(Boom):
        if path == "advance":
            advance(history(), processor=p)
        else:
            fold(history(), processor=p)
    assert sum(poison.calls.values()) == p.max_isolated + 1  # one failure per run: the first, then 3 re-runs


def test_the_default_bound_allows_several_offenders_and_no_more(poison):
    assert proc_mod.MAX_ISOLATED >= len(UIDS)
    poison.events.update(UIDS)
    state, out = advance(history())  # every event poisoned, but fewer than the bound: all isolated
    assert out.events == 0 and sorted(d.source for d in out.dead) == sorted(UIDS)
    assert not out.decisions and state.to_bytes() == CustomerState(customer_id=CID).to_bytes()


def test_a_base_exception_is_never_swallowed(monkeypatch):
    calls = []

    class Stop(BaseException):
        pass

    def stop(self, state, event, customer_id, *rest):
        calls.append(event.uid)
        raise Stop()
    def stopping():  # (``tests/engine_spies``: the compiled JourneyEngine's methods are not replaced on the class)
        p = CONFIG.build_processor()
        p.engine = SpiedEngine(p.engine, on_event=stop)
        return p
    with pytest.raises(Stop):
        advance(history(), processor=stopping())
    with pytest.raises(Stop):
        fold(history(), processor=stopping())
    assert len(calls) == 2  # no re-run


def test_one_masked_warning_per_isolated_offender(poison, caplog):
    poison.events.update({"web/w2", "web/w4"})
    poison.timers.add("cart_abandonment:wait_1h:")
    with caplog.at_level(logging.WARNING, logger="journeyflow.stages.processor"):
        state, out = advance(history())
    warnings = [r for r in caplog.records if r.name == "journeyflow.stages.processor"]
    assert len(warnings) == 3 and all(r.levelno == logging.WARNING for r in warnings)
    text = "\n".join(r.getMessage() for r in warnings)
    assert "web/w2" in text and "web/w4" in text and "cart_abandonment:wait_1h" in text
    assert "<email>" in text and not RAW_PII.search(text)
    assert len(out.dead) == 3


# ------------------------------------------------------------------------------------------------ pipeline
DAY_TD, HOUR_TD = timedelta(days=1), timedelta(hours=1)


def scenario() -> tuple[Scenario, str]:
    s = Scenario()
    s.contact(-10 * DAY_TD, "CP1", email="pat@example.com", consent=("email",))
    s.add("web", -9 * DAY_TD, anonymous_id="dev-p1", type="login", user_id="CP1")
    s.add("web", 0 * DAY_TD, anonymous_id="dev-p1", type="add_to_cart", product_id="SKU-1")
    bad = s.add("web", 3 * HOUR_TD, anonymous_id="dev-p1", type="page_view", product_id="FLASH")
    s.add("orders", 1 * DAY_TD, crm_id="CP1", order_id="O-P1", type="order_placed", product_ids=["SKU-7"],
          amount=12.0, currency="EUR")
    s.add("web", 2 * DAY_TD, anonymous_id="dev-p1", type="page_view", product_id="FLASH")
    s.contact(-10 * DAY_TD, "CP2", email="pam@example.com")
    s.add("web", -9 * DAY_TD, anonymous_id="dev-p2", type="login", user_id="CP2")
    s.add("web", 1 * DAY_TD, anonymous_id="dev-p2", type="page_view", product_id="FLASH")
    return s, bad


def test_the_bounded_replay_pipeline_dead_letters_a_poison_event_and_reconciles(poison, tmp_path: Path):
    """``run_replay`` on the FnApiRunner (in process: the patched class is the one its DoFns run)."""
    from journeyflow.pipelines.replay import run_replay

    s, bad = scenario()
    journeys = tmp_path / "journeys.yaml"
    journeys.write_text(journeys_with_test_extras())
    s.write(tmp_path / "in")
    stream, eid = bad.split("/")
    clean = Scenario()
    clean.records.update({k: [r for r in v if not (k == stream and r["event_id"] == eid)]
                          for k, v in s.records.items()})
    clean.write(tmp_path / "in-clean")

    def replay(name: str):
        return run_replay(["--input", str(tmp_path / name), "--output", str(tmp_path / f"out-{name}"),
                           "--journeys", str(journeys)])

    clean_summary = replay("in-clean")
    poison.events.add(bad)
    summary = replay("in")
    assert poison.calls[bad] >= 1
    assert summary.reconciles and clean_summary.reconciles
    assert summary.records_read == clean_summary.records_read + 1
    assert summary.events_decided == clean_summary.events_decided
    assert summary.dead_letters == Counter({PROCESSING_ERROR: 1})
    (dl,) = read_topic(tmp_path / "out-in", "dead-letter")
    assert (dl["reason"], dl["source"], dl["stream"]) == (PROCESSING_ERROR, bad, "web")
    assert "<email>" in dl["detail"] and not RAW_PII.search(json.dumps(dl))
    for topic in sorted(p.name for p in (tmp_path / "out-in-clean" / "topics").iterdir()):
        if topic != "dead-letter.jsonl":
            assert (tmp_path / "out-in" / "topics" / topic).read_bytes() == \
                (tmp_path / "out-in-clean" / "topics" / topic).read_bytes(), topic
    assert sum(clean_summary.decisions.values()) >= 3


def test_a_re_run_does_not_see_the_isolated_attempts_events_as_earlier_in_their_millisecond(poison):
    """The re-run after an isolated event starts this customer's record of the millisecond's events from where the
    call began: an exit of the failed attempt (the poison itself, handled in full before it raised) is not an
    "earlier event of this millisecond" that ends the membership an entry of the same millisecond starts."""
    at = T + HOUR
    events = sorted([
        ev("crm/c1", "crm", "contact_created", T - 10 * DAY, timezone="UTC", lifecycle_stage="customer"),
        ev("consent/c1", "consent", "consent_granted", T - 10 * DAY + 1, channel="email", status="granted"),
        ev("orders/o0", "orders", "order_placed", at, order_id="O0", product_ids=["SKU-1"]),
        ev("web/w1", "web", "add_to_cart", at, product_id="SKU-2"),
    ], key=lambda e: e.sort_key)
    # the contact in a first flush, the two events of one millisecond in the second (the re-run's first event)
    clean_state, clean = advance(without(events, "orders/o0"), split=T)
    assert any(d.journey_id == "cart_abandonment" and d.action == "send" for d in clean.decisions)
    poison.events.add("orders/o0")
    state, out = advance(events, split=T)
    assert [d.source for d in errors(out)] == ["orders/o0"]
    assert ids(out) == ids(clean) and out.steps == clean.steps
    assert state.to_bytes() == clean_state.to_bytes()
