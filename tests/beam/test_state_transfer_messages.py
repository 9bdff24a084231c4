"""Issue 23.2 and 23.5: state-transfer messages are versioned, sealed (no raw address on the topic) and validated;
an unusable message is a dead letter with a ``transfer_*`` reason and a counter, never an exception."""
from __future__ import annotations

import base64
import os

import apache_beam as beam
import pytest
from apache_beam.io.gcp.pubsub import PubsubMessage
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from journeyflow.model.events import Event, encode_event
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.identity.online import ABSORB, IDENTITY_STREAM
from journeyflow.stages.identity.secret import HASH_KEY_ENV
from journeyflow.stages.state import CustomerState
from journeyflow.transforms import state_transfer as st
from journeyflow.transforms.outputs import DEAD

T = 1_791_000_000_000
EMAIL, PHONE = "ann.lee@example.com", "+14155550134"


def absorb(target: str = "crm:C1", ts: int = T, state: CustomerState | None = None) -> Event:
    if state is None:
        state = CustomerState(customer_id="anon:d1", ids=["anon:d1"])
        state.addresses = {"email:e1": ["email", EMAIL, T - 5], "phone:p1": ["phone", PHONE, T - 5]}
    return Event(f"absorb:anon:d1:merge:{ts}", IDENTITY_STREAM, ABSORB, ts, (target,),
                 {"state": base64.b64encode(state.to_bytes()).decode(), "from": "anon:d1"}, {})


def pubsub(msg) -> PubsubMessage:
    return PubsubMessage(msg.data, dict(msg.attributes))


def reason_of(msg: PubsubMessage) -> DeadLetterReason:
    with pytest.raises(st.TransferRejected) as e:
        st.from_transfer(msg)
    return e.value.reason


def test_a_transfer_round_trips_and_carries_no_address_in_clear():
    ev = absorb()
    msg = st.transfer_message(("crm:C1", ev))
    assert msg.attributes == {"v": "1", "target": "crm:C1", "ts": str(T)}
    assert st.from_transfer(pubsub(msg)) == ("crm:C1", ev)
    # the state (with its contact part) is inside; nothing of it is readable on the topic
    plain = encode_event(ev)
    assert CustomerState.from_bytes(base64.b64decode(ev.attrs["state"])).addresses["email:e1"][1] == EMAIL
    for needle in (EMAIL.encode(), PHONE.encode(), b"ann.lee", b"5550134", ev.attrs["state"][:40].encode(), plain[:40]):
        assert needle not in msg.data and all(needle.decode() not in v for v in msg.attributes.values())
    assert st.transfer_message(("crm:C1", ev)).data != msg.data  # a fresh nonce every time


def test_every_malformed_message_is_rejected_with_its_reason():
    good = st.transfer_message(("crm:C1", absorb()))
    a = dict(good.attributes)
    cases = {
        "no version": (good.data, {k: v for k, v in a.items() if k != "v"}, DeadLetterReason.TRANSFER_UNKNOWN_VERSION),
        "version 2": (good.data, {**a, "v": "2"}, DeadLetterReason.TRANSFER_UNKNOWN_VERSION),
        "no target": (good.data, {k: v for k, v in a.items() if k != "target"},
                      DeadLetterReason.TRANSFER_MISSING_TARGET),
        "empty target": (good.data, {**a, "target": " "}, DeadLetterReason.TRANSFER_MISSING_TARGET),
        "garbage": (os.urandom(300), a, DeadLetterReason.TRANSFER_UNDECODABLE),
        "short": (b"xyz", a, DeadLetterReason.TRANSFER_UNDECODABLE),
        "empty": (b"", a, DeadLetterReason.TRANSFER_UNDECODABLE),
        "plaintext (old format)": (encode_event(absorb()), a, DeadLetterReason.TRANSFER_UNDECODABLE),
        "target changed": (good.data, {**a, "target": "crm:C2"}, DeadLetterReason.TRANSFER_UNDECODABLE),
        "ts changed": (good.data, {**a, "ts": str(T + 1)}, DeadLetterReason.TRANSFER_UNDECODABLE),
        "flipped bit": (good.data[:-1] + bytes([good.data[-1] ^ 1]), a, DeadLetterReason.TRANSFER_UNDECODABLE),
    }
    for name, (data, attrs, reason) in cases.items():
        assert reason_of(PubsubMessage(data, attrs)) == reason, name


def test_a_sealed_payload_of_the_wrong_shape_is_invalid():
    """Sealed with the right key (a bug or an old writer), but not an absorb event for the target."""
    ok = absorb()
    wrong = {
        "not an event": b'{"a": 1}',
        "wrong arity": b'["u", "_identity", "absorb"]',
        "another type": encode_event(Event(ok.uid, IDENTITY_STREAM, "merge_into", T, ("crm:C1",), {"into": "x"}, {})),
        "another target": encode_event(absorb(target="crm:OTHER")),
        "another time": encode_event(absorb(ts=T + 5)),
        "state not base64": encode_event(Event(ok.uid, IDENTITY_STREAM, ABSORB, T, ("crm:C1",),
                                               {"state": "%%%", "from": "anon:d1"}, {})),
        "state not a state": encode_event(Event(ok.uid, IDENTITY_STREAM, ABSORB, T, ("crm:C1",),
                                                {"state": base64.b64encode(b"Jnot json").decode(), "from": "anon:d1"},
                                                {})),
        "no origin": encode_event(Event(ok.uid, IDENTITY_STREAM, ABSORB, T, ("crm:C1",),
                                        {"state": ok.attrs["state"]}, {})),
    }
    for name, plain in wrong.items():
        nonce = os.urandom(12)
        data = nonce + st._cipher().encrypt(nonce, plain, st._aad("crm:C1", str(T)))
        assert reason_of(PubsubMessage(data, {"v": "1", "target": "crm:C1", "ts": str(T)})) \
            == DeadLetterReason.TRANSFER_INVALID, name


def test_another_key_cannot_open_a_transfer(monkeypatch):
    monkeypatch.setenv(HASH_KEY_ENV, "first-secret-key-0123456789abcdef")
    msg = pubsub(st.transfer_message(("crm:C1", absorb())))
    assert st.from_transfer(msg)[0] == "crm:C1"
    monkeypatch.setenv(HASH_KEY_ENV, "second-secret-key-0123456789abcdef")
    assert reason_of(msg) == DeadLetterReason.TRANSFER_UNDECODABLE


def test_decode_transfer_dead_letters_and_counts_instead_of_raising():
    good = st.transfer_message(("crm:C1", absorb()))
    bad = [PubsubMessage(good.data, {"v": "1", "ts": str(T)}),  # the crash of issue 23.2: no target
           PubsubMessage(good.data, {**good.attributes, "v": "9"}),
           PubsubMessage(b"\x00garbage" * 10, dict(good.attributes), message_id="m-3")]
    p = TestPipeline()
    out = (p | beam.Create([pubsub(good), *bad])
           | beam.ParDo(st.DecodeTransferFn()).with_outputs(DEAD, main=st.TRANSFERS_IN))
    assert_that(out[st.TRANSFERS_IN] | beam.Map(lambda kv: (kv[0], kv[1].uid)),
                equal_to([("crm:C1", absorb().uid)]), label="the_good_one")
    assert_that(out[DEAD] | beam.Map(lambda d: (d.stream, str(d.reason), d.payload, d.event_time)),
                equal_to([("_state_transfer", "transfer_missing_target", "", T),
                          ("_state_transfer", "transfer_unknown_version", "", T),
                          ("_state_transfer", "transfer_undecodable", "", T)]), label="dead")
    result = p.run()
    result.wait_until_finish()
    counters = {c.key.metric.name: c.committed
                for c in result.metrics().query(MetricsFilter().with_namespace("journeyflow"))["counters"]}
    assert counters["state_transfers_read"] == 4
    assert counters["state_transfers_dead_lettered"] == 3
    assert counters["state_transfer_transfer_missing_target"] == 1
    assert counters["state_transfer_transfer_undecodable"] == 1


@pytest.mark.parametrize("ts_attribute", ["abc", "", "1e12", str(T + 1)])
def test_locally_a_bad_ts_attribute_is_a_dead_letter_and_a_good_transfer_is_stamped(ts_attribute):
    """The local reader is used without ``timestamp_attribute`` (it raises before acking on a ``ts`` it cannot
    parse): the sealed ``ts`` is checked in DecodeTransfer, and a good transfer gets its event time there."""
    good = st.transfer_message(("crm:C1", absorb()))
    bad = PubsubMessage(good.data, {**good.attributes, "ts": ts_attribute})
    p = TestPipeline()
    out = (p | beam.Create([pubsub(good), bad])
           | beam.ParDo(st.DecodeTransferFn(stamp=True)).with_outputs(DEAD, main=st.TRANSFERS_IN))

    class Stamp(beam.DoFn):
        def process(self, kv, timestamp=beam.DoFn.TimestampParam):
            yield kv[0], timestamp.micros // 1000

    assert_that(out[st.TRANSFERS_IN] | beam.ParDo(Stamp()), equal_to([("crm:C1", T)]), label="stamped")
    assert_that(out[DEAD] | beam.Map(lambda d: str(d.reason)), equal_to(["transfer_undecodable"]), label="dead")
    p.run().wait_until_finish()
