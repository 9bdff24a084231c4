"""Streaming assembly: one Pub/Sub subscription per input stream in, one topic per execution target out.

    Read_<stream> → ParseAndValidate → ResolveIdentities (online, identity store)
        → DecideOrdered (keyed state + event-time timers; a processing-time grace for a merge's hand-over,
          ``transforms.handover``) → outputs (``transforms.outputs``)
        → Pub/Sub topics (decisions-<target>, decisions-audit, dead-letter, field-warnings)
          [+ BigQuery tables with --tables]
    Read_state_transfer ↗ (identity merges hand a customer's state to the surviving id, ``transforms.state_transfer``;
        a hand-over to an id merged away meanwhile goes on to its survivor)
    ShareAddressStatus ↗ (an address's opt-outs and bounces, copied to every customer holding it, ``transforms.address``)
        (its messages come from ResolveIdentities: ``transforms.identity_online.RouteAddressStatus``)

Sources, the stateful stage and sinks are in ``transforms`` (event time from the ``ts`` attribute, checked against
the payload by ``ParseAndValidate``: ``transforms.sources``; message attributes and delivery:
``transforms.sinks.pubsub``).  Step labels are part of the job's interface (Dataflow's ``--update`` matches them):
README, "Updating a running job".
"""
from __future__ import annotations

import time
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from journeyflow.adapters.identity_store import check_store_url
from journeyflow.adapters.pubsub_names import check_prefix
from journeyflow.config.durations import parse_duration
from journeyflow.config.errors import UserError
from journeyflow.config.engine import EngineConfig
from journeyflow.pipelines.options import JourneyflowOptions, resolve_max_event_time, segment_mapping_config
from journeyflow.stages.parse import DEFAULT_MAX_TS, ParseConfig
from journeyflow.transforms.decide_streaming import DecideOrdered
from journeyflow.transforms.handover import GRACE_MS
from journeyflow.transforms.identity_online import ADDRESSES, LINKS, ResolveIdentitiesOnline, RouteAddressStatus
from journeyflow.transforms.outputs import build_outputs
from journeyflow.transforms.parse import EVENTS, ParseAndValidate
from journeyflow.transforms.sinks import BigQuerySink, PubSubSink
from journeyflow.transforms.sinks.bigquery import check_dataset
from journeyflow.transforms.sources import read_pubsub_streams
from journeyflow.transforms.outputs import DEAD
from journeyflow.transforms.state_transfer import TRANSFERS_IN, read_state_transfers


def build_stream(p: beam.Pipeline, project: str, prefix: str, config: EngineConfig, store_url: str,
                 allowed_lateness_ms: int = 0, parse_config: ParseConfig = ParseConfig(),
                 tables_dataset: str | None = None, local: bool = False, hold_until_ms: int = 0) -> dict[str, Any]:
    """Adds the streaming graph to ``p``: inputs of ``project``'s subscriptions and outputs to its topics (names
    with ``prefix``), identities in ``store_url``; ``allowed_lateness_ms`` and ``hold_until_ms`` (epoch ms) as in
    ``transforms.decide_streaming``; ``tables_dataset`` (``PROJECT:DATASET``): also write every analyst table to
    BigQuery; ``local``: the bundle-based DirectRunner (inputs read without ``timestamp_attribute``,
    ``transforms.sources``; publish through one local client, ``PubSubSink``).  Returns the decisions, dead-letter
    and field-warning PCollections (for tests)."""
    records = read_pubsub_streams(p, project, prefix, local)
    parsed = records | "ParseAndValidate" >> ParseAndValidate(parse_config)
    # (+ the address router's messages: ``ADDRESSES``, see below; identity_links rows only for the tables)
    resolved = parsed[EVENTS] | "ResolveIdentities" >> ResolveIdentitiesOnline(
        store_url, config.link_rules(), addresses=True, links=bool(tables_dataset), pack=True)
    # + dead letters of unusable transfer messages; a hand-over to a customer merged away meanwhile (a link dated
    # earlier arrived last) is addressed to its survivor (the identity store)
    transfers = read_state_transfers(p, project, prefix, local, store_url, config.link_rules())
    transfers_in = transfers[TRANSFERS_IN]
    # an address's opt-outs and bounces reach every customer holding the address (transforms.address; the router's
    # messages are made by ResolveIdentities: transforms.identity_online)
    copies = resolved[ADDRESSES] | "ShareAddressStatus" >> RouteAddressStatus(store_url, config.link_rules())
    keyed = (resolved.keyed, transfers_in, copies) | "KeyedInputs" >> beam.Flatten()
    # the transfers come back here: a survivor's hold on a link fails safe (transforms.handover)
    # (journey-step rows only for the tables: without them no step reads them)
    decided = keyed | "DecideOrdered" >> DecideOrdered(config, allowed_lateness_ms, hold_until_ms=hold_until_ms,
                                                        snapshots=bool(tables_dataset), handover_grace_ms=GRACE_MS,
                                                        steps=bool(tables_dataset))
    outputs = build_outputs(decided, parsed, resolved[LINKS], more_dead=(transfers[DEAD],))
    PubSubSink(project, prefix, local).write(outputs)
    if tables_dataset:
        BigQuerySink(tables_dataset).write(outputs)
    return {"decisions": outputs.decisions, "dead": outputs.dead, "warnings": outputs.warnings}


def stream_parse_config(jf: JourneyflowOptions, declared_types=None) -> ParseConfig:
    """The streaming ParseConfig from its options: ``--max_event_time now+D`` stays relative (to each message's
    publish time, so a pipeline running for months keeps accepting today's events); an absolute bound is fixed
    (never above the parser's absurd-time bound, year 2100); ``--segment_mapping`` is read and validated here.
    ``declared_types``: the attributes file's property and trait types (``EngineConfig.declared_types``), enforced
    by the parser.  Raises ValueError for a bad ``--max_event_time`` or mapping file (UserError, file:line)."""
    bound = resolve_max_event_time(jf.max_event_time)
    common = dict(default_region=jf.default_region, merge_plus_addresses=jf.merge_plus_addresses,
                  declared_types=declared_types, **segment_mapping_config(jf))
    if bound.at is not None:
        return ParseConfig(max_ts=min(DEFAULT_MAX_TS, bound.at), **common)
    return ParseConfig(max_ahead_ms=bound.ahead_ms, **common)


def parse_duration_ms(text: str) -> int:
    """A streaming option's duration (``--allowed_lateness``, ``--catch_up``) in ms: ``500ms``, ``30s``, ``5m``,
    ``1h``; zero is allowed and a bare number is milliseconds (see :mod:`journeyflow.config.durations`)."""
    return parse_duration(text, allow_zero=True, bare_ms=True)


def _option(flag: str, check, *args):
    """``check(*args)``; a ValueError it raises becomes a :class:`UserError` naming ``flag`` (exit 2, one line)."""
    try:
        return check(*args)
    except ValueError as e:  # (UserError included: a file's own error, file:line, is kept after the flag)
        raise UserError(str(e) if flag in str(e) else f"{flag}: {e}") from None


def reset_identity_store(url: str, config: EngineConfig) -> None:
    """Forget the links of a local identity store (``sqlite://``, ``memory://``) before a rebuild: the replayed
    input re-applies them, so the merges are sent again at their event times and re-read events are keyed as they
    were the first time (not under an id that a later merge made canonical).  Other stores are left alone."""
    if not url.startswith(("sqlite:", "memory:")):
        return
    from journeyflow.adapters.identity_store import open_store
    with open_store(url, config.link_rules()) as store:
        store.clear()


def run_stream(argv: list[str] | None = None, wait: bool = True):
    """Runs the streaming pipeline with ``argv`` (JourneyflowOptions and Beam options): on the bundle-based
    DirectRunner unless ``--runner`` says otherwise; ``--resume`` (the default on the local runner) rewinds the input
    subscriptions first, forgets a local identity store's links and holds every flush until the retained backlog
    is read (``--catch_up`` + the allowed lateness).  Returns the
    PipelineResult, finished if ``wait`` (a streaming job only finishes when cancelled or drained)."""
    opts = PipelineOptions(argv, streaming=True, save_main_session=False)
    jf = opts.view_as(JourneyflowOptions)
    std = opts.view_as(StandardOptions)
    std.streaming = True
    if not std.runner:
        # Local Pub/Sub streaming: the bundle-based DirectRunner (Prism is tried first by DirectRunner otherwise).
        std.runner = "BundleBasedDirectRunner"
    local = std.runner in ("BundleBasedDirectRunner", "DirectRunner")
    if local:
        from journeyflow.tools.direct_runner import tune_direct_runner
        from journeyflow.tools.direct_runner_timers import skip_keys_without_timers
        tune_direct_runner()
        skip_keys_without_timers()
    project = jf.project_id or opts.get_all_options().get("project") or "journeyflow-local"
    config = EngineConfig.from_files(jf.journeys, jf.policy, jf.link_rules, jf.attributes,
                                     jf.segment_mapping)
    # every option value is checked before Pub/Sub or the identity store is touched (a start rewinds them)
    lateness = _option("--allowed_lateness", parse_duration_ms, jf.allowed_lateness)
    catch_up = _option("--catch_up", parse_duration_ms, jf.catch_up)
    _option("--max_event_time", resolve_max_event_time, jf.max_event_time)
    parse_config = stream_parse_config(jf, config.declared_types())
    _option("--topic_prefix", check_prefix, jf.topic_prefix)
    _option("--identity_store", check_store_url, jf.identity_store)
    _option("--tables", check_dataset, jf.tables)
    hold_until = 0
    # the local runner keeps state in memory: rebuilding on start is the default there (issue 23.3); Dataflow keeps
    # state across --update, so it rewinds only when asked
    if jf.resume if jf.resume is not None else local:
        from journeyflow.tools.pubsub import rewind_for_resume
        rewind_for_resume(project, jf.topic_prefix)
        if local:
            reset_identity_store(jf.identity_store, config)
        hold_until = int(time.time() * 1000) + catch_up + lateness
    p = beam.Pipeline(options=opts)
    build_stream(p, project, jf.topic_prefix, config, jf.identity_store, lateness,
                 parse_config, jf.tables, local=local, hold_until_ms=hold_until)
    result = p.run()
    if wait:
        result.wait_until_finish()
    return result
