"""A population with a known, injected journey effect: the treatment arm converts more than the control arm.

The regular generator's customers behave the same whatever journeyflow decides (its true uplift is zero by
construction).  :func:`generate_effect` writes instead, for one journey with a control group and a goal, ``customers``
customers who each enter the journey once (its first entry trigger, e.g. ``web/add_to_cart`` for
``cart_abandonment``) and reach its goal (its first goal trigger, e.g. ``orders/order_placed``) with probability
``base_rate`` in the control arm and ``base_rate + uplift`` in the treatment arm, 5 min to 20 h after entering (at
most half the journey's ``max_duration``): while the membership still runs, since a goal counts only then
(``cart_abandonment`` runs 24 h: wait 1 h, email, wait 23 h, SMS).

The arm is the journey's own draw (:meth:`journeyflow.stages.journeys.model.Journey.in_control` of the entry event's
uid ``<stream>/<event_id>``), the one the pipeline will make, so the replay's randomized assignment is exactly the
one the generator conditioned on; the true uplift is ``uplift``.  Deterministic for a seed.  Besides the stream files
(``<stream>.jsonl``; identifiers: ``user_id`` / ``crm_id`` ``E0000001``...) it writes ``effect_truth.json``: the
journey, the rates, the injected uplift and the arms' counts as generated.
"""
from __future__ import annotations

import json
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from journeyflow.model.events import EVENT_TYPES
from journeyflow.stages.journeys.model import Journey, Trigger

__all__ = ["EffectSummary", "generate_effect", "parse_effect"]

HOUR = 3_600_000


@dataclass
class EffectSummary:
    """What :func:`generate_effect` wrote: the arms' sizes and conversions as generated."""

    journey: str
    base_rate: float
    uplift: float
    customers: int
    control: int
    control_converted: int
    treatment: int
    treatment_converted: int


def parse_effect(text: str) -> tuple[str, float]:
    """``JOURNEY=UPLIFT`` (e.g. ``cart_abandonment=0.15``) → (journey id, uplift as a fraction).  Raises ValueError."""
    journey, sep, value = text.partition("=")
    try:
        uplift = float(value)
    except ValueError:
        uplift = float("nan")
    if not sep or not journey or not -1 < uplift < 1:
        raise ValueError(f"--inject_effect takes JOURNEY=UPLIFT with UPLIFT a fraction in (-1, 1), got {text!r}")
    return journey, uplift


def _stream(t: Trigger) -> str | None:
    """The trigger's stream: declared, or the one stream whose event types include its type."""
    if t.stream is not None:
        return t.stream
    return next((s for s, types in EVENT_TYPES.items() if t.type in types), None)


def _journey(journey_id: str, journeys: list[Journey]) -> Journey:
    j = next((j for j in journeys if j.id == journey_id), None)
    if j is None:
        raise ValueError(f"--inject_effect: no journey {journey_id!r} (journeys: {', '.join(x.id for x in journeys)})")
    if j.control_group_pct <= 0 or not j.goal:
        raise ValueError(f"--inject_effect: journey {journey_id!r} needs a control group and a goal")
    if _stream(j.entry[0]) == _stream(j.goal[0]):
        raise ValueError(f"--inject_effect: journey {journey_id!r}'s entry and goal events are on one stream")
    for what, t in (("entry", j.entry[0]), ("goal", j.goal[0])):
        if t.condition is not None or _stream(t) not in ("web", "orders"):
            raise ValueError(f"--inject_effect: the first {what} trigger of {journey_id!r} must be an unconditional "
                             "web or orders event")
    return j


def _record(stream: str, type_: str, ts: int, crm: str, rng: random.Random) -> dict:
    product = f"SKU-{rng.randrange(100, 300)}"
    if stream == "web":
        return {"ts": ts, "anonymous_id": f"anon-{crm}", "user_id": crm, "email": None, "type": type_,
                "product_id": product, "properties": {"quantity": 1, "price": 20.0}}
    return {"ts": ts, "crm_id": crm, "email": None, "order_id": f"ORD-{crm}-{ts}", "type": type_,
            "product_ids": [product], "amount": 20.0, "currency": "EUR"}


def generate_effect(out: str | os.PathLike[str], journey_id: str, uplift: float, customers: int = 2000,
                    base_rate: float = 0.3, seed: int = 7, start_ms: int = 1_790_812_800_000,
                    journeys: list[Journey] | None = None) -> EffectSummary:
    """Write the population (see the module docstring) into ``out``; ``journeys``: the journey set the replay will
    run (default: the shipped one).  Raises ValueError for a journey without a control group or goal, or rates
    outside [0, 1]."""
    if journeys is None:
        from journeyflow.stages.journeys import default_journeys
        journeys = list(default_journeys())
    j = _journey(journey_id, journeys)
    if not (0 <= base_rate <= 1 and 0 <= base_rate + uplift <= 1):
        raise ValueError(f"--inject_effect: rates must stay in [0, 1] (base {base_rate}, uplift {uplift})")
    rng = random.Random(f"journeyflow-effect/{seed}")
    entry, goal = j.entry[0], j.goal[0]
    entry_stream, goal_stream = _stream(entry), _stream(goal)
    lines: dict[str, list[tuple[int, dict]]] = {"web": [], "orders": []}
    arms = {"control": [0, 0], "treatment": [0, 0]}
    for i in range(customers):
        crm = f"E{i + 1:07d}"
        t = start_ms + i * 60_000  # one entry a minute: entries in line order
        event_id = f"{entry_stream}-{len(lines[entry_stream]) + 1:06d}"
        arm = "control" if j.in_control(f"{entry_stream}/{event_id}") else "treatment"
        lines[entry_stream].append((t, _record(entry_stream, entry.type, t, crm, rng)))
        arms[arm][0] += 1
        if rng.random() < base_rate + (uplift if arm == "treatment" else 0.0):
            arms[arm][1] += 1
            delay = rng.randrange(5 * 60_000, min(20 * HOUR, j.max_duration_ms // 2))
            lines[goal_stream].append((t + delay, _record(goal_stream, goal.type, 0, crm, rng)))
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    for stream, recs in lines.items():
        if stream == entry_stream:
            ordered = recs  # already in time order: event ids above are these line numbers
        else:
            ordered = sorted(recs, key=lambda r: r[0])
        with open(path / f"{stream}.jsonl", "w", encoding="utf-8", newline="\n") as f:
            for n, (ts, rec) in enumerate(ordered, 1):
                rec = {**rec, "ts": ts}
                if "order_id" in rec:
                    rec["order_id"] = f"ORD-{n:08d}"
                f.write(json.dumps({"event_id": f"{stream}-{n:06d}", **rec}, separators=(",", ":")) + "\n")
    summary = EffectSummary(j.id, base_rate, uplift, customers, arms["control"][0], arms["control"][1],
                            arms["treatment"][0], arms["treatment"][1])
    (path / "effect_truth.json").write_text(json.dumps(asdict(summary), indent=1) + "\n", encoding="utf-8")
    return summary
