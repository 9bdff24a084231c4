"""Hand-overs that time out (no ``absorb`` within ``TRANSFER_WAIT_MS`` of event time) are counted
(``handovers_timed_out``) and logged once per bundle with a few examples, not once per customer: a warning cost
~0.2 ms (masking and writing), and a down transfer subscription made one line per merged customer."""
from __future__ import annotations

import logging

from journeyflow.config.engine import EngineConfig
from journeyflow.stages.identity.online import merge_from_event
from journeyflow.tools.bench_state import CellDriver
from journeyflow.transforms import decide_streaming as ds
from tests.beam.test_streaming_state import HOUR, T, e

CONFIG = EngineConfig.from_files()


class _Tally:
    def __init__(self):
        self.n = 0

    def inc(self, n: int = 1) -> None:
        self.n += n


def test_timed_out_handovers_are_counted_and_logged_once_per_bundle(caplog):
    fn = ds.OrderedCustomerFn(CONFIG)
    fn.setup()
    fn.start_bundle()
    fn.timed_out = _Tally()
    drivers = []
    for i in range(5):
        cid = f"crm:C{i}"
        link = e(f"web/login-{i}", "web", "login", T + i, cid)
        d = CellDriver(fn, cid)
        d.add([link, merge_from_event(f"anon:a{i}", cid, link, [f"anon:a{i}"], (f"anon:a{i}", cid))])
        drivers.append(d)
    with caplog.at_level(logging.WARNING, logger=ds.__name__):
        for d in drivers:
            d.advance(T + ds.TRANSFER_WAIT_MS + HOUR)  # past the wait: each goes on without the absorbed state
        assert not [r for r in caplog.records if "went on without" in r.getMessage()]  # not per customer
        fn.finish_bundle()
    lines = [r.getMessage() for r in caplog.records if "went on without" in r.getMessage()]
    assert fn.timed_out.n == 5
    assert len(lines) == 1 and lines[0].startswith("journeyflow: 5 customer(s)")
    assert lines[0].count(" without anon:a") == ds.TIMED_OUT_EXAMPLES
    fn.start_bundle()
    fn.finish_bundle()
    assert fn.timed_out.n == 5  # nothing carried into the next bundle
