"""Answers that follow a strict ``json_schema`` response format, as the real API guarantees.

The transcript analysis gives the values where a property's name and type match one of its
fields; everything else is filled deterministically from the schema (first enum value, bounds,
a short text), so the same line always gets the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 12


def strict_schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema of a chat body's strict ``json_schema`` response format, if it has one."""
    response_format = body.get("response_format")
    if not isinstance(response_format, Mapping) or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("schema"), Mapping):
        return None
    return spec["schema"]


def conforming(schema: Mapping[str, Any], analysis: Mapping[str, Any]) -> Any:
    """An instance of ``schema`` using the analysis' fields where names and types agree."""
    return _value(schema, schema, analysis.get, "answer", 0)


def _resolve(root: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/name``)."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part, {}) if isinstance(node, Mapping) else {}
    return node if isinstance(node, Mapping) else {}


def _value(root: Mapping[str, Any], schema: Any, hint: Any, name: str, depth: int) -> Any:
    """A value for one subschema; ``hint(name)`` offers the analysis' value of a property."""
    schema = _resolve(root, schema) if isinstance(schema, Mapping) else {}
    if depth > MAX_DEPTH:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("anyOf"):
        return _value(root, schema["anyOf"][0], hint, name, depth + 1)
    suggested = hint(name) if callable(hint) else None
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return suggested if suggested in enum else enum[len(name) % len(enum)]
    kinds = schema.get("type")
    kind = next((k for k in kinds if k != "null"), "null") if isinstance(kinds, list) else kinds
    if kind == "object":
        properties = schema.get("properties") or {}
        source = suggested if isinstance(suggested, Mapping) else None
        lookup = source.get if source is not None else hint
        return {key: _value(root, sub, lookup, key, depth + 1) for key, sub in properties.items()}
    if kind == "array":
        items = schema.get("items") or {}
        low = int(schema.get("minItems") or 0)
        high = schema.get("maxItems")
        if isinstance(suggested, list):
            values = [_value(root, items, lambda _, v=v: v, name, depth + 1) for v in suggested]
        else:
            values = [_value(root, items, None, name, depth + 1)]
        while len(values) < low:
            values.append(values[-1] if values else _value(root, items, None, name, depth + 1))
        return values[: int(high)] if isinstance(high, int) else values
    if kind == "string":
        return suggested if isinstance(suggested, str) else f"{name} of the session"
    if kind in ("integer", "number"):
        if isinstance(suggested, int | float) and not isinstance(suggested, bool):
            return suggested
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = low + (1 if "exclusiveMinimum" in schema else 0)
        high = schema.get("maximum")
        value = min(value, high) if isinstance(high, int | float) else value
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return suggested if isinstance(suggested, bool) else False
    return None
