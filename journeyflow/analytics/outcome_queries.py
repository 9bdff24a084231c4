"""The SQL of the report's journey outcomes, as example queries (``journeyflow query OUT --example NAME``).

They read the analyst tables and the ``journeys`` view (the journeys of the run, steps in the order the journey file
declares them: ``OUT/run.json``; :func:`journeyflow.analytics.query.connect`).  Decisions and journey steps carry
the customer id that was canonical *when they happened*; ``id_map`` maps every id to the customer it was merged
into (the snapshot whose ``identifiers`` hold it), so a customer counts once.

* ``journey_conversion_by_arm``: per journey and arm (the randomized assignment stored on the customer's *first*
  ``entered`` row: ``control`` | ``treatment``; ``unknown`` for rows written before arms were recorded, whose
  detail is null or free text), customers
  entered and customers who reached the journey's goal (``conversion_pct`` NULL for a journey that declares no
  goal: "no goal", not 0%), and ``switched_arm``: customers of the arm with an ``entered`` row in the other arm
  too (drawn again: a re-entry after the membership record expired, or two profiles that each entered before their
  merge), who count in their first arm only (intention to treat); ``in_journey_at_end``: customers of the arm
  without a goal yet whose latest snapshot lists the journey in ``active_journeys`` (still in it when the run
  ended: their goal may come, the rate is a floor); ``ci95_low_pct`` / ``ci95_high_pct``: the 95%
  Wilson interval of ``conversion_pct``.  The report adds 95% intervals to these counts: Wilson
  score intervals per arm (``statsmodels.stats.proportion.proportion_confint(method="wilson")``) and Newcomb's
  hybrid score interval for the difference treatment − control
  (``confint_proportions_2indep(method="newcomb", compare="diff")``).
* ``journey_step_outcomes``: per journey step, in journey order, customers who reached it and what became of its
  proposals: ``sent`` (send / create_task / route_case decisions), ``deferred`` (quiet-hours ``wait`` decisions;
  each is decided again later, and then counts as sent or suppressed too) and ``suppressed:<reason>``.
* ``sends_per_day`` / ``conversions_per_day``: executed actions (decisions) per UTC day and channel; customers
  converted per UTC day of their first goal and journey (the unit of ``journey_conversion_by_arm``'s
  ``converted``: the days add up to it).
"""
from __future__ import annotations

__all__ = ["ID_MAP", "OUTCOME_QUERIES"]

#: The ``id_map`` common table expression: every identifier and customer id of ``customer_snapshots`` → the final
#: customer id (after identity merges): the customer of the *latest* snapshot that lists it (the streaming pipeline
#: writes a snapshot after every flush, so an absorbed id keeps its own older snapshots; the replay writes one per
#: customer at the horizon); the examples count customers through it.
ID_MAP = """id_map AS (
    SELECT k AS id, first(customer_id ORDER BY snapshot_at DESC NULLS LAST, customer_id) AS final_id
    FROM (SELECT customer_id, snapshot_at, unnest(identifiers) AS k FROM customer_snapshots
          UNION ALL SELECT customer_id, snapshot_at, customer_id FROM customer_snapshots)
    GROUP BY k
)"""

#: One bound of the 95% Wilson score interval of converted / entered (``{sign}``: ``-`` low, ``+`` high) in the
#: aggregate of ``journey_conversion_by_arm``; z = Φ⁻¹(0.975), as ``statsmodels`` (``proportion_confint``) uses.
_WILSON = ("((count(g.customer_id) / count(*) + 1.959963984540054 ^ 2 / (2 * count(*))) {sign} 1.959963984540054 * "
           "sqrt((count(g.customer_id) / count(*)) * (1 - count(g.customer_id) / count(*)) / count(*) "
           "+ 1.959963984540054 ^ 2 / (4 * count(*) ^ 2))) / (1 + 1.959963984540054 ^ 2 / count(*))")

OUTCOME_QUERIES: dict[str, str] = {
    # ------------------------------------------------------------------------------------------------------
    "journey_conversion_by_arm": f"""
-- Per journey and arm of the randomized assignment (the arm on each customer's first 'entered' row): customers
-- entered and customers who reached the goal (conversion_pct NULL for a journey without a goal) while in the journey
-- (goal rows are written from entry until the customer leaves: last step, exit, max_duration).  Customers are
-- counted after identity merges (id_map).  switched_arm: customers of the arm also entered in the other arm (drawn
-- again after their journey history expired, or two profiles merged later), counted in their first arm only.
-- in_journey_at_end: customers of the arm without a goal yet still in the journey when the run ended (their goal
-- may still come: the rate is a floor).
WITH {ID_MAP},
steps AS (
    SELECT coalesce(m.final_id, s.customer_id) AS customer_id, s.journey_id, s.kind, s.detail, s."at", s.trigger_id
    FROM journey_steps s LEFT JOIN id_map m ON m.id = s.customer_id
), first_entry AS (
    -- an entered row's detail is its arm; anything else (null, or the free text older versions wrote) is 'unknown'
    SELECT journey_id, customer_id,
           CASE WHEN detail IN ('control', 'treatment') THEN detail ELSE 'unknown' END AS arm,
           arms
    -- at equal times, treatment before control: the arm a merge keeps (stages/state_merge.merge_membership)
    FROM (SELECT *, row_number() OVER (PARTITION BY journey_id, customer_id
                                       ORDER BY "at", detail = 'control', trigger_id) AS n,
                 -- arms of all the customer's entries: 2 when drawn again (journey history expired; two profiles
                 -- that each entered before their merge)
                 count(DISTINCT detail) FILTER (WHERE detail IN ('control', 'treatment'))
                     OVER (PARTITION BY journey_id, customer_id) AS arms
          FROM steps WHERE kind = 'entered')
    WHERE n = 1
), goals AS (
    SELECT DISTINCT journey_id, customer_id FROM steps WHERE kind = 'goal'
), still_in AS (
    -- customers whose latest snapshot lists the journey as active: in it when the run ended, their goal may come
    SELECT DISTINCT s.customer_id, u.journey_id
    FROM (SELECT customer_id, active_journeys FROM customer_snapshots
          QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY snapshot_at DESC NULLS LAST) = 1) s
    JOIN id_map m ON m.id = s.customer_id AND m.final_id = s.customer_id, unnest(s.active_journeys) AS u(journey_id)
)
SELECT e.journey_id,
       e.arm,
       count(*)                                               AS entered,
       count(g.customer_id)                                   AS converted,
       -- NULL, not 0%, for a journey that declares no goal: nothing was measured
       CASE WHEN any_value(j.has_goal) IS DISTINCT FROM false
            THEN round(100.0 * count(g.customer_id) / count(*), 2) END AS conversion_pct,
       -- its 95% Wilson score interval (the report's: statsmodels proportion_confint, method wilson), so that 4 of
       -- 11 (36.36%) reads as [15.17, 64.62], not as a figure
       CASE WHEN any_value(j.has_goal) IS DISTINCT FROM false
            THEN round(100 * {_WILSON.format(sign='-')}, 2) END AS ci95_low_pct,
       CASE WHEN any_value(j.has_goal) IS DISTINCT FROM false
            THEN round(100 * {_WILSON.format(sign='+')}, 2) END AS ci95_high_pct,
       any_value(j.has_goal)                                  AS has_goal,
       -- customers of this arm with an entered row in the other arm too: counted here (their first arm), though
       -- a control customer drawn into treatment later was messaged (the uplift is diluted)
       count(*) FILTER (WHERE e.arms > 1)                     AS switched_arm,
       -- customers of this arm without a goal yet who were still in the journey when the run ended: their window
       -- is open, so the rate is a floor (both arms alike)
       count(*) FILTER (WHERE g.customer_id IS NULL AND o.customer_id IS NOT NULL) AS in_journey_at_end
FROM first_entry e
LEFT JOIN goals g USING (journey_id, customer_id)
LEFT JOIN still_in o USING (journey_id, customer_id)
LEFT JOIN (SELECT DISTINCT journey_id, has_goal FROM journeys) j USING (journey_id)
GROUP BY ALL
ORDER BY e.journey_id, e.arm
""",
    # ------------------------------------------------------------------------------------------------------
    "journey_step_outcomes": f"""
-- Per journey step, in the order the journey file declares the steps: customers who reached it (after identity
-- merges), and its proposals by outcome: sent, deferred (quiet hours; decided again later) or suppressed:<reason>.
WITH {ID_MAP},
reached AS (
    SELECT s.journey_id, s.step_id, count(DISTINCT coalesce(m.final_id, s.customer_id)) AS customers
    FROM journey_steps s LEFT JOIN id_map m ON m.id = s.customer_id
    WHERE (s.kind IN ('step', 'waiting') OR (s.kind = 'exited' AND s.detail = 'exit_step')) GROUP BY ALL
), outcomes AS (
    SELECT journey_id, step_id, 'sent' AS outcome, count(*) AS n FROM decisions
    WHERE action IN ('send', 'create_task', 'route_case') AND journey_id IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT journey_id, step_id, 'deferred', count(*) FROM decisions
    WHERE action = 'wait' AND journey_id IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT journey_id, step_id, 'suppressed:' || reason, count(*) FROM suppressed_candidates
    WHERE journey_id IS NOT NULL AND reason <> 'quiet_hours_deferred' GROUP BY ALL
)
SELECT j.journey_id, j.step_order, j.step_id, j.kind, j.channel,
       coalesce(r.customers, 0) AS customers_reached,
       o.outcome,
       coalesce(o.n, 0) AS candidates
FROM journeys j
LEFT JOIN reached r USING (journey_id, step_id)
LEFT JOIN outcomes o USING (journey_id, step_id)
ORDER BY j.journey_id, j.step_order, o.outcome
""",
    # ------------------------------------------------------------------------------------------------------
    "sends_per_day": """
-- Executed actions (send / create_task / route_case decisions) per UTC day and channel.
SELECT date_trunc('day', decided_at)::DATE AS day, channel, count(*) AS sent
FROM decisions
WHERE action IN ('send', 'create_task', 'route_case')
GROUP BY ALL
ORDER BY day, channel
""",
    # ------------------------------------------------------------------------------------------------------
    "conversions_per_day": f"""
-- Customers who reached a journey's goal, per UTC day (of their first goal in the journey) and journey: the customers
-- 'converted' counts in journey_conversion_by_arm (after identity merges, id_map; customers who entered), so the days
-- of a journey add up to its converted customers of both arms.  (A customer reaching the goal twice, or under two
-- ids later merged, is one conversion.)
WITH {ID_MAP},
steps AS (
    SELECT coalesce(m.final_id, s.customer_id) AS customer_id, s.journey_id, s.kind, s."at"
    FROM journey_steps s LEFT JOIN id_map m ON m.id = s.customer_id
), first_goal AS (
    SELECT g.journey_id, g.customer_id, min(g."at") AS "at"
    FROM steps g SEMI JOIN (SELECT journey_id, customer_id FROM steps WHERE kind = 'entered') e
         USING (journey_id, customer_id)
    WHERE g.kind = 'goal' GROUP BY ALL
)
SELECT date_trunc('day', "at")::DATE AS day, journey_id, count(*) AS conversions
FROM first_goal
GROUP BY ALL
ORDER BY day, journey_id
""",
}
