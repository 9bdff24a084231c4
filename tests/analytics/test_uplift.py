"""Uplift from the randomized assignment: zero where the data has no effect, the injected value where it has one.

Real replays of generated populations (``journeyflow.tools.generator``; ``--inject_effect``:
``journeyflow.tools.generator.effect``) through ``run_replay``, then the report's figures (``build_report``)."""
from __future__ import annotations

import json
import math

import pytest

from journeyflow.analytics.outcomes import uplift_interval, wilson_interval
from journeyflow.analytics.report import build_report
from journeyflow.pipelines.replay import run_replay
from journeyflow.tools.generator import generate
from journeyflow.tools.generator.effect import generate_effect, parse_effect

Z = 1.959963984540054  # the 97.5% quantile of the standard normal


def _wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval written out (Wilson 1927), independent of statsmodels."""
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (110, 319), (1207, 2681)])
def test_wilson_interval_is_the_textbook_formula(k, n):
    lo, hi = wilson_interval(k, n)
    elo, ehi = _wilson(k, n)
    assert lo == pytest.approx(elo, abs=1e-9) and hi == pytest.approx(ehi, abs=1e-9)
    assert wilson_interval(0, 0) is None


def test_uplift_interval_is_newcombs_hybrid_score_interval():
    """Newcomb (1998), method 10: from the two Wilson intervals, d ± sqrt of the squared distances to their ends."""
    kt, nt, kc, nc = 56, 70, 48, 80  # Newcomb's worked example: 0.8 vs 0.6
    lo, hi = uplift_interval(kt, nt, kc, nc)
    (l1, u1), (l2, u2) = _wilson(kt, nt), _wilson(kc, nc)
    d = kt / nt - kc / nc
    assert lo == pytest.approx(d - math.sqrt((kt / nt - l1) ** 2 + (u2 - kc / nc) ** 2), abs=1e-9)
    assert hi == pytest.approx(d + math.sqrt((u1 - kt / nt) ** 2 + (kc / nc - l2) ** 2), abs=1e-9)
    assert round(lo, 4) == 0.0524 and round(hi, 4) == 0.3339  # Newcomb 1998, Table II, example (a)
    assert uplift_interval(1, 1, 0, 0) is None


def test_parse_effect():
    assert parse_effect("cart_abandonment=0.15") == ("cart_abandonment", 0.15)
    for bad in ("cart_abandonment", "=0.1", "x=abc", "x=1.5"):
        with pytest.raises(ValueError):
            parse_effect(bad)
    with pytest.raises(ValueError, match="control group and a goal"):
        generate_effect("/nonexistent", "welcome", 0.1)


def _replay_outcomes(tmp_path, data):
    out = tmp_path / "out"
    summary = run_replay(["--input", str(data), "--output", str(out)])
    assert summary.reconciles
    return {o.journey_id: o for o in build_report(out).outcomes}


@pytest.mark.slow
def test_no_true_effect_every_uplift_interval_contains_zero(tmp_path):
    """The sample generator's customers ignore journeyflow's messages: the true uplift of every journey is 0."""
    data = tmp_path / "data"
    generate(400, 14, 7, data)
    outcomes = _replay_outcomes(tmp_path, data)
    measured = [o for o in outcomes.values() if o.status == "ok"]
    assert [o.journey_id for o in measured] == ["cart_abandonment"]  # the one default journey with holdout + goal
    for o in measured:
        c, t = o.arm("control"), o.arm("treatment")
        assert c.entered > 10 and t.entered > 100
        assert o.uplift_low < 0 < o.uplift_high, (o.journey_id, o.uplift, o.uplift_low, o.uplift_high)
    assert outcomes["welcome"].status == "no goal" and outcomes["welcome"].uplift is None


@pytest.mark.slow
def test_injected_effect_is_found_and_covered(tmp_path):
    """Treatment converts 15 points more than control (30%): the interval excludes 0 and contains 0.15."""
    data = tmp_path / "data"
    truth = generate_effect(data, "cart_abandonment", 0.15, customers=3000, base_rate=0.3, seed=7)
    assert json.loads((data / "effect_truth.json").read_text())["uplift"] == 0.15
    o = _replay_outcomes(tmp_path, data)["cart_abandonment"]
    c, t = o.arm("control"), o.arm("treatment")
    # the replay's randomized assignment is the generator's: same arms, same conversions
    assert (c.entered, c.converted, t.entered, t.converted) == \
        (truth.control, truth.control_converted, truth.treatment, truth.treatment_converted)
    assert o.status == "ok" and o.uplift_low > 0, (o.uplift, o.uplift_low, o.uplift_high)
    assert o.uplift_low <= 0.15 <= o.uplift_high, (o.uplift, o.uplift_low, o.uplift_high)


@pytest.mark.slow
def test_injected_zero_effect_interval_contains_zero(tmp_path):
    data = tmp_path / "data"
    generate_effect(data, "cart_abandonment", 0.0, customers=2000, base_rate=0.3, seed=11)
    o = _replay_outcomes(tmp_path, data)["cart_abandonment"]
    assert o.uplift_low < 0 < o.uplift_high, (o.uplift, o.uplift_low, o.uplift_high)
