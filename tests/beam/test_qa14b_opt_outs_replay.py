"""qa14b in the Beam replay, one pipeline and bucketed: an opt-out keyed by B that names A's device opts out both
(``KeyByCluster`` and the bucketed spill send the copy to A's cluster), and the replay summary's accounting stays
exact: a copy is not a record read, not an event decided, not a dead letter, and a copy to an identifier seen nowhere
else makes no customer.  (The rule and the in-process side: tests/stages/test_qa14b_opt_outs_naming_two_people.py.)"""
from __future__ import annotations

import json

import pyarrow.dataset as ds
import pytest

from journeyflow.pipelines.replay import run_replay
from tests.scenarios import read_topic
from tests.stages.test_qa13c_anonymous_opt_outs import LATER, login
from tests.stages.test_qa14b_opt_outs_naming_two_people import BASE, opt_out


@pytest.mark.parametrize("buckets", ["1", "3"])
def test_the_replay_blocks_both_and_counts_each_record_once(tmp_path, buckets):
    records = BASE + [opt_out("consent revoke", anonymous_id="dev-9"), login(LATER),
                      # an unsubscribe by B naming a device no other record names: nobody more to opt out
                      ("engagement", {"event_id": "u2", "ts": LATER, "channel": "sms", "type": "unsubscribed",
                                      "crm_id": "B", "anonymous_id": "dev-unknown"}),
                      opt_out("consent revoke", anonymous_id="dev-9")]  # redelivered: one duplicate_event
    inp = tmp_path / "in"
    inp.mkdir()
    for stream in {s for s, _ in records}:
        (inp / f"{stream}.jsonl").write_text("".join(json.dumps(r) + "\n" for s, r in records if s == stream))
    out = tmp_path / "out"
    summary = run_replay(["--input", str(inp), "--output", str(out), "--buckets", buckets])
    offers = [d["customer_id"] for d in read_topic(out, "decisions-email") if d.get("journey_id") == "browse_offer"]
    assert offers == []  # before: ["crm:A"]
    assert summary.records_read == len(records)
    assert (summary.events_decided, dict(summary.dead_letters)) == (len(records) - 1, {"duplicate_event": 1})
    assert summary.reconciles
    assert summary.customers == 2
    snapshots = ds.dataset(out / "tables" / "customer_snapshots", format="parquet", partitioning="hive",
                           ignore_prefixes=[".", "_"]).to_table(columns=["customer_id"]).column("customer_id")
    assert sorted(snapshots.to_pylist()) == ["crm:A", "crm:B"]  # no customer "anon:dev-unknown" made of a copy
