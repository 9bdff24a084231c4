"""A decision's target message is built from its audit message's JSON text (issue 22, session 22: the decision is
encoded once, ``transforms.outputs._with_address``); its bytes are those of encoding
``Decision.to_dict(with_address=True)`` whole, whatever the values (text that looks like the keys, non-ASCII,
non-finite floats written as null)."""
from __future__ import annotations

import json
import math
import random

from journeyflow.model.decisions import CandidateOutcome, Decision
from journeyflow.stages.json_text import dumps_finite
from journeyflow.transforms.outputs import decision_messages

TRICKY = ('', 'a', ', "customer_id": ', '{"action": "send", ', '"address": ', ', "context": {}', '\\', '"', 'é',
          '\U0001f600', '\u2028', '\x00', 'customer_id', '}', 'ann@example.com')


def _encode(obj) -> bytes:
    """What the messages held before: the whole object encoded (``json.dumps``, sorted keys, NaN as null)."""
    try:
        return json.dumps(obj, allow_nan=False, sort_keys=True).encode()
    except ValueError:
        return dumps_finite(obj, sort_keys=True).encode()


def _decision(rnd: random.Random) -> Decision:
    text = lambda: rnd.choice((None, *TRICKY))  # noqa: E731
    cands = tuple(CandidateOutcome(text(), text(), rnd.choice(("send", "route_case")), text(), text(), "marketing",
                                   rnd.randint(0, 3), rnd.choice(TRICKY)) for _ in range(rnd.randint(0, 3)))
    context = rnd.choice((None, {}, {"order_id": rnd.choice(TRICKY)}, {"amount": 12.5, "customer_id": "x"},
                          {"amount": math.nan}, {"ids": [1, 2, {"action": "send"}]}, {"z": math.inf, "a": None}))
    return Decision(decision_id=rnd.choice(TRICKY), customer_id=rnd.choice(TRICKY), decided_at=rnd.randint(0, 10**13),
                    journey_id=text(), step_id=text(),
                    action=rnd.choice(("send", "create_task", "route_case", "wait", "suppress", "none")),
                    channel=rnd.choice(("email", "sms", "push", "call", "crm_task", "service_case", None, "x")),
                    content_id=text(), category=text(), priority=rnd.choice((0, 7, -1, math.nan, 1.5)),
                    reason_codes=tuple(rnd.choice(TRICKY) for _ in range(rnd.randint(0, 2))), candidates=cands,
                    trigger_event_id=rnd.choice(TRICKY), address=rnd.choice((None, "ann@example.com", "+447700900123",
                                                                             ', "customer_id": ', "é")),
                    address_key=text(), context=context, due_at=rnd.choice((None, 5)))


def test_messages_are_the_whole_objects_encoded():
    rnd = random.Random(22)
    targets = 0
    for _ in range(4000):
        d = _decision(rnd)
        msgs = decision_messages(d)
        want = [_encode(d.to_dict(with_address=True))] if d.target is not None else []
        want.append(_encode(d.to_dict()))
        assert [m.data for m in msgs] == want, d
        targets += d.target is not None
    assert targets > 1000


class _OtherCandidate(CandidateOutcome):  # not a CandidateOutcome itself: Decision.sorted_dict gives None
    pass


def test_the_sorted_audit_object_is_to_dict_in_sorted_key_order():
    rnd = random.Random(5)
    for _ in range(500):
        d = _decision(rnd)
        ordered, plain = d.sorted_dict(), d.to_dict()
        assert list(ordered) == sorted(plain) and ordered == plain
        assert all(list(c) == sorted(c) for c in ordered["candidates"])
        odd = d._replace(candidates=tuple(_OtherCandidate(*c) for c in d.candidates))
        assert odd.sorted_dict() is None if d.candidates else odd.sorted_dict() == plain
        want = [_encode(odd.to_dict(with_address=True))] if odd.target is not None else []
        assert [m.data for m in decision_messages(odd)] == want + [_encode(odd.to_dict())]
