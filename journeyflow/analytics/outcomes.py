"""Per journey: who entered in which arm, who reached the goal, and the uplift, with 95% confidence intervals.

Computed from the journey's **randomized assignment only**: the arm stored on each customer's first ``entered`` row of
``journey_steps`` (``control`` | ``treatment``, drawn from a hash of the journey id and the entry event's uid:
:meth:`journeyflow.stages.journeys.model.Journey.in_control`), never from who happened to be sent a message (those
customers had consent and an address, so they differ from the control group in more than the message).

Counts come from the example query ``journey_conversion_by_arm`` (:mod:`.outcome_queries`); the intervals are
statsmodels': the Wilson score interval per arm (``proportion_confint(method="wilson")``) and Newcomb's hybrid score
interval for the difference treatment − control (``confint_proportions_2indep(method="newcomb", compare="diff")``),
both at 95%.  Rates and differences are fractions (0.25 = 25%).

Beside the interval, each uplift has a two-sided p-value of Fisher's exact test on the 2×2 table arm × goal
(``scipy.stats.fisher_exact``: exact at any sample size), the Holm-adjusted p-value over every journey of the report
with an uplift (``statsmodels.stats.multitest.multipletests(method="holm")``: with several journeys, one interval in
twenty excludes 0 by chance alone), and a ``small_sample`` flag when an arm has fewer than :data:`SMALL_SAMPLE` goals
or non-goals (the rule of thumb under which large-sample intervals are only approximate; e.g. 3/3 vs 0/3: Newcomb's
interval [+0.21, +1] excludes 0, Fisher's p is 0.1).

A customer is counted in the arm of their *first* entry (intention to treat), all their goals in the journey with
it.  A customer can have entries in both arms (``ArmRate.switched``): the arm is drawn again when a customer comes
back after the membership record expired (journey history, 180 days by default) and for each of two profiles that
entered before an identity merge; a control customer treated later makes the uplift smaller than the message's
effect (diluted), so the report shows how many customers switched beside each arm and on the uplift.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from journeyflow.analytics.outcome_queries import OUTCOME_QUERIES

__all__ = ["ALPHA", "SMALL_SAMPLE", "ArmRate", "JourneyOutcome", "conversion_by_arm", "small_sample",
           "uplift_interval", "uplift_p_value", "verdict", "wilson_interval"]

#: 1 - confidence level of every interval of the report.
ALPHA = 0.05
#: An arm with fewer goals, or fewer non-goals, than this is a small sample (intervals approximate).
SMALL_SAMPLE = 10


def wilson_interval(converted: int, entered: int) -> tuple[float, float] | None:
    """The 95% Wilson score interval of ``converted / entered`` (fractions); None when ``entered`` is 0."""
    if entered <= 0:
        return None
    lo, hi = proportion_confint(converted, entered, alpha=ALPHA, method="wilson")
    return float(lo), float(hi)


def uplift_interval(treat_converted: int, treat_entered: int, control_converted: int,
                    control_entered: int) -> tuple[float, float] | None:
    """The 95% Newcomb interval of the difference of rates treatment − control (fractions); None when an arm is
    empty."""
    if treat_entered <= 0 or control_entered <= 0:
        return None
    lo, hi = confint_proportions_2indep(treat_converted, treat_entered, control_converted, control_entered,
                                       method="newcomb", compare="diff", alpha=ALPHA)
    return float(lo), float(hi)


def uplift_p_value(treat_converted: int, treat_entered: int, control_converted: int,
                   control_entered: int) -> float | None:
    """Two-sided p-value of Fisher's exact test that the arms' goal rates are equal (``scipy.stats.fisher_exact`` on
    ``[[treatment goals, non-goals], [control goals, non-goals]]``); None when an arm is empty."""
    if treat_entered <= 0 or control_entered <= 0:
        return None
    table = [[treat_converted, treat_entered - treat_converted],
             [control_converted, control_entered - control_converted]]
    return float(fisher_exact(table, alternative="two-sided").pvalue)


def verdict(excludes_zero: bool, p_value: float | None, p_holm: float | None, tested: int) -> str:
    """The report's one reading of an uplift: ``"effect shown"`` only when the 95% interval excludes 0 *and*
    Fisher's exact test rejects equal rates at :data:`ALPHA` (and, with ``tested`` > 1 journeys, its Holm-adjusted
    p-value does too); ``"inconclusive: ..."`` when the interval excludes 0 but a test does not (the two methods
    disagree near the edge: Newcomb's interval [-15.7, -0.1] pp with Fisher p 0.056 on generated data without an
    effect was headlined "excludes 0"); ``"no effect shown: ..."`` when the interval contains 0."""
    if not excludes_zero:
        return "no effect shown: the interval contains 0"
    if p_value is None or p_value >= ALPHA:
        return f"inconclusive: the interval excludes 0 but Fisher's p is not below {ALPHA:g}"
    if tested > 1 and p_holm is not None and p_holm >= ALPHA:
        return (f"inconclusive: the interval excludes 0 but the Holm-adjusted p over {tested} journeys is not "
                f"below {ALPHA:g}")
    return "effect shown"


def small_sample(*arms: tuple[int, int]) -> bool:
    """Whether any arm ``(converted, entered)`` has fewer than :data:`SMALL_SAMPLE` goals or non-goals."""
    return any(min(k, n - k) < SMALL_SAMPLE for k, n in arms)


@dataclass
class ArmRate:
    """One arm of one journey: customers entered, customers who reached the goal, the rate and its interval."""

    arm: str
    entered: int
    converted: int
    rate: float | None
    low: float | None
    high: float | None
    #: customers of this arm (their first entry's) with an entry in another arm too (the query's ``switched_arm``)
    switched: int = 0
    #: customers of this arm without a goal yet still in the journey when the run ended (``in_journey_at_end``)
    in_journey_at_end: int = 0


@dataclass
class JourneyOutcome:
    """One journey's conversion by arm and uplift.  ``status``: ``ok`` (an uplift with its interval), ``no goal``
    (the journey declares none: no conversion is measured), ``no control group`` (``control_group_pct`` 0: a
    conversion rate but no comparison), ``no entries`` or ``empty arm: no control customer`` (``… treatment …``: one arm
    has no customer yet, so no uplift)."""

    journey_id: str
    name: str
    has_goal: bool
    control_group_pct: float
    status: str
    arms: list[ArmRate] = field(default_factory=list)
    uplift: float | None = None
    uplift_low: float | None = None
    uplift_high: float | None = None
    #: Fisher's exact two-sided p-value, and Holm-adjusted over the report's journeys with an uplift.
    p_value: float | None = None
    p_holm: float | None = None
    #: An arm with fewer than SMALL_SAMPLE goals or non-goals: the interval is approximate.
    small_sample: bool = False

    @property
    def entered(self) -> int:
        """Customers entered, all arms."""
        return sum(a.entered for a in self.arms)

    @property
    def switched(self) -> int:
        """Customers entered in both arms (drawn again; counted in their first arm), all arms."""
        return sum(a.switched for a in self.arms)

    def arm(self, name: str) -> ArmRate | None:
        """The arm called ``name`` (``control`` | ``treatment`` | ``unknown``), or None."""
        return next((a for a in self.arms if a.arm == name), None)

    def to_dict(self) -> dict[str, Any]:
        """As JSON (the report's embedded data)."""
        return asdict(self)


def conversion_by_arm(con: Any, journeys: list[dict[str, Any]]) -> list[JourneyOutcome]:
    """:class:`JourneyOutcome` of every journey in ``journeys`` (the run's journey definitions, in file order;
    :func:`journeyflow.analytics.query.journey_definitions`), from the DuckDB connection ``con``
    (:func:`journeyflow.analytics.query.connect`)."""
    rows = con.sql(OUTCOME_QUERIES["journey_conversion_by_arm"]).to_arrow_table().to_pylist()
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["journey_id"], []).append(r)
    known = {j["id"] for j in journeys}
    defs = list(journeys) + [{"id": jid, "name": jid, "has_goal": any(r["converted"] for r in rs),
                              "control_group_pct": 0} for jid, rs in sorted(by.items()) if jid not in known]
    out = []
    for j in defs:
        has_goal = bool(j.get("has_goal"))
        pct = float(j.get("control_group_pct") or 0)
        arms = []
        for r in sorted(by.get(j["id"], []), key=lambda r: ("control", "treatment", "unknown").index(r["arm"])
                        if r["arm"] in ("control", "treatment", "unknown") else 3):
            ci = wilson_interval(r["converted"], r["entered"]) if has_goal else None
            arms.append(ArmRate(r["arm"], r["entered"], r["converted"] if has_goal else 0,
                                r["converted"] / r["entered"] if has_goal and r["entered"] else None,
                                ci[0] if ci else None, ci[1] if ci else None, r.get("switched_arm") or 0,
                                r.get("in_journey_at_end") or 0))
        o = JourneyOutcome(j["id"], j.get("name") or j["id"], has_goal, pct, "ok", arms)
        c, t = o.arm("control"), o.arm("treatment")
        if not has_goal:
            o.status = "no goal"
        elif not arms:
            o.status = "no entries"
        elif pct <= 0 and c is None:
            o.status = "no control group"
        elif c is None or t is None:  # (says which: an arm without a row is not in the table at all)
            o.status = f"empty arm: no {'control' if c is None else 'treatment'} customer"
        else:
            o.uplift = t.converted / t.entered - c.converted / c.entered
            o.uplift_low, o.uplift_high = uplift_interval(t.converted, t.entered, c.converted, c.entered)
            o.p_value = uplift_p_value(t.converted, t.entered, c.converted, c.entered)
            o.small_sample = small_sample((t.converted, t.entered), (c.converted, c.entered))
        out.append(o)
    tested = [o for o in out if o.p_value is not None]
    if tested:
        for o, p in zip(tested, multipletests([o.p_value for o in tested], alpha=ALPHA, method="holm")[1]):
            o.p_holm = float(p)
    return out
