"""``journeyflow compare``: the same events through per-channel marketing automation and through journeyflow.

The project's central claim is that one decision layer upstream of all channels sends fewer, better messages than
per-channel automation.  :func:`compare` makes that measurable on a replay input directory:

* **automation** (the baseline) runs in plain Python over the same parsed events.  Each journey runs on its own
  triggers with the real :class:`~journeyflow.stages.journeys.JourneyEngine`, driven by the real
  :class:`~journeyflow.stages.processor.CustomerProcessor`, but

  - without identity unification: state is keyed by the event's own primary identifier only, so an anonymous
    device, an email address and a CRM id are three different "customers";
  - without cross-journey arbitration: :class:`PassThroughArbiter` sends every candidate, and journeys'
    exclusion groups are removed (each workflow is configured on its own);
  - without service suppression, caps, quiet hours or de-duplication.

  The journeys' customer facts mean what they mean in journeyflow (its effective retention and the policy's
  ``open_tickets.stale_after``: a ticket stale under it is not open in ``customer.open_high_tickets``), so the
  difference measured is the decision layer's, not two readings of the same data.

  What a channel tool does know is modelled too: its own channel's opt-outs (revoked, unsubscribed, complained)
  *for the identifier it was told about*, the opt-outs and hard bounces of the address it would send to, and
  whether it has an address for that identifier (an email or SMS without one is "undeliverable", not sent).
  Journeys' control groups (holdouts) are honoured on both sides.
* **journeyflow** is the real bounded replay pipeline (:func:`journeyflow.pipelines.replay.run_replay`); messages
  are read from its channel topics (``decisions-email|sms|push|call``).  The same cluster fold is also run in
  process, only to learn which product each send promotes (decisions do not carry it) and to check that the
  in-process fold and the pipeline decided exactly the same sends.  Its candidates suppressed for lack of a
  deliverable address (reason ``no_address``, from ``decisions-audit``) are its "undeliverable" count.

Both sides' messages are mapped to real persons with the generator's ground truth
(:func:`journeyflow.analytics.identity_score.truth_keys`) when ``ground_truth.jsonl`` exists, else to journeyflow's
resolved identity clusters.  The conflict detectors (:mod:`journeyflow.analytics.conflicts`) are independent of journeyflow's policy code (simple
re-implementations over the raw events of each person) and are applied identically to both sides.

``unnecessary`` messages are automation sends that journeyflow did not make (matched one to one per person,
journey and content within ±1 day).  Goal conversions are orders a person placed within 7 days after a send of
their cart_abandonment / browse_offer / winback journeys, or of any journey whose goal is an order
(:func:`~journeyflow.analytics.conflicts.goal_journeys`: a journeys file's own ids too), each order once however
often it is reported (a re-sent ``order_placed``: :func:`~journeyflow.analytics.persons.build_person_facts`); in a
replay the customers' behaviour is fixed, so this is an association, not an uplift measurement.

``opt_in_baseline=True`` (CLI ``--opt_in_baseline``) makes the baseline stricter: channel tools also send promos
only to identifiers with an explicit opt-in recorded for that same identifier.

The parts: :mod:`~journeyflow.analytics.conflicts` (records and detectors), :mod:`~journeyflow.analytics.persons`
(input events, who is who, each person's facts), :mod:`~journeyflow.analytics.baseline` (the automation side),
:mod:`~journeyflow.analytics.compare_report` (the report); this module runs both sides and the in-process fold, and
re-exports the parts' public names (``__all__``).

Command line (:mod:`journeyflow.cli.compare`)::

    journeyflow compare --input DIR [--journeys F] [--policy F] [--attributes F] [--segment_mapping F]
                        [--link_rules F] [--json OUT.json] [--opt_in_baseline] [--work_dir DIR]
"""
from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from journeyflow.model.events import Event
from journeyflow.model.decisions import Candidate, Decision
from journeyflow.analytics.baseline import PassThroughArbiter, run_automation
from journeyflow.analytics.conflicts import (
    ADDRESS_OF,
    CONFLICT_KINDS,
    AddressFacts,
    GOAL_JOURNEYS,
    goal_journeys,
    MESSAGE_CHANNELS,
    OPT_OUT,
    IdentityTimeline,
    PersonFacts,
    Send,
    Ticket,
    _ticket_linked,
    _tz_known,
    build_address_facts,
    consent_conflicts,
    cross_channel_duplicates,
    daily_promo_excess,
    goal_conversions,
    match_unnecessary,
    open_ticket_conflicts,
    quiet_hours_conflicts,
    recent_purchase_conflicts,
    repeated_content,
)
from journeyflow.analytics.compare_report import AUTOMATION, JOURNEYFLOW, CompareReport, SideSummary
from journeyflow.analytics.persons import PersonMap, build_person_facts, person_map, read_events

__all__ = [
    "AUTOMATION",
    "AddressFacts",
    "CONFLICT_KINDS",
    "CompareReport",
    "IdentityTimeline",
    "JOURNEYFLOW",
    "OPT_OUT",
    "PassThroughArbiter",
    "PersonFacts",
    "PersonMap",
    "Send",
    "SideSummary",
    "Ticket",
    "build_address_facts",
    "build_person_facts",
    "compare",
    "consent_conflicts",
    "cross_channel_duplicates",
    "daily_promo_excess",
    "goal_conversions",
    "match_unnecessary",
    "open_ticket_conflicts",
    "quiet_hours_conflicts",
    "recent_purchase_conflicts",
    "repeated_content",
    "run_automation",
]


# ============================================================================================ journeyflow
class _RecordingArbiter:
    """Wraps the real Arbiter; remembers the product of every chosen send (decisions do not carry it), by customer,
    journey, step, channel, content and time: a moment gathering several inputs gives each chosen record its own
    candidate's trigger, hence another id than the one computed here (``stages.arbitration.moment``)."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.by_send: dict[tuple, str | None] = {}

    def arbitrate(self, state: Any, candidates: Sequence[Candidate], now: int, customer_id: str,
                  trigger_id: str) -> Any:
        res = self.inner.arbitrate(state, candidates, now, customer_id, trigger_id)
        for d in res.decisions:
            if d.action == "send":
                for c in candidates:
                    if (c.journey_id, c.step_id, c.channel, c.content_id) == (d.journey_id, d.step_id, d.channel,
                                                                              d.content_id):
                        self.by_send[(customer_id, d.journey_id, d.step_id, d.channel, d.content_id,
                                      d.decided_at)] = c.product_id
                        break
        return res

    def products(self, decisions: Iterable[Decision]) -> dict[tuple[str, str], str | None]:
        """``(customer id, decision id)`` → product of each send among ``decisions`` (the fold's final records)."""
        return {(d.customer_id, d.decision_id): self.by_send.get((d.customer_id, d.journey_id, d.step_id, d.channel,
                                                                  d.content_id, d.decided_at))
                for d in decisions if d.action == "send"}


def fold_in_process(events: Sequence[Event], config: Any, until: int | None
                    ) -> tuple[list[Decision], dict[tuple[str, str], str | None], IdentityTimeline]:
    """The pipeline's bounded decision path without Beam: resolve identities, key by cluster, ClusterFold.

    Returns (decisions, products of sends, the accepted identity links: final clusters and link times).
    """
    from journeyflow.stages.bounded import fold_clusters, resolve_clusters

    clusters = resolve_clusters(events, config.link_rules())
    proc = config.build_processor()
    recorder = _RecordingArbiter(proc.arbiter)
    proc.arbiter = recorder
    decisions: list[Decision] = []
    for _cluster, out in fold_clusters(clusters, proc, until):
        decisions.extend(out.decisions)
    cluster_of = clusters.cluster_of(events)
    accepted = clusters.accepted_links()
    return decisions, recorder.products(decisions), IdentityTimeline(cluster_of, accepted)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]



def _summarize(name: str, sends: list[Send], undeliverable: int, opted_out: int, tasks: int,
               facts: Mapping[str, PersonFacts], identity: IdentityTimeline,
               addresses: AddressFacts | None = None, goal_ids: Sequence[str] = GOAL_JOURNEYS) -> SideSummary:
    s = SideSummary(name, undeliverable=undeliverable, opted_out=opted_out, tasks=tasks)
    per_person: Counter = Counter()
    for m in sends:
        s.messages[m.channel] += 1
        s.by_journey[m.journey_id or "-"] += 1
        per_person[m.person] += 1
    s.persons_messaged = len(per_person)
    s.max_per_person = max(per_person.values(), default=0)
    consent = consent_conflicts(sends, facts, addresses)
    found = {
        "open_ticket": open_ticket_conflicts(sends, facts),
        "recent_purchase": recent_purchase_conflicts(sends, facts),
        "cross_channel": cross_channel_duplicates(sends),
        "repeated_content": repeated_content(sends),
        "quiet_hours": quiet_hours_conflicts(sends, facts),
        "no_consent": consent["opted_out"] + consent["never_granted"],
        "daily_promo_cap": daily_promo_excess(sends),
    }
    s.conflicts = {k: len(found[k]) for k in CONFLICT_KINDS}
    s.consent_detail = {k: len(v) for k, v in consent.items()}
    s.ticket_unlinked = sum(1 for m in found["open_ticket"] if not _ticket_linked(m, facts, identity))
    s.quiet_tz_unknown = sum(1 for m in found["quiet_hours"] if not _tz_known(facts.get(m.person), m.ts))
    s.examples = {k: sorted(x.decision_id for x in v)[:3] for k, v in found.items()}
    s.goal_sends = sum(1 for m in sends if m.journey_id in goal_ids)
    s.goal_persons = len({m.person for m in sends if m.journey_id in goal_ids})
    s.conversions, s.converted_persons = goal_conversions(sends, facts, goal_ids)
    return s


def _sends_from(decisions: Iterable[Any], products: Mapping[tuple[str, str], str | None],
                persons: PersonMap) -> tuple[list[Send], int, int]:
    """(messages delivered to channel tools, undeliverable sends, tasks) from decision records or dicts."""
    sends: list[Send] = []
    undeliverable = tasks = 0
    for d in decisions:
        if not isinstance(d, dict):
            d = d.to_dict(with_address=True)
        action, ch = d["action"], d["channel"]
        if action in ("create_task", "route_case"):
            tasks += 1
            continue
        if action != "send" or ch not in MESSAGE_CHANNELS:
            continue
        if ch in ADDRESS_OF and not d.get("address"):
            undeliverable += 1
            continue
        cid = d["customer_id"]
        sends.append(Send(persons.person(cid), cid, d["decided_at"], ch, d["journey_id"], d["step_id"],
                          d["content_id"], d["category"], products.get((cid, d["decision_id"])), d["decision_id"],
                          d.get("address_key")))
    return sends, undeliverable, tasks


# ================================================================================================== main
def compare(input_dir: str | Path, journeys: str | None = None, policy: str | None = None,
            work_dir: str | Path | None = None, region: str = "US", opt_in_baseline: bool = False,
            attributes: str | None = None, segment_mapping: str | None = None,
            link_rules: str | None = None) -> CompareReport:
    """Replay ``input_dir`` through per-channel automation and through journeyflow; measure both the same way.

    ``journeys`` / ``policy``: YAML files (default: the shipped ones; the policy only applies to journeyflow).
    ``attributes`` / ``segment_mapping``: the replay's files of the same name (declared events, traits and computed
    attributes; the Segment mapping of ``track.jsonl``), used by both sides: the events are parsed as the replay
    parses them.  ``link_rules``: journeyflow's identity link rules (the baseline does not unify identities).
    ``work_dir``: where the journeyflow replay writes topics/ and tables/ (a temporary directory by default,
    removed afterwards).  ``opt_in_baseline``: the automation's channel tools also require an explicit opt-in,
    recorded for the identifier they were given, before a promo send (default: they only know opt-outs).
    """
    from journeyflow.config.engine import EngineConfig
    from journeyflow.pipelines.replay import run_replay

    input_dir = str(input_dir)
    from journeyflow.stages.parse import ParseConfig
    config = EngineConfig.from_files(journeys, policy, link_rules=link_rules, attributes=attributes,
                                     segment_mapping=segment_mapping)
    mapping = {"segment_mapping": config.segment_mapping_yaml,
               "segment_mapping_source": config.segment_mapping_source} if segment_mapping else {}
    events, _read, _dead = read_events(input_dir, region, ParseConfig(
        default_region=region, declared_types=config.declared_types(), **mapping))
    horizon = max((e.ts for e in events), default=None)

    # journeyflow: the real pipeline, plus the same fold in process (products of sends, identity clusters)
    tmp = None
    if work_dir is None:
        tmp = tempfile.mkdtemp(prefix="journeyflow-compare-")
        out_dir = Path(tmp)
    else:
        out_dir = Path(work_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
    try:
        argv = ["--input", input_dir, "--output", str(out_dir), "--default_region", region]
        if journeys:
            argv += ["--journeys", journeys]
        for flag, path in (("--policy", policy), ("--attributes", attributes),
                           ("--segment_mapping", segment_mapping), ("--link_rules", link_rules)):
            if path:
                argv += [flag, path]
        run_replay(argv, overwrite=True)  # the work folder is compare's own: a re-run replaces its outputs
        topics = out_dir / "topics"
        jf_decisions = [d for ch in MESSAGE_CHANNELS for d in _read_jsonl(topics / f"decisions-{ch}.jsonl")]
        jf_tasks = [d for t in ("crm-task", "service-case") for d in _read_jsonl(topics / f"decisions-{t}.jsonl")]
        jf_no_address = sum(1 for d in _read_jsonl(topics / "decisions-audit.jsonl")
                            for c in d["candidates"] if c["reason"] == "no_address")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    fold_decisions, jf_products, identity = fold_in_process(events, config, horizon)
    cluster_of = identity.cluster_of

    fold_sends = {d.decision_id for d in fold_decisions if d.action == "send"}
    pipe_sends = {d["decision_id"] for d in jf_decisions}
    fold_check = {"pipeline_sends": len(pipe_sends), "fold_sends": len(fold_sends),
                  "matched": len(pipe_sends & fold_sends), "identical": pipe_sends == fold_sends}

    persons = person_map(input_dir, cluster_of, region)
    facts = build_person_facts(events, persons)
    addresses = build_address_facts(events)
    n_persons = persons.persons if persons.persons is not None else len({persons.person(k) for k in cluster_of})

    jf_sends, jf_undeliverable, _ = _sends_from(jf_decisions, jf_products, persons)
    goal_ids = goal_journeys(config.journeys())
    jf = _summarize(JOURNEYFLOW, jf_sends, jf_undeliverable + jf_no_address, 0, len(jf_tasks), facts, identity,
                    addresses, goal_ids)
    jf.no_address = jf_no_address

    auto_decisions, auto_products = run_automation(events, config.journeys(), horizon, config.effective_retention(),
                                                   opt_in=opt_in_baseline, attributes=config.attributes())
    auto_sends, auto_undeliverable, auto_tasks = _sends_from(auto_decisions, auto_products, persons)
    auto_undeliverable += sum(1 for d in auto_decisions if d.reason_codes == ("undeliverable",))
    auto_opted_out = sum(1 for d in auto_decisions if d.reason_codes == ("opted_out",))
    auto = _summarize(AUTOMATION, auto_sends, auto_undeliverable, auto_opted_out, auto_tasks, facts, identity,
                      addresses, goal_ids)
    auto.not_opted_in = sum(1 for d in auto_decisions if d.reason_codes == ("not_opted_in",))

    only_auto, only_jf = match_unnecessary(auto_sends, jf_sends)
    notes = [
        ("In a replay the customers' behaviour is fixed: the same orders happen whatever was sent, so goal "
         "conversions are an association (orders after a send), not an uplift measurement. Uplift needs the "
         "journeys' control groups on live traffic."),
        "Automation = the same journeys run per identifier (no identity unification), each journey on its own "
        "(no arbitration, no exclusion groups, no service suppression, caps, quiet hours or de-duplication); a "
        "channel tool only knows its own opt-outs"
        + (" and opt-ins (promos need an explicit grant)" if opt_in_baseline else "")
        + " for the identifier it was given and needs an address for it. "
        "Control groups (holdouts) are honoured on both sides.",
        "Promo = marketing and sales categories. Conflicts are counted per message against each person's raw "
        "events across all of their identifiers"
        + (" (persons from the generator's ground truth)." if persons.basis == "ground_truth"
           else " (no ground_truth.jsonl: persons are journeyflow's resolved identity clusters)."),
    ]
    if not fold_check["identical"]:
        notes.append("The in-process fold did not reproduce the pipeline's sends exactly: products of the "
                     "unmatched sends are unknown to the recent-purchase detector.")
    return CompareReport(
        input_dir=input_dir, person_basis=persons.basis, persons=n_persons, events=len(events), horizon=horizon,
        automation=auto, journeyflow=jf,
        unnecessary=len(only_auto), unnecessary_by_journey=Counter(s.journey_id or "-" for s in only_auto),
        journeyflow_only=len(only_jf), journeyflow_only_by_journey=Counter(s.journey_id or "-" for s in only_jf),
        fold_check=fold_check, notes=notes, opt_in_baseline=opt_in_baseline, goal_journeys=goal_ids)
