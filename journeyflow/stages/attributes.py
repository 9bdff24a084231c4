"""Declared computed attributes and traits (issue 19, point 4): per-customer aggregates of events, kept in
``CustomerState.computed`` and seen by conditions as ``customer.traits.<name>``.

An attribute is one of ``count``, ``sum``, ``min``, ``max``, ``first``, ``last``, ``distinct_count`` of the events
named ``event`` (optionally in ``stream``, optionally only those matching the CEL condition ``where`` over
``event``), optionally of a ``property`` (a path of the event as conditions see it: ``amount``,
``properties.plan``), over a sliding event-time ``window`` (``7d``: the events in ``(now - 7d, now]``) or all time.
The file format is :mod:`journeyflow.stages.attributes_loader`'s.

State per attribute (bounded; ``CustomerState.computed[name]``):

* windowed: ``{"e": [[ts, value], ...]}``, time-sorted, only entries inside the window (older ones are dropped when
  the attribute next changes and at every expiry pass, ``CustomerState.expire`` with ``Retention.attributes``), at
  most ``max_events`` entries (default 100, limit 1000): a window with more matching events than that counts its
  latest ``max_events`` (``distinct_count`` keeps one entry per value: its latest time; ``last`` only its newest
  entry);
* all time: ``{"n": count}`` (count), ``{"s": sum}``, ``{"min": value}``/``{"max": value}``, ``{"first": [ts,
  value]}``/``{"last": [ts, value]}``, ``{"d": [values]}`` (distinct_count, at most ``max_events`` values: the
  count saturates there).

Ties: events at one millisecond are ordered by their value (``repr``) for ``first``/``last``, never by arrival,
so one profile and two profiles merged later give the same value.

Values: ``count``/``distinct_count`` are ints (0 without events); ``sum`` has the property's type (0 without
events); ``min``/``max``/``first``/``last`` have the property's type (``first``/``last`` without a property: the
event time, int ms) and are absent without events (``has(customer.traits.x)`` is false; reading one is a runtime
error, counted).  A property value of the wrong type (or missing) is skipped; the event still counts for ``count``.

Traits (``traits:`` in the file) come from ``identify`` calls (and ``context.traits``: ``attrs["traits"]`` of
``track`` events, also those the Segment mapping turns into built-in events, ``attrs["user_traits"]`` of
``group`` calls), never from a ``group`` call's own traits, which describe the group (segment.com/docs/connections/
spec/group/): only declared traits are kept, each a scalar of its declared type (a value of another type is dropped
by the parser with a field warning ``traits.<name>``: ``stages.declared_types``; strings at most
:data:`MAX_TRAIT_CHARS` characters), in ``CustomerState.traits`` as ``name -> [value, ts]`` (the latest in event
time wins; at one time a clear, else the larger value, as in an identity merge).  A trait set to ``null`` is
cleared (Segment's "cleared or reset" traits, a null removes the attribute in Braze and Customer.io): kept as
``[None, ts]`` so the latest-wins rule holds across merges, absent for conditions (``has()`` false) and the
snapshot.  A value kept under
an earlier declared type (the file changed ``seats: int`` to ``string``) is absent likewise, and replaced by the next.
"""
from __future__ import annotations

from bisect import bisect_right, insort
from math import isfinite
from operator import itemgetter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from journeyflow.model.events import Event, is_group_call
from journeyflow.stages.attributes_expiry import expire_computed, trait_order  # noqa: F401 (re-exported)
from journeyflow.stages.conditions import Condition
from journeyflow.stages.declarations import Declarations
from journeyflow.stages.typecheck import T

__all__ = ["OPS", "MAX_TRAIT_CHARS", "Attribute", "AttributeSet", "TraitsView"]

#: The aggregate functions.
OPS = ("count", "sum", "min", "max", "first", "last", "distinct_count")
#: Longest string value kept for a trait or a computed value (longer values are skipped).
MAX_TRAIT_CHARS = 256
_NUMERIC_OPS = frozenset({"sum", "min", "max"})
_PY = {"int": (int,), "double": (float, int), "string": (str,), "bool": (bool,), "timestamp": (int,)}


def _typed(value: Any, t: T | None) -> Any:
    """``value`` if it fits type ``t`` (a double accepts ints, as a float; an int a whole float up to 2**53, as
    an int), else None.  A non-finite number (JSON
    ``NaN``/``Infinity``, which Python's decoder accepts) fits no type: it would poison a sum, min or max."""
    if value is None:
        return None
    if value.__class__ is float and not isfinite(value):
        return None
    if t is None or t.kind == "dyn":
        return value if isinstance(value, (str, int, float, bool)) and not (
            isinstance(value, str) and len(value) > MAX_TRAIT_CHARS) else None
    ok = _PY.get(t.kind)  # (a declared timestamp is an int of epoch ms: kind int, typecheck.EPOCH_MS)
    if t.kind == "int" and value.__class__ is float and value.is_integer() and abs(value) <= 2 ** 53:
        value = int(value)  # 3.0: the int 3 (stages.declared_types, as the parser reads it)
    if ok is None or not isinstance(value, ok) or (type(value) is bool and t.kind != "bool"):
        return None
    if isinstance(value, str) and len(value) > MAX_TRAIT_CHARS:
        return None
    return float(value) if t.kind == "double" else value


@dataclass(frozen=True)
class Attribute:
    """One computed attribute, validated.  ``path`` is the property path (``("properties", "plan")``) or ();
    ``window_ms`` None = all time; ``type`` the property's declared type (None: no property)."""

    name: str
    op: str
    event: str
    stream: str | None
    path: tuple[str, ...]
    where: Condition | None
    window_ms: int | None
    max_events: int
    type: T | None
    result: T

    def value_of(self, ev: Event) -> Any:
        """The property value of ``ev`` (typed, or None), or the event time when the attribute has no property.
        Of an undeclared (``dyn``) property, ``sum``, ``min`` and ``max`` take numbers only (ints and doubles, not
        bools): CEL orders and adds no values of different types, and one string among numbers must not make the
        event fail (a value that does not fit is skipped, the event still counts for ``count``)."""
        if not self.path:
            return ev.ts
        v: Any = ev.attrs
        for k in self.path:
            if v.__class__ is not dict and not isinstance(v, Mapping):  # (a dict is one: no ABC check per event)
                return None
            v = v.get(k)
        v = _typed(v, self.type)
        if self.op in _NUMERIC_OPS and (self.type is None or self.type.kind == "dyn") and (  # (numeric_only)
                v.__class__ is bool or not isinstance(v, (int, float))):
            return None
        return v

    @property
    def numeric_only(self) -> bool:
        """True for a sum/min/max of a property whose type is not declared (dyn): only numbers are folded."""
        return self.op in ("sum", "min", "max") and (self.type is None or self.type.kind == "dyn")


class AttributeSet:
    """The computed attributes and declarations of one attributes file, ready to run.  Picklable (rebuilt from the
    file's text on workers: see ``EngineConfig``)."""

    def __init__(self, attributes: tuple[Attribute, ...] = (), declarations: Declarations = Declarations()):
        self.attributes = attributes
        self.declarations = declarations
        self.by_name = {a.name: a for a in attributes}
        by_type: dict[str, list[Attribute]] = {}
        for a in attributes:
            by_type.setdefault(a.event, []).append(a)
        self._by_type = {k: tuple(v) for k, v in by_type.items()}
        #: what :meth:`observe` does with each attribute, per event type, in declaration order (no attribute lookup
        #: per event): ``(kind, attribute, name, window ms, entries kept, top-level string property or None)``
        self._plans = {k: tuple(_plan_of(a) for a in v) for k, v in self._by_type.items()}
        self.traits = dict(declarations.traits)

    def __bool__(self) -> bool:
        return bool(self.attributes or self.traits)

    @property
    def event_types(self) -> frozenset[str]:
        """The event types some computed attribute counts (what :meth:`observe` folds besides traits)."""
        return frozenset(self._by_type)

    def windows(self) -> dict[str, int | None]:
        """name → window (ms, None for all time): what ``Retention.attributes`` keeps."""
        return {a.name: a.window_ms for a in self.attributes}

    # ------------------------------------------------------------------------------------------ updates
    def observe(self, state: Any, ev: Event) -> None:
        """Fold one event into the customer's traits and computed attributes (after ``CustomerState.apply``)."""
        if self.traits:  # any Segment message: also one mapped onto a built-in stream (Product Added -> web)
            # a group call's traits are the company's: its user's are user_traits (context.traits)
            tr = ev.attrs.get("user_traits" if is_group_call(ev) else "traits")
            if isinstance(tr, Mapping) and tr:
                self._set_traits(state, tr, ev.ts)
        plans = self._plans.get(ev.type)
        if not plans:
            return
        act = None
        computed = state.computed
        ts = ev.ts
        attrs = ev.attrs
        for kind, a, name, window, keep, key in plans:
            if kind == _ALL_COUNT:
                rec = computed.get(name)
                if rec is None:
                    computed[name] = {"n": 1}
                else:
                    rec["n"] += 1
                continue
            if kind == _OTHER:  # (a stream or a ``where`` to match, distinct_count, all-time values)
                act = _observe_other(a, computed, ev, act)
                continue
            # a windowed count, sum, min, max, first or last of every event of the type (``_windowed``, inlined)
            if kind == _WINDOW_COUNT:
                v = None
            elif key is not None and attrs.__class__ is dict and (v := attrs.get(key)).__class__ is str and (
                    len(v) <= MAX_TRAIT_CHARS):
                pass  # (``value_of`` of a declared string property that is one: the value itself)
            else:
                v = a.value_of(ev)
                if v is None:
                    continue
            rec = computed.get(name)
            if rec is None:
                computed[name] = {"e": [[ts, v]]}
                continue
            e = rec["e"]
            if not e or (last := e[-1])[0] < ts or (last[0] == ts and repr(last[1]) <= repr(v)):
                if keep == 1:  # (the newest entry only, inside its window: what the append and the trims leave)
                    rec["e"] = [[ts, v]]
                    continue
                e.append([ts, v])
            else:
                insort(e, [ts, v], key=_entry_order)
            lo = ts - window
            if e[0][0] <= lo:
                del e[:bisect_right(e, lo, key=_ts)]
            if len(e) > keep:
                del e[:len(e) - keep]

    def _set_traits(self, state: Any, traits: Mapping[str, Any], ts: int) -> None:
        cur = state.traits
        for k, t in self.traits.items():
            if k in traits:
                raw = traits[k]
                v = _typed(raw, t)
                old = cur.get(k)
                # the latest in event time; at one time a clear, else the larger value (trait_order), as an identity
                # merge decides (state_merge): the order of two updates in one millisecond does not matter.  An explicit
                # null clears the trait: kept as [None, ts] so that an older value (a merge) does not come back
                if (v is not None or raw is None) and (old is None or ts > old[1] or (
                        ts == old[1] and trait_order([v, ts]) >= trait_order(old))):
                    cur[k] = [v, ts]

    # ------------------------------------------------------------------------------------------- values
    def value(self, state: Any, name: str, now: int) -> Any:
        """The value of trait or attribute ``name`` at ``now``; raises KeyError when it has none (no events)."""
        a = self.by_name.get(name)
        if a is None:
            v = _typed(state.traits[name][0], self.traits.get(name))
            if v is None:  # cleared by a null, or of a type no longer declared (_typed)
                raise KeyError(name)
            return v
        return _value(a, state.computed.get(name), now)

    def values(self, state: Any, now: int) -> dict[str, Any]:
        """Every trait and attribute that has a value at ``now`` (the snapshot's ``traits`` column)."""
        out = {k: t for k, v in sorted(state.traits.items()) if (t := _typed(v[0], self.traits.get(k))) is not None}
        for a in self.attributes:
            try:
                out[a.name] = _value(a, state.computed.get(a.name), now)
            except KeyError:
                pass
        return out


class TraitsView(Mapping):
    """``customer.traits``: declared traits and computed attributes, each computed on first access."""

    __slots__ = ("_set", "_state", "_now")

    def __init__(self, attributes: AttributeSet, state: Any, now: int):
        self._set, self._state, self._now = attributes, state, now

    def __getitem__(self, key: str) -> Any:
        a = self._set.by_name.get(key)
        if a is not None:
            return _value(a, self._state.computed.get(key), self._now)
        if key not in self._set.traits:
            raise KeyError(key)
        # cleared by a null (an identify call's ``"plan": null``), or kept under another declared type (an earlier
        # version of the attributes file, ``plan: int`` then ``plan: string``): absent, never of an undeclared type
        v = _typed(self._state.traits[key][0], self._set.traits[key])
        if v is None:
            raise KeyError(key)
        return v

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(k for k in (*self._set.traits, *self._set.by_name) if k in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


# ------------------------------------------------------------------------------------------ aggregates
_ts = itemgetter(0)


def _entry_order(entry: list) -> tuple[int, str]:
    """The order of ``[ts, value]`` entries: time, then ``repr(value)`` -- a tie of equal times is broken by the
    value, never by arrival or by which profile held the entry, so one profile and two merged ones agree."""
    return (entry[0], repr(entry[1]))


#: :meth:`AttributeSet.observe`'s kinds of attribute: an all-time count; a windowed count; a windowed sum, min, max,
#: first or last; any other (a ``stream`` or ``where`` to match, ``distinct_count``, all-time values)
_ALL_COUNT, _WINDOW_COUNT, _WINDOW_VALUE, _OTHER = range(4)


def _plan_of(a: Attribute) -> tuple:
    """What :meth:`AttributeSet.observe` does with ``a``: ``(kind, a, name, window ms, entries kept, top-level
    string property or None)``."""
    keep = 1 if a.op == "last" else a.max_events
    key = a.path[0] if len(a.path) == 1 and a.type is not None and a.type.kind == "string" else None
    kind = _OTHER
    if a.stream is None and a.where is None:
        if a.window_ms is None:
            kind = _ALL_COUNT if a.op == "count" else _OTHER
        elif a.window_ms > 0 and a.op != "distinct_count":
            kind = _WINDOW_COUNT if a.op == "count" else _WINDOW_VALUE
    return (kind, a, a.name, a.window_ms, keep, key)


def _observe_other(a: Attribute, computed: dict, ev: Event, act: dict | None) -> dict | None:
    """:meth:`AttributeSet.observe` of an attribute of kind ``_OTHER``; ``act``: the ``where`` activation of ``ev``
    (None until one is needed), returned."""
    if a.stream is not None and a.stream != ev.stream:
        return act
    if a.where is not None:
        if act is None:  # (as the journeys' conditions see it, journeys.context: no properties are empty ones)
            act = {"event": {"properties": {}, **ev.attrs, "stream": ev.stream, "type": ev.type, "ts": ev.ts}}
        if not a.where.evaluate(act):
            return act
    if a.window_ms is not None:
        _windowed(computed, a, ev.ts, None if a.op == "count" else a.value_of(ev))
    elif a.op == "count":
        rec = computed.get(a.name)
        if rec is None:
            computed[a.name] = {"n": 1}
        else:
            rec["n"] += 1
    else:
        _all_time(computed, a, ev.ts, a.value_of(ev))
    return act


def _windowed(computed: dict, a: Attribute, ts: int, v: Any) -> None:
    """Add ``[ts, v]`` to a windowed attribute's entries (time-sorted, inside the window, at most max_events)."""
    if v is None and a.op != "count":
        return
    rec = computed.get(a.name)
    if rec is None:
        computed[a.name] = {"e": [[ts, v]]}
        return
    e = rec["e"]
    if a.op == "distinct_count":
        k = _dkey(v)
        for i, (t0, v0) in enumerate(e):
            if _dkey(v0) == k:
                if t0 >= ts:
                    return
                del e[i]
                break
    last_ts = e[-1][0] if e else None
    if last_ts is None or last_ts < ts or (last_ts == ts and repr(e[-1][1]) <= repr(v)):
        e.append([ts, v])
    else:  # entries are in (time, repr(value)) order: at equal times the order does not depend on arrival
        insort(e, [ts, v], key=_entry_order)
    lo = ts - a.window_ms
    if e[0][0] <= lo:
        del e[:bisect_right(e, lo, key=_ts)]
    if len(e) > (1 if a.op == "last" else a.max_events):  # last: only the newest entry can ever be the value
        del e[:len(e) - (1 if a.op == "last" else a.max_events)]


def _all_time(computed: dict, a: Attribute, ts: int, v: Any) -> None:
    """Fold value ``v`` (at ``ts``) into an all-time sum/min/max/first/last/distinct_count."""
    if v is None:
        return
    rec = computed.get(a.name)
    op = a.op
    if op == "sum":
        computed[a.name] = {"s": (rec or {"s": 0})["s"] + v}
    elif op in ("min", "max"):  # (a kept value of another kind: of an earlier declared type, replaced)
        if rec is None or _dkey(v)[0] != _dkey(rec[op])[0] or (v < rec[op] if op == "min" else v > rec[op]):
            computed[a.name] = {op: v}
    elif op in ("first", "last"):  # at equal times the smaller (first) / larger (last) repr wins, as in a merge
        if rec is None or (_entry_order([ts, v]) < _entry_order(rec[op]) if op == "first"
                           else _entry_order([ts, v]) >= _entry_order(rec[op])):
            computed[a.name] = {op: [ts, v]}
    else:  # distinct_count
        d = rec["d"] if rec else []
        k = _dkey(v)
        if len(d) < a.max_events and all(_dkey(x) != k for x in d):
            d = sorted(d + [v], key=_dkey)
        computed[a.name] = {"d": d}


def _dkey(v: Any) -> tuple[str, Any]:
    """The identity of a value for ``distinct_count``, as CEL's equality sees it: numbers by value across int and
    double (``1 == 1.0``), a bool never equal to a number (``true != 1``), strings as themselves; also the sort key
    of distinct values (one order whatever the arrival order: bools, numbers, strings)."""
    if v.__class__ is bool:
        return ("b", v)
    if isinstance(v, (int, float)):
        return ("n", v)
    return (type(v).__name__, v)


def _value(a: Attribute, rec: dict | None, now: int) -> Any:
    op = a.op
    if a.window_ms is None:
        if op == "count":
            return rec["n"] if rec else 0
        if op == "sum":
            return _sum(a, rec["s"]) if rec else _zero(a)
        if op == "distinct_count":  # (saturates at max_events; a merge's union may hold more)
            return min(len(rec["d"]), a.max_events) if rec else 0
        if rec is None:
            raise KeyError(a.name)
        return _fit(a, rec[op][1] if op in ("first", "last") else rec[op])
    e = rec["e"] if rec else ()
    if not e:
        vals: Any = ()
    elif e[0][0] > now - a.window_ms and e[-1][0] <= now:
        vals = e  # the common case: every entry is inside the window
    else:
        vals = e[bisect_right(e, now - a.window_ms, key=_ts):bisect_right(e, now, key=_ts)]
    if op == "distinct_count":
        return min(len({_dkey(x[1]) for x in vals}), a.max_events)
    if len(vals) > a.max_events:  # the latest max_events, as one profile keeps them (an identity merge's union holds
        vals = vals[len(vals) - a.max_events:]  # both profiles' entries until the next event trims them)
    if op == "count":
        return len(vals)
    if op == "sum":
        return _sum(a, sum((x[1] for x in vals), _zero(a)))
    if not vals:
        raise KeyError(a.name)
    pick = _PICK[op]
    try:
        return _fit(a, pick(vals))
    except (TypeError, KeyError):  # entries kept under an earlier declared type of the property among them: skipped
        vals = [x for x in vals if a.type is None or _typed(x[1], a.type) is not None]
        try:
            return _fit(a, pick(vals))
        except (TypeError, IndexError, ValueError):
            raise KeyError(a.name) from None


#: the value of min, max, first and last of time-sorted ``[ts, value]`` entries
_PICK = {"min": lambda xs: min(x[1] for x in xs), "max": lambda xs: max(x[1] for x in xs),
         "first": lambda xs: xs[0][1], "last": lambda xs: xs[-1][1]}


def _fit(a: Attribute, v: Any) -> Any:
    """``v`` as the attribute's property type holds it; a value kept under an earlier declared type of the property
    (an attributes file that changed ``tier: int`` to ``tier: string``) is no value of it: KeyError (absent)."""
    if a.type is None:
        return v
    t = _typed(v, a.type)
    if t is None:
        raise KeyError(a.name)
    return t


def _zero(a: Attribute) -> Any:
    return 0.0 if a.result.kind == "double" else 0


def _sum(a: Attribute, v: Any) -> Any:
    """A sum as its declared result type holds it: a double (of an undeclared property: its ints summed) is a float."""
    if a.result.kind == "double" and v.__class__ is int:
        try:
            return float(v)
        except OverflowError:  # (hundreds of digits: the JSON number it is, infinite)
            return float("inf") if v > 0 else float("-inf")
    return v


def merge_computed(x: dict, y: dict) -> dict:
    """Identity merge of two profiles' computed data: windowed entries are all those of both (each event is in one
    profile only: two events at one time with one value count twice, as on one profile);
    all-time counts and sums add up, min/max/first/last take the extreme, distinct values a union.  Commutative;
    all-time counts and sums count both profiles' events (they would double if a profile were merged with itself,
    which identity resolution never does).  The union may hold more than max_events: read as its latest (_value)."""
    out: dict = {}
    for name in sorted(set(x) | set(y)):
        a, b = x.get(name), y.get(name)
        if a is None or b is None or set(a) != set(b):
            out[name] = _copy(b if a is None else a if b is None else min(a, b, key=repr))
            continue
        (k,) = a
        if k == "e":  # every entry of both (two events at one time with one value are two events)
            out[name] = {"e": sorted((list(t) for t in a["e"] + b["e"]), key=_entry_order)}
        elif k in ("n", "s"):
            out[name] = {k: a[k] + b[k]}
        elif k == "min":  # (by _dkey: values of two kinds, one kept under an earlier declared type, never raise)
            out[name] = {k: min(a[k], b[k], key=_dkey)}
        elif k == "max":
            out[name] = {k: max(a[k], b[k], key=_dkey)}
        elif k == "first":
            out[name] = {k: list(min(a[k], b[k], key=_entry_order))}
        elif k == "last":
            out[name] = {k: list(max(a[k], b[k], key=_entry_order))}
        else:  # "d": one value per CEL identity (_dkey), the same one whatever the order of the two profiles
            union: dict = {}
            for v in sorted(a[k] + b[k], key=lambda v: (_dkey(v), repr(v))):
                union.setdefault(_dkey(v), v)
            out[name] = {k: sorted(union.values(), key=_dkey)}
    return out


def _copy(rec: dict) -> dict:
    return {k: ([list(e) for e in v] if k == "e" else list(v) if isinstance(v, list) else v) for k, v in rec.items()}
