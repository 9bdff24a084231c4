"""The bundle-based DirectRunner with journeyflow's tuning reuses a DoFn instance across bundles
(``journeyflow.tools.direct_runner_bundles``, fix 7): each instance is set up once and torn down once, at the end of
the run; outputs are those of the runner without the fix; an instance whose bundle failed is not used again."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec
from apache_beam.transforms.window import TimestampedValue

from journeyflow.tools.direct_runner import tune_direct_runner
from journeyflow.tools.direct_runner_timers import skip_keys_without_timers


class _Lifecycle:
    """Appends ``<event> <instance id>`` lines to a file (DoFn instances are pickled copies: no shared memory)."""

    def __init__(self, log: str):
        self.log = log
        self.me = ""

    def note(self, what: str) -> None:
        if not self.me:
            self.me = uuid.uuid4().hex[:8]
        with open(self.log, "a") as f:
            f.write(f"{what} {self.me}\n")


class _CountFn(beam.DoFn):
    """Per-key running count; notes its lifecycle."""

    COUNT = ReadModifyWriteStateSpec("count", VarIntCoder())

    def __init__(self, log: str, fail_on: int | None = None):
        self.lc = _Lifecycle(log)
        self.fail_on = fail_on

    def setup(self):
        self.lc.note("setup")

    def start_bundle(self):
        self.lc.note("start")

    def process(self, kv, count=beam.DoFn.StateParam(COUNT)):
        key, v = kv
        self.lc.note("process")
        if v == self.fail_on and not os.path.exists(self.lc.log + ".failed"):
            Path(self.lc.log + ".failed").touch()
            raise RuntimeError("one failure")
        n = (count.read() or 0) + 1
        count.write(n)
        yield key, v, n

    def teardown(self):
        self.lc.note("teardown")


def _run(log: str, fail_on: int | None = None) -> None:
    assert tune_direct_runner() is not None
    skip_keys_without_timers()
    stream = TestStream()
    for t in range(8):
        stream = stream.add_elements([TimestampedValue((f"k{t % 3}", t), t)]).advance_watermark_to(t + 1)
    stream = stream.advance_watermark_to_infinity()
    opts = PipelineOptions(["--runner=BundleBasedDirectRunner"], streaming=True)
    with beam.Pipeline(options=opts) as p:
        out = p | stream | beam.ParDo(_CountFn(log, fail_on))
        counts = {"k0": 0, "k1": 0, "k2": 0}
        expected = []
        for t in range(8):
            counts[f"k{t % 3}"] += 1
            expected.append((f"k{t % 3}", t, counts[f"k{t % 3}"]))
        assert_that(out, equal_to(expected))


def _events(log: str) -> list[tuple[str, str]]:
    return [tuple(line.split()) for line in Path(log).read_text().splitlines()]


def test_a_dofn_is_set_up_once_and_serves_many_bundles(tmp_path):
    log = str(tmp_path / "lifecycle")
    _run(log)
    ev = _events(log)
    setups = [i for w, i in ev if w == "setup"]
    starts = [i for w, i in ev if w == "start"]
    teardowns = [i for w, i in ev if w == "teardown"]
    assert len(starts) >= 8  # one bundle per chunk at least
    assert len(setups) < len(starts)  # before: a fresh instance (setup, teardown) for every bundle
    assert len(set(setups)) == len(setups) and sorted(setups) == sorted(teardowns)  # each: once, torn down at the end
    assert all(i in setups for i in starts)  # no bundle on an instance that was not set up
    last_use = max(k for k, (w, _i) in enumerate(ev) if w in ("start", "process"))
    assert all(k > last_use for k, (w, _i) in enumerate(ev) if w == "teardown")


def test_an_instance_whose_bundle_failed_is_not_used_again(tmp_path):
    log = str(tmp_path / "lifecycle")
    _run(log, fail_on=3)
    ev = _events(log)
    failed = [i for w, i in ev if w == "process"][3]  # the instance that raised on element 3 (first attempt)
    after = ev[[k for k, (w, _i) in enumerate(ev) if w == "process"][3] + 1:]
    assert all(i != failed for w, i in after if w in ("start", "process"))


class _RareFn(beam.DoFn):
    """Every element to the main output; element 5 also to the ``rare`` output."""

    def process(self, v):
        yield v
        if v == 5:
            yield beam.pvalue.TaggedOutput("rare", v)


def test_a_consumer_is_not_started_for_an_empty_bundle(tmp_path):
    log = str(tmp_path / "lifecycle")
    tune_direct_runner()
    stream = TestStream()
    for t in range(8):
        stream = stream.add_elements([TimestampedValue(t, t)]).advance_watermark_to(t + 1)
    stream = stream.advance_watermark_to_infinity()
    opts = PipelineOptions(["--runner=BundleBasedDirectRunner"], streaming=True)
    with beam.Pipeline(options=opts) as p:
        out = p | stream | beam.ParDo(_RareFn()).with_outputs("rare", main="all")
        rare = (out.rare | beam.Map(lambda v: ("k", v))
                | beam.ParDo(_CountFn(log)))
        assert_that(rare, equal_to([("k", 5, 1)]), label="rare")
        assert_that(out.all, equal_to(list(range(8))), label="all")
    starts = [i for w, i in _events(log) if w == "start"]
    assert len(starts) == 1  # before: one bundle per chunk, seven of them empty


class _BagAndCountFn(beam.DoFn):
    """Per key: a bag of values (cleared at every third) and a count; outputs what it read."""

    BAG = BagStateSpec("bag", VarIntCoder())
    COUNT = ReadModifyWriteStateSpec("count", VarIntCoder())

    def process(self, kv, bag=beam.DoFn.StateParam(BAG), count=beam.DoFn.StateParam(COUNT)):
        key, v = kv
        n = (count.read() or 0) + 1
        count.write(n)
        held = sorted(bag.read())
        if n % 3 == 0:
            bag.clear()
        else:
            bag.add(v)
        yield key, n, tuple(held)


def test_state_cells_read_and_commit_as_beams_own_across_keys_and_bundles():
    tune_direct_runner()
    stream = TestStream()
    for t in range(12):
        stream = stream.add_elements([TimestampedValue((f"k{t % 2}", t), t),
                                      TimestampedValue((f"k{t % 2}", 100 + t), t)]).advance_watermark_to(t + 1)
    stream = stream.advance_watermark_to_infinity()
    expected, bags, counts = [], {"k0": [], "k1": []}, {"k0": 0, "k1": 0}
    for t in range(12):
        for v in (t, 100 + t):
            k = f"k{t % 2}"
            counts[k] += 1
            expected.append((k, counts[k], tuple(sorted(bags[k]))))
            bags[k] = [] if counts[k] % 3 == 0 else bags[k] + [v]
    opts = PipelineOptions(["--runner=BundleBasedDirectRunner"], streaming=True)
    with beam.Pipeline(options=opts) as p:
        assert_that(p | stream | beam.ParDo(_BagAndCountFn()), equal_to(expected))


def test_rewindowing_global_elements_into_the_global_window_skips_the_dofn(monkeypatch):
    calls = []
    real = beam.WindowInto.WindowIntoFn.process

    def counting(self, element, timestamp=beam.DoFn.TimestampParam, window=beam.DoFn.WindowParam):
        calls.append(element)
        return real(self, element, timestamp, window)

    monkeypatch.setattr(beam.WindowInto.WindowIntoFn, "process", counting)
    tune_direct_runner()
    stream = TestStream()
    for t in range(6):
        stream = stream.add_elements([TimestampedValue(("k", t), t)]).advance_watermark_to(t + 1)
    stream = stream.advance_watermark_to_infinity()
    opts = PipelineOptions(["--runner=BundleBasedDirectRunner"], streaming=True)
    with beam.Pipeline(options=opts) as p:
        src = p | stream
        direct = (src | "Global" >> beam.WindowInto(beam.window.GlobalWindows())
                  | "Stamp" >> beam.Map(lambda kv, ts=beam.DoFn.TimestampParam, w=beam.DoFn.WindowParam:
                                        (kv[1], int(ts.micros // 1_000_000), type(w).__name__)))
        assert_that(direct, equal_to([(t, t, "GlobalWindow") for t in range(6)]), label="global")
        fixed = (src | "Fixed" >> beam.WindowInto(beam.window.FixedWindows(2))
                 | "BackToGlobal" >> beam.WindowInto(beam.window.GlobalWindows())
                 | "Stamp2" >> beam.Map(lambda kv, ts=beam.DoFn.TimestampParam, w=beam.DoFn.WindowParam:
                                        (kv[1], int(ts.micros // 1_000_000), type(w).__name__)))
        assert_that(fixed, equal_to([(t, t, "GlobalWindow") for t in range(6)]), label="fixed")
    # the DoFn ran for the fixed windows (into them, and out of them), never for global -> global (before: 30 calls,
    # assert_that's own re-windowing included)
    assert len(calls) == 12


def test_remembered_method_arguments_follow_a_method_replaced_on_the_class_or_set_on_the_instance():
    from apache_beam.transforms import core

    tune_direct_runner()

    class _Fn(beam.DoFn):
        def process(self, element, ts=beam.DoFn.TimestampParam):
            yield element

    fn = _Fn()
    assert core.get_function_arguments(fn, "process") == (["element", "ts"], [beam.DoFn.TimestampParam])
    _Fn.process = lambda self, element, w=beam.DoFn.WindowParam: [element]
    assert core.get_function_arguments(fn, "process") == (["element", "w"], [beam.DoFn.WindowParam])
    fn.process = lambda element: [element]
    assert core.get_function_arguments(fn, "process") == (["element"], [])
    assert core.get_function_arguments(_Fn(), "process") == (["element", "w"], [beam.DoFn.WindowParam])
