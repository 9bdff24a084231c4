"""QA round 2 (issues 18/19): input files and values as hostile but real sources write them -- a UTF-8 byte order
mark, invisible format characters in ids and addresses, ``00`` international prefixes, float epoch times, Segment
batch envelopes whose ``context`` is merged with each message's own."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.segment.batch import split_batch
from journeyflow.transforms.sources import _ReadFileFn

HASHER = Hasher(b"test-key")
P = Parser(HASHER)
TS = 1790848800000  # 2026-10-01T10:00:00Z
GOOD = {
    "web": {"event_id": "w1", "ts": TS, "anonymous_id": "dev-1", "type": "page_view"},
    "orders": {"event_id": "o1", "ts": TS, "crm_id": "C001", "order_id": "ORD-1", "type": "order_placed"},
    "support": {"event_id": "s1", "ts": TS, "crm_id": "C001", "ticket_id": "T-1", "type": "ticket_opened"},
    "crm": {"event_id": "c1", "ts": TS, "crm_id": "C001", "type": "contact_created"},
    "engagement": {"event_id": "e1", "ts": TS, "crm_id": "C001", "type": "unsubscribed", "channel": "email"},
    "consent": {"event_id": "k1", "ts": TS, "crm_id": "C001", "status": "revoked", "channel": "email"},
    "track": {"type": "track", "messageId": "m1", "anonymousId": "dev-1", "event": "Clicked",
              "timestamp": "2026-10-01T10:00:00Z"},
}


def parse(stream, raw, parser=P):
    if not isinstance(raw, (bytes, str)):
        raw = json.dumps(raw, ensure_ascii=False).encode()
    return parser.parse_full(stream, raw, "test:1").result


# ------------------------------------------------------------------------------------------ byte order mark
@pytest.mark.parametrize("stream", sorted(GOOD))
def test_a_byte_order_mark_is_not_part_of_the_record(stream):
    """Windows editors, Excel's "CSV UTF-8" and .NET writers start a file with a UTF-8 BOM: the first record of every
    such file was an ``invalid_json`` dead letter (a contact, an opt-out lost)."""
    plain = parse(stream, GOOD[stream])
    for raw in (b"\xef\xbb\xbf" + json.dumps(GOOD[stream]).encode(), "\ufeff" + json.dumps(GOOD[stream])):
        got = parse(stream, raw)
        assert isinstance(got, Event), got
        assert got == plain


def test_a_file_with_a_bom_crlf_blank_lines_and_no_final_newline_reads_every_record(tmp_path):
    lines = [json.dumps({**GOOD["crm"], "event_id": f"c{i}", "crm_id": f"C{i}"}) for i in range(3)]
    path = tmp_path / "crm.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([lines[0], "", "  \t", lines[1], lines[2]]).encode())
    raws = list(_ReadFileFn()._records(("crm", str(path))))
    assert len(raws) == 3
    events = [parse("crm", r.payload) for r in raws]
    assert [e.ids for e in events] == [("crm:C0",), ("crm:C1",), ("crm:C2",)]
    segment = tmp_path / "track.jsonl"
    segment.write_bytes(b"\xef\xbb\xbf" + json.dumps({"batch": [GOOD["track"], {**GOOD["track"], "messageId": "m2"}]})
                        .encode() + b"\r\n" + json.dumps({**GOOD["track"], "messageId": "m3"}).encode())
    got = [parse("track", r.payload) for r in _ReadFileFn()._records(("track", str(segment)))]
    assert [e.uid for e in got] == ["track/m1", "track/m2", "track/m3"]
    assert split_batch("\ufeff" + json.dumps({"batch": [GOOD["track"]]})) is not None


# ---------------------------------------------------------------------------- invisible format characters
INVISIBLE = ("\u200b", "\ufeff", "\u200d", "\u2060", "\u200e", "\u00ad")


@pytest.mark.parametrize("ch", INVISIBLE)
def test_an_opt_out_whose_address_carries_an_invisible_character_applies_to_the_address(ch):
    """``ann@example.com`` + a zero-width space pasted from a web page: the consent revoke was dead-lettered
    (``invalid_identifier``: its one identifier refused) and the promo went to ann@example.com."""
    plain = parse("consent", {**GOOD["consent"], "crm_id": None, "email": "ann@example.com"})
    for email in (f"ann@example.com{ch}", f"{ch}Ann@Example.com", f"ann{ch}@example.com"):
        got = parse("consent", {**GOOD["consent"], "crm_id": None, "email": email})
        assert isinstance(got, Event), (email, got)
        assert got.ids == plain.ids and got.contact == plain.contact


def test_an_address_valid_as_given_keeps_its_joiner():
    """Only an address refused because of format characters is read without them."""
    assert HASHER.email("ann@example.com")[1] == "ann@example.com"
    with pytest.raises(ValueError):
        HASHER.email("\u200b@example.com")


# ------------------------------------------------------------------------------------ 00 international prefix
@pytest.mark.parametrize("raw", ["0044 20 7946 0958", "00442079460958", "00 44 20 7946 0958", "tel:0044-20-7946-0958"])
def test_a_number_with_the_00_international_prefix_is_that_number_in_any_region(raw):
    """Most of the world dials abroad with ``00``: ``0044 20 7946 0958`` in a ticket was refused under region US
    (whose prefix is 011), dropping the ticket's only phone; it is +44 20 7946 0958."""
    for region in ("US", "GB", "DE", "AU", "JP"):
        assert HASHER.phone(raw, region) == HASHER.phone("+44 20 7946 0958"), region
    got = parse("support", {**GOOD["support"], "crm_id": None, "phone": raw})
    assert isinstance(got, Event) and got.contact["phone"] == "+442079460958"


def test_00_is_only_tried_when_the_regions_own_reading_fails():
    assert HASHER.phone("001 415 555 0134", "US")[1] == "+14155550134"
    assert HASHER.phone("0041 44 668 18 00", "CH")[1] == "+41446681800"
    with pytest.raises(ValueError):
        HASHER.phone("00 12", "US")


# --------------------------------------------------------------------------------------------- event times
@pytest.mark.parametrize("ts", [float("nan"), True, {"$date": TS}, [TS]])
def test_a_ts_that_is_not_a_time_is_a_bad_timestamp_in_every_stream(ts):
    """A boolean or an object in ``ts`` was a ``schema_violation`` (the Avro type error) instead of
    ``bad_timestamp``.  (A float epoch -- pandas writes integer columns with a gap as floats -- is read as the time
    it is since qa11c: tests/stages/test_qa11c_export_times.py.)"""
    for stream in sorted(set(GOOD) - {"track"}):
        got = parse(stream, {**GOOD[stream], "ts": ts})
        assert isinstance(got, DeadLetter) and got.reason == "bad_timestamp", (stream, got)
    got = parse("track", {**GOOD["track"], "timestamp": ts})
    assert isinstance(got, DeadLetter) and got.reason == "bad_timestamp"


def test_an_integer_ts_beyond_64_bits_is_out_of_range():
    got = parse("orders", {**GOOD["orders"], "ts": 10**30})
    assert isinstance(got, DeadLetter) and got.reason == "timestamp_out_of_range"


# ----------------------------------------------------------------------------------- Segment batch envelopes
def test_a_batch_context_is_merged_with_each_messages_own():
    """segment-docs (HTTP API, Batch): the envelope's ``context`` "will be merged with any context inside each of
    the items".  A message with its own ``context`` (an ``ip``, its ``traits``) lost the envelope's time zone and
    locale: the identify set no zone, and its national phone was read in the default region."""
    envelope = {"context": {"timezone": "Europe/London", "locale": "en-GB", "library": {"name": "x"}},
                "sentAt": "2026-10-01T10:00:05Z", "batch": [
                    {"type": "identify", "messageId": "i1", "userId": "C001", "timestamp": "2026-10-01T10:00:00Z",
                     "context": {"ip": "203.0.113.9", "traits": {"phone": "020 7946 0958"},
                                 "library": {"version": "2"}},
                     "traits": {"plan": "pro"}},
                    {"type": "identify", "messageId": "i2", "userId": "C002", "timestamp": "2026-10-01T10:00:00Z",
                     "context": {"timezone": "Europe/Paris"}}]}
    first, second = (parse("track", m) for m in split_batch(json.dumps(envelope).encode()))
    assert first.attrs["timezone"] == "Europe/London"
    assert first.contact["phone"] == "+442079460958"
    assert second.attrs["timezone"] == "Europe/Paris"  # the message's own value wins
    merged = json.loads(split_batch(json.dumps(envelope))[0])
    assert merged["context"]["library"] == {"name": "x", "version": "2"}
    assert merged["sentAt"] == "2026-10-01T10:00:05Z"


# ------------------------------------------------------------------------------------ numbers beyond Python's
def test_an_integer_of_more_digits_than_python_converts_never_raises():
    """``json.loads`` raises a plain ValueError (not a JSONDecodeError) for an integer of more than 4,300 digits;
    the parser read ``e.msg`` of it and crashed with AttributeError -- the bundle failed, in streaming for ever.
    The number is out of every range: an optional amount is dropped with a warning, a ts is a dead letter."""
    huge = "9" * 5000
    res = P.parse_full("orders", json.dumps(GOOD["orders"])[:-1] + f', "amount": {huge}}}', "test:1")
    assert isinstance(res.result, Event) and [(w.field, w.reason) for w in res.warnings] == [("amount", "out_of_range")]
    dead = P.parse_full("crm", json.dumps({**GOOD["crm"], "ts": 0}).replace('"ts": 0', f'"ts": {huge}'), "t").result
    assert isinstance(dead, DeadLetter) and dead.reason == "bad_timestamp"
    seg = P.parse_full("track", json.dumps(GOOD["track"])[:-1] + f', "properties": {{"n": -{huge}}}}}', "t").result
    assert isinstance(seg, Event)
    items = split_batch(('{"batch": [%s, {"type": "page", "n": %s}]}' % (json.dumps(GOOD["track"]), huge)).encode())
    assert items is not None and len(items) == 2  # not one unsplit envelope
    assert isinstance(parse("track", items[0]), Event)


# ------------------------------------------------------------------------ Segment products that are no objects
@pytest.mark.parametrize("products", ["p1,p2", 7, ["p1", "p2"], [None, "p1"]])
def test_products_that_are_not_objects_are_reported_not_dropped_silently(products):
    """``"products": "p1,p2"`` (or an array of bare ids) gave an order with no product ids and no warning: nothing
    said why the order's products were lost."""
    msg = {**GOOD["track"], "event": "Order Completed", "userId": "C001",
           "properties": {"order_id": "ORD-1", "products": products}}
    res = P.parse_full("track", json.dumps(msg).encode(), "test:1")
    assert isinstance(res.result, Event) and res.result.type == "order_placed"
    assert res.warnings and {w.field for w in res.warnings} <= {"properties.products[].product_id",
                                                                "properties.products[].sku"}
    assert "not an" in res.warnings[0].detail


# ----------------------------------------------------------------------------------- identifiers of a wrong type
@pytest.mark.parametrize("stream,changes", [
    ("orders", {"crm_id": [12345]}), ("orders", {"crm_id": 12345.5, "email": ["ann@example.com"]}),
    ("orders", {"crm_id": float(2 ** 60), "email": ["ann@example.com"]}),
    ("support", {"crm_id": {"id": 12345}}), ("engagement", {"crm_id": True}),
])
def test_a_record_whose_only_identifiers_have_the_wrong_type_says_so(stream, changes):
    """``crm_id: 12345`` (a JSON number where the schemas have a string) as an order's only identifier was a
    ``missing_identifier`` dead letter ("has no usable identifier"), as if it had none: it is present and unusable."""
    got = parse(stream, {**GOOD[stream], **changes})
    assert isinstance(got, DeadLetter) and got.reason == "invalid_identifier", got
    assert "crm_id" in got.detail



# ------------------------------------------------------------------------------- Segment spellings of a call
def test_a_calls_type_and_event_name_in_a_sources_spelling():
    """``"type": "Track"`` was an ``unknown_type`` dead letter, and ``"event": "Order Completed "`` (a stray space
    in a tracking plan) stayed an unmapped custom event: the order did not cancel the cart reminder."""
    msg = {**GOOD["track"], "type": "Track", "userId": "C001", "event": " Order Completed ",
           "properties": {"order_id": "ORD-1"}}
    got = parse("track", msg)
    assert isinstance(got, Event) and (got.stream, got.type, got.attrs["order_id"]) == ("orders", "order_placed",
                                                                                      "ORD-1")
    ident = parse("track", {**GOOD["track"], "type": " IDENTIFY", "userId": "C001", "traits": {"plan": "pro"}})
    assert ident.type == "identify" and ident.attrs["traits"] == {"plan": "pro"}
    assert parse("track", {**GOOD["track"], "event": "Trial Ending Soon\t"}).type == "Trial Ending Soon"
    assert parse("track", {**GOOD["track"], "type": "tracks"}).reason == "unknown_type"


# ------------------------------------------------------------------------------------ phones as JSON numbers
def test_an_opt_out_naming_its_phone_as_a_json_number_applies_to_that_number():
    """A CSV export turned into JSON types the phone column as numbers: an SMS opt-out naming ``14155550134`` was
    a ``schema_violation`` dead letter (the consent's one identifier), an SMS ``unsubscribed`` naming only it an
    identifier-less dead letter -- and the promo went to that number.  (Elsewhere an integer phone stays a
    ``wrong_type`` field; a grant must name its subject as the schema types it.)"""
    want = parse("consent", {**GOOD["consent"], "crm_id": None, "phone": "+1 415 555 0134", "channel": "sms"})
    got = parse("consent", {**GOOD["consent"], "crm_id": None, "phone": 14155550134, "channel": "sms"})
    assert isinstance(got, Event) and got.ids == want.ids and got.contact == want.contact
    for etype in ("unsubscribed", "complained", "bounced"):
        eng = parse("engagement", {**GOOD["engagement"], "crm_id": None, "type": etype, "channel": "sms",
                                   "phone": 14155550134})
        assert isinstance(eng, Event) and eng.ids == want.ids, (etype, eng)
    grant = parse("consent", {**GOOD["consent"], "crm_id": None, "phone": 14155550134, "status": "granted"})
    assert isinstance(grant, DeadLetter)
    seg = parse("track", {**GOOD["track"], "type": "identify", "traits": {"phone": 14155550134}})
    assert seg.contact["phone"] == "+14155550134"


def test_a_json_array_of_messages_is_a_batch(tmp_path):
    """A batching webhook destination posts a JSON array of messages; saved one request a line, the whole array was
    one ``not_an_object`` dead letter: every message in it lost, and counted as one record read."""
    second = {**GOOD["track"], "messageId": "m2", "type": "page"}
    path = tmp_path / "track.jsonl"
    path.write_text(json.dumps([GOOD["track"], second, 7]) + "\n" + " []\n", encoding="utf-8")
    raws = list(_ReadFileFn()._records(("track", str(path))))
    # (an empty array is one record, a dead letter: tests/beam/test_qa9b_batches.py)
    assert [r.source.rsplit(":", 1)[1] for r in raws] == ["1#1", "1#2", "1#3", "2"]
    got = [parse("track", r.payload) for r in raws]
    assert [g.uid for g in got[:2]] == ["track/m1", "track/m2"] and got[2].reason == "not_an_object"
    assert got[3].reason == "not_an_object"
    assert split_batch(b"[1,") is None  # not JSON: one record, an invalid_json dead letter


@pytest.mark.parametrize("email", ["ann＠example.com", "Ann Lee <ann＠example.com>", "ann﹫example.com"])
def test_an_opt_out_whose_at_sign_is_full_width_applies_to_the_address(email):
    """A Japanese input method types ``＠``: email-validator refuses the address by name ("full-width at-sign"),
    so the revoke was a dead letter while the PII masker already read it as that address."""
    want = parse("consent", {**GOOD["consent"], "crm_id": None, "email": "ann@example.com"})
    got = parse("consent", {**GOOD["consent"], "crm_id": None, "email": email})
    assert isinstance(got, Event) and got.ids == want.ids and got.contact == want.contact
    assert HASHER.email("ａｎｎ＠example.com")[1] == "ann@example.com"  # a full-width local part too (NFKC, qa10d)


def test_a_fault_in_a_check_dead_letters_that_record_only(monkeypatch):
    """A check that raises (the 4,300-digit integer above did, with AttributeError) failed the whole bundle -- in
    streaming, retried for ever.  Injected fault: the record is a ``processing_error`` dead letter naming the
    exception's type, PII masked, and the next record parses."""
    parser = Parser(HASHER)

    def broken(*_args, **_kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(parser, "_parse", broken)
    raw = json.dumps({**GOOD["track"], "userId": "ann@example.com"}).encode()
    dead = parser.parse_full("track", raw, "test:1").result
    assert isinstance(dead, DeadLetter) and dead.reason == "processing_error" and "KeyError" in dead.detail
    assert "ann@example.com" not in dead.payload and dead.source == "test:1"
    monkeypatch.undo()
    assert isinstance(parser.parse_full("track", raw, "test:2").result, Event)


def test_a_revokes_unusable_second_identifier_is_a_valid_field_warning():
    """A revoke naming a phone and a broken email applies to the phone and drops the email with a warning -- whose
    field (``consent.email``) the field_warnings table's check (``journeyflow validate``: ``field_is_optional``)
    and ``is_warning_field`` did not know, so validate failed on a table the replay wrote itself."""
    from journeyflow.stages.fields import is_warning_field, warning_field_families

    res = P.parse_full("consent", json.dumps({**GOOD["consent"], "crm_id": None, "phone": "+44 20 7946 0958",
                                              "email": "'; DROP TABLE customers; --", "channel": "sms"}).encode(), "t")
    assert isinstance(res.result, Event) and [w.field for w in res.warnings] == ["email"]
    assert is_warning_field("consent", "email") and "consent.email" in warning_field_families()
    assert not is_warning_field("consent", "status")


def test_a_short_number_in_phone_is_still_the_wrong_type():
    res = P.parse_full("support", json.dumps({**GOOD["support"], "phone": 19}).encode(), "t")
    assert [(w.field, w.reason) for w in res.warnings] == [("phone", "wrong_type")]


@pytest.mark.parametrize("value", [[], {"type": "unsubscribed"}, ["unsubscribed"]])
def test_a_type_that_is_no_string_is_an_unknown_type_in_every_stream(value):
    for stream in sorted(set(GOOD) - {"track"}):
        field = "status" if stream == "consent" else "type"
        got = parse(stream, {**GOOD[stream], field: value})
        assert isinstance(got, DeadLetter) and got.reason == "unknown_type", (stream, got)


# ----------------------------------------------------------------------------------- ids written as JSON integers
@pytest.mark.parametrize("stream,field,value", [
    ("orders", "order_id", 4711), ("orders", "crm_id", 12345), ("support", "ticket_id", 98765),
    ("crm", "crm_id", 12345678), ("crm", "owner_id", 7), ("consent", "crm_id", 1234567),
    ("web", "anonymous_id", 987654321), ("web", "user_id", 42), ("web", "product_id", 123),
    ("engagement", "crm_id", 555), ("web", "event_id", 90001),
])
def test_an_id_written_as_a_json_integer_is_its_digits(stream, field, value):
    """Shopify order/product ids, Zendesk ticket ids, HubSpot contact/owner ids are JSON integers: before, such a
    record was a ``schema_violation`` dead letter (an order lost: its cart reminder still went out)."""
    from journeyflow.stages.identity.keys import crm_key
    rec = {**GOOD[stream], field: value}
    res = P.parse_full(stream, json.dumps(rec).encode(), "test:1")
    ev = res.result
    assert isinstance(ev, Event), ev
    assert not res.warnings
    as_text = P.parse(stream, json.dumps({**rec, field: str(value)}).encode())
    assert (ev.uid, ev.ids, ev.attrs) == (as_text.uid, as_text.ids, as_text.attrs)  # the same as its digits
    if field == "crm_id":
        assert crm_key(str(value)) in ev.ids


@pytest.mark.parametrize("stream,field,value", [
    ("orders", "order_id", 4711.0), ("orders", "crm_id", 12345.0), ("support", "ticket_id", 98765.0),
    ("crm", "crm_id", 12345678.0), ("consent", "crm_id", 1234567.0), ("web", "user_id", 42.0),
    ("web", "product_id", 123.0), ("engagement", "crm_id", 555.0), ("web", "event_id", 9.0001e4),
])
def test_an_id_written_as_a_whole_float_is_its_digits(stream, field, value):
    """A pandas column with one missing value is float64, so its JSON export writes every id as ``12345.0``: each
    such record was a ``schema_violation`` / ``invalid_identifier`` dead letter.  Read as the integer's digits, in
    the full parser and in the replay's chunk path (``parse_records``, the fast path first)."""
    from journeyflow.stages.parse_lines import parse_records
    rec = {**GOOD[stream], field: value}
    raw = json.dumps(rec).encode()
    res = P.parse_full(stream, raw, "test:1")
    ev = res.result
    assert isinstance(ev, Event), ev
    assert not res.warnings
    as_text = P.parse(stream, json.dumps({**rec, field: str(int(value))}).encode())
    assert (ev.uid, ev.ids, ev.attrs) == (as_text.uid, as_text.ids, as_text.attrs)
    events, dead, warned = parse_records(P, stream, [raw], ["test:1"])
    assert (dead, warned) == ([], []) and (events[0].uid, events[0].ids, events[0].attrs) == (ev.uid, ev.ids, ev.attrs)


def test_an_opt_out_naming_its_phone_as_a_whole_float_applies_to_that_number():
    want = parse("consent", {**GOOD["consent"], "crm_id": None, "phone": "+1 415 555 0134", "channel": "sms"})
    got = parse("consent", {**GOOD["consent"], "crm_id": None, "phone": 14155550134.0, "channel": "sms"})
    assert isinstance(got, Event) and got.ids == want.ids and got.contact == want.contact


def test_product_ids_written_as_integers_are_their_digits():
    ev = P.parse("orders", json.dumps({**GOOD["orders"], "product_ids": [101, "SKU-2", 102.0]}).encode())
    assert isinstance(ev, Event) and ev.attrs["product_ids"] == ["101", "SKU-2", "102"]


@pytest.mark.parametrize("value", [True, 12.5, [1], {"id": 1}])
def test_an_id_of_another_type_is_still_refused(value):
    got = P.parse("orders", json.dumps({**GOOD["orders"], "order_id": value}).encode())
    assert isinstance(got, DeadLetter) and got.reason == DeadLetterReason.SCHEMA_VIOLATION, got


@pytest.mark.parametrize("field,value", [("userId", 12345.0), ("anonymousId", 987654321.0), ("messageId", 90001.0)])
def test_a_segment_id_written_as_a_whole_float_is_its_digits(field, value):
    """The Segment stream's ids have their own reader (``stages.segment.calls.text``): a warehouse or pandas export
    replayed as Segment calls writes ``userId: 12345.0``; it was an ``invalid_identifier`` warning (the only id:
    a dead letter), not the customer ``12345``."""
    rec = {**GOOD["track"], "userId": "u1", field: value}
    res = P.parse_full("track", json.dumps(rec).encode(), "test:1")
    ev = res.result
    assert isinstance(ev, Event), ev
    assert not res.warnings
    as_text = P.parse("track", json.dumps({**rec, field: str(int(value))}).encode())
    assert (ev.uid, ev.ids) == (as_text.uid, as_text.ids)


@pytest.mark.parametrize("value", [12.5, float(2 ** 60), True])
def test_a_segment_user_id_that_is_no_whole_number_within_2_53_is_still_refused(value):
    rec = {**GOOD["track"], "anonymousId": None, "userId": value}
    got = P.parse_full("track", json.dumps(rec).encode(), "test:1").result
    assert isinstance(got, DeadLetter) and got.reason == DeadLetterReason.INVALID_IDENTIFIER, got


def test_a_segment_mapped_id_beyond_2_53_is_not_a_rounded_id():
    """The mapping's ``as: strings`` / ``as: text`` conversions read whole floats as their digits like the ids
    above, but not beyond 2**53 where a double no longer holds every integer (``1e20`` is not the order
    ``100000000000000000000`` that was written): a field warning, not a wrong id."""
    from journeyflow.stages.segment.mapping import convert
    assert convert(4711.0, "text") == ("4711", None)
    assert convert([101.0, "SKU-2"], "strings") == (["101", "SKU-2"], None)
    assert convert(1e20, "text")[0] is None
    assert convert([1e20, "SKU-2"], "strings")[0] == ["SKU-2"]


@pytest.mark.parametrize("phone", [14155550134, 14155550134.0])
def test_a_segment_traits_phone_written_as_a_number_is_that_number(phone):
    """``traits.phone`` as a JSON integer was read; as a whole float (the same pandas export) it was an
    ``invalid_identifier`` warning ("phone is not a string") and the customer lost the phone's identity link."""
    rec = {"type": "identify", "messageId": "m2", "userId": "u1", "timestamp": "2026-10-01T10:00:00Z"}
    want = P.parse_full("track", json.dumps({**rec, "traits": {"phone": "+1 415 555 0134"}}).encode(), "t:1")
    got = P.parse_full("track", json.dumps({**rec, "traits": {"phone": phone}}).encode(), "t:1")
    assert isinstance(got.result, Event) and not got.warnings, got
    assert (got.result.ids, got.result.contact) == (want.result.ids, want.result.contact)


def test_a_phone_float_beyond_2_53_is_no_number():
    with pytest.raises(Exception, match="phone is not a string"):
        HASHER.phone(float(2 ** 60))


def test_a_web_property_beyond_64_bits_says_so():
    """qa12c: the web properties check dropped an integer beyond 64 bits with "entries are not scalar values", which
    sent users looking for nesting; it is a scalar out of the schema's long range (out_of_range, kept as a string
    if sent as one)."""
    rec = {**GOOD["web"], "properties": {"plan": "pro", "external_id": 2 ** 70}}
    res = P.parse_full("web", json.dumps(rec).encode(), "t:1")
    assert isinstance(res.result, Event) and res.result.attrs["properties"] == {"plan": "pro"}
    (w,) = res.warnings
    assert w.reason == "out_of_range" and "beyond 64 bits" in w.detail
    rec["properties"]["nested"] = {"a": 1}
    (w,) = P.parse_full("web", json.dumps(rec).encode(), "t:1").warnings
    assert w.reason == "wrong_type" and "2 of 3 entries are not scalar values, 1 of them integers beyond 64" in w.detail
