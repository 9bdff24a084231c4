"""Deleted accounts in the analyst tables (qa15a's ``customer_snapshots.deleted_at``), for the data-quality checks of
:mod:`journeyflow.analytics.quality` (reported beside the GX suites, expectation ``pandas:<name>``).

Rule (``journeyflow.stages.deletion``, README "Account deletion and erasure"): from the deletion's event time on --
at equal times the deletion applies first -- the customer gets no send, task or case, no deferral of one, and
enters or advances in no journey, until a new account (a signup strictly later), after which the snapshot's
``deleted_at`` is null again.  So a ``deleted_at`` of a final snapshot means: deleted from then to the end of the
run, and

* ``no_action_after_account_deleted`` (``decisions``): no ``send``, ``create_task``, ``route_case`` or ``wait`` of
  that customer decided at or after it (a ``suppress``, the ``account_deleted`` cancellation of a deferred send,
  is expected);
* ``no_journey_step_after_account_deleted`` (``journey_steps``): no ``entered``, ``step``, ``waiting`` or ``goal``
  row at or after it (``exited``, ``entry_refused`` and ``cancelled`` rows are how the deletion ends things).

Sound, not complete: a profile deleted before a merge is the survivor's deletion from the link on only, so the
start is the latest accepted ``identity_links`` row at or after ``deleted_at`` that touches the customer (its
``customer_id`` or one of the snapshot's identifiers), when there is one; a deletion that reached a streaming
pipeline late (a ``late_event`` dead letter at the very ``deleted_at``) leaves what was sent before it arrived
sent, so that customer is not checked.
"""
from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from journeyflow.analytics.quality_report import CheckResult
from journeyflow.model.reasons import DeadLetterReason

__all__ = ["deleted_since", "deletion_checks", "BARRED_ACTIONS", "BARRED_STEP_KINDS"]

#: Decision actions a deleted customer never gets (a ``suppress`` / ``none`` may still be recorded).
BARRED_ACTIONS: tuple[str, ...] = ("send", "create_task", "route_case", "wait")
#: Journey step kinds a deleted customer never gets (the deletion itself writes exited / entry_refused / cancelled).
BARRED_STEP_KINDS: tuple[str, ...] = ("entered", "step", "waiting", "goal")


def _ms(table: pa.Table, col: str) -> list[Any]:
    return table.column(col).cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_pylist()


def deleted_since(tables: dict[str, pa.Table]) -> dict[str, int]:
    """``customer_id -> epoch ms`` from which each deleted customer surely is deleted (module doc); customers with
    no ``deleted_at``, or whose deletion came late, are left out.  No snapshots or no column: ``{}``."""
    snaps = tables.get("customer_snapshots")
    if snaps is None or not snaps.num_rows or "deleted_at" not in snaps.column_names:
        return {}
    snaps = snaps.filter(pc.is_valid(snaps.column("deleted_at")))
    if not snaps.num_rows:
        return {}
    dead = tables.get("dead_letter")
    late: set[int] = set()
    if dead is not None and dead.num_rows:
        rows = dead.filter(pc.fill_null(pc.equal(dead.column("reason"), DeadLetterReason.LATE_EVENT.value), False))
        late = {t for t in _ms(rows, "event_time") if t is not None}
    since = {c: t for c, t in zip(snaps.column("customer_id").to_pylist(), _ms(snaps, "deleted_at"))
             if c is not None and t not in late}
    owner = {i: c for c, ids in zip(snaps.column("customer_id").to_pylist(), snaps.column("identifiers").to_pylist())
             if c in since for i in ids or ()}
    links = tables.get("identity_links")
    if links is not None and links.num_rows:
        ok = pc.fill_null(pc.equal(links.column("status"), "accepted"), False)
        links = links.filter(ok)
        for a, b, c, t in zip(links.column("identifier_a").to_pylist(), links.column("identifier_b").to_pylist(),
                              links.column("customer_id").to_pylist(), _ms(links, "ts")):
            for cust in {c, owner.get(a), owner.get(b)}:
                if cust in since and t is not None and t >= since[cust]:
                    since[cust] = t  # (a merge may have brought the deletion: deleted from the link on)
    return since


def _after(table: pa.Table | None, col: str, allowed: tuple[str, ...], time_col: str,
           since: dict[str, int]) -> tuple[int, list[tuple[Any, ...]]]:
    """``(rows of a deleted customer, [(customer, value, time, row index)] at or after its deletion)``."""
    if table is None or not table.num_rows or not since:
        return 0, []
    custs = table.column("customer_id").to_pylist()
    vals = table.column(col).to_pylist()
    times = _ms(table, time_col)
    seen, bad = 0, []
    for i, (c, v, t) in enumerate(zip(custs, vals, times)):
        if c in since:
            seen += 1
            if v in allowed and t is not None and t >= since[c]:
                bad.append((c, v, t, i))
    return seen, bad


def deletion_checks(tables: dict[str, pa.Table], max_examples: int = 5) -> list[CheckResult]:
    """``no_action_after_account_deleted`` and ``no_journey_step_after_account_deleted`` (module doc); each is run
    when its table is given (element count: the rows of deleted customers)."""
    since = deleted_since(tables)
    out: list[CheckResult] = []
    for table, check, col, allowed, time_col in (
            ("decisions", "no_action_after_account_deleted", "action", BARRED_ACTIONS, "decided_at"),
            ("journey_steps", "no_journey_step_after_account_deleted", "kind", BARRED_STEP_KINDS, "at")):
        t = tables.get(table)
        if t is None:
            continue
        seen, bad = _after(t, col, allowed, time_col, since)
        keys: tuple = ()
        if bad and table == "decisions":
            ids = t.column("decision_id").to_pylist()
            keys = tuple(ids[i] for *_x, i in bad[:max_examples])
        elif bad:
            keys = tuple(dict.fromkeys(c for c, *_x in bad))[:max_examples]
        out.append(CheckResult(
            table=table, check=check, expectation=f"pandas:{check}", column=col, success=not bad,
            element_count=seen, unexpected_count=len(bad),
            examples=tuple(f"{c} {v} at {t} ms, deleted since {since[c]} ms" for c, v, t, _i in bad[:max_examples]),
            keys=keys))
    return out
