"""Score resolved identity clusters against the generator's ground truth (pairwise precision / recall)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from journeyflow.stages.identity.keys import Hasher, InvalidIdentifier, anon_key, crm_key
from journeyflow.stages.identity.score import Score, score_clusters


@dataclass
class IdentityScore:
    """Scores of a replay's identity clusters (``tables/identity_links``) against the generator's ground truth.

    Pair scores are pairwise (:func:`~journeyflow.stages.identity.score.score_clusters`); counts are identifiers,
    persons and links."""

    score: Score  # against all ground truth (includes identifiers no trusted event ever links)
    linkable: Score  # against what the input's trusted events can link deterministically
    identifiers: int
    persons: int
    refused_links: int
    refused_shared: int  # refused links that touch a shared device / phone from the ground truth
    shared_identifiers: int
    shared_merged_persons: int  # persons wrongly joined through a shared identifier (0 when the guard holds)

    def render(self) -> str:
        """A plain-text report, one figure per line."""
        s, d = self.score, self.linkable
        return "\n".join([
            f"identifiers scored     {self.identifiers}",
            f"persons                {self.persons}",
            f"pairwise precision     {_precision(s)}",
            f"pairwise recall        {_recall(s)}; all ground truth, including devices that never log in)",
            f"deterministic links    precision {_rate(d.precision, d.pairs_tp + d.pairs_fp, 'no pair linked')}  "
            f"recall {_rate(d.recall, d.pairs_tp + d.pairs_fn, 'no true pair')}  "
            f"(pairs of the same person co-occurring in trusted events)",
            f"refused links          {self.refused_links}  ({self.refused_shared} touch the "
            f"{self.shared_identifiers} shared devices/phones)",
            f"persons merged through shared identifiers  {self.shared_merged_persons}",
        ])


def _rate(value: float, pairs: int, none: str) -> str:
    """``value`` to 4 decimals, or ``none`` when no pair measures it (score_clusters gives 1.0 then)."""
    return f"{value:.4f}" if pairs else f"– ({none})"


def _precision(s: Score) -> str:
    """Precision with its denominator: the false pairs of the pairs linked."""
    linked = s.pairs_tp + s.pairs_fp
    return f"{s.precision:.4f}  (false pairs {s.pairs_fp:,} of {linked:,} pairs linked)" if linked else \
        "–  (no pair linked: nothing to measure; see recall)"


def _recall(s: Score) -> str:
    """Recall with its denominator (the caller closes the parenthesis): the missed pairs of the true pairs."""
    true = s.pairs_tp + s.pairs_fn
    return f"{s.recall:.4f}  (missed pairs {s.pairs_fn:,} of {true:,} true pairs" if true else \
        "–  (no true pair in the ground truth"


def truth_keys(input_dir: str | Path, hasher: Hasher, region: str = "US") -> tuple[dict[str, str], set[str]]:
    """identifier key → person id, and the keys of shared identifiers (which belong to no single person)."""
    truth: dict[str, str] = {}
    d = Path(input_dir)

    def key(kind: str, value: str) -> str | None:
        try:
            if kind == "email":
                return hasher.email(value)[0]
            if kind == "phone":
                return hasher.phone(value, region)[0]
            if kind == "crm":
                return crm_key(value)
            return anon_key(value)
        except InvalidIdentifier:
            return None

    with open(d / "ground_truth.jsonl") as f:
        for line in f:
            p = json.loads(line)
            pid = p["person_id"]
            items = [("crm", p.get("crm_id"))] + [("email", e) for e in p.get("emails", ())] + \
                [("phone", x) for x in p.get("phones", ())] + [("anon", a) for a in p.get("anonymous_ids", ())]
            for kind, value in items:
                if value:
                    k = key(kind, value)
                    if k:
                        truth[k] = pid
    shared: set[str] = set()
    path = d / "ground_truth_shared.jsonl"
    if path.exists():
        with open(path) as f:
            for line in f:
                s = json.loads(line)
                k = key("phone" if s["kind"] == "phone" else "anon", s["value"])
                if k:
                    shared.add(k)
    return truth, shared


def linkable_truth(input_dir: str | Path, truth: dict[str, str], hasher: Hasher) -> dict[str, str]:
    """Ground truth restricted to deterministic links: identifiers of one person that co-occur in a trusted
    (linking) event of the input, joined transitively.  Identifier → component id."""
    from journeyflow.stages.identity.graph import IdentityGraph
    from journeyflow.stages.identity.rules import LinkRules, links_for
    from journeyflow.model.events import Event, STREAMS
    from journeyflow.stages.parse import Parser

    parser, rules = Parser(hasher), LinkRules()
    graph = IdentityGraph(rules, guarded=False)  # ground truth: no merge protection

    for stream in STREAMS:
        path = Path(input_dir) / f"{stream}.jsonl"
        if not path.exists():
            continue
        from journeyflow.analytics.persons import iter_records  # splits Segment batch envelopes (track.jsonl)

        for raw, _source in iter_records(path):
            ev = parser.parse(stream, raw)
            if not isinstance(ev, Event):
                continue
            for a, b in links_for(ev.stream, ev.type, ev.ids, rules):
                if a in truth and truth.get(a) == truth.get(b):
                    graph.link(a, b)
    return {k: graph.find(k) for k in truth}


def _file_sha256(path: Path) -> str:
    import hashlib
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_scorable(input_dir: str | Path, output_dir: str | Path, hasher: Hasher) -> list[str]:
    """Before scoring: :class:`~journeyflow.config.errors.UserError` when ``input_dir`` has no
    ``ground_truth.jsonl`` (only a population ``journeyflow generate`` wrote can be scored), ``output_dir`` no
    ``tables/identity_links``, or its ``run.json`` says the replay hashed with another key than ``hasher``'s
    (``hash_key_check``: every email and phone of the ground truth would miss, and the figures would read as a
    recall collapse).  Returns warnings: the input files ``run.json`` lists that differ from ``input_dir``'s (the
    output is then the replay of other data)."""
    from journeyflow.config.errors import UserError
    from journeyflow.pipelines.output import key_check, read_manifest
    if not (Path(input_dir) / "ground_truth.jsonl").is_file():
        raise UserError(f"--input {input_dir} has no ground_truth.jsonl: only a population journeyflow generate "
                        "wrote (with its ground truth) can be scored")
    if not (Path(output_dir) / "tables" / "identity_links").is_dir():
        from journeyflow.analytics.tables import not_an_output_hint
        raise UserError(f"--output {output_dir} has no tables/identity_links: {not_an_output_hint(output_dir)}")
    manifest = read_manifest(output_dir) or {}
    recorded = manifest.get("hash_key_check")
    if recorded and recorded != key_check(hasher):
        raise UserError(f"JOURNEYFLOW_HASH_KEY is not the key the replay in {output_dir} hashed with: no email or "
                        "phone of the ground truth could be matched (set the replay's key)")
    files = (manifest.get("input") or {}).get("files")
    if files is None:
        return []
    listed = {f["name"]: f.get("sha256") for f in files}
    from journeyflow.model.events import STREAMS
    here = {f"{s}.{ext}" for s in STREAMS for ext in ("jsonl", "avro") if (Path(input_dir) / f"{s}.{ext}").is_file()}
    differ = sorted(n for n in set(listed) | here
                    if n not in here or n not in listed or _file_sha256(Path(input_dir) / n) != listed[n])
    if not differ:
        return []
    return [f"{output_dir} is the replay of other input files than --input {input_dir} ({', '.join(differ)} "
            "differ, per its run.json): the scores compare the ground truth with another run's identities"]


def score_output(input_dir: str | Path, output_dir: str | Path, hasher: Hasher | None = None) -> IdentityScore:
    """Score the replay (or streaming) output in ``output_dir`` against ``input_dir/ground_truth*.jsonl`` (hashed
    with ``hasher``, default the replay's: ``JOURNEYFLOW_HASH_KEY`` and ``--merge_plus_addresses`` from its
    ``run.json``, :func:`~journeyflow.analytics.lookup.replay_hasher`). Predicted clusters are the connected
    components of the accepted rows of ``tables/identity_links``. FileNotFoundError when the ground truth or the
    links table is missing (:func:`check_scorable` says so first)."""
    from journeyflow.analytics.tables import read_table

    if hasher is None:
        from journeyflow.analytics.lookup import replay_hasher
        hasher = replay_hasher(output_dir, "US")  # (the ground truth's national numbers are US ones)
    truth, shared = truth_keys(input_dir, hasher)
    # (read_table: the table's own schema, so a replay without any link, only ``_schema.parquet``, reads as empty)
    links = read_table(output_dir, "identity_links").select(
        ["identifier_a", "identifier_b", "customer_id", "status"]).to_pylist()
    # clusters = connected components of the accepted links (not the rows' ``customer_id``: a streaming run writes
    # the root at the time of each link, so one chain anonymous → email → CRM id carries several ids)
    from journeyflow.stages.identity.graph import IdentityGraph

    graph = IdentityGraph(guarded=False)
    refused = refused_shared = 0
    for r in links:
        if r["status"] == "accepted":
            graph.link(r["identifier_a"], r["identifier_b"])
        else:
            refused += 1
            if r["identifier_a"] in shared or r["identifier_b"] in shared:
                refused_shared += 1
    predicted: dict[str, Any] = graph.root_map()
    # persons wrongly joined: clusters that hold identifiers of more than one person
    persons_per_cluster: dict[Any, set[str]] = {}
    for k, c in predicted.items():
        if k in truth:
            persons_per_cluster.setdefault(c, set()).add(truth[k])
    merged = sum(len(p) for p in persons_per_cluster.values() if len(p) > 1)
    linkable = linkable_truth(input_dir, truth, hasher)
    return IdentityScore(score_clusters(predicted, truth), score_clusters(predicted, linkable), len(truth), len(set(truth.values())), refused,
                         refused_shared, len(shared), merged)
