"""Structured output: check a ``responseSchema`` (Gemini's OpenAPI subset) or a ``responseJsonSchema``
(JSON Schema), and build an answer that conforms to it from a hint (the deterministic analysis).

The Schema object accepts only the fields of the Gemini API reference (type, format, title,
description, nullable, enum, items, properties, required, propertyOrdering, anyOf, min/max items,
properties, length, pattern, minimum, maximum, example, default); anything else, such as
``additionalProperties``, is refused the way the API refuses an unknown field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SCHEMA_FIELDS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "items",
        "properties",
        "required",
        "propertyOrdering",
        "anyOf",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "example",
        "default",
    }
)
TYPES = frozenset({"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"})
_SNAKE = re.compile(r"_([a-z])")


class SchemaError(ValueError):
    """The schema itself is not acceptable; the message names the field path."""


def camel(key: str) -> str:
    """proto3 JSON accepts snake_case and lowerCamelCase field names alike."""
    return _SNAKE.sub(lambda m: m.group(1).upper(), key)


def normalise(schema: Any, path: str = "response_schema") -> dict[str, Any]:
    """A Gemini Schema with camelCase keys and upper-case types; refuses unknown fields."""
    if not isinstance(schema, Mapping):
        raise SchemaError(f"Invalid value at '{path}': expected a Schema object.")
    out: dict[str, Any] = {}
    for raw_key, value in schema.items():
        key = camel(str(raw_key))
        if key not in SCHEMA_FIELDS:
            raise SchemaError(
                f"Invalid JSON payload received. Unknown name \"{raw_key}\" at '{path}': "
                "Cannot find field."
            )
        if key == "type":
            kind = str(value).upper()
            if kind not in TYPES:
                raise SchemaError(f"Invalid value at '{path}.type' ({value!r}).")
            value = kind
        elif key == "items":
            value = normalise(value, f"{path}.items")
        elif key == "anyOf":
            value = [normalise(item, f"{path}.any_of[{i}]") for i, item in enumerate(value)]
        elif key == "properties":
            if not isinstance(value, Mapping):
                raise SchemaError(f"Invalid value at '{path}.properties': expected an object.")
            value = {
                name: normalise(item, f"{path}.properties[{name}].value")
                for name, item in value.items()
            }
        out[key] = value
    if out.get("type") == "OBJECT":
        names = set(out.get("properties", {}))
        for name in out.get("required", []):
            if name not in names:
                raise SchemaError(
                    f"* GenerateContentRequest.generation_config.{path}.required: property "
                    f'"{name}" is not defined'
                )
    return out


def from_json_schema(schema: Any, root: Mapping[str, Any] | None = None, depth: int = 0) -> Any:
    """A JSON Schema (``responseJsonSchema``) as a normalised Gemini Schema, ``$ref`` resolved."""
    if not isinstance(schema, Mapping):
        raise SchemaError("Invalid value at 'response_json_schema': expected a JSON Schema object.")
    if depth > 32:
        raise SchemaError("response_json_schema nests too deeply (or its $ref is recursive).")
    root = schema if root is None else root
    if "$ref" in schema:
        return from_json_schema(_resolve(root, str(schema["$ref"])), root, depth + 1)
    out: dict[str, Any] = {}
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        out["nullable"] = "null" in kind
        kind = kinds[0] if kinds else "null"
    if "const" in schema:
        out["enum"] = [schema["const"]]
        kind = kind or "string"
    if kind:
        out["type"] = str(kind).upper()
    for key in ("enum", "minItems", "maxItems", "minimum", "maximum", "minLength", "maxLength"):
        if key in schema:
            out[key] = schema[key]
    if "required" in schema:
        out["required"] = list(schema["required"])
    if isinstance(schema.get("properties"), Mapping):
        out["properties"] = {
            name: from_json_schema(item, root, depth + 1)
            for name, item in schema["properties"].items()
        }
        out.setdefault("type", "OBJECT")
    if "items" in schema:
        out["items"] = from_json_schema(schema["items"], root, depth + 1)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        out["anyOf"] = [from_json_schema(item, root, depth + 1) for item in options]
    return out


def _resolve(root: Mapping[str, Any], ref: str) -> Any:
    """Follow a local ``#/...`` JSON pointer."""
    if not ref.startswith("#"):
        raise SchemaError(f"response_json_schema: only local $ref are supported, got {ref!r}.")
    node: Any = root
    for part in filter(None, ref[1:].split("/")):
        if not isinstance(node, Mapping) or part not in node:
            raise SchemaError(f"response_json_schema: $ref {ref!r} points nowhere.")
        node = node[part]
    return node


def conform(schema: Mapping[str, Any], hint: Any) -> Any:
    """A value matching the (normalised) schema; the hint is used wherever it fits."""
    if schema.get("anyOf"):
        for option in schema["anyOf"]:
            if _fits(option, hint):
                return conform(option, hint)
        return conform(schema["anyOf"][0], hint)
    if hint is None and schema.get("nullable"):
        return None
    kind = schema.get("type", "STRING")
    enum = schema.get("enum")
    if enum:
        return hint if hint in enum else enum[0]
    if kind == "OBJECT":
        return _object(schema, hint if isinstance(hint, Mapping) else {})
    if kind == "ARRAY":
        return _array(schema, hint if isinstance(hint, list) else [])
    if kind == "BOOLEAN":
        return hint if isinstance(hint, bool) else False
    if kind in ("INTEGER", "NUMBER"):
        return _number(schema, hint, kind)
    if kind == "NULL":
        return None
    return _string(schema, hint)


def _fits(schema: Mapping[str, Any], hint: Any) -> bool:
    """Whether a hint has the schema's basic type (to pick an anyOf branch)."""
    kind = schema.get("type")
    checks = {
        "OBJECT": isinstance(hint, Mapping),
        "ARRAY": isinstance(hint, list),
        "BOOLEAN": isinstance(hint, bool),
        "INTEGER": isinstance(hint, int) and not isinstance(hint, bool),
        "NUMBER": isinstance(hint, int | float) and not isinstance(hint, bool),
        "STRING": isinstance(hint, str),
        "NULL": hint is None,
    }
    return checks.get(str(kind), False)


def _object(schema: Mapping[str, Any], hint: Mapping[str, Any]) -> dict[str, Any]:
    """Required properties always, optional ones when the hint has them; declared order."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", properties))
    order = list(schema.get("propertyOrdering") or properties)
    order += [name for name in properties if name not in order]
    return {
        name: conform(properties[name], hint.get(name))
        for name in order
        if name in properties and (name in required or name in hint)
    }


def _array(schema: Mapping[str, Any], hint: list[Any]) -> list[Any]:
    """The hint's items made to conform, padded or cut to min/max items."""
    items = schema.get("items", {"type": "STRING"})
    values = [conform(items, item) for item in hint]
    low = int(schema.get("minItems", 0) or 0)
    high = schema.get("maxItems")
    while len(values) < low:
        values.append(conform(items, None))
    return values[: int(high)] if high is not None else values


def _number(schema: Mapping[str, Any], hint: Any, kind: str) -> int | float:
    """The hint if numeric, else the minimum or 0, clamped into range."""
    value: float = hint if isinstance(hint, int | float) and not isinstance(hint, bool) else 0
    if "minimum" in schema:
        value = max(value, float(schema["minimum"]))
    if "maximum" in schema:
        value = min(value, float(schema["maximum"]))
    return int(value) if kind == "INTEGER" else float(value)


def _string(schema: Mapping[str, Any], hint: Any) -> str:
    """The hint as text (or a placeholder), within the length bounds and formats."""
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2025-01-01T00:00:00Z"
    if fmt == "date":
        return "2025-01-01"
    text = hint if isinstance(hint, str) else ("" if hint is None else str(hint))
    low = int(schema.get("minLength", 0) or 0)
    if len(text) < low:
        text = text + "x" * (low - len(text))
    high = schema.get("maxLength")
    return text[: int(high)] if high is not None else text
