"""Segment-Spec versions of generated web and order records: ``journeyflow generate --segment_share F`` moves a
deterministic share of the customers' web and order records into ``track.jsonl``, written as the analytics.js /
server-side calls that would have reported them (the default mapping, ``defaults/segment_mapping.yaml``, maps them
back onto the same built-in events), and the bench measures the Segment parse cost on them.

=====================  =======================================================================================
built-in record        Segment message
=====================  =======================================================================================
web page_view          ``page`` (``name`` "Product" / "Page", ``properties.product_id``)
web product_view       ``track`` "Product Viewed" (``properties.product_id``, ``sku``)
web add_to_cart        ``track`` "Product Added"
web checkout_started   ``track`` "Checkout Started" (``properties.products``)
web login / signup     ``track`` "Signed In" / "Signed Up"
orders order_placed    ``track`` "Order Completed" (``order_id``, ``total``, ``currency``, ``products``)
orders order_cancelled ``track`` "Order Cancelled"
orders payment_failed  not converted (the Segment Spec has no semantic event for it): stays in orders.jsonl
orders without crm_id  not converted (a Segment call needs a userId or an anonymousId): stays in orders.jsonl
=====================  =======================================================================================

``user_id`` / ``crm_id`` become ``userId``, ``anonymous_id`` ``anonymousId``, ``email`` ``context.traits.email``; the
event time is written as ``timestamp`` plus ``originalTimestamp`` / ``sentAt`` / ``receivedAt`` with a device clock
skew, as Segment's API stores them.  ``messageId`` is ``seg-<stream>-<event_id>``.
"""
from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from journeyflow.stages.timeparse import parse_ts

__all__ = ["to_segment", "convert_dir"]

_TRACK = {("web", "product_view"): "Product Viewed", ("web", "add_to_cart"): "Product Added",
          ("web", "checkout_started"): "Checkout Started", ("web", "login"): "Signed In",
          ("web", "signup"): "Signed Up", ("orders", "order_placed"): "Order Completed",
          ("orders", "order_cancelled"): "Order Cancelled"}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _h(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def to_segment(stream: str, rec: Any) -> dict | None:
    """The Segment message of one decoded built-in record (see the table), or None when it has no equivalent or is
    not a good record (malformed lines stay where they are)."""
    if not isinstance(rec, dict) or not isinstance(rec.get("event_id"), str):
        return None
    typ = rec.get("type")
    if (stream, typ) not in _TRACK and (stream, typ) != ("web", "page_view"):
        return None
    try:
        ms = parse_ts(rec.get("ts"))
    except (ValueError, OverflowError):
        return None
    skew = _h(rec["event_id"]) % 120_000 - 60_000  # the device clock: up to a minute off
    device, sent_delay, transit = ms + skew, 400 + _h(rec["event_id"] + "s") % 2000, 35
    msg: dict[str, Any] = {"messageId": f"seg-{stream}-{rec['event_id']}", "timestamp": _iso(ms),
                           "originalTimestamp": _iso(device), "sentAt": _iso(device + sent_delay),
                           "receivedAt": _iso(ms + sent_delay + transit), "context": {"library": {
                               "name": "analytics.js" if stream == "web" else "analytics-python", "version": "2"}}}
    user = rec.get("user_id") if stream == "web" else rec.get("crm_id")
    if isinstance(user, str) and user.strip():
        msg["userId"] = user
    elif stream == "orders":
        return None  # an order known only by its email: Segment calls need a userId or anonymousId
    if stream == "web" and isinstance(rec.get("anonymous_id"), str):
        msg["anonymousId"] = rec["anonymous_id"]
    if isinstance(rec.get("email"), str):
        msg["context"]["traits"] = {"email": rec["email"]}
    pid = rec.get("product_id")
    if stream == "web":
        props = dict(rec.get("properties") or {}) if isinstance(rec.get("properties"), dict) else {}
        if isinstance(pid, str):
            props["product_id"] = pid
        if typ == "page_view":
            msg.update(type="page", name="Product" if pid else "Page", properties=props)
            return msg
        if typ == "checkout_started" and isinstance(pid, str):
            props["products"] = [{"product_id": props.pop("product_id"), "quantity": 1}]
        msg.update(type="track", event=_TRACK[(stream, typ)], properties=props)
        return msg
    if not isinstance(rec.get("order_id"), str):
        return None
    props = {"order_id": rec["order_id"], "products": [{"product_id": p, "quantity": 1}
                                                       for p in rec.get("product_ids") or () if isinstance(p, str)]}
    if isinstance(rec.get("amount"), (int, float)) and not isinstance(rec.get("amount"), bool):
        props["total"] = rec["amount"]
    if isinstance(rec.get("currency"), str):
        props["currency"] = rec["currency"]
    msg.update(type="track", event=_TRACK[(stream, typ)], properties=props)
    return msg


def _customer(stream: str, rec: dict) -> str:
    """The key a record's share is drawn by: its CRM id when it has one, else its anonymous id / email."""
    return str(rec.get("user_id") or rec.get("crm_id") or rec.get("anonymous_id") or rec.get("email") or "")


def convert_dir(out: str | os.PathLike, share: float, seed: int = 7) -> dict[str, int]:
    """Move the records of ``share`` of the customers (drawn by a keyed hash of their id, ``seed``) from
    ``out/web.jsonl`` and ``out/orders.jsonl`` to ``out/track.jsonl`` as Segment messages (records without a
    Segment equivalent and the malformed lines of ``malformed_expected.jsonl`` stay; their line numbers there are
    updated).  Returns the messages written per source stream."""
    root = Path(out)
    if not 0 <= share <= 1:
        raise ValueError(f"segment share must be in [0, 1], got {share}")
    cut = int(share * (1 << 64))
    counts = {"web": 0, "orders": 0}
    messages: list[tuple[int, str]] = []
    expected_path = root / "malformed_expected.jsonl"
    expected = [json.loads(x) for x in expected_path.read_text().splitlines()] if expected_path.exists() else []
    malformed = {(e["stream"], e["line"]) for e in expected}
    new_line: dict[tuple[str, int], int] = {}
    for stream in ("web", "orders"):
        path = root / f"{stream}.jsonl"
        kept: list[str] = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if (stream, n) in malformed:  # malformed lines stay, renumbered below
                    kept.append(line)
                    new_line[(stream, n)] = len(kept)
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    rec = None
                msg = to_segment(stream, rec) if isinstance(rec, dict) and \
                    _h(f"{seed}:{_customer(stream, rec)}") < cut else None
                if msg is None:
                    kept.append(line)
                    continue
                counts[stream] += 1
                messages.append((parse_ts(msg["timestamp"]), json.dumps(msg, separators=(",", ":")) + "\n"))
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(kept)
    if expected:
        for e in expected:
            e["line"] = new_line.get((e["stream"], e["line"]), e["line"])
        expected_path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in expected))
    messages.sort()
    with open(root / "track.jsonl", "w", encoding="utf-8", newline="\n") as f:
        f.writelines(m for _, m in messages)
    return counts
