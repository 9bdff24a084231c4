"""``CustomerState.to_bytes`` after session 20's cheaper encoding writes the bytes it wrote before: the JSON text of
``stages.state_json.state_chunks`` is ``json.dumps(d, separators=(",", ":"), sort_keys=True)`` for any plain data
(non-ASCII and control characters, floats JSON writes in exponent form, NaN and the infinities, big and negative
ints, booleans, nesting), refuses what ``json.dumps`` refuses, and a state's bytes are the zlib (level 1) or
``b"J"`` form of that text; ``to_dict`` leaves out the same empty fields."""
from __future__ import annotations

import json
import math
import random
import zlib

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.state import CustomerState
from journeyflow.stages.state_json import _python_chunks, state_chunks

_FLOATS = (0.0, -0.0, 1.5, 59.99, 1e16, 2.5e16, 1e-05, 1.5e-07, 1e22, 5e-324, 1.7976931348623157e308,
           float("nan"), float("inf"), float("-inf"), 123456789.125, -3.0)
_STRINGS = ("", "a", "é", "日本", "\U0001f600", "\x7f", "\x00\x1f", "quote\"back\\slash", "\n\r\t\b\f", "\ud800",
            "email:3e5f", "0.00001")


def _value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice(_FLOATS)
    if kind == 1:
        return rng.choice((0, -1, 7, 2**63, -(2**70), 10**30, 1790000000000))
    if kind == 2:
        return rng.choice(_STRINGS) + str(rng.randrange(100))
    if kind == 3:
        return rng.choice((True, False, None))
    if kind in (4, 5):
        return rng.choice(_STRINGS)
    if kind == 6:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    if kind == 7:
        return tuple(_value(rng, depth + 1) for _ in range(rng.randrange(3)))
    return {rng.choice(_STRINGS) + str(rng.randrange(50)): _value(rng, depth + 1) for _ in range(rng.randrange(6))}


def _reference(d) -> str:
    return json.dumps(d, separators=(",", ":"), sort_keys=True)


def test_the_chunks_are_json_dumps_sorted_and_compact():
    rng = random.Random(20)
    for _ in range(3000):
        d = {"v": 2, **{rng.choice(_STRINGS) + str(i): _value(rng) for i in range(rng.randrange(8))}}
        assert "".join(state_chunks(d, 0)) == _reference(d)
        assert "".join(_python_chunks(d, 0)) == _reference(d)


@pytest.mark.parametrize("bad", [{"s": {1, 2}}, {"b": b"x"}, {1: "x", "a": 2}, {"o": object()}])
def test_what_json_dumps_refuses_is_refused(bad):
    with pytest.raises(TypeError):
        _reference(bad)
    with pytest.raises(TypeError):
        "".join(state_chunks(bad, 0))


def test_a_states_bytes_are_the_compressed_or_tagged_json_of_its_dict():
    rng = random.Random(21)
    for n in (0, 1, 3, 10, 40, 120):
        s = CustomerState(customer_id="crm:c1")
        for i in range(n):
            kind = rng.choice(("product_view", "add_to_cart", "order_placed", "login"))
            stream = "orders" if kind == "order_placed" else "web"
            attrs = {"product_id": f"p{rng.randrange(30)}é", "order_id": f"o{i}", "amount": rng.choice(_FLOATS[:11]),
                     "product_ids": [f"p{rng.randrange(30)}"]}
            s.apply(Event(f"e{i}", stream, kind, 1_790_000_000_000 + i * 3_600_000, ("crm:c1",), attrs))
            s.seen[f"e{i}"] = i
        s.traits = {"t": [rng.choice(_FLOATS), 5], "u": ["\x7f日本", 6]}
        d = s.to_dict()
        assert set(d) == {"v"} | {f for f in CustomerState._FIELDS
                                  if getattr(s, f) is not None and getattr(s, f) not in ([], {}, "")}
        raw = _reference(d).encode()
        assert s.to_bytes() == (zlib.compress(raw, 1) if len(raw) > 512 else b"J" + raw)
        back = CustomerState.from_bytes(s.to_bytes())
        assert json.dumps(back.to_dict(), sort_keys=True) == json.dumps(d, sort_keys=True) or any(
            isinstance(v, float) and math.isnan(v) for v in (s.traits["t"][0],))
