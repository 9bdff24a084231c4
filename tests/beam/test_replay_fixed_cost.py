"""The replay's fixed-cost cuts (issue 22) change no option value and no DoFn's specs: cached option views, DoFn
specs worked out once per object, and the graph without Beam's composite expansions."""
from __future__ import annotations

import copy

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions, TypeOptions
from apache_beam.transforms import userstate
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.coders import BytesCoder
from apache_beam.transforms.timeutil import TimeDomain

from journeyflow.config.engine import EngineConfig
from journeyflow.pipelines.options import JourneyflowOptions, ViewCachingOptions
from journeyflow.pipelines.fixed_cost import signatures_once
from journeyflow.pipelines.replay import build_replay, dofn_specs_once
from journeyflow.tools.generator import generate

ARGV = ["--input", "in", "--output", "out", "--default_region", "GB", "--disable_beartype"]


def test_cached_views_read_and_write_what_new_views_do():
    cached, plain = ViewCachingOptions(ARGV), PipelineOptions(ARGV)
    assert cached.view_as(JourneyflowOptions) is cached.view_as(JourneyflowOptions)
    assert cached.get_all_options() == plain.get_all_options()
    assert cached.view_as(TypeOptions).disable_beartype is True
    cached.view_as(StandardOptions).runner = "SomeRunner"  # through one view: seen by every other
    assert cached.view_as(StandardOptions).runner == "SomeRunner"
    assert cached.get_all_options()["runner"] == "SomeRunner"
    assert cached.view_as(JourneyflowOptions).default_region == "GB"


def test_a_deep_copy_keeps_the_class_and_has_its_own_views():
    opts = ViewCachingOptions(ARGV)
    view = opts.view_as(StandardOptions)
    copied = copy.deepcopy(opts)  # what beam.Pipeline does with its options
    assert type(copied) is ViewCachingOptions
    copied.view_as(StandardOptions).runner = "Other"
    assert copied.view_as(StandardOptions) is not view and view.runner is None


class _Stateful(beam.DoFn):
    STATE = ReadModifyWriteStateSpec("s", BytesCoder())
    TIMER = TimerSpec("t", TimeDomain.WATERMARK)

    def process(self, kv, state=beam.DoFn.StateParam(STATE), timer=beam.DoFn.TimerParam(TIMER)):
        yield kv

    @on_timer(TIMER)
    def fire(self):
        yield None


class _Twice(beam.DoFn):
    STATE = ReadModifyWriteStateSpec("s", BytesCoder())

    def process(self, kv, a=beam.DoFn.StateParam(STATE), b=beam.DoFn.StateParam(STATE)):
        yield kv


def test_dofn_specs_once_gives_beams_specs_and_restores_beam_after():
    beam_specs = userstate.get_dofn_specs
    fn = _Stateful()
    expected = beam_specs(fn)
    with dofn_specs_once():
        assert userstate.get_dofn_specs is not beam_specs
        assert userstate.get_dofn_specs(fn) == expected and expected[0] and expected[1]
        userstate.get_dofn_specs(fn)[0].clear()  # a caller's copy: the remembered specs are not changed by it
        assert userstate.get_dofn_specs(fn) == expected
        assert userstate.is_stateful_dofn(fn) and not userstate.is_stateful_dofn(beam.DoFn())
        with pytest.raises(ValueError, match="duplicate"):
            userstate.get_dofn_specs(_Twice())
    assert userstate.get_dofn_specs is beam_specs


class _Unhashable:
    __hash__ = None  # type: ignore[assignment]

    def __call__(self, x, y=2):
        return x


def test_signatures_once_gives_beams_signatures_and_restores_beam_after():
    from apache_beam.transforms import core, ptransform, util
    from apache_beam.typehints import decorators
    beam_sig = decorators.get_signature
    a, b = _Stateful(), _Stateful()
    expected = beam_sig(a.process)
    with signatures_once():
        for m in (decorators, core, ptransform, util):
            assert m.get_signature is not beam_sig
        got = core.get_signature(a.process)
        assert got == expected and list(got.parameters)[0] == "kv"  # (bound: no self)
        assert core.get_signature(b.process) is got  # another instance's bound method: the same function's
        assert core.get_signature(_Stateful.process) == beam_sig(_Stateful.process)  # unbound: self kept
        assert "self" in core.get_signature(_Stateful.process).parameters
        lam = lambda x, k=1: x  # noqa: E731
        assert core.get_function_args_defaults(lam) == (["x", "k"], [1])
        odd = _Unhashable()
        assert decorators.get_signature(odd) == beam_sig(odd)  # not remembered, still answered
    for m in (decorators, core, ptransform, util):
        assert m.get_signature is beam_sig


class _One(tuple):
    def __call__(self, x):
        return x


class _Two(tuple):
    def __call__(self, x, y):
        return x


def test_signatures_once_tells_equal_callables_apart():
    # (``_One() == _Two()``: keyed by equality, the second was given the first's signature; s18d's review)
    from apache_beam.typehints import decorators
    one, two = _One(), _Two()
    assert one == two
    with signatures_once():
        assert list(decorators.get_signature(one).parameters) == ["x"]
        assert list(decorators.get_signature(two).parameters) == ["x", "y"]


def test_the_replay_graph_has_no_global_combines_distincts_or_per_output_steps(tmp_path):
    generate(5, 2, 7, tmp_path / "in")
    p = beam.Pipeline()
    build_replay(p, str(tmp_path / "in"), str(tmp_path / "out"), EngineConfig.from_files())
    labels = []

    class Visit(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node):
            labels.append(node.full_label)

    p.visit(Visit())
    assert not [x for x in labels if "CombinePerKey" in x or "Distinct" in x or "CoGroupByKey" in x], labels
    assert not [x for x in labels if x.startswith(("Topics_", "Rows_", "DecisionMessages", "Horizon"))]
    assert {f"Outputs_{s}" for s in ("decisions", "steps", "snapshots", "links", "dead", "warnings")} <= set(labels)
