"""Address statuses as the tables record them, for the data-quality check ``send_not_to_blocked_address``: from
the ``customer_snapshots.address_status`` lists (see ``journeyflow.stages.deliverability`` for the rules)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from journeyflow.stages.state import BLOCKING


def final_address_blocks(snapshots: pa.Table | None) -> dict[tuple[str, str], int]:
    """``(address_key, channel) -> since`` (epoch ms) for each address whose final status (the latest ``since``
    over every snapshot; a blocking status wins a tie) is blocking."""
    if snapshots is None or "address_status" not in snapshots.column_names or not snapshots.num_rows:
        return {}
    flat = pc.list_flatten(snapshots.column("address_status"))
    if not len(flat):
        return {}
    keys = pc.struct_field(flat, "address_key").to_pylist()
    chans = pc.struct_field(flat, "channel").to_pylist()
    statuses = pc.struct_field(flat, "status").to_pylist()
    since = pc.struct_field(flat, "since").cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_pylist()
    final: dict[tuple[str, str], tuple[int, int, str]] = {}
    for k, ch, st, t in zip(keys, chans, statuses, since):
        if k is None or ch is None or t is None:
            continue
        cand = (t, int(st in BLOCKING), st)
        if cand > final.get((k, ch), (-(2**63), -1, "")):
            final[(k, ch)] = cand
    return {kc: t for kc, (t, blocking, _st) in final.items() if blocking}
