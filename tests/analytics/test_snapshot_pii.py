"""A declared trait whose value holds an email or phone (QA round 3): Segment ``identify`` drops the reserved personal
traits (email, phone, name, address) but a declared trait such as ``contact_note: "call yan@…"`` was written raw
into ``customer_snapshots.traits``, an analyst table (``journeyflow validate`` then failed ``no_raw_email``).
Every analyst table must hold personal identifiers hashed or not at all."""
from __future__ import annotations

import json
import re
from datetime import timedelta

from journeyflow.analytics.quality import validate_output
from journeyflow.analytics.tables import load_tables
from journeyflow.pipelines.replay import run_replay
from tests.scenarios import T0, Scenario
from tests.segment_source import SegmentSource

EMAIL, PHONE = "yan.pii@example.com", "+1 415 555 0199"
ATTRIBUTES = """
version: 1
traits:
  contact_note: string
  plan: string
"""


def test_a_declared_trait_holding_an_address_is_masked_in_customer_snapshots(tmp_path):
    s = Scenario()
    s.add("consent", -timedelta(days=1), email=EMAIL, channel="email", status="granted")
    inp = s.write(tmp_path / "in")
    src = SegmentSource("seg-anon-1")
    src.identify(T0, "CPII2", email=EMAIL, phone=PHONE, plan="pro", contact_note=f"call {EMAIL} or {PHONE}")
    src.write(inp)
    (tmp_path / "attributes.yaml").write_text(ATTRIBUTES)
    out = tmp_path / "out"
    summary = run_replay(["--input", str(inp), "--output", str(out), "--until", "end",
                          "--attributes", str(tmp_path / "attributes.yaml")])
    assert summary.reconciles
    snaps = [r for r in load_tables(out)["customer_snapshots"].to_pylist() if r["traits"]]
    traits = {r["customer_id"]: json.loads(r["traits"]) for r in snaps}
    assert traits["crm:CPII2"]["plan"] == "pro"  # the trait is kept ...
    note = traits["crm:CPII2"]["contact_note"]
    assert note.startswith("call ") and "yan" not in note and not re.search(r"555\D?0199", note)  # ... its address not
    report = validate_output(out)
    assert not {c for c in report.failed_checks() if c[1].startswith("no_raw")}, report.failed_checks()
