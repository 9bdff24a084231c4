"""The JSON Schema of journey files (``schemas/journey.schema.json``, package data) and its errors in our words.

The schema checks the shape of a file (fields, types, enums, id and duration patterns); the loader
(:mod:`.loader`) turns each error into ``<file>:<line>: <json path>: <message>`` and then runs the semantic checks.
"""
from __future__ import annotations

import difflib
import json
import re
from importlib import resources
from typing import Any

__all__ = ["describe_error", "schema_validator"]

_SCHEMA_VALIDATOR = None


def schema_validator() -> Any:
    """The Draft 2020-12 validator of journey files (``schemas/journey.schema.json``), built once per process."""
    global _SCHEMA_VALIDATOR
    if _SCHEMA_VALIDATOR is None:
        import jsonschema

        schema = json.loads((resources.files("journeyflow.schemas") / "journey.schema.json").read_text("utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        _SCHEMA_VALIDATOR = jsonschema.Draft202012Validator(schema)
    return _SCHEMA_VALIDATOR


_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean",
               type(None): "null"}


def _json_type(v: Any) -> str:
    """The JSON name of a Python value's type (``dict`` → object)."""
    return _JSON_TYPES.get(type(v), type(v).__name__)


def describe_error(err: Any) -> list[tuple[tuple, str]]:
    """A jsonschema error of a journey file → ``[(json path, message)]`` in our words: "missing required field",
    "unknown field 'x' (did you mean 'y'?)", "expected string, got array", the schema's own ``x-messages``..."""
    path = tuple(err.absolute_path)
    v = err.validator
    inst = err.instance
    custom = err.schema.get("x-messages", {}).get(v) if isinstance(err.schema, dict) else None
    if custom:
        return [(path, custom.replace("{value!r}", repr(inst)).replace("{value}", str(inst)))]
    if v in ("oneOf", "anyOf"):
        branches: dict[int, list] = {}
        for sub in err.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        plausible = [errs for _, errs in sorted(branches.items())
                     if not any(e.validator == "type" and not e.relative_path for e in errs)]
        if plausible:
            best = min(plausible, key=len)
            return [d for e in best for d in describe_error(e)]
        kinds = sorted({str(e.validator_value) for e in err.context if e.validator == "type" and not e.relative_path})
        if kinds:
            return [(path, f"expected {' or '.join(kinds)}, got {_json_type(inst)}")]
        return [(path, err.message)]
    if v == "required":
        m = re.match(r"'(.*)' is a required property", err.message)
        name = m.group(1) if m else err.message
        return [(path, f"missing required field '{name}'")]
    if v == "additionalProperties":
        allowed = list(err.schema.get("properties", {}))
        out = []
        for k in sorted(set(inst) - set(allowed), key=str):
            hint = difflib.get_close_matches(str(k), allowed, n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else f" (allowed: {', '.join(allowed)})"
            out.append((path + (k,), f"unknown field '{k}'{extra}"))
        return out
    if v == "enum":
        values = [str(x) for x in err.validator_value]
        if len(values) <= 8:
            return [(path, f"{inst!r} is not one of {', '.join(values)}")]
        hint = difflib.get_close_matches(str(inst), values, n=1)
        return [(path, f"{inst!r} is not a known value" + (f" (did you mean '{hint[0]}'?)" if hint else ""))]
    if v == "type":
        return [(path, f"expected {err.validator_value}, got {_json_type(inst)}")]
    if v == "const":
        return [(path, f"must be {json.dumps(err.validator_value)}")]
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        word = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                "exclusiveMaximum": "less than"}[v]
        return [(path, f"{inst!r} must be {word} {err.validator_value}")]
    if v == "minItems":
        return [(path, f"needs at least {err.validator_value} item(s)")]
    if v == "maxItems":
        return [(path, f"has {len(inst)} items, more than {err.validator_value}")]
    if v == "minLength":
        return [(path, "must not be empty" if err.validator_value == 1 else err.message)]
    if v == "maxLength":
        return [(path, f"is longer than {err.validator_value} characters")]
    return [(path, err.message)]
