"""Cross-table checks of the analyst tables, in plain pandas (:mod:`journeyflow.analytics.quality` reports them
beside the GX suites, expectation ``pandas:<name>``; what each checks is in that module's docstring)."""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from journeyflow.analytics.quality_report import CheckResult

__all__ = ["cross_checks"]


def cross_checks(tables: dict[str, pa.Table], max_examples: int = 5) -> list[CheckResult]:
    """``belongs_to_a_decision``, ``candidates_match_suppressed_rows`` and
    ``no_send_where_consent_blocked_same_moment`` (``max_examples`` examples each)."""
    out: list[CheckResult] = []
    dec = tables.get("decisions")
    sup = tables.get("suppressed_candidates")
    if dec is None or sup is None:
        return out
    dec_ids = set(dec.column("decision_id").to_pylist())
    sup_ids = sup.column("decision_id").to_pylist()
    orphans = [d for d in sup_ids if d not in dec_ids]
    out.append(CheckResult(
        table="suppressed_candidates", check="belongs_to_a_decision", expectation="pandas:belongs_to_a_decision",
        column="decision_id", success=not orphans, element_count=len(sup_ids), unexpected_count=len(orphans),
        examples=tuple(dict.fromkeys(orphans))[:max_examples]))

    listed = pd.Series(pc.list_value_length(dec.column("candidates")).fill_null(0).to_pylist(),
                       index=dec.column("decision_id").to_pylist(), dtype="int64")
    listed = listed.groupby(level=0).sum()
    rows = pd.Series(sup_ids, dtype="object").value_counts()
    both = pd.concat([listed.rename("listed"), rows.rename("rows")], axis=1).fillna(0)
    both = both[both.index.isin(dec_ids)]
    bad = both[both["listed"] != both["rows"]]
    out.append(CheckResult(
        table="decisions", check="candidates_match_suppressed_rows",
        expectation="pandas:candidates_match_suppressed_rows", column="candidates", success=bad.empty,
        element_count=len(both), unexpected_count=len(bad),
        examples=tuple(f"{i}: {int(r.listed)} listed, {int(r.rows)} rows"
                       for i, r in bad.head(max_examples).iterrows()),
        keys=tuple(bad.index[:max_examples])))

    moment = ["customer_id", "decided_at", "trigger_event_id", "channel", "category"]
    sends = dec.filter(pc.equal(dec.column("action"), "send")).select([*moment, "decision_id"]).to_pandas()
    blocked = sup.filter(pc.equal(sup.column("reason"), "consent")).select(moment).to_pandas().drop_duplicates()
    clash = sends.merge(blocked, on=moment, how="inner") if len(sends) and len(blocked) else sends.iloc[0:0]
    out.append(CheckResult(
        table="decisions", check="no_send_where_consent_blocked_same_moment",
        expectation="pandas:no_send_where_consent_blocked_same_moment", column="channel", success=clash.empty,
        element_count=len(sends), unexpected_count=len(clash),
        examples=tuple(f"{r.customer_id} {r.channel}/{r.category} at {r.decided_at}"
                       for r in clash.head(max_examples).itertuples()),
        keys=tuple(clash["decision_id"].head(max_examples))))
    return out
