"""Issue 23.5: addresses are found in every spelling (URL-encoded, escaped, full-width, obfuscated; bare-digit and
loosely formatted phones), masked in free text, pseudonymized in ids, and an id that is an address is hashed as
one — while times, amounts and ordinary ids stay readable."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.reasons import DeadLetterReason, FieldWarningReason
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.pii import contains_pii, mask_pii, pseudonymize

HASHER = Hasher(b"test-only-key-0123456789abcdef")
TS = 1_790_812_850_038

EMAILS = ["ann@example.com", "Ann.Lee@Example.COM", "ann%40example.com", "ann%2540example.com",
          "mailto:ann%40example.com?subject=x", "ann&#64;example.com", "ann&#x40;example.com", "ann&commat;example.com",
          "ann\\u0040example.com", "ann\\x40example.com", "ann＠example.com", "ann [at] example [dot] com",
          "ann(at)example.com", "ann{AT}example.com"]
PHONES = ["+1 415 555 0134", "+14155550134", "(415) 555-0134", "415-555-0134", "415.555.0134", "4155550134",
          "14155550134", "415/555-0134", "(415)5550134", "tel:+1-415-555-0134", "+1%20415%20555%200134",
          "%2B14155550134", "06 12 34 56 78", "0612345678", "+44 20 7946 0958", "0044 20 7946 0958", "02079460958",
          "447911123456", "٤١٥٥٥٥٠١٣٤", "４１５５５５０１３４"]
NOT_PII = ["1790812850038", "1790812850", "ORD-00000023", "C58625794", "987654321", "20261130", "2026-10-05 10:00:05",
           "2026-10-02T03:07:40.960+02:00", "12/31/2026", "05/10/2026", "2248.5", "1.234.567,89", "10290",
           "841185df-c8a4-45ff-85fe-8fc291a3f37c", "8532b56c-1f27-a123-8123-446655440000", "web-000001", "SKU-124",
           "owner-16", "America/New_York", "100%", "a & b", "price (EUR) 12", "x=1&y=2"]


@pytest.mark.parametrize("text", EMAILS)
def test_every_spelling_of_an_email_is_masked(text):
    masked = mask_pii(f"note: {text} !")
    assert "<email>" in masked and "ann" not in masked.lower() and "example" not in masked.lower(), masked


@pytest.mark.parametrize("text", PHONES)
def test_every_spelling_of_a_phone_is_masked(text):
    masked = mask_pii(f"call {text} now")
    assert "<phone>" in masked, masked
    assert not any(run in "".join(ch for ch in masked if ch.isdigit()) for run in ("5550134", "345678", "9460958",
                                                                                     "911123456", "4567890"))


@pytest.mark.parametrize("text", NOT_PII)
def test_times_amounts_and_ordinary_ids_are_left_alone(text):
    assert mask_pii(text) == text and not contains_pii(text)


def test_a_payload_without_hidden_addresses_keeps_its_encoding():
    text = '{"path": "/a%20b", "q": "x&amp;y", "ts": 1790812850038}'
    assert mask_pii(text) == text
    # with a hidden address, the decoded text is returned, masked
    # (an address is matched as its whole token: ``to=ann@example.com`` is masked as one)
    assert mask_pii("/a%20b?to=ann%40example.com") == "/a <email>"


def test_pseudonymize_is_keyed_stable_and_distinct():
    a = pseudonymize("order ann@example.com", HASHER.digest)
    assert a.startswith("order email~") and "ann" not in a
    assert a == pseudonymize("order ANN@example.com", HASHER.digest)  # one address, one token
    assert a != pseudonymize("order bob@example.com", HASHER.digest)
    assert a != pseudonymize("order ann@example.com", Hasher(b"another-key-0123456789abcdef").digest)
    # an address is matched as its whole token (``order-ann@example.com-1``): the token becomes the hash
    assert pseudonymize("order-ann@example.com-1", HASHER.digest).startswith("email~")
    assert pseudonymize("web-4155550144", HASHER.digest).startswith("web-phone~")
    assert pseudonymize("web-000001", HASHER.digest) == "web-000001"
    uuid = "63ef3148-4123-8123-9012-564b7e6198c2"
    assert pseudonymize(uuid, HASHER.digest) == uuid and not contains_pii(uuid, keep_uuids=True)


def _parse(stream: str, **fields):
    rec = {"event_id": "e1", "ts": TS, **fields}
    return Parser(HASHER).parse_full(stream, json.dumps(rec))


@pytest.mark.parametrize("value,key", [
    ("ann@example.com", HASHER.email("ann@example.com")[0]),
    ("Ann@Example.com", HASHER.email("ann@example.com")[0]),
    ("ann%40example.com", HASHER.email("ann@example.com")[0]),
    ("mailto:ann@example.com", HASHER.email("ann@example.com")[0]),
    ("+1 415 555 0134", HASHER.phone("+14155550134")[0]),
    ("tel:+1-415-555-0134", HASHER.phone("+14155550134")[0]),
    ("(415) 555-0134", HASHER.phone("+14155550134")[0]),
    ("C-42", "crm:C-42"),
    ("63ef3148-4123-8123-9012-564b7e6198c2", "crm:63ef3148-4123-8123-9012-564b7e6198c2"),  # a UUID is no phone
    ("4155550134", "crm:4155550134"),  # a bare digit string is a numeric CRM id (documented)
])
def test_a_crm_id_that_is_an_address_is_hashed_as_one(value, key):
    res = _parse("crm", crm_id=value, type="contact_created")
    assert res.result.ids == (key,) and not res.warnings


def test_an_optional_user_id_that_is_an_email_links_and_one_with_an_address_inside_is_refused():
    ok = _parse("web", anonymous_id="dev-1", user_id="ann%40example.com", type="login")
    assert set(ok.result.ids) == {"anon:dev-1", HASHER.email("ann@example.com")[0]} and not ok.warnings
    mixed = _parse("web", anonymous_id="dev-1", user_id="user ann@example.com", type="login")
    assert mixed.result.ids == ("anon:dev-1",)
    [w] = mixed.warnings
    assert (w.field, w.reason) == ("user_id", FieldWarningReason.INVALID_IDENTIFIER)
    assert "ann" not in json.dumps(w.to_dict())
    required = _parse("crm", crm_id="id for ann@example.com", type="contact_created").result
    assert required.reason == DeadLetterReason.INVALID_IDENTIFIER and "ann" not in json.dumps(required.to_dict())


def test_event_ids_and_kept_values_carry_no_address():
    ev = _parse("orders", event_id="ord-ann%40example.com", crm_id="C1", order_id="ORD for 415-555-0134",
                type="order_placed", product_ids=["SKU-1", "sku ann@example.com"]).result
    text = json.dumps([ev.uid, ev.attrs])
    assert "ann" not in text and "555" not in text and "%40" not in text
    assert ev.uid.startswith("orders/email~") and ev.attrs["product_ids"][0] == "SKU-1"
    # and stays the same id on every read (de-duplication keeps working)
    assert ev.uid == _parse("orders", event_id="ord-ann%40example.com", crm_id="C1", order_id="O",
                            type="order_placed").result.uid


from hypothesis import given, settings, strategies as hst  # noqa: E402


@settings(max_examples=400, deadline=None)
@given(hst.text(alphabet=hst.sampled_from(list("0123456789 -.()/+@%&#;[]atdoxu\\ABCxyz_:,") + ["１", "＠", "٣"]),
                max_size=40))
def test_the_fast_no_pii_check_never_skips_a_text_the_patterns_would_change(text):
    """``_cannot_hold_pii`` is only a shortcut: whenever it says a text holds nothing, the full patterns agree."""
    from journeyflow.stages import pii
    if pii._cannot_hold_pii(text):
        assert pii._replace_plain(text, lambda kind, v: f"<{kind}>", False) == text
        assert pii._MARKERS.search(text) is None


_SCAN_ALPHABET = list("0123456789" * 3 + " \t\n().-/+,:_@%&#;[]{}atdoxuATDOXUfF\\") + [
    "00", "+1", "(415) 555-0134", "415.555.0134", "%40", "&#64;", "&amp;", "\\u0040", "\\x40", "[at]", "( DOT )",
    "١", "٣", "é", "＠", "1790812850038", "2026-10-01T00:24:42+00:00", "e0fd09f8-9fa7-4539-9d42-5057f57cef9c"]


@settings(max_examples=500, deadline=None)
@given(hst.lists(hst.sampled_from(_SCAN_ALPHABET), max_size=24).map("".join))
def test_the_scanning_patterns_find_what_the_documented_patterns_find(text):
    """``_PHONE_SCAN`` / ``_CANDIDATE_SCAN`` (written to start with one character class) give the very matches of
    ``_PHONE_RE`` / ``_CANDIDATE_RE``, and ``_has_markers`` answers as ``_MARKERS.search``."""
    from journeyflow.stages import pii

    def spans(pattern):
        return [(m.span(), m.group(0)) for m in pattern.finditer(text)]
    assert spans(pii._PHONE_SCAN) == spans(pii._PHONE_RE)
    assert spans(pii._CANDIDATE_SCAN) == spans(pii._CANDIDATE_RE)
    if pii._PHONE_HINT_GROUPS.search(text) is None and pii._PHONE_HINT_PLUS.search(text) is None:
        assert spans(pii._PHONE_SCAN) == []  # the pre-check never skips a text the scan would change
    assert pii._has_markers(text) == (pii._MARKERS.search(text) is not None)


@settings(max_examples=300, deadline=None)
@given(hst.lists(hst.sampled_from(_SCAN_ALPHABET), max_size=24).map("".join))
def test_the_no_pii_check_counts_digits_as_str_isdigit_does(text):
    """``_cannot_hold_pii`` counts an ASCII text's digits in one pass: the answer of counting ``str.isdigit``."""
    from journeyflow.stages import pii
    digits = sum(map(str.isdigit, text))
    expected = "@" not in text and "+" not in text and digits < 7 and not pii._has_markers(text)
    assert pii._cannot_hold_pii(text) == expected


def _numbers_around_examples():
    """Every region's example numbers of every type, each also one digit shorter and longer and with its last
    digits changed, and epoch times read as international numbers: valid and invalid numbers of every calling code."""
    import random

    import phonenumbers
    rnd = random.Random(7)
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE,
                     phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.VOIP):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            digits = phonenumbers.national_significant_number(example)
            for nat in (digits, digits[:-1], digits + "5", digits[:-2] + f"{rnd.randrange(100):02d}"):
                yield f"+{example.country_code}{nat}", None
                yield nat, region
    for cc in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(cc)
        if example is not None:
            yield f"+{cc}{phonenumbers.national_significant_number(example)}", None
    for ms in range(1_600_000_000_000, 1_900_000_000_000, 9_999_999_937):
        yield f"+{ms}", None


def test_the_length_first_validity_check_agrees_with_phonenumbers():
    """``pii.is_valid_number`` answers an impossible length at once (an epoch time read as ``+1`` and 12 digits
    tried each of the 25 NANP regions, ~30 µs): for every other number it asks ``phonenumbers``; the answers are
    the same for valid and invalid numbers of every calling code."""
    import phonenumbers

    from journeyflow.stages.pii import is_valid_number
    seen = valid = 0
    for text, region in _numbers_around_examples():
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        expected = phonenumbers.is_valid_number(number)
        assert is_valid_number(number) is expected, (text, region)
        seen, valid = seen + 1, valid + expected
    assert seen > 3000 and valid > 1000  # (both kinds met)
