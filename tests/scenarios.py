"""Builders for small, readable input scenarios (JSONL files in the replay input layout)."""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from journeyflow.config.engine import default_text

T0 = datetime(2026, 10, 5, 10, 0, tzinfo=timezone.utc)  # a Monday, 10:00 UTC

#: Test-only journeys added to the default set: a marketing promo that can fire many times a day, and a second
#: post-purchase promo that collides with cross_sell at the same moment.
EXTRA_JOURNEYS = """
  - id: flash_promo
    name: Flash promo (test)
    category: marketing
    priority: 350
    entry:
      event: page_view
      stream: web
      when: "has(event.product_id) && event.product_id == 'FLASH'"
    reentry: {mode: always}
    steps:
      - id: flash_email
        send: {channel: email, content_id: flash_deal}

  - id: bundle_promo
    name: Post-purchase bundle promo (test)
    category: marketing
    priority: 200
    entry: {event: order_placed, stream: orders}
    reentry: {mode: after_cooldown, cooldown: 7d}
    steps:
      - id: wait_3d
        wait: 3d
      - id: bundle_email
        send: {channel: email, content_id: bundle_offer}
"""


#: A marketing promo on every page view of product FLASH (no stream named, no wait): the unit tests' flash promo
FLASH_PROMO = """
  - id: flash_promo
    category: marketing
    priority: 350
    entry: {event: page_view, when: "has(event.product_id) && event.product_id == 'FLASH'"}
    reentry: {mode: always}
    steps:
      - {id: flash_email, send: {channel: email, content_id: flash_deal}}
"""

def journeys_with_test_extras() -> str:
    return default_text("journeys.yaml").rstrip() + "\n" + EXTRA_JOURNEYS


class Scenario:
    def __init__(self) -> None:
        self.records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.n = 0

    def add(self, stream: str, at: timedelta | datetime, **fields: Any) -> str:
        self.n += 1
        t = at if isinstance(at, datetime) else T0 + at
        eid = fields.pop("event_id", f"{stream}-{self.n:05d}")
        rec = {"event_id": eid, "ts": t.isoformat(), **fields}
        self.records[stream].append(rec)
        return f"{stream}/{eid}"

    def contact(self, at: timedelta, crm_id: str, email: str | None = None, phone: str | None = None,
                tz: str = "UTC", consent: tuple[str, ...] = ("email",), stage: str = "customer") -> None:
        """A CRM contact (lifecycle ``stage``: an existing ``customer`` is not welcomed, a ``lead`` is) and its
        consent grants one second later."""
        self.add("crm", at, crm_id=crm_id, email=email, phone=phone, type="contact_created",
                 lifecycle_stage=stage, timezone=tz, owner_id="owner-01")
        for ch in consent:
            self.add("consent", at + timedelta(seconds=1), crm_id=crm_id, channel=ch, status="granted")

    def write(self, directory: Path, shuffle_seed: int | None = None) -> Path:
        import random
        directory.mkdir(parents=True, exist_ok=True)
        for stream, recs in self.records.items():
            recs = list(recs)
            if shuffle_seed is not None:
                random.Random(f"{shuffle_seed}:{stream}").shuffle(recs)
            with open(directory / f"{stream}.jsonl", "w") as f:
                for r in recs:
                    f.write(json.dumps(r) + "\n")
        return directory


def read_topic(out: Path, topic: str) -> list[dict[str, Any]]:
    path = out / "topics" / f"{topic}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def replay_scenario(scenario: Scenario, base: Path, journeys: str | None = None, shuffle_seed: int | None = None):
    """Replay ``scenario`` under ``base`` with the journey file text ``journeys`` (None: the shipped journeys),
    every timer fired (``--until end``): (summary, the audit topic's decisions, the output folder)."""
    from journeyflow.pipelines.replay import run_replay

    inp = scenario.write(base / "in", shuffle_seed=shuffle_seed)
    args = ["--input", str(inp), "--output", str(base / "out"), "--until", "end"]
    if journeys is not None:
        (base / "journeys.yaml").write_text(journeys)
        args += ["--journeys", str(base / "journeys.yaml")]
    summary = run_replay(args)
    return summary, read_topic(base / "out", "decisions-audit"), base / "out"


def replay_with_test_journeys(scenario: Scenario, base: Path, shuffle_seed: int | None = None):
    """:func:`replay_scenario` with the default journeys plus the test extras."""
    return replay_scenario(scenario, base, journeys_with_test_extras(), shuffle_seed)


def decisions_of(audit: list[dict[str, Any]], customer: str) -> list[dict[str, Any]]:
    """``customer``'s decisions of an audit topic, in decision-time order (ties: decision id)."""
    return sorted((d for d in audit if d["customer_id"] == customer), key=lambda d: (d["decided_at"], d["decision_id"]))


def event_id_in_arm(journey_id: str, prefix: str, control: bool) -> str:
    """The first web event id ``<prefix><n>`` whose entry into the default journey ``journey_id`` draws the holdout
    arm (``control``) or the treated arm (the draw is a hash of ``web/<event id>``: Journey.in_control)."""
    from journeyflow.stages.journeys import default_journeys
    journey = next(j for j in default_journeys() if j.id == journey_id)
    i = 0
    while journey.in_control(f"web/{prefix}{i}") != control:
        i += 1
    return f"{prefix}{i}"
