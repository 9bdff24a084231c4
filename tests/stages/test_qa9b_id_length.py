"""qa9b: identifier length is bounded.

A 5,000-character user id, anonymous id or CRM id (a whole payload or a token pasted into the field) reached the
identity graph as a customer id and a Bigtable row key (4 KB limit) and every table.  Now an id longer than
``keys.MAX_ID_CHARS`` (256) once stripped is refused: ``invalid_identifier`` when it was the record's required or
only identifier, dropped with a field warning when an optional one stands beside a usable one (the existing rule
for invalid optional identifiers).  Same on every stream, both parse paths, and the Segment stream."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import MAX_ID_CHARS, MAX_RAW_CHARS, Hasher, InvalidIdentifier, anon_key, crm_key
from journeyflow.stages.parse import Parser
from tests.stages.test_input_edge_cases import GOOD, HASHER, P

LONG = "x" * (MAX_ID_CHARS + 1)

# (stream, the id field, its own identifier beside it (None: it is the record's only / required one))
ONLY = [("web", "anonymous_id"), ("orders", "crm_id"), ("support", "crm_id"), ("crm", "crm_id"),
        ("engagement", "crm_id"), ("consent", "crm_id")]
BESIDE = [("web", "user_id", {}), ("orders", "crm_id", {"email": "ann@example.com"}),
          ("support", "crm_id", {"email": "ann@example.com"}), ("engagement", "crm_id", {"phone": "+14155550134"})]


def both(stream, rec):
    """(parse_full's result and warnings, Parser.parse's result: the fast path first for the built-in streams)."""
    raw = json.dumps(rec).encode()
    full = P.parse_full(stream, raw, "t:1")
    return full.result, full.warnings, Parser(HASHER).parse(stream, raw, "t:1")


@pytest.mark.parametrize("stream, field", ONLY)
def test_a_too_long_required_or_only_id_is_an_invalid_identifier(stream, field):
    ev, warnings, fast = both(stream, {**GOOD[stream], field: LONG})
    assert isinstance(ev, DeadLetter) and ev.reason == "invalid_identifier", ev
    assert str(MAX_ID_CHARS) in ev.detail and warnings == ()
    assert isinstance(fast, DeadLetter) and fast.reason == "invalid_identifier"


@pytest.mark.parametrize("stream, field, other", BESIDE)
def test_a_too_long_optional_id_beside_a_usable_one_is_dropped_with_a_warning(stream, field, other):
    rec = {**GOOD[stream], **other, field: LONG}
    if stream == "web":
        rec["user_id"] = LONG
    ev, warnings, fast = both(stream, rec)
    assert isinstance(ev, Event), ev
    assert all(len(k) <= MAX_ID_CHARS + 5 for k in ev.ids) and LONG not in "".join(ev.ids)
    assert [(w.field, w.reason, w.action) for w in warnings] == [(field, "invalid_identifier", "dropped")]
    assert isinstance(fast, Event) and fast.ids == ev.ids


def test_an_id_of_exactly_the_limit_is_kept_and_padding_does_not_count():
    at = "y" * MAX_ID_CHARS
    assert crm_key(f"  {at}\u200b ") == f"crm:{at}" and anon_key(at) == f"anon:{at}"
    with pytest.raises(InvalidIdentifier):
        crm_key(at + "y")
    ev, _w, fast = both("crm", {**GOOD["crm"], "crm_id": f" {at} "})
    assert isinstance(ev, Event) and ev.ids == (f"crm:{at}",) and fast == ev


@pytest.mark.parametrize("changes, reason, warned", [
    ({"anonymousId": LONG}, "invalid_identifier", None),
    ({"userId": LONG}, None, "userId"),
    ({"userId": "u-1", "anonymousId": LONG}, None, "anonymousId"),
    ({"userId": int("9" * 300)}, None, "userId"),
])
def test_the_segment_streams_ids_are_bounded_too(changes, reason, warned):
    ev, warnings, _ = both("track", {**GOOD["track"], **changes})
    if reason is not None:
        assert isinstance(ev, DeadLetter) and ev.reason == reason and str(MAX_ID_CHARS) in ev.detail
    else:
        assert isinstance(ev, Event) and [w.field for w in warnings] == [warned]
        assert all(len(k) <= MAX_ID_CHARS + 5 for k in ev.ids)


def test_an_alias_with_a_too_long_previous_id_keeps_the_user_and_links_nothing_long():
    msg = {"type": "alias", "messageId": "a1", "previousId": LONG, "userId": "u-1",
           "timestamp": GOOD["track"]["timestamp"]}
    ev, warnings, _ = both("track", msg)
    assert isinstance(ev, Event) and ev.ids == ("crm:u-1",) and [w.field for w in warnings] == ["previousId"]


@pytest.mark.parametrize("kind", ["email", "phone"])
def test_a_megabyte_address_is_refused_unparsed_and_not_cached(kind):
    """An email or phone longer than MAX_RAW_CHARS as written is refused before parsing (email-validator took ~0.7 s
    for a 1 MB one) and is not kept in the hasher's cache (65,536 such values would hold 64 GB)."""
    h = Hasher(b"k")
    raw = "a" * 1_000_000 + "@example.com" if kind == "email" else "1" * 1_000_000
    with pytest.raises(InvalidIdentifier) as e:
        getattr(h, kind)(raw)
    assert str(MAX_RAW_CHARS) in str(e.value)
    assert h.cache_info()[kind].currsize == 0


def test_the_parsers_id_caches_do_not_keep_long_ids():
    p = Parser(Hasher(b"k"))
    for i in range(5):
        p.parse_full("web", json.dumps({**GOOD["web"], "anonymous_id": f"{i}" + LONG}).encode())
        p.parse_full("track", json.dumps({**GOOD["track"], "anonymousId": f"{i}" + LONG}).encode())
        p.parse("web", json.dumps({**GOOD["web"], "user_id": f"{i}" + LONG}).encode())
    assert p._segment._id_keys == {}
    assert not any(len(v or "") > MAX_ID_CHARS for vs in p._fast._ids_by_values["web"] for v in vs)
    assert p._fast._key.cache_info().currsize == 1  # the short anonymous id "dev-1" only
