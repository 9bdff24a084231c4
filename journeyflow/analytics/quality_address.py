"""Address statuses as the tables record them, for the data-quality check ``send_not_to_blocked_address``: from
the ``customer_snapshots.address_status`` lists (see ``journeyflow.stages.deliverability`` for the rules), and the
push devices' (``journeyflow.stages.push_devices``)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from journeyflow.stages.push_devices import UNREGISTERED
from journeyflow.stages.state import BLOCKING

#: Push statuses that block a device, or the user when a bounce named no device: opt-outs, hard bounces and
#: ``unregistered`` (a dead token: ``stages.push_devices``).
PUSH_BLOCKING = BLOCKING | {UNREGISTERED}


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


def push_rows(snapshots: pa.Table | None) -> dict[str, list[tuple[str, str, int]]]:
    """``customer_id -> [(address_key, status, since ms)]`` of the push statuses (devices ``anon:<id>`` and users
    ``crm:<id>``) of each customer whose snapshot has no push consent at all (``consent_push`` null): no grant can
    have lifted a block (a re-registration: ``push_devices.push_delivery``).  A push consent's time is not in the
    snapshot, so with one the check cannot tell whether it came after the blocks, and makes none (sound)."""
    if snapshots is None or not snapshots.num_rows or "address_status" not in snapshots.column_names:
        return {}
    lists = snapshots.column("address_status")
    flat = pc.list_flatten(lists)
    if not len(flat):
        return {}
    owners = pc.take(snapshots.column("customer_id"), pc.list_parent_indices(lists)).to_pylist()
    consent = (pc.take(snapshots.column("consent_push"), pc.list_parent_indices(lists)).to_pylist()
               if "consent_push" in snapshots.column_names else [None] * len(flat))
    since = pc.struct_field(flat, "since").cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_pylist()
    out: dict[str, list[tuple[str, str, int]]] = {}
    for cid, push_consent, k, ch, st, t in zip(owners, consent, pc.struct_field(flat, "address_key").to_pylist(),
                                           pc.struct_field(flat, "channel").to_pylist(),
                                           pc.struct_field(flat, "status").to_pylist(), since):
        if ch == "push" and push_consent is None and None not in (cid, k, st, t):
            out.setdefault(cid, []).append((k, st, t))
    return out


def push_blocked(rows: list[tuple[str, str, int]] | None, user_key: str | None, at: int) -> bool:
    """True when a push sent at ``at`` to ``user_key`` (the decision's ``address_key``, ``crm:<id>``) had no device
    to reach: every push status of the customer (``push_rows``; its devices and that user) blocks, and each did so
    from ``at`` or earlier (a final status held since its ``since``).  None or no status: False."""
    own = [r for r in rows or () if r[0].startswith("anon:") or r[0] == user_key]
    return bool(own) and all(st in PUSH_BLOCKING and since <= at for _k, st, since in own)
