"""The model's answer in the format a request asked for: the transcript analysis, shaped to a
JSON schema when one is given (every value valid for it), or broken on purpose by a fault."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from . import model
from .params import OutputFormat

INVALID_ENUM = "NOT_AN_ALLOWED_VALUE"
GARBAGE = "Sure! Here is the analysis you asked for: the user seems mostly satisfied."
MAX_DEPTH = 12


def answer(transcript: str, output: OutputFormat, *, invalid: bool = False) -> str:
    """The assistant's text: JSON matching ``output``'s schema (the analysis where names match),
    or the analysis itself. ``invalid`` (a fault, for non-strict requests only) breaks it: an
    enum value outside the schema's list, or text that is not JSON."""
    analysis = model.analyze(transcript)
    if output.kind == "json_schema" and output.schema is not None:
        value = conform(output.schema, analysis, transcript)
    else:
        value = analysis
    if invalid:
        broken = _break_enum(value, output.schema) if output.schema is not None else None
        if broken is None and output.schema is None and "sentiment" in value:
            broken = {**value, "sentiment": INVALID_ENUM}
        return GARBAGE if broken is None else orjson.dumps(broken).decode()
    return orjson.dumps(value).decode()


def conform(schema: dict[str, Any], analysis: dict[str, Any], seed: str) -> Any:
    """A value valid for ``schema``: analysis values where property names match and fit,
    deterministic stand-ins (from ``seed``) elsewhere."""
    return _value(schema, schema, analysis, "", seed, 0)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/Name`` or ``#/definitions/Name``)."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part) if isinstance(target, dict) else None
    return target if isinstance(target, dict) else {}


def _pick(options: list[Any], seed: str, key: str) -> Any:
    """One of ``options``, the same for the same seed and key."""
    digest = hashlib.sha256(f"{seed}\x00{key}".encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _value(
    schema: dict[str, Any],
    root: dict[str, Any],
    analysis: dict[str, Any],
    key: str,
    seed: str,
    depth: int,
) -> Any:
    """The value of one schema node named ``key``."""
    schema = _resolve(schema, root)
    known = analysis.get(key) if key else None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return _enum(schema["enum"], known, seed, key)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(branches, list) and branches:
        usable = [
            b for b in branches if isinstance(b, dict) and _resolve(b, root).get("type") != "null"
        ]
        if not usable:
            return None
        return _value(usable[0], root, analysis, key, seed, depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if depth > MAX_DEPTH:
        kind = "null"
    if kind == "object":
        properties = schema.get("properties") or {}
        return {
            name: _value(sub, root, analysis, name, seed, depth + 1)
            for name, sub in properties.items()
            if isinstance(sub, dict)
        }
    if kind == "array":
        return _array(schema, root, analysis, key, known, seed, depth)
    if kind == "string":
        return _string(schema, analysis, key, known)
    if kind in ("integer", "number"):
        return _number(schema, known, seed, key, kind)
    if kind == "boolean":
        return known if isinstance(known, bool) else _pick([False, True], seed, key)
    return None


def _enum(options: list[Any], known: Any, seed: str, key: str) -> Any:
    """The analysis value when the list allows it (any letter case), else a stable pick."""
    if known is not None:
        for option in options:
            if option == known or (
                isinstance(option, str)
                and isinstance(known, str)
                and option.lower() == known.lower()
            ):
                return option
    return _pick(options, seed, key)


def _array(
    schema: dict[str, Any],
    root: dict[str, Any],
    analysis: dict[str, Any],
    key: str,
    known: Any,
    seed: str,
    depth: int,
) -> list[Any]:
    """Items from the analysis when it has a list of that name, else one generated item;
    within ``minItems``/``maxItems``."""
    raw_items = schema.get("items")
    items: dict[str, Any] = raw_items if isinstance(raw_items, dict) else {}
    low = int(schema.get("minItems") or 0)
    high = schema.get("maxItems")
    values: list[Any]
    if isinstance(known, list):
        values = [_value(items, root, {key: item}, key, seed, depth + 1) for item in known]
    else:
        values = [_value(items, root, analysis, key, seed, depth + 1)]
    while len(values) < low:
        values.append(_value(items, root, analysis, f"{key}{len(values)}", seed, depth + 1))
    return values[: int(high)] if isinstance(high, int) else values


def _string(schema: dict[str, Any], analysis: dict[str, Any], key: str, known: Any) -> str:
    """The analysis string of that name, else the summary; within min/max length."""
    text = known if isinstance(known, str) else str(analysis.get("summary") or "n/a")
    high = schema.get("maxLength")
    if isinstance(high, int) and high >= 0:
        text = text[:high]
    low = schema.get("minLength")
    if isinstance(low, int) and len(text) < low:
        text = text.ljust(low, ".")
    return text


def _number(schema: dict[str, Any], known: Any, seed: str, key: str, kind: str) -> int | float:
    """The analysis number of that name, else a stable one within the bounds."""
    low = schema.get("minimum", 0)
    high = schema.get("maximum", max(low, 0) + 10)
    if isinstance(known, int | float) and not isinstance(known, bool) and low <= known <= high:
        return int(known) if kind == "integer" else float(known)
    span = max(0, int(high) - int(low))
    value = int(low) + _pick(list(range(span + 1)), seed, key) if span <= 1000 else int(low)
    return value if kind == "integer" else float(value)


def _break_enum(value: Any, schema: dict[str, Any] | None) -> Any:
    """``value`` with its first enum-constrained property set outside the list; ``None`` when
    the schema has no enum property at the top level."""
    if not isinstance(value, dict) or schema is None:
        return None
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict) and isinstance(sub.get("enum"), list) and name in value:
            return {**value, name: INVALID_ENUM}
    return None
