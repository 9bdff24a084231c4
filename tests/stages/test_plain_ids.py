"""``stages.identity.plain_ids.plain_key`` (the parser's shortcut for a plain customer or device id) gives exactly the
key of the full rules -- ``crm_key`` / ``anon_key`` then the parser's PII check of an id (``Parser._id_key``) -- and
leaves the contact as they do; for anything else it answers None (the caller runs the full rules).  ``plain_first``
in front of the fast path's per-value key function answers what that function answers, for every field.

Property test (hypothesis) over ids near the edge of "plain": words, UUIDs (also with all-digit groups, which the
PII scan would mask in free text), placeholders in any letter case, ids written as keys (``crm:C1``), digits first,
whitespace, quotes, invisible and non-ASCII characters, email and phone shapes, and ids longer than ``MAX_ID_CHARS``.
"""
from __future__ import annotations

import os
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from journeyflow.stages.identity.keys import MAX_ID_CHARS, Hasher, InvalidIdentifier, anon_key, crm_key
from journeyflow.stages.identity.plain_ids import plain_first, plain_key
from journeyflow.stages.parse import Parser

EXAMPLES = max(200, int(os.environ.get("JOURNEYFLOW_FUZZ_EXAMPLES", "2000")) // 2)
PARSER = Parser(Hasher(b"plain-ids-test-key"))
FIELDS = {"anonymous_id": ("anon", anon_key), "crm_id": ("crm", crm_key), "user_id": ("crm", crm_key)}
FAST_KEY = PARSER._fast._key_uncached
KEY = plain_first(FAST_KEY)
EDGES = ["C57274206", "_x", "a", "Z9", "undefined", "NULL", "None", "nil", "NaN", "null_user", "crm:C1", "anon:d1",
         "C-1", "9abc", "1234567", "4155550134", " C1", "C1 ", "\u200bC1", "Cé", "'C1'", "ann@x.com", "a" * MAX_ID_CHARS,
         "a" * (MAX_ID_CHARS + 1), "", "00000000-0000-0000-0000-000000000000", "63ef3148-4123-8123-9123-412345678901",
         "E0FD09F8-9FA7-4539-9D42-5057F57CEF9C", "e0fd09f8-9fa7-4539-9d42-5057f57cef9", "email", "phone_4155550134"]


def _full(field: str, raw: object) -> tuple[str | None, dict]:
    """The key of the full rules (None when they refuse the id) and the contact they leave."""
    contact: dict[str, str] = {}
    try:
        return PARSER._id_key(field, FIELDS[field][1](raw), contact), contact
    except InvalidIdentifier:
        return None, contact


def _check(field: str, raw: object) -> bool:
    for f in (field, "email", "phone"):  # (the other fields: the fast path's own answer, plain or not)
        assert KEY(f, raw) == FAST_KEY(f, raw), (f, raw)
    got = plain_key(FIELDS[field][0], raw)
    if got is None:
        return False
    assert (got, {}) == _full(field, raw), (field, raw)
    contact: dict[str, str] = {}
    assert PARSER._key(field, raw, contact) == got and contact == {}
    return True


def test_edges():
    taken = {raw for raw in EDGES for field in FIELDS if _check(field, raw)}
    assert {"C57274206", "_x", "a", "Z9", "null_user", "email", "phone_4155550134", "a" * MAX_ID_CHARS,
            "63ef3148-4123-8123-9123-412345678901", "E0FD09F8-9FA7-4539-9D42-5057F57CEF9C"} <= taken
    assert not taken & {"undefined", "NULL", "None", "nil", "NaN", "crm:C1", "C-1", "9abc", " C1", "\u200bC1", "Cé",
                        "'C1'", "ann@x.com", "a" * (MAX_ID_CHARS + 1), "", "00000000-0000-0000-0000-000000000000"}
    assert plain_key("crm", 4155550134) is None and plain_key("anon", None) is None


_ID_CHARS = st.sampled_from(list("abcXYZ_019-:@+. '\"\u200b\u00e9\uff20") + ["null", "nan", "crm:", "anon:", "555"])


@settings(max_examples=EXAMPLES, deadline=None)
@given(field=st.sampled_from(sorted(FIELDS)),
       raw=st.one_of(st.lists(_ID_CHARS, max_size=12).map("".join), st.text(max_size=40),
                     st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()),
                     st.integers(0, 10 ** 12).map(lambda n: str(uuid.UUID(int=n)))))
def test_plain_key_is_the_full_rules_key(field, raw):
    _check(field, raw)
