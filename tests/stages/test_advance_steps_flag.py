"""``CustomerProcessor.advance(..., steps=False)``: a caller without a journey-steps table (streaming without
``--tables``) gets no journey-step rows, and everything else the call produces is what ``steps=True`` (the
default) produces: the same decisions, dead letters, counts and state."""
from journeyflow.model.events import Event


def _customers(tmp_path):
    from journeyflow.analytics.compare import read_events
    from journeyflow.config.engine import EngineConfig
    from journeyflow.stages.bounded import resolve_clusters
    from journeyflow.tools.generator import generate

    generate(60, 10, 7, str(tmp_path))
    events, _read, _dead = read_events(tmp_path)
    config = EngineConfig.from_files()
    clusters = resolve_clusters(events, config.link_rules())
    until = max(e.ts for e in events)
    for cid in sorted(clusters.groups):
        evs = sorted((ev for ev, _links in clusters.groups[cid]), key=lambda e: e.sort_key)
        yield config, cid, evs, until


def _advance(config, cid, evs, until, **kw):
    from journeyflow.stages.processor import Outputs
    from journeyflow.stages.state import CustomerState

    state, out = CustomerState(customer_id=cid), Outputs()
    sentinel = object()
    out.steps.append(sentinel)  # (a row of an earlier call: kept as it is)
    steps = out.steps
    half = len(evs) // 2  # two calls: the second starts from a state with content (its restore point)
    processor = config.build_processor()
    processor.advance(state, evs[:half], evs[half].ts - 1 if half else None, out, **kw)
    processor.advance(state, evs[half:], until, out, **kw)
    assert out.steps is steps and out.steps[0] is sentinel
    return ([d.to_dict() for d in out.decisions], out.steps[1:], [repr(d) for d in out.dead], out.events,
            out.timers, state.to_bytes())


def test_advance_without_steps_adds_no_rows_and_decides_the_same(tmp_path):
    rows = decided = 0
    for config, cid, evs, until in _customers(tmp_path):
        with_steps = _advance(config, cid, evs, until)
        without = _advance(config, cid, evs, until, steps=False)
        assert without[1] == []
        assert without[0] == with_steps[0] and without[2:] == with_steps[2:], cid
        rows += len(with_steps[1])
        decided += len(with_steps[0])
    assert rows > 100 and decided > 20  # (the population makes steps and decisions: the comparison means something)


def test_advance_without_steps_keeps_isolating_a_failing_event(tmp_path):
    """A poison event under ``steps=False``: the same dead letter and decisions as with steps, no rows."""
    class Boom(Exception):
        pass

    def run(config, cid, evs, until, bad, **kw):
        from journeyflow.stages.processor import Outputs
        from journeyflow.stages.state import CustomerState

        processor = config.build_processor()
        on_event = processor.on_event

        def failing(state, ev: Event, out):
            if ev.uid == bad.uid:
                raise Boom("bad content")
            return on_event(state, ev, out)

        processor.on_event = failing
        state, out = CustomerState(customer_id=cid), Outputs()
        processor.advance(state, evs, until, out, **kw)
        return [d.to_dict() for d in out.decisions], out.steps, [(d.reason, d.stream, d.event_time) for d in out.dead], state.to_bytes()

    for config, cid, evs, until in _customers(tmp_path):  # the first customer whose journeys make rows
        bad = evs[len(evs) // 2]
        with_steps = run(config, cid, evs, until, bad)
        if len(evs) > 5 and with_steps[1]:
            break
    without = run(config, cid, evs, until, bad, steps=False)
    assert without[1] == [] and with_steps[1]
    assert without[0] == with_steps[0] and without[2:] == with_steps[2:]
    from journeyflow.model.reasons import DeadLetterReason
    assert with_steps[2] == [(DeadLetterReason.PROCESSING_ERROR, bad.stream, bad.ts)]  # (isolated, the rest decided)
