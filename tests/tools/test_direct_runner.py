"""The local-runner tuning (journeyflow.tools.direct_runner) and the per-setup reuse it relies on."""
from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.coders import VarIntCoder
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import userstate
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec, TimerSpec, on_timer

from journeyflow.config.engine import EngineConfig
from journeyflow.tools.direct_runner import memoize_dofn_specs
from journeyflow.adapters.identity_store import open_store
from journeyflow.transforms.decide_streaming import OrderedCustomerFn

class _Counter(beam.DoFn):
    COUNT = ReadModifyWriteStateSpec("count", VarIntCoder())
    SEEN = BagStateSpec("seen", VarIntCoder())
    EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)

    def process(self, kv, count=beam.DoFn.StateParam(COUNT), seen=beam.DoFn.StateParam(SEEN),
                expire=beam.DoFn.TimerParam(EXPIRE)):
        n = (count.read() or 0) + 1
        count.write(n)
        yield kv[0], n

    @on_timer(EXPIRE)
    def expire(self, count=beam.DoFn.StateParam(COUNT)):
        count.clear()


class _Plain(beam.DoFn):
    def process(self, x):
        yield x


def _names(specs):
    return tuple(sorted(s.name for s in specs[0])), tuple(sorted(s.name for s in specs[1]))


def _with_timestamp(x, ts=beam.DoFn.TimestampParam):
    return x, ts


@pytest.fixture(scope="module")
def patched():
    assert memoize_dofn_specs()
    return userstate.get_dofn_specs


@pytest.mark.parametrize("make", [
    lambda: _Counter(),
    lambda: _Plain(),
    lambda: OrderedCustomerFn(EngineConfig.from_files()),
    lambda: beam.Map(lambda x: x).dofn,
    lambda: beam.Map(_with_timestamp).dofn,  # DoFn params in the wrapped function: inspected by Beam
])
def test_memoized_specs_equal_beams_own(patched, make):
    first, again = patched(make()), patched(make())
    assert _names(first) == _names(again) == _names(patched.original(make()))


def test_memoized_specs_see_the_stateful_dofn_and_return_fresh_sets(patched):
    states, timers = patched(_Counter())
    assert {s.name for s in states} == {"count", "seen"}
    assert {t.name for t in timers} == {"ts-expire"}  # Beam prefixes timer names
    states.clear()
    assert len(patched(_Counter())[0]) == 2  # a caller mutating the result does not touch the cache
    assert userstate.is_stateful_dofn(_Counter()) and not userstate.is_stateful_dofn(_Plain())


def test_a_stateful_pipeline_still_runs_on_the_bundle_based_runner(patched):
    stream = TestStream().add_elements([("a", 1), ("b", 2), ("a", 3)]).advance_watermark_to_infinity()
    with TestPipeline(runner="BundleBasedDirectRunner", options=beam.options.pipeline_options.PipelineOptions(
            streaming=True)) as p:
        out = p | stream | beam.ParDo(_Counter())
        assert_that(out, equal_to([("a", 1), ("b", 1), ("a", 2)]))


def test_memory_store_is_one_graph_per_url_in_a_process():
    a, b = open_store("memory://test-shared"), open_store("memory://test-shared")
    a.link("anon:d1", "crm:C1")
    a.close()  # a runner's teardown after a bundle: the graph stays
    assert b.find("anon:d1") == "crm:C1"
    assert open_store("memory://test-other").find("anon:d1") == "anon:d1"


def test_build_processor_reuses_the_parsed_config_but_not_the_processor():
    cfg = EngineConfig.from_files()
    p1, p2 = cfg.build_processor(), cfg.build_processor()
    assert p1 is not p2  # per-processor settings (e.g. max_isolated) stay per DoFn
    assert p1.engine is p2.engine and p1.arbiter is p2.arbiter
    import pickle
    p3 = pickle.loads(pickle.dumps(cfg)).build_processor()  # a runner's fresh copy of the DoFn: same parts
    assert p3.engine is p1.engine
