"""Issue 22 (session 18): the streaming graph without a step it does not need, the same outputs.

- ``ResolveIdentitiesOnline(addresses=True)`` + ``RouteAddressStatus`` give the address router the messages
  ``ShareAddressStatusOnline``'s own ``AddressMessages`` step made: the same copies reach the per-customer stage.
- ``DecideOrdered(steps=False)`` (``pipelines.stream`` without tables) gives every output but the journey-step rows,
  equal to ``steps=True``'s; ``ResolveOnlineFn(links=False)`` every output but the ``identity_links`` rows, and
  counts the refused links all the same.
- ``DecideOrdered`` and ``RouteAddressStatus`` re-window into the global window only an input that is not in the
  default global windowing already (the streaming graph's is: the step changed nothing).
"""
from __future__ import annotations

import uuid

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that
from apache_beam.transforms.window import TimestampedValue

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.transforms.address import ShareAddressStatusOnline, address_messages
from journeyflow.transforms.decide_streaming import DEAD, DECISIONS, STEPS, TRANSFERS, DecideOrdered
from journeyflow.transforms.identity_online import ADDRESSES, ResolveIdentitiesOnline, RouteAddressStatus

CONFIG = EngineConfig.from_files()


_EVENTS: list[Event] = []


def _events() -> list[Event]:
    """The first 200 events (event-time order) of a small generated population, parsed: merges, shared addresses,
    opt-outs and bounces for the router, journeys for the per-customer stage."""
    if not _EVENTS:
        import tempfile

        from journeyflow.analytics.compare import read_events
        from journeyflow.tools.generator import generate

        with tempfile.TemporaryDirectory() as d:
            generate(40, 3, 5, d)
            events, _read, _dead = read_events(d)
        _EVENTS.extend(sorted(events, key=lambda e: (e.ts, e.uid))[:200])
    return _EVENTS


def _stream(events: list[Event]) -> TestStream:
    """``events`` 20 at a time, the watermark moved to the last one's time after each; then settled (40 days)."""
    from tests.beam.test_streaming_state import settle

    ts = TestStream()
    for i in range(0, len(events), 20):
        ts = ts.add_elements([TimestampedValue(e, e.ts / 1000) for e in events[i:i + 20]])
        ts = ts.advance_watermark_to(events[min(i + 19, len(events) - 1)].ts / 1000)
    return settle(ts, events[-1].ts)


def _collect(path: str, xs: list) -> None:
    """The check of ``assert_that``: writes what it saw to ``path`` (one repr a line; the runner may check in another
    process)."""
    with open(path, "a") as f:
        f.writelines(f"{x!r}\n" for x in xs)


def _seen(path) -> list[str]:
    return sorted(path.read_text().splitlines()) if path.exists() else []


def _copies(fused: bool, tmp_path) -> list:
    import functools

    store = f"memory://perf18c-{uuid.uuid4().hex[:8]}"
    rules = CONFIG.link_rules()
    seen = tmp_path / f"copies-{fused}"
    with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(streaming=True)) as p:
        evs = p | _stream(_events())
        if fused:
            resolved = evs | ResolveIdentitiesOnline(store, rules, addresses=True)
            copies = resolved[ADDRESSES] | "ShareAddressStatus" >> RouteAddressStatus(store, rules)
        else:
            resolved = evs | ResolveIdentitiesOnline(store, rules)
            copies = resolved.keyed | "ShareAddressStatus" >> ShareAddressStatusOnline(store, rules)
        out = copies | beam.Map(lambda kv: (kv[0], kv[1].uid, kv[1].type, kv[1].ts, sorted(kv[1].attrs.items())))
        assert_that(out, functools.partial(_collect, str(seen)))
    return _seen(seen)


def test_address_messages_made_by_resolve_give_the_router_the_same_copies(tmp_path):
    before, after = _copies(False, tmp_path), _copies(True, tmp_path)
    assert before, "the scenario makes address-status copies"
    assert after == before


def test_resolve_gives_the_address_messages_of_each_keyed_output_in_order():
    from journeyflow.transforms.identity_online import ResolveOnlineFn

    fn = ResolveOnlineFn(f"memory://perf18c-{uuid.uuid4().hex[:8]}", CONFIG.link_rules(), addresses=True)
    fn.setup()
    try:
        for ev in _events():
            outs = list(fn.process(ev))
            keyed = [o for o in outs if not isinstance(o, beam.pvalue.TaggedOutput)]
            msgs = [o.value for o in outs if isinstance(o, beam.pvalue.TaggedOutput) and o.tag == ADDRESSES]
            assert msgs == [m for item in keyed for m in address_messages(item)]
    finally:
        fn.teardown()


def _decided(steps: bool, tmp_path) -> dict[str, list]:
    import functools

    names = {n: tmp_path / f"{n}-{steps}" for n in ("decisions", "steps", "dead", "transfers")}
    store = f"memory://perf18c-{uuid.uuid4().hex[:8]}"
    with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(streaming=True)) as p:
        resolved = p | _stream(_events()) | ResolveIdentitiesOnline(store, CONFIG.link_rules())
        decided = resolved.keyed | DecideOrdered(CONFIG, 0, until_clock=False, steps=steps)
        for name, pc in (("decisions", decided[DECISIONS]), ("steps", decided[STEPS]), ("dead", decided[DEAD]),
                         ("transfers", decided[TRANSFERS])):
            assert_that(pc | f"R{name}" >> beam.Map(repr), functools.partial(_collect, str(names[name])),
                        label=f"C{name}")
    return {n: _seen(path) for n, path in names.items()}


def test_without_steps_every_other_output_is_the_same(tmp_path):
    with_steps, without = _decided(True, tmp_path), _decided(False, tmp_path)
    assert with_steps["steps"] and with_steps["decisions"], "the scenario decides and records journey steps"
    assert without["steps"] == []
    for name in ("decisions", "dead", "transfers"):
        assert without[name] == with_steps[name], name


def test_without_link_rows_every_other_output_and_the_refused_count_are_the_same():
    from journeyflow.transforms.identity_online import LINKS, ResolveOnlineFn

    outs, refused = {}, {}
    for links in (True, False):
        fn = ResolveOnlineFn(f"memory://perf18c-{uuid.uuid4().hex[:8]}", CONFIG.link_rules(), addresses=True,
                             links=links)
        n = []
        fn.refused = type("C", (), {"inc": lambda self, k=1: n.append(k)})()
        fn.setup()
        try:
            outs[links] = [o for ev in _events() for o in fn.process(ev)]
        finally:
            fn.teardown()
        refused[links] = sum(n)
    rows = [o for o in outs[True] if isinstance(o, beam.pvalue.TaggedOutput) and o.tag == LINKS]
    assert rows and refused[True], "the scenario links identifiers, some refused"
    assert refused[False] == refused[True]
    rest = [repr(o) if not isinstance(o, beam.pvalue.TaggedOutput) else repr((o.tag, o.value)) for o in outs[True]
            if not (isinstance(o, beam.pvalue.TaggedOutput) and o.tag == LINKS)]
    assert [repr(o) if not isinstance(o, beam.pvalue.TaggedOutput) else repr((o.tag, o.value))
            for o in outs[False]] == rest


def _labels(p: beam.Pipeline) -> list[str]:
    labels: list[str] = []

    class _Visit(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node):
            labels.append(node.full_label)

    p.visit(_Visit())
    return labels


def test_the_global_window_steps_only_for_an_input_in_other_windows():
    rules = CONFIG.link_rules()
    for fixed in (False, True):
        p = beam.Pipeline()
        keyed = p | beam.Create([("c", _events()[0])])
        msgs = p | "Msgs" >> beam.Create([("email:x", ("hold", "c"))])
        if fixed:
            keyed = keyed | "Fixed" >> beam.WindowInto(beam.window.FixedWindows(60))
            msgs = msgs | "FixedMsgs" >> beam.WindowInto(beam.window.FixedWindows(60))
        _ = keyed | "DecideOrdered" >> DecideOrdered(CONFIG)
        _ = msgs | "ShareAddressStatus" >> RouteAddressStatus(None, rules)
        windowing = [label for label in _labels(p) if label.endswith("WindowGlobal")
                     or "WindowGlobal/" in label]
        assert bool(windowing) is fixed, (fixed, windowing)
        assert any(label.startswith("DecideOrdered/WindowGlobal") for label in windowing) is fixed
        assert any(label.startswith("ShareAddressStatus/AddressWindowGlobal") for label in windowing) is fixed


def test_a_flatten_with_one_input_in_other_windows_is_windowed_again():
    # (Beam reports a Flatten's windowing as its first input's: the check looks at every input; s18d's review)
    p = beam.Pipeline()
    first = p | "Global" >> beam.Create([("c", _events()[0])])
    other = (p | "Other" >> beam.Create([("d", _events()[0])])
             | "Fixed" >> beam.WindowInto(beam.window.FixedWindows(60)))
    keyed = (first, other) | "KeyedInputs" >> beam.Flatten()
    assert keyed.windowing.is_default()  # (what Beam says of the Flatten: its first input's windowing)
    _ = keyed | "DecideOrdered" >> DecideOrdered(CONFIG)
    assert any(label.startswith("DecideOrdered/WindowGlobal") for label in _labels(p))
    q = beam.Pipeline()
    both = ((q | "A" >> beam.Create([("c", _events()[0])]), q | "B" >> beam.Create([("d", _events()[0])]))
            | "KeyedInputs" >> beam.Flatten())
    _ = both | "DecideOrdered" >> DecideOrdered(CONFIG)
    assert not any(label.startswith("DecideOrdered/WindowGlobal") for label in _labels(q))
