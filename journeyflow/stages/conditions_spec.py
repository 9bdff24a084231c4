"""CEL's semantics where cel-python departs from the spec: the functions and the evaluator every condition that
:mod:`journeyflow.stages.conditions` hands to cel-python is evaluated with (see the rules below).  No ``eval``/``exec``:
cel-python's interpreter walks the parse tree."""
from __future__ import annotations

import decimal
import math
import re
from collections.abc import Mapping
from typing import Any, Callable

import celpy
import celpy.evaluation
from celpy import celtypes
from lark import Tree

__all__ = ["SPEC_FUNCTIONS", "format_double", "run_program"]


# ------------------------------------------------------------------------------------------- CEL's comparisons
# cel-python departs from the CEL spec (langdef.md "Numbers", "Equality", "Field selection", "List and map
# operations", "Type conversions") in ways a journey condition meets; these overrides make every condition
# cel-python evaluates (a ternary, arithmetic, a macro's body...) follow the spec, as the fast path
# (conditions_fast) does (``tests/stages/test_cel_spec_semantics.py`` holds each rule):
# - numbers compare by value across int, uint and double (``12 == 12u``, ``120 > 99.5``);
# - ``==``/``!=``/``in`` are defined for values of any two types (heterogeneous equality): different kinds are
#   unequal (``true == 1`` false, ``x == null`` false for non-null x, ``'a' in [1, 'b']`` false), lists and maps
#   compare element by element (``[1, 2] == [1.0, 2.0]``); ordering across kinds is an error;
# - ``has(e.f)`` is an error when ``e`` is not a map (missing, null, a string...), as a plain ``e.f`` would be;
# - a list index outside ``0 .. size-1`` is an error (cel-python reads ``l[-1]`` as Python's last item);
# - ``string(true)`` is ``'true'`` and ``string(120.0)`` ``'120'`` (cel-go's ``%g``; cel-python writes ``True``,
#   ``120.0``); ``size(null)`` is an error (cel-python: 0); double division follows IEEE 754 (``-1.0/0.0`` is
#   -infinity and ``0.0/0.0`` NaN; cel-python gives +infinity for both).
_CEL_NUMBERS = (celtypes.IntType, celtypes.UintType, celtypes.DoubleType)
_KINDS = ((celtypes.StringType, str), (celtypes.BytesType, bytes), (celtypes.ListType, list),
          (celtypes.MapType, Mapping), (celtypes.TimestampType, celtypes.TimestampType),
          (celtypes.DurationType, celtypes.DurationType))
_ORDERED = (int, bool, celtypes.StringType, celtypes.BytesType, celtypes.TimestampType, celtypes.DurationType)


def _is_number(v: Any) -> bool:
    return isinstance(v, _CEL_NUMBERS)  # (celtypes.BoolType is no IntType)


def _value(v: Any) -> int | float:
    return float(v) if isinstance(v, float) else int(v)


def _kind(v: Any) -> type:
    """The family a value compares within: ``int`` for the three number types, ``bool``, None's type, the CEL type
    of a string, bytes, list, map, timestamp or duration (also when cel-python hands over a plain ``str``...)."""
    if isinstance(v, (celtypes.BoolType, bool)):
        return bool
    if isinstance(v, (int, float)):
        return int
    for k, plain in _KINDS:
        if isinstance(v, k) or isinstance(v, plain):
            return k
    return type(v)


def _equal(a: Any, b: Any) -> bool:
    """CEL's heterogeneous equality of two (non-error) values."""
    k = _kind(a)
    if k is not _kind(b):
        return False
    if k is int:
        return _value(a) == _value(b)  # Python compares int and float exactly; NaN is unequal to itself
    if k is celtypes.ListType:
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if k is celtypes.MapType:
        return len(a) == len(b) and all(any(_equal(ka, kb) and _equal(va, vb) for kb, vb in b.items())
                                        for ka, va in a.items())
    return bool(a == b)


def _spec_comparison(name: str, op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    base = celpy.evaluation.base_functions[name]
    equality = name in ("_==_", "_!=_")

    def compare(a: Any, b: Any) -> Any:
        if isinstance(a, Exception) or isinstance(b, Exception):
            return a if isinstance(a, Exception) else b
        if equality:
            return celtypes.BoolType(op(_equal(a, b), True))
        k = _kind(a)
        if k is not _kind(b) or k not in _ORDERED:
            raise TypeError(f"no such overload: {name}({type(a).__name__}, {type(b).__name__})")
        if k is int:
            return celtypes.BoolType(op(_value(a), _value(b)))
        return base(a, b)
    compare.__name__ = f"cel_spec{name}"
    return compare


def _spec_in(item: Any, container: Any) -> Any:
    """``in`` a list (CEL equality with each element) or a map (a key equal to the item); else an error."""
    if isinstance(item, Exception) or isinstance(container, Exception):
        return item if isinstance(item, Exception) else container
    if isinstance(container, (celtypes.ListType, celtypes.MapType)):
        return celtypes.BoolType(any(_equal(item, c) for c in container))
    raise TypeError(f"no such overload: {type(item).__name__} in {type(container).__name__}")


def _spec_index(container: Any, index: Any) -> Any:
    """``l[i]``: an index outside the list is an error value (KeyError becomes CEL's "no such key")."""
    if isinstance(container, celtypes.ListType) and _kind(index) is int and not isinstance(index, celtypes.DoubleType):
        if not 0 <= int(index) < len(container):
            raise KeyError(f"index {int(index)} outside a list of {len(container)}")
        return container[int(index)]
    return celpy.evaluation.base_functions["_[_]"](container, index)


def _spec_size(v: Any) -> Any:
    if not isinstance(v, (celtypes.StringType, celtypes.BytesType, celtypes.ListType, celtypes.MapType)):
        raise TypeError(f"no such overload: size({type(v).__name__})")
    return celtypes.IntType(len(v))


def format_double(x: float) -> str:
    """A double as CEL's ``string()`` writes it: the shortest text that reads back as ``x``, in exponent form when
    the decimal exponent is < -4 or >= 6 (Go's ``%g``, as cel-go and cel-cpp): ``120.0`` → ``120``, ``1e6`` →
    ``1e+06``, ``0.00001`` → ``1e-05``; NaN and infinities as ``NaN``, ``+Inf``, ``-Inf``."""
    if x != x:
        return "NaN"
    if x in (math.inf, -math.inf):
        return "+Inf" if x > 0 else "-Inf"
    sign, digits, exp = decimal.Decimal(repr(x)).normalize().as_tuple()
    if not any(digits):
        return "-0" if sign else "0"
    ds = "".join(map(str, digits))
    e10 = len(ds) + int(exp) - 1
    if e10 < -4 or e10 >= 6:
        text = ds[0] + ("." + ds[1:] if len(ds) > 1 else "") + f"e{'-' if e10 < 0 else '+'}{abs(e10):02d}"
    elif e10 < 0:
        text = "0." + "0" * (-e10 - 1) + ds
    else:
        text = ds[:e10 + 1].ljust(e10 + 1, "0") + ("." + ds[e10 + 1:] if len(ds) > e10 + 1 else "")
    return ("-" if sign else "") + text


def _spec_string(v: Any) -> Any:
    if isinstance(v, (celtypes.BoolType, bool)):
        return celtypes.StringType("true" if v else "false")
    if isinstance(v, float):  # (cel-python's arithmetic may hand over a plain float)
        return celtypes.StringType(format_double(float(v)))
    if v is None or isinstance(v, (celtypes.ListType, celtypes.MapType)):
        raise TypeError(f"no such overload: string({type(v).__name__})")
    return celpy.evaluation.base_functions["string"](v)


def _plain_kind(v: Any) -> str:
    """The CEL type name of a value for the conversion functions (``bool`` before the numbers: a bool is an int in
    Python)."""
    if isinstance(v, (celtypes.BoolType, bool)):
        return "bool"
    if isinstance(v, celtypes.UintType):
        return "uint"
    for t, name in ((int, "int"), (float, "double"), (str, "string"), (bytes, "bytes"),
                    (celtypes.TimestampType, "timestamp"), (celtypes.DurationType, "duration")):
        if isinstance(v, t):
            return name
    return type(v).__name__


#: The overloads of CEL's ``uint``, ``double``, ``bool`` and ``int`` conversions (langdef.md "Type conversions"):
#: cel-python also converts a bool to a number (``double(true)``) and a number to a bool (``bool(2)``).  (``int(true)``
#: is left as cel-python and Google's C++ runtime answer it: 1.)
_CONVERSIONS = {"uint": ("int", "uint", "double", "string"), "double": ("int", "uint", "double", "string"),
                "bool": ("bool", "string"), "int": ("int", "uint", "double", "string", "timestamp", "bool")}
#: The text each conversion reads from a string, as cel-go's ``strconv`` does (base-10 ASCII digits, Go's float
#: syntax without hex, Go's boolean words); cel-python reads Python's (``' 12'``, ``'1_000'``, ``'１２'``, ``'0x10'``)
_TEXT = {"int": re.compile(r"[+-]?[0-9]+"), "uint": re.compile(r"[0-9]+"),
         "double": re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))")}
_BOOL_WORDS = {**dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
               **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False)}


def _spec_conversion(name: str) -> Callable[[Any], Any]:
    base, takes = celpy.evaluation.base_functions[name], _CONVERSIONS[name]
    text = _TEXT.get(name)

    def convert(v: Any) -> Any:
        kind = _plain_kind(v)
        if kind not in takes:
            raise TypeError(f"no such overload: {name}({kind})")
        if kind == "string":
            if name == "bool":
                if v not in _BOOL_WORDS:
                    raise ValueError(f"{str(v)!r} is no bool")
                return celtypes.BoolType(_BOOL_WORDS[v])
            if not text.fullmatch(v):
                raise ValueError(f"{str(v)!r} is no {name}")
        return base(v)
    convert.__name__ = f"cel_spec_{name}"
    return convert


SPEC_FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: _spec_comparison(name, op) for name, op in (
        ("_==_", lambda a, b: a == b), ("_!=_", lambda a, b: a != b), ("_<_", lambda a, b: a < b),
        ("_<=_", lambda a, b: a <= b), ("_>_", lambda a, b: a > b), ("_>=_", lambda a, b: a >= b))}
SPEC_FUNCTIONS.update({"_in_": _spec_in, "_[_]": _spec_index, "size": _spec_size, "string": _spec_string})
SPEC_FUNCTIONS.update({name: _spec_conversion(name) for name in _CONVERSIONS})

#: The text ``timestamp()`` and ``duration()`` read, as cel-go does: an RFC 3339 time with its zone (cel-python also
#: took a date alone, no zone -- read as UTC --, a space for the T, ``+0200``), Go's durations (not ``1d``)
_TIME_TEXT = {"timestamp": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
                                      r"(?:Z|[+-][0-9]{2}:[0-9]{2})"),
              "duration": re.compile(r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|ms|s|m|h))+|[+-]?0")}


def _spec_time_text(name: str) -> Callable[[Any], Any]:
    base, text = celpy.evaluation.base_functions[name], _TIME_TEXT[name]

    def convert(v: Any) -> Any:
        if isinstance(v, str):
            if not text.fullmatch(v):
                raise ValueError(f"{str(v)!r} is no {name}")
            if name == "duration" and v.lstrip("+-") == "0":
                v = "0s"  # (Go's "0"; cel-python's parser wants a unit)
        return base(v)
    convert.__name__ = f"cel_spec_{name}"
    return convert


SPEC_FUNCTIONS.update({name: _spec_time_text(name) for name in _TIME_TEXT})


def _arith_kind(v: Any) -> str:
    """``double`` for a double (also a plain float from cel-python's arithmetic), ``int`` for an int or uint."""
    if isinstance(v, float):
        return "double"
    return "int" if isinstance(v, int) and not isinstance(v, (bool, celtypes.BoolType)) else ""


def _double_arithmetic(name: str) -> Callable[[Any, Any], Any]:
    """``+ - * / %`` of a bool: an error (no overload); of a double and an int: as doubles.  The type checker refuses mixed arithmetic (CEL has no such
    overload), so at run time it only meets an int where a double is declared: a JSON ``120`` for an ``amount``
    declared ``double`` (``stages.declared_types`` accepts integers for doubles, as JSON has one number type);
    the value is then the double it is declared as.  A double divided by zero is IEEE 754's answer."""
    base = celpy.evaluation.base_functions[name]

    def arithmetic(a: Any, b: Any) -> Any:
        if isinstance(a, (bool, celtypes.BoolType)) or isinstance(b, (bool, celtypes.BoolType)):
            raise TypeError(f"no such overload: {name} of a bool")  # (cel-python: a bool is an int)
        ka, kb = _arith_kind(a), _arith_kind(b)
        if (ka, kb) in (("double", "int"), ("int", "double")):
            a, b = celtypes.DoubleType(a), celtypes.DoubleType(b)
            ka = kb = "double"
        if name == "_/_" and ka == kb == "double" and float(b) == 0:
            x = float(a)
            return celtypes.DoubleType(math.nan if x == 0 or x != x else math.copysign(math.inf, x) * math.copysign(
                1.0, float(b)))
        return base(a, b)
    arithmetic.__name__ = f"cel_double{name}"
    return arithmetic


for _name in ("_+_", "_-_", "_*_", "_/_", "_%_"):
    SPEC_FUNCTIONS[_name] = _double_arithmetic(_name)


class _SpecEvaluator(celpy.evaluation.Evaluator):
    """cel-python's interpreter with ``has(e.f)`` as the spec defines it: ``f`` is a key of the map ``e``; when
    ``e`` is an error or not a map, an error (cel-python answers False: ``!has(a.b.c)`` was true without ``a.b``)."""

    def sub_evaluator(self, ast: Tree) -> celpy.evaluation.Evaluator:
        """Macro bodies are evaluated by this evaluator's class too."""
        return type(self)(ast, activation=self.activation)

    def macro_has_eval(self, exprlist: Tree) -> Any:
        """``has(e.f)``: a bool when ``e`` is a map, else an error value."""
        node = exprlist.children[0] if exprlist.children else None
        while isinstance(node, Tree) and len(node.children) == 1 and node.data != "member_dot":
            node = node.children[0]
        if not (isinstance(node, Tree) and node.data == "member_dot"):
            return super().macro_has_eval(exprlist)
        base = self.visit(node.children[0])
        if isinstance(base, celtypes.MapType):
            return celtypes.BoolType(celtypes.StringType(str(node.children[1])) in base)
        if isinstance(base, Exception):
            return base
        return celpy.evaluation.CELEvalError(f"has() of a field of a {type(base).__name__}", TypeError, None)


#: The type values of the conversions overridden above: cel-python resolves a name to a function of its program
#: before its own type values, so ``type(x) == string`` compared with ``_spec_string`` (always false); bound as
#: variables, the names are the types again (calls still find the functions).
_TYPE_VALUES = {"string": celtypes.StringType, "double": celtypes.DoubleType, "uint": celtypes.UintType,
                "bool": celtypes.BoolType, "int": celtypes.IntType}  # (not timestamp, duration: no type names here)


def run_program(program: celpy.InterpretedRunner, context: Mapping[str, Any]) -> Any:
    """Evaluate a compiled program (cel-python's interpreted runner: its parse tree and functions) with
    :class:`_SpecEvaluator`."""
    return _SpecEvaluator(ast=program.ast, activation=program.new_activation()).evaluate({**_TYPE_VALUES, **context})
