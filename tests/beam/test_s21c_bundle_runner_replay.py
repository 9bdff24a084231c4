"""Session 21 (c): the replay runs on Beam's bundle-based DirectRunner (``--runner BundleBasedDirectRunner``) and
writes what the FnApiRunner writes.

It failed in ``ResolveIdentities/KeyByCluster``: that runner adds every output bundle of a multi-output step to a
side-input view of one of its outputs (``EvaluationContext._update_side_inputs_container`` looks at the first
bundle only), so ``ResolveGraph``'s ``links`` lists reached the cluster map's singleton view (two elements) or,
when the ``links`` bundle came first, the view stayed empty.  The map is now read from a single-output step
(``ClusterMap``).  That runner also hands ``KeyByCluster``'s ``ClusterRows`` to the fold without encoding them
(``transforms.coders.cluster_pairs``).
"""
from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from journeyflow.pipelines.replay import run_replay
from journeyflow.stages.parse_fast import make_event
from journeyflow.tools.generator import generate
from journeyflow.transforms.coders import ClusterRows, PackedItems, cluster_pairs, pack
from journeyflow.transforms.identity import ResolveIdentities


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("in")
    generate(25, 3, 11, d)
    return d


def _outputs(folder: Path) -> dict[str, object]:
    out: dict[str, object] = {str(p.relative_to(folder)): p.read_bytes() for p in (folder / "topics").glob("*.jsonl")}
    for p in (folder / "tables").rglob("*.parquet"):
        out[str(p.relative_to(folder))] = pq.read_table(p).to_pylist()
    return out


def test_the_replay_on_the_bundle_based_runner_writes_what_the_fn_api_runner_writes(data, tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEYFLOW_HASH_KEY", "s21c-key")
    args = ["--input", str(data), "--max_event_time", "2100-01-01T00:00:00Z"]
    fn_api = run_replay([*args, "--output", str(tmp_path / "fn_api")])
    bundled = run_replay([*args, "--output", str(tmp_path / "bundled"), "--runner", "BundleBasedDirectRunner"])
    assert bundled.reconciles and bundled.records_read == fn_api.records_read > 0
    assert bundled.decisions == fn_api.decisions and sum(fn_api.decisions.values()) > 0
    a, b = _outputs(tmp_path / "fn_api"), _outputs(tmp_path / "bundled")
    assert sorted(a) == sorted(b) and any(k.startswith("tables/identity_links/") for k in a)
    for name in a:
        assert a[name] == b[name], name


def test_the_cluster_map_view_holds_the_map_only_on_the_bundle_based_runner():
    """A link between two events: the map is one element, and the ``identity_links`` rows are not in it."""
    from journeyflow.config.engine import EngineConfig
    from journeyflow.transforms.coders import EventBatch
    rules = EngineConfig.from_files().link_rules()
    ev = make_event("web/1", "web", "login", 1_000, ("crm:c1", "anon:a1"), {}, {})
    with beam.Pipeline(options=PipelineOptions(["--runner", "BundleBasedDirectRunner"])) as p:
        events = p | beam.Create([EventBatch([ev])]).with_output_types(EventBatch)
        keyed, links = events | ResolveIdentities(rules)
        clusters = keyed | beam.Map(lambda kv: sorted(e.uid for e, _ in cluster_pairs(kv[1])))
        from apache_beam.testing.util import assert_that, equal_to
        assert_that(clusters, equal_to([["web/1"]]), label="keyed")
        assert_that(links | beam.Map(len), equal_to([1]), label="links")


def test_cluster_pairs_of_each_form_give_the_same_pairs():
    ev = make_event("web/1", "web", "login", 1_000, ("crm:c1", "anon:a1"), {"a": 1}, {"email": "x"})
    links = (("crm:c1", "anon:a1"),)
    row = (ev.uid, ev.stream, ev.type, ev.ts, ev.ids, ev.attrs, ev.contact, links)
    expected = [(ev, links)]
    assert list(cluster_pairs(ClusterRows([row]))) == expected
    assert list(cluster_pairs(PackedItems(pack([row])))) == expected
    assert list(cluster_pairs([(ev, links)])) == expected
