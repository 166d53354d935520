"""Build a JSON value that conforms to a JSON schema, preferring hinted values where they fit.

The emulator answers structured-output requests with such a value: the transcript analysis of
the OpenAI emulator's model supplies hints by property name (sentiment, category, summary, ...),
and every other property gets the simplest value its schema allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 12


def conforming(schema: Mapping[str, Any], hints: Mapping[str, Any]) -> Any:
    """A value valid against ``schema``; top-level object properties take ``hints[name]`` when
    that value is valid for the property."""
    defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}
    return _value(schema, hints, defs, None, 0)


def _resolve(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/X`` or ``#/definitions/X``)."""
    seen = 0
    while isinstance(schema.get("$ref"), str) and seen < MAX_DEPTH:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = defs.get(name)
        if not isinstance(target, Mapping):
            return {}
        schema = target
        seen += 1
    return schema


def _value(
    schema: Mapping[str, Any],
    hints: Mapping[str, Any],
    defs: Mapping[str, Any],
    hint: Any,
    depth: int,
) -> Any:
    """The value for one (sub)schema, using ``hint`` when it is valid."""
    schema = _resolve(schema, defs)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return hint if hint in schema["enum"] else schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _value(_pick(options, hint, defs), hints, defs, hint, depth + 1)
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, defs))
        return _value(merged, hints, defs, hint, depth + 1)
    kind = _type(schema)
    if kind == "object":
        return _object(schema, hints if depth == 0 else {}, defs, hint, depth)
    if kind == "array":
        return _array(schema, defs, hint, depth)
    if kind == "string":
        return _string(schema, hint)
    if kind in ("integer", "number"):
        return _number(schema, hint, kind)
    if kind == "boolean":
        return hint if isinstance(hint, bool) else False
    if kind == "null":
        return None
    return hint if hint is not None else {}


def _type(schema: Mapping[str, Any]) -> str:
    """The schema's type (the first non-null one of a list); inferred from its keywords if absent."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return kinds[0] if kinds else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return ""


def _pick(options: list[Any], hint: Any, defs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The option a hint fits (by type), else the first that is not null."""
    resolved = [_resolve(o, defs) for o in options if isinstance(o, Mapping)]
    for option in resolved:
        if hint is not None and _fits_type(option, hint):
            return option
    for option in resolved:
        if _type(option) != "null":
            return option
    return resolved[0] if resolved else {}


def _fits_type(schema: Mapping[str, Any], value: Any) -> bool:
    """Whether a value has the schema's type (no deeper check)."""
    kind = _type(schema)
    if isinstance(schema.get("enum"), list):
        return value in schema["enum"]
    return {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
        "null": value is None,
    }.get(kind, False)


def _object(
    schema: Mapping[str, Any],
    hints: Mapping[str, Any],
    defs: Mapping[str, Any],
    hint: Any,
    depth: int,
) -> dict[str, Any]:
    """Every declared property (required or not), hinted by name."""
    if depth >= MAX_DEPTH:
        return {}
    own = hint if isinstance(hint, Mapping) else {}
    out: dict[str, Any] = {}
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, Mapping):
            value_hint = hints.get(name, own.get(name))
            out[name] = _value(sub, {}, defs, value_hint, depth + 1)
    return out


def _array(schema: Mapping[str, Any], defs: Mapping[str, Any], hint: Any, depth: int) -> list[Any]:
    """The hinted items that fit, padded to ``minItems`` and cut to ``maxItems``."""
    raw_items = schema.get("items")
    items: Mapping[str, Any] = raw_items if isinstance(raw_items, Mapping) else {}
    low = int(schema.get("minItems") or 0)
    high = schema.get("maxItems")
    out = [
        _value(items, {}, defs, item, depth + 1)
        for item in (hint if isinstance(hint, list) else [])
        if _fits_type(_resolve(items, defs), item) or not items
    ]
    while len(out) < low:
        out.append(_value(items, {}, defs, None, depth + 1))
    return out[: int(high)] if isinstance(high, int) else out


def _string(schema: Mapping[str, Any], hint: Any) -> str:
    """The hint (or "n/a"), padded to ``minLength`` and cut to ``maxLength``."""
    text = hint if isinstance(hint, str) else ("" if hint is None else str(hint))
    if not text and schema.get("format") == "date":
        text = "1970-01-01"
    elif not text and schema.get("format") == "date-time":
        text = "1970-01-01T00:00:00Z"
    elif not text:
        text = "n/a"
    low = int(schema.get("minLength") or 0)
    if len(text) < low:
        text = text + "." * (low - len(text))
    high = schema.get("maxLength")
    return text[: int(high)] if isinstance(high, int) else text


def _number(schema: Mapping[str, Any], hint: Any, kind: str) -> int | float:
    """The hint if it is a number within the bounds, else the lowest value allowed (or 0)."""
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if isinstance(hint, int | float) and not isinstance(hint, bool):
        value: int | float = int(hint) if kind == "integer" else hint
        if (low is None or value >= low) and (high is None or value <= high):
            return value
    if isinstance(low, int | float):
        base = low + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
        return int(base) if kind == "integer" else base
    return 0
