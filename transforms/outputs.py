"""The outputs of both pipelines, built once: what the per-customer stage emits (output tags, counters) and how its
decisions, dead letters, journey steps, identity links and customer snapshots, and the parser's field warnings,
become messages and table rows.

    decide (DecideForCustomers | DecideOrdered) ── DECISIONS ── DecisionMessages ──────────┐  messages
       │  tags below, counters DecideCounters      └──────── DecisionRows, SuppressedRows  │   ↓
       ├── DEAD ─┬─ AllDeadLetters ── DeadLetterMessages ─────────────────────────────────┘  sinks (files,
    parse DEAD ──┘                 └─ DeadLetterRows                                            Pub/Sub,
       ├── STEPS ── StepRows           identity links, SNAPSHOTS: rows as they are              BigQuery)
       └── TRANSFERS (streaming: identity merges hand a customer's state over, via Pub/Sub)
    parse WARNINGS ── FieldWarningMessages (field-warnings topic) ── FieldWarningRows (field_warnings table)

Format lives here (a :class:`Message` is a topic, JSON bytes and string attributes; a row is a dict with the columns
of ``schemas/bigquery/<table>.json``); destinations live in ``transforms.sinks``.

:func:`build_outputs` applies its steps where it is called: at the top level of both pipelines, with the labels
listed in the README ("Updating a running job") that Dataflow's ``--update`` matches.  It is a function, not a
composite ``PTransform``, because a composite would prefix the full name of every step inside it.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.decisions import AUDIT_TOPIC, DEAD_LETTER_TOPIC, FIELD_WARNINGS_TOPIC, TOPIC_FOR_TARGET, Decision
from journeyflow.model.field_warnings import FieldWarning
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.model.tables import (TABLES, dead_letter_row, dead_letter_values, decision_row, decision_values,
                                      field_warning_row, field_warning_values, journey_step_row, journey_step_values,
                                      link_values, snapshot_values, suppressed_rows, suppressed_values)
from journeyflow.stages.conditions import take_counts
from journeyflow.stages.json_text import dumps_finite
from journeyflow.stages.processor import Outputs
from journeyflow.transforms import parse as tparse
from journeyflow.transforms.coders import Batch, typed

# With the root logger at DEBUG, Beam's worker operations (Flatten, Combine) log every element they process: the
# channel topics' messages carry the delivery address, which must reach the topic and nothing else (no log sink).
# This module is imported wherever those messages are built (launcher and workers); an explicit level set on that
# logger by the user wins.
_BEAM_ELEMENT_LOGGER = logging.getLogger("apache_beam.runners.worker.operations")
if _BEAM_ELEMENT_LOGGER.level == logging.NOTSET:
    _BEAM_ELEMENT_LOGGER.setLevel(logging.INFO)

#: Namespace of every journeyflow counter (Dataflow UI, ``PipelineResult.metrics()``).
NAMESPACE = "journeyflow"

# Output tags of the per-customer stage (bounded DecideForCustomers and streaming DecideOrdered).
#: Main output: :class:`~journeyflow.model.decisions.Decision`.
DECISIONS = "decisions"
#: Journey step records (``journey_steps`` rows once converted by :func:`journey_step_row`).
STEPS = "journey_steps"
#: :class:`~journeyflow.model.dead_letters.DeadLetter` (duplicates, late events, processing errors).
DEAD = "dead_letter"
#: ``customer_snapshots`` rows (bounded: one per customer at the horizon; streaming: one per customer flush).
SNAPSHOTS = "customer_snapshots"
#: Streaming only: ``(target customer id, absorb Event)`` state hand-overs of identity merges.
TRANSFERS = "state_transfers"
#: Every tagged (non-main) output, declared by both stages: ``.with_outputs(*TAGGED, main=DECISIONS)``.
TAGGED: tuple[str, ...] = (STEPS, DEAD, SNAPSHOTS, TRANSFERS)


def condition_counter_name(name: str, kind: str) -> str:
    """The Beam counter of one condition's failed evaluations: ``condition_errors: <name>`` (CEL errors) or
    ``condition_non_bool: <name>`` (non-bool results), ``name`` as :func:`journeyflow.stages.conditions.condition_name`
    gives it (``journey 'winback', step 'check': if (journeys.yaml:40)``).  Summed over workers like every counter, so
    a job on Dataflow names the conditions that failed (Job metrics → custom counters)."""
    return f"condition_{kind}: {name}"


class DecideCounters:
    """The per-customer stage's counters, the same in both pipelines: ``decisions``, ``events_decided``,
    ``duplicate_events``, ``processing_errors``, (streaming) ``late_events``, ``condition_errors`` /
    ``condition_non_bool`` and one :func:`condition_counter_name` counter per condition that failed.  Create in a
    DoFn's ``__init__``.

    ``per_bundle`` (the streaming stage: one :meth:`emit` per flush, thousands per bundle): the counts of
    :meth:`count` are summed in the DoFn and given to Beam once, by :meth:`finish_bundle` (call it from the DoFn's
    ``finish_bundle``); each Beam counter update looks up the thread's metrics container, ~1.5 µs, and the failed
    conditions' tally is taken once per bundle instead of per flush (issue 22).  The totals are the same, and so is
    which counters exist (a counter :meth:`count` would have touched, even with 0, is touched)."""

    def __init__(self, per_bundle: bool = False):
        self.per_bundle = per_bundle
        self._sums: dict[str, int] = {}
        self.decisions = Metrics.counter(NAMESPACE, "decisions")
        self.events = Metrics.counter(NAMESPACE, "events_decided")
        self.duplicates = Metrics.counter(NAMESPACE, "duplicate_events")
        self.errors = Metrics.counter(NAMESPACE, "processing_errors")
        self.late = Metrics.counter(NAMESPACE, "late_events")
        self.condition_errors = Metrics.counter(NAMESPACE, "condition_errors")
        self.condition_non_bool = Metrics.counter(NAMESPACE, "condition_non_bool")

    def emit(self, out: Outputs) -> Iterator[Any]:
        """Counts ``out`` and yields it as the stage's outputs: decisions (main), then steps, dead letters and
        state transfers under their tags.  Also counts the conditions this thread evaluated since the last call that
        failed (``condition_errors``: a CEL runtime error; ``condition_non_bool``: a result that is not a bool;
        both count as false: ``journeyflow.stages.conditions``)."""
        self.count(out)
        yield from out.decisions
        for s in out.steps:
            yield beam.pvalue.TaggedOutput(STEPS, s)
        for dl in out.dead:
            yield beam.pvalue.TaggedOutput(DEAD, dl)
        for item in out.transfers:
            yield beam.pvalue.TaggedOutput(TRANSFERS, item)

    def start_bundle(self) -> None:
        """Forget the failed conditions this thread counted before the bundle (another pipeline run in this process,
        the bounded core called in process): they are not this stage's.  Call from the DoFn's ``start_bundle``."""
        self._sums = {}
        take_counts()

    def count(self, out: Outputs) -> None:
        """Counts ``out`` (and the failed conditions) as :meth:`emit` does, without emitting it."""
        if self.per_bundle:
            sums = self._sums
            sums["decisions"] = sums.get("decisions", 0) + len(out.decisions)
            sums["events"] = sums.get("events", 0) + out.events
            if out.dead:
                sums["duplicates"] = sums.get("duplicates", 0) + sum(
                    dl.reason == DeadLetterReason.DUPLICATE_EVENT for dl in out.dead)
                sums["errors"] = sums.get("errors", 0) + sum(
                    dl.reason == DeadLetterReason.PROCESSING_ERROR for dl in out.dead)
            return
        self._count_conditions()
        self.decisions.inc(len(out.decisions))
        self.events.inc(out.events)
        if out.dead:
            self.duplicates.inc(sum(dl.reason == DeadLetterReason.DUPLICATE_EVENT for dl in out.dead))
            self.errors.inc(sum(dl.reason == DeadLetterReason.PROCESSING_ERROR for dl in out.dead))

    def _count_conditions(self) -> None:
        cc = take_counts()
        if cc:
            self.condition_errors.inc(cc["errors"])
            self.condition_non_bool.inc(cc["non_bool"])
            for key, n in cc.items():
                if type(key) is tuple:  # (condition name, "errors" | "non_bool"): which condition failed
                    Metrics.counter(NAMESPACE, condition_counter_name(*key)).inc(n)

    def finish_bundle(self) -> None:
        """``per_bundle``: give the bundle's sums (and the failed conditions this thread counted) to Beam's counters;
        otherwise nothing."""
        if not self.per_bundle:
            return
        sums, self._sums = self._sums, {}
        for name, n in sums.items():
            getattr(self, name).inc(n)
        self._count_conditions()


# ------------------------------------------------------------------------------------------------ messages
class Message(NamedTuple):
    """One output message, whatever its destination: a topic name (``ALL_TOPICS`` or the state-transfer topic),
    the payload bytes and string attributes (Pub/Sub attributes; the file sink writes ``data`` only)."""

    topic: str
    data: bytes
    attributes: Mapping[str, str]


# ``json.dumps(obj, allow_nan=False, sort_keys=True)`` is ``JSONEncoder(allow_nan=False, sort_keys=True).encode(obj)``:
# one encoder made once instead of one per message (~2.7 µs of ~8; issue 22); it holds no state between calls
_ENCODE = json.JSONEncoder(allow_nan=False, sort_keys=True).encode
#: the same without sorting keys: for objects built with their keys in sorted order (``Decision.sorted_dict``)
_ENCODE_AS_IS = json.JSONEncoder(allow_nan=False).encode


def _json(obj: dict[str, Any]) -> bytes:
    try:
        return _ENCODE(obj).encode()
    except ValueError:  # a non-finite float: written as null (no NaN / Infinity: strict consumers refuse them)
        return dumps_finite(obj, sort_keys=True).encode()


def decision_messages(d: Decision) -> list[Message]:
    """A decision's messages: its execution target's topic, if any (with the delivery address), and always the
    audit topic (without it).  Attributes let consumers filter and de-duplicate without parsing the payload."""
    attrs = {"decision_id": d.decision_id, "customer_id": d.customer_id, "journey_id": d.journey_id or "",
             "action": d.action, "channel": d.channel or "", "decided_at": str(d.decided_at)}
    target = d.target
    try:  # (the audit object built with its keys in sorted order, encoded as it is: no sort per object)
        ordered = d.sorted_dict()
        text = _ENCODE(d.to_dict()) if ordered is None else _ENCODE_AS_IS(ordered)
    except ValueError:  # (a non-finite float: both messages the slow way)
        text = None
    if text is not None and target is None:
        return [Message(AUDIT_TOPIC, text.encode(), attrs)]
    # the target's message is ``Decision.to_dict(with_address=True)``, the audit object plus its address fields
    full = None if text is None else _with_address(text, d)
    if full is None:
        audit = d.to_dict()
        if target is None:
            return [Message(AUDIT_TOPIC, _json(audit), attrs)]
        full = _json({**audit, **d.address_fields()})
        audit_data = _json(audit)
    else:
        audit_data = text.encode()
    return [Message(TOPIC_FOR_TARGET[target], full, attrs), Message(AUDIT_TOPIC, audit_data, attrs)]


_CUSTOMER_KEY = ', "customer_id": '


def _with_address(text: str, d: Decision) -> bytes | None:
    """The JSON of ``{**audit, **d.address_fields()}`` from ``text``, the audit object's JSON (keys sorted): the same
    bytes as encoding it whole, without encoding the decision twice (issue 22).  With sorted keys ``"address"``
    comes right after ``"action"``, the first key, and ``"context"`` right before ``"customer_id"`` (``content_id``
    < ``context`` < ``customer_id``); a quote inside a string is escaped, so ``, "customer_id": `` is found only as
    a key, and only the top-level object has that key (candidates are ``CandidateOutcome`` objects).  None when the
    text is not so (then the caller encodes the whole object) or an address field cannot be encoded."""
    head = '{"action": ' + _ENCODE(d.action) + ", "
    at = text.find(_CUSTOMER_KEY)
    if not text.startswith(head) or at < 0 or text.find(_CUSTOMER_KEY, at + 1) >= 0:
        return None
    fields = d.address_fields()
    try:
        address, context = _ENCODE(fields["address"]), _ENCODE(fields["context"])
    except ValueError:  # (a non-finite float in the context: written as null by the caller's slow way)
        return None
    n = len(head)
    return (head + '"address": ' + address + ", " + text[n:at] + ', "context": ' + context + text[at:]).encode()


def dead_letter_message(dl: DeadLetter) -> Message:
    """A dead letter's message on the ``dead-letter`` topic (attributes: stream, reason)."""
    return Message(DEAD_LETTER_TOPIC, _json(dl.to_dict()), {"stream": dl.stream, "reason": str(dl.reason)})


def field_warning_message(w: FieldWarning) -> Message:
    """A field warning's message on the ``field-warnings`` topic (values already PII-masked; attributes: stream,
    field, reason)."""
    return Message(FIELD_WARNINGS_TOPIC, _json(w.to_dict()), {"stream": w.stream, "field": w.field,
                                                               "reason": str(w.reason)})


# ---------------------------------------------------------------------------------------------- assembly
#: Which records become messages, and how: a field of :class:`PipelineOutputs` → (message builder, whether it gives
#: several messages per record).  ``build_outputs`` applies them as ``DecisionMessages``, ``DeadLetterMessages``
#: and ``FieldWarningMessages``; the replay's file sink in its per-list output steps.
MESSAGES: dict[str, tuple[Callable[[Any], Any], bool]] = {
    "decisions": (decision_messages, True),
    "dead": (dead_letter_message, False),
    "warnings": (field_warning_message, False),
}
#: How each analyst table's rows are made, in ``TABLES`` order: table → (the records it is built from: a field of
#: :class:`PipelineOutputs`, the Beam step label, the row builder or None when the records are rows already,
#: whether the builder gives several rows per record).  Rows are dicts (``journeyflow.model.tables``' row
#: builders): :meth:`PipelineOutputs.table_rows` applies them for the sinks that take dict rows (BigQuery).
ROW_DICTS: dict[str, tuple[str, str, Callable[[Any], Any] | None, bool]] = {
    "decisions": ("decisions", "DecisionRows", decision_row, False),
    "suppressed_candidates": ("decisions", "SuppressedRows", suppressed_rows, True),
    "journey_steps": ("steps", "StepRows", journey_step_row, False),
    "customer_snapshots": ("snapshots", "", None, False),
    "identity_links": ("links", "", None, False),
    "dead_letter": ("dead", "DeadLetterRows", dead_letter_row, False),
    "field_warnings": ("warnings", "FieldWarningRows", field_warning_row, False),
}
assert tuple(ROW_DICTS) == TABLES, "every analyst table, in TABLES order"
#: The same tables as the replay's file sink stores them (``transforms.sinks.files``: ``Outputs_<field>``) and the
#: bench's plain-Python replay (``tools.bench_plain``) builds them: table → (records, label as in
#: :data:`ROW_DICTS`, value row builder, several per record); a value row is the tuple of the dict row's values in
#: the table's column order (``journeyflow.model.tables.value_row``, built without the dict: issue 22).
TABLE_ROWS: dict[str, tuple[str, str, Callable[[Any], Any], bool]] = {
    "decisions": ("decisions", "DecisionRows", decision_values, False),
    "suppressed_candidates": ("decisions", "SuppressedRows", suppressed_values, True),
    "journey_steps": ("steps", "StepRows", journey_step_values, False),
    "customer_snapshots": ("snapshots", "", snapshot_values, False),
    "identity_links": ("links", "", link_values, False),
    "dead_letter": ("dead", "DeadLetterRows", dead_letter_values, False),
    "field_warnings": ("warnings", "FieldWarningRows", field_warning_values, False),
}
assert tuple(TABLE_ROWS) == TABLES, "every analyst table, in TABLES order"


@dataclass
class PipelineOutputs:
    """A pipeline's outputs before they reach a sink.

    ``decisions``, ``dead`` (all dead letters: parse and decide) and ``warnings`` (the parser's field warnings)
    are PCollections of records; ``messages`` the PCollections of :class:`Message` (decision, dead-letter and
    field-warning messages; empty when :attr:`batched`: see :func:`build_outputs`); ``transfers`` the
    ``(target customer, absorb Event)`` state hand-overs (always empty in bounded replay).  Table rows are built on demand by :meth:`table_rows`
    (a pipeline without table sinks does not pay for them)."""

    decisions: beam.PCollection
    dead: beam.PCollection
    messages: tuple[beam.PCollection, ...]
    steps: beam.PCollection
    links: beam.PCollection
    snapshots: beam.PCollection
    transfers: beam.PCollection
    warnings: beam.PCollection
    batched: bool = False  # every PCollection above holds lists of its records (the replay: issue 22)
    _rows: dict[str, beam.PCollection] | None = field(default=None, repr=False)

    def table_rows(self) -> dict[str, beam.PCollection]:
        """One PCollection of rows per analyst table, in ``TABLES`` order (steps ``DecisionRows``,
        ``SuppressedRows``, ``StepRows``, ``DeadLetterRows``, ``FieldWarningRows``; applied once); lists of rows
        when :attr:`batched`."""
        if self._rows is None:
            one, many = (_batch_map, _batch_flat_map) if self.batched else (beam.Map, beam.FlatMap)
            rows = {}
            for table, (source, label, builder, flat) in ROW_DICTS.items():
                pc = getattr(self, source)
                rows[table] = pc if builder is None else pc | label >> (many if flat else one)(builder)
            self._rows = rows
        return self._rows


def _map_each(batch: list, fn) -> Batch:
    return Batch(fn(x) for x in batch)


def _flat_map_each(batch: list, fn) -> Batch:
    return Batch(y for x in batch for y in fn(x))


def _batch_map(fn) -> beam.PTransform:
    """``beam.Map(fn)`` over lists: each list → the list of ``fn`` of its records."""
    return beam.Map(_map_each, fn).with_output_types(Batch)


def _batch_flat_map(fn) -> beam.PTransform:
    """``beam.FlatMap(fn)`` over lists: each list → one list of everything ``fn`` gives for its records."""
    return beam.Map(_flat_map_each, fn).with_output_types(Batch)


def build_outputs(decided: beam.pvalue.DoOutputsTuple, parsed: beam.pvalue.DoOutputsTuple,
                  links: beam.PCollection, more_dead: tuple[beam.PCollection, ...] = (),
                  batched: bool = False) -> PipelineOutputs:
    """The outputs of a pipeline from the per-customer stage's tagged outputs (``decided``), the parser's tagged
    outputs (``parsed``: its dead letters and field warnings, ``transforms.parse``), the identity links
    (``identity_links`` rows) and ``more_dead``, other DeadLetter PCollections (streaming: unusable state-transfer
    messages).  Applies ``AllDeadLetters``, ``DecisionMessages``, ``DeadLetterMessages`` and
    ``FieldWarningMessages`` at the caller's level.  ``batched`` (the replay): every input PCollection holds
    lists of records, and so does every output (one Beam element per list: issue 22); no message steps are
    applied (``messages`` is empty): :class:`~journeyflow.transforms.sinks.files.FileSink` turns each list of
    records into its messages and value rows in one step (:data:`MESSAGES`, :data:`TABLE_ROWS`)."""
    one, many = (_batch_map, _batch_flat_map) if batched else (beam.Map, beam.FlatMap)
    if batched:  # lists: encoded by BatchCoder (transforms.coders), not pickled whole for Beam's size samples
        for pc in (*(decided[t] for t in (DECISIONS, *TAGGED)), parsed[tparse.DEAD], parsed[tparse.WARNINGS],
                   links, *more_dead):
            typed(pc)
    decisions = decided[DECISIONS]
    warnings = parsed[tparse.WARNINGS]
    dead = (parsed[tparse.DEAD], decided[DEAD], *more_dead) | "AllDeadLetters" >> beam.Flatten()
    if batched:
        typed(dead)
    messages: tuple[beam.PCollection, ...] = ()
    if not batched:  # (batched: the file sink makes messages and rows in one step per record list)
        messages = (decisions | "DecisionMessages" >> many(decision_messages),
                    dead | "DeadLetterMessages" >> one(dead_letter_message),
                    warnings | "FieldWarningMessages" >> one(field_warning_message))
    return PipelineOutputs(decisions=decisions, dead=dead, messages=messages, steps=decided[STEPS], links=links,
                           snapshots=decided[SNAPSHOTS], transfers=decided[TRANSFERS], warnings=warnings,
                           batched=batched)
