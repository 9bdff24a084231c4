"""Issue 22 (session 19): the local runner's state commit without a pass over untouched cells
(``journeyflow.tools.direct_runner_bundles``, point 12) stores what Beam's own ``DirectUserStateContext.commit``
stores: the same reads, timer firings and outputs from a DoFn that writes, clears and leaves cells alone, sets,
moves and clears timers across keys and bundles, appends several values of one key in one bundle, commits a
bundle that only clears a bag, and clears a timer that must then never fire.  Since session 20 the cells themselves
are the runner's (``journeyflow.tools.direct_runner_cells``): each element's output also reads back the bag and the
count it just changed, and Beam's own run reverts ``get_state`` too."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.direct import direct_userstate as du
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from journeyflow.tools.direct_runner import tune_direct_runner


class _CellsFn(beam.DoFn):
    """Per key: a count (cleared at every fourth value), a bag (cleared at every third), a cell left alone but on
    odd values, a flush timer set 2 s ahead (cleared at every fifth value, or by a negative value) and a second
    timer never set.  Key ``m``'s flush clears its bag and sets ``again`` 1 s later, which reads the bag."""

    COUNT = ReadModifyWriteStateSpec("count", VarIntCoder())
    BAG = BagStateSpec("bag", VarIntCoder())
    ODD = ReadModifyWriteStateSpec("odd", VarIntCoder())
    FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)
    NEVER = TimerSpec("never", TimeDomain.WATERMARK)
    AGAIN = TimerSpec("again", TimeDomain.WATERMARK)

    def process(self, kv, ts=beam.DoFn.TimestampParam, count=beam.DoFn.StateParam(COUNT),
                bag=beam.DoFn.StateParam(BAG), odd=beam.DoFn.StateParam(ODD), flush=beam.DoFn.TimerParam(FLUSH),
                never=beam.DoFn.TimerParam(NEVER)):
        key, v = kv
        if v < 0:  # the flush timer the key's last value set, cleared: it must not fire
            flush.clear()
            yield "clear", key, v
            return
        n = (count.read() or 0) + 1
        if n % 4 == 0:
            count.clear()
        else:
            count.write(n)
        if v % 2:
            odd.write(v)
        if n % 3 == 0:
            bag.clear()
        bag.add(v)
        if n % 5 == 0:
            flush.clear()
        else:
            flush.set(Timestamp(micros=ts.micros + 2_000_000))
        # (read back in the same call: a bag cleared then added to, a count written or cleared; session 20's cells)
        yield "elem", key, v, n, tuple(sorted(bag.read())), count.read()

    @on_timer(FLUSH)
    def on_flush(self, key=beam.DoFn.KeyParam, fired=beam.DoFn.TimestampParam,
                 bag=beam.DoFn.StateParam(BAG), odd=beam.DoFn.StateParam(ODD), count=beam.DoFn.StateParam(COUNT),
                 again=beam.DoFn.TimerParam(AGAIN)):
        yield "flush", key, fired.micros // 1000, tuple(sorted(bag.read())), odd.read(), count.read()
        bag.clear()  # (key m: the only change of this firing's bundle)
        if key == "m":
            again.set(Timestamp(micros=fired.micros + 1_000_000))

    @on_timer(AGAIN)
    def on_again(self, key=beam.DoFn.KeyParam, bag=beam.DoFn.StateParam(BAG)):
        yield "again", key, tuple(sorted(bag.read()))

    @on_timer(NEVER)
    def on_never(self, key=beam.DoFn.KeyParam):
        yield "never", key


def _run(tmp_path, name: str) -> list:
    stream = TestStream()
    for t in range(14):
        stream = stream.add_elements([TimestampedValue((f"k{t % 3}", t), t),
                                      TimestampedValue((f"k{(t + 1) % 3}", 100 + t), t)]).advance_watermark_to(t)
    # two values of m in one bundle (both appended); c's timer set, then cleared in the next bundle
    stream = stream.add_elements([TimestampedValue(("m", 1), 20), TimestampedValue(("m", 2), 20),
                                  TimestampedValue(("c", 7), 20)]).advance_watermark_to(20)
    stream = stream.add_elements([TimestampedValue(("c", -1), 21)]).advance_watermark_to(21)
    stream = stream.advance_watermark_to(30).advance_watermark_to_infinity()
    out = tmp_path / name
    opts = PipelineOptions(["--runner=BundleBasedDirectRunner"], streaming=True)
    with beam.Pipeline(options=opts) as p:
        _ = (p | stream | beam.ParDo(_CellsFn()) | beam.Map(repr)
             | beam.Map(lambda line, path=str(out): open(path, "a").write(line + "\n")))
    return sorted(out.read_text().splitlines())


def test_the_commit_stores_what_beams_own_commit_stores(tmp_path, monkeypatch):
    tune_direct_runner()
    ctx = du.DirectUserStateContext
    assert hasattr(ctx.commit, "original"), "the runner's commit is the faster one"
    assert hasattr(ctx.get_state, "original"), "the runner's cells are the faster ones (direct_runner_cells)"
    ours = _run(tmp_path, "ours")
    for name in ("commit", "reset", "get_timer", "get_state"):  # (get_state: Beam's own cells too, session 20)
        monkeypatch.setattr(ctx, name, getattr(ctx, name).original)
    beams = _run(tmp_path, "beams")
    assert any(line.startswith("('flush'") for line in beams) and not any("never" in line for line in beams)
    assert "('flush', 'm', 22000, (1, 2), 1, 2)" in beams  # both values appended in one bundle
    assert "('again', 'm', ())" in beams  # the bundle that only cleared the bag was committed
    assert "('clear', 'c', -1)" in beams and not any(line.startswith("('flush', 'c'") for line in beams)
    assert ours == beams
