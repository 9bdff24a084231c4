"""Holdout integrity of the analyst tables, for the data-quality checks of :mod:`journeyflow.analytics.quality`
(reported beside the GX suites, expectation ``pandas:<name>``).

A journey's control group is never acted on (arbitration rule 1, ``control_group``: recorded, never executed), and
the report's uplift (:mod:`journeyflow.analytics.outcomes`) compares the arms on that promise: a control customer
messaged by the journey is a treated customer counted as untreated, and the uplift it measures is wrong with no
figure showing it.  So:

* ``no_action_for_control_customer`` (``decisions``): no ``send``, ``create_task``, ``route_case`` or ``wait`` of a
  journey for a customer whose every ``entered`` row of that journey says ``control`` (customers after identity
  merges: the latest ``customer_snapshots`` row listing the id, as the example queries' ``id_map``).

Sound, not complete: a customer with an entry in the treatment arm too (drawn again after their journey history
expired, or two profiles that each entered before their merge, whose merged membership keeps one arm) is not
checked, and neither is an entry whose arm is unknown (outputs written before arms were recorded).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyarrow as pa

from journeyflow.analytics.quality_report import CheckResult

__all__ = ["ACTED", "holdout_checks", "final_ids"]

#: Decision actions that act on a customer for a journey (a ``wait`` is an action deferred by quiet hours).
ACTED: tuple[str, ...] = ("send", "create_task", "route_case", "wait")


def final_ids(tables: dict[str, pa.Table]) -> dict[str, str]:
    """Every id of ``customer_snapshots`` (customer ids and identifiers) -> the customer of the latest snapshot
    listing it (ties: the smallest customer id), as the example queries' ``id_map``."""
    snaps = tables.get("customer_snapshots")
    if snaps is None or not snaps.num_rows:
        return {}
    best: dict[str, tuple[Any, str]] = {}
    cols = [c for c in ("customer_id", "snapshot_at", "identifiers") if c in snaps.column_names]
    for r in snaps.select(cols).to_pylist():
        at = r.get("snapshot_at")
        key = (-(at.timestamp()) if at is not None else float("inf"), r["customer_id"])
        for k in {r["customer_id"], *(r.get("identifiers") or ())}:
            if k is not None and (k not in best or key < best[k][0]):
                best[k] = (key, r["customer_id"])
    return {k: v[1] for k, v in best.items()}


def holdout_checks(tables: dict[str, pa.Table], max_examples: int = 5) -> list[CheckResult]:
    """``no_action_for_control_customer`` (module doc), ``max_examples`` examples."""
    dec, steps = tables.get("decisions"), tables.get("journey_steps")
    if dec is None or steps is None or "detail" not in steps.column_names:
        return []
    final = final_ids(tables)
    arms: dict[tuple[str, str], set] = defaultdict(set)
    for r in steps.select(["customer_id", "journey_id", "kind", "detail"]).to_pylist():
        if r["kind"] == "entered" and r["journey_id"] is not None:
            arms[(r["journey_id"], final.get(r["customer_id"], r["customer_id"]))].add(r["detail"])
    control = {k for k, v in arms.items() if v == {"control"}}
    acted = [r for r in dec.select(["decision_id", "customer_id", "decided_at", "journey_id", "step_id", "action"])
             .to_pylist() if r["action"] in ACTED and r["journey_id"] is not None]
    bad = [r for r in acted if (r["journey_id"], final.get(r["customer_id"], r["customer_id"])) in control]
    return [CheckResult(
        table="decisions", check="no_action_for_control_customer",
        expectation="pandas:no_action_for_control_customer", column="journey_id", success=not bad,
        element_count=len(acted), unexpected_count=len(bad),
        examples=tuple(f"{r['customer_id']} {r['action']} {r['journey_id']}/{r['step_id']} at {r['decided_at']} "
                       "(a control-group customer of the journey)" for r in bad[:max_examples]),
        keys=tuple(r["decision_id"] for r in bad[:max_examples]))]
