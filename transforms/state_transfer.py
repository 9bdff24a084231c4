"""The state-transfer loopback of streaming identity merges: when customer A is linked into B, A's state travels
to B as an ``absorb`` event through the state-transfer topic (``journeyflow.adapters.pubsub_names.STATE_TRANSFER``)
and comes back into ``DecideOrdered`` keyed by B.

Message, version 1 (the only version):

* attributes ``v`` = ``"1"``, ``target`` (the surviving customer id) and ``ts`` (the event time, epoch ms, which the
  read uses as the message's timestamp);
* data = a 12-byte random nonce followed by AES-256-GCM (``cryptography``'s ``AESGCM``) of
  :func:`journeyflow.model.events.encode_event` of the absorb event, with the associated data
  ``journeyflow-transfer|1|<target>|<ts>`` (so the attributes cannot be changed without the message failing).

Why sealed: the absorb event carries the whole customer state, whose ``contact`` part holds the raw email address
and phone number a later send needs (issue 23.5: nothing personal leaves a customer's state except the delivery
address of a send).  Keeping the addresses out of the state instead would need a second store for them; sealing
keeps the topic opaque to anyone reading it (a subscription, a dead-letter copy, a debugging pull) and, being
authenticated, also refuses a forged or altered hand-over.  The key is derived with HKDF-SHA256 from the same
secret as the identifier HMAC key (``journeyflow.stages.identity.secret``, purpose :data:`KEY_PURPOSE`), so a
deployment has one secret and every worker derives the same sealing key.  Changing the secret (which already
means new identities) also makes in-flight transfers unreadable: they are dead-lettered, not crashed on.

Reading (step ``DecodeTransfer``): every message is validated; one that cannot be used becomes a
:class:`~journeyflow.model.dead_letters.DeadLetter` (stream ``_state_transfer``, no payload: it may hold a
customer's state) with one of the ``transfer_*`` reasons of :class:`~journeyflow.model.reasons.DeadLetterReason`
and is counted (``journeyflow`` counters ``state_transfers_read``, ``state_transfers_dead_lettered`` and one per
reason, ``state_transfer_<reason>``) — never an exception that would stop the job.  With an identity store
(``store_url``, as the streaming graph reads it) a valid hand-over is then addressed to the customer its target
belonged to at the hand-over's time (``journeyflow.stages.identity.online.transfer_target``): a target merged away
meanwhile by a link dated earlier that arrived last passes the state on to its survivor (counter
``state_transfers_rerouted``) instead of keeping it in a customer whose state is gone.  A status-only hand-over (a
late opt-out of a customer merged away before it arrived: ``identity.online.status_handover``) goes to the
customer its target belongs to now, a bounce in it that names no address naming the addresses the target had at
the bounce's time (``identity.online.route_transfer``).
"""
from __future__ import annotations

import base64
import os
import threading
from typing import Iterator

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage, ReadFromPubSub
from apache_beam.metrics import Metrics
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from journeyflow.adapters.pubsub_names import (
    MAX_ATTRIBUTE_VALUE_BYTES,
    STATE_TRANSFER,
    clip_utf8,
    state_transfer_subscription,
)
from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event, decode_event, encode_event
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.identity.online import ABSORB, IDENTITY_STREAM, route_transfer
from journeyflow.stages.identity.rules import LinkRules
from journeyflow.stages.identity.secret import derive_key, key_from_env
from journeyflow.stages.parse import mask_pii
from journeyflow.transforms.outputs import DEAD, NAMESPACE, Message

#: The version this code writes and the only one it reads (attribute ``v``).
VERSION = "1"
#: HKDF ``info`` of the sealing key.
KEY_PURPOSE = "journeyflow state-transfer v1"
#: ``DeadLetter.stream`` of a state-transfer message that could not be used.
TRANSFER_STREAM = "_state_transfer"
#: Main output tag of ``DecodeTransfer``.
TRANSFERS_IN = "transfers"
_NONCE = 12
_TAG = 16

_ciphers: dict[bytes, AESGCM] = {}
_ciphers_lock = threading.Lock()


def _cipher() -> AESGCM:
    """The process's sealing cipher for the current secret (``JOURNEYFLOW_HASH_KEY``, read when first needed on the
    worker, never on the launcher)."""
    secret = key_from_env()
    with _ciphers_lock:
        c = _ciphers.get(secret)
        if c is None:
            c = _ciphers[secret] = AESGCM(derive_key(secret, KEY_PURPOSE))
        return c


def _aad(target: str, ts: str) -> bytes:
    return f"journeyflow-transfer|{VERSION}|{target}|{ts}".encode()


def transfer_message(item: tuple[str, Event]) -> Message:
    """``(target customer id, absorb event)`` → its sealed :class:`Message` on the state-transfer topic.  The
    ``target`` attribute is the id cut to Pub/Sub's 1,024-byte limit (``clip_utf8``; ids are shorter in practice):
    the sealed event names the whole id, which :func:`from_transfer` returns."""
    target, ev = item
    ts = str(ev.ts)
    shown = clip_utf8(target, MAX_ATTRIBUTE_VALUE_BYTES)  # (an id over Pub/Sub's limit: the whole one is sealed)
    nonce = os.urandom(_NONCE)
    data = nonce + _cipher().encrypt(nonce, encode_event(ev), _aad(shown, ts))
    return Message(STATE_TRANSFER, data, {"v": VERSION, "target": shown, "ts": ts})


class TransferRejected(ValueError):
    """A state-transfer message that cannot be used: its :class:`DeadLetterReason` and a detail without PII."""

    def __init__(self, reason: DeadLetterReason, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail

    def __reduce__(self):
        return (type(self), (self.reason, self.detail))


def _check_absorb(target: str, ts: str, ev: Event) -> None:
    """Raises :class:`TransferRejected` (``transfer_invalid``) unless ``ev`` is an absorb event for ``target`` at
    ``ts`` whose handed-over state can be read."""
    from journeyflow.stages.state import CustomerState

    def bad(why: str) -> TransferRejected:
        return TransferRejected(DeadLetterReason.TRANSFER_INVALID, f"not an absorb event for its target: {why}")

    if ev.stream != IDENTITY_STREAM or ev.type != ABSORB:
        raise bad(f"stream/type {ev.stream[:40]!r}/{ev.type[:40]!r}")
    if tuple(ev.ids) != (target,):
        raise bad("its identifiers are not the target")
    if str(ev.ts) != ts:
        raise bad("its event time differs from the ts attribute")
    state, origin = ev.attrs.get("state"), ev.attrs.get("from")
    if not isinstance(state, str) or not isinstance(origin, str) or not origin:
        raise bad("no state or no origin customer")
    try:
        CustomerState.from_bytes(base64.b64decode(state, validate=True))
    except Exception as e:  # noqa: BLE001 - whatever the state decoder raises, the message is unusable
        raise bad(f"the state does not decode ({type(e).__name__})") from None


def from_transfer(msg: PubsubMessage) -> tuple[str, Event]:
    """Inverse of :func:`transfer_message`: ``(target customer id, absorb event)``.  Raises
    :class:`TransferRejected` (never another exception) for a message that cannot be used, in this order: no or
    an unknown version (``transfer_unknown_version``), no or an empty ``target`` (``transfer_missing_target``),
    data that does not open with the key and attributes (``transfer_undecodable``: garbage, another key, altered
    attributes), an opened payload that is not a valid absorb event for the target (``transfer_invalid``)."""
    attrs = msg.attributes or {}
    version = attrs.get("v")
    if version != VERSION:
        detail = "no version attribute (v)" if version is None else f"version {mask_pii(str(version))[:20]!r}"
        raise TransferRejected(DeadLetterReason.TRANSFER_UNKNOWN_VERSION,
                               f"{detail}; this job reads version {VERSION}")
    target = attrs.get("target")
    if not isinstance(target, str) or not target.strip():
        raise TransferRejected(DeadLetterReason.TRANSFER_MISSING_TARGET, "no target customer id (attribute target)")
    ts = str(attrs.get("ts", ""))
    data = msg.data or b""
    if len(data) < _NONCE + _TAG:
        raise TransferRejected(DeadLetterReason.TRANSFER_UNDECODABLE, f"{len(data)} bytes: too short to be sealed")
    try:
        plain = _cipher().decrypt(data[:_NONCE], data[_NONCE:], _aad(target, ts))
    except InvalidTag:
        raise TransferRejected(DeadLetterReason.TRANSFER_UNDECODABLE, f"{len(data)} bytes that do not open with "
                               "this job's key and the message's attributes (garbage, another key, or altered)") \
            from None
    try:
        ev = decode_event(plain)
    except Exception as e:  # noqa: BLE001 - whatever the decoder raises (bad JSON, wrong arity, types)
        raise TransferRejected(DeadLetterReason.TRANSFER_INVALID,
                               f"the sealed payload is not an event ({type(e).__name__})") from None
    if not isinstance(ev.uid, str) or not isinstance(ev.stream, str) or not isinstance(ev.type, str) \
            or not isinstance(ev.attrs, dict) or not isinstance(ev.ts, int):
        raise TransferRejected(DeadLetterReason.TRANSFER_INVALID, "the sealed payload is not an event (field types)")
    whole = ev.ids[0] if len(ev.ids) == 1 and isinstance(ev.ids[0], str) else None
    if whole is not None and whole != target and clip_utf8(whole, MAX_ATTRIBUTE_VALUE_BYTES) == target:
        target = whole  # an id longer than an attribute may be (``transfer_message``)
    _check_absorb(target, ts, ev)
    return target, ev


def _event_time(attrs) -> int | None:
    try:
        return int(attrs.get("ts"))
    except (TypeError, ValueError):
        return None


class DecodeTransferFn(beam.DoFn):
    """PubsubMessage → ``(target customer id, absorb Event)`` (main output), or a DeadLetter under ``DEAD``
    (counted, see the module docstring).  Never raises for a bad message.  ``stamp``: emit each transfer with its
    event time as element timestamp (the local runner, whose reader is used without ``timestamp_attribute``: the
    ``ts`` attribute is sealed with the payload and checked against the absorb event, so it is the event's time).
    ``store_url`` (with ``rules``): address each transfer to its target's customer at its time (module docstring);
    the store is opened in ``setup`` and closed in ``teardown``."""

    def __init__(self, stamp: bool = False, store_url: str | None = None, rules: LinkRules | None = None):
        self.stamp = stamp
        self.store_url = store_url
        self.rules = rules
        self.store = None
        self.rerouted = Metrics.counter(NAMESPACE, "state_transfers_rerouted")
        self.read = Metrics.counter(NAMESPACE, "state_transfers_read")
        self.dead = Metrics.counter(NAMESPACE, "state_transfers_dead_lettered")
        self.by_reason = {r: Metrics.counter(NAMESPACE, f"state_transfer_{r.value}") for r in DeadLetterReason
                          if r.value.startswith("transfer_")}

    def setup(self) -> None:
        """Open the identity store when one is configured (``journeyflow.adapters.identity_store.open_store``)."""
        if self.store_url:
            from journeyflow.adapters.identity_store import open_store
            self.store = open_store(self.store_url, self.rules)

    def teardown(self) -> None:
        """Close the identity store, if it was opened."""
        if self.store is not None:
            self.store.close()
            self.store = None

    def process(self, msg: PubsubMessage) -> Iterator:
        """One message → its transfer, or its dead letter (tag ``DEAD``)."""
        self.read.inc()
        try:
            target, ev = from_transfer(msg)
        except TransferRejected as e:
            self.dead.inc()
            self.by_reason[e.reason].inc()
            attrs = msg.attributes or {}
            message_id = getattr(msg, "message_id", None)
            yield beam.pvalue.TaggedOutput(DEAD, DeadLetter(
                stream=TRANSFER_STREAM, reason=e.reason, detail=e.detail, payload="",
                source=f"pubsub:{message_id}" if message_id else "pubsub:state-transfer",
                event_time=_event_time(attrs)))
            return
        if self.store is not None:  # (a status-only hand-over's bounce naming no address gets its addresses)
            routed, ev = route_transfer(self.store, target, ev)
            if routed != target:
                self.rerouted.inc()
                target = routed
        yield beam.window.TimestampedValue((target, ev), ev.ts / 1000) if self.stamp else (target, ev)


def read_state_transfers(p: beam.Pipeline, project: str, prefix: str, local: bool = False,
                         store_url: str | None = None, rules: LinkRules | None = None) -> beam.pvalue.DoOutputsTuple:
    """The state transfers read back (top-level steps ``Read_state_transfer``, ``DecodeTransfer``): tag
    :data:`TRANSFERS_IN` (main) ``(target customer id, absorb Event)`` with the event time as timestamp, tag
    ``DEAD`` the dead letters of unusable messages.  ``local``: the bundle-based DirectRunner, whose reader raises
    before acking on a ``ts`` attribute it cannot parse (a stuck subscription, ``transforms.sources``): read without
    ``timestamp_attribute`` there and stamp the checked transfers in ``DecodeTransfer``.  ``store_url`` and
    ``rules``: the identity store the transfers are addressed by (``DecodeTransferFn``)."""
    read = ReadFromPubSub(subscription=state_transfer_subscription(project, prefix), with_attributes=True,
                          timestamp_attribute=None if local else "ts")
    return (
        p
        | "Read_state_transfer" >> read
        | "DecodeTransfer" >> beam.ParDo(DecodeTransferFn(stamp=local, store_url=store_url, rules=rules)).with_outputs(
            DEAD, main=TRANSFERS_IN)
    )
