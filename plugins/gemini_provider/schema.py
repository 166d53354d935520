"""JSON Schema (the task's answer schema) to Gemini's ``responseSchema``, the OpenAPI 3.0 subset the
Gemini API accepts: ``$ref`` inlined, ``["T", "null"]`` and ``anyOf [..., null]`` as ``nullable``,
``const`` as a one-value enum, key order kept with ``propertyOrdering``; keywords Gemini refuses
(``additionalProperties``, ``$schema``, ``$defs``, ``default``, ``examples``, ...) dropped. The answer
is still validated against the original schema when it arrives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KEPT = (
    "description",
    "title",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minProperties",
    "maxProperties",
    "pattern",
)
FORMATS = {
    "STRING": {"date-time", "enum"},
    "INTEGER": {"int32", "int64"},
    "NUMBER": {"float", "double"},
}
MAX_DEPTH = 32


class SchemaConversionError(ValueError):
    """A schema that cannot be expressed for Gemini; the message names the JSON path."""


def to_gemini(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The Gemini ``Schema`` (camelCase, upper-case types) for a JSON Schema."""
    return _convert(schema, schema, "$", 0)


def _convert(node: Any, root: Mapping[str, Any], path: str, depth: int) -> dict[str, Any]:
    """One schema node."""
    if depth > MAX_DEPTH:
        raise SchemaConversionError(f"{path}: the schema nests too deeply (or $ref is recursive)")
    if node is True or node == {}:
        return {"type": "STRING"}
    if not isinstance(node, Mapping):
        raise SchemaConversionError(f"{path}: expected a schema object, got {node!r}")
    if "$ref" in node:
        return _convert(_resolve(root, str(node["$ref"]), path), root, path, depth + 1)
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        return _any_of(list(options), node, root, path, depth)
    out: dict[str, Any] = {}
    kind = node.get("type")
    if isinstance(kind, list):
        rest = [k for k in kind if k != "null"]
        if len(rest) > 1:
            return _any_of([{**node, "type": k} for k in rest], {}, root, path, depth) | (
                {"nullable": True} if "null" in kind else {}
            )
        if "null" in kind:
            out["nullable"] = True
        kind = rest[0] if rest else "null"
    if kind is None:
        kind = _implied_type(node)
    out["type"] = str(kind).upper()
    for key in KEPT:
        if key in node:
            out[key] = node[key]
    if "const" in node:
        out["enum"] = [node["const"]]
    elif "enum" in node:
        out["enum"] = list(node["enum"])
    if "enum" in out and not all(isinstance(v, str) for v in out["enum"]):
        del out["enum"]
    fmt = node.get("format")
    if fmt in FORMATS.get(out["type"], ()):
        out["format"] = fmt
    if out["type"] == "OBJECT":
        properties = node.get("properties") or {}
        out["properties"] = {
            name: _convert(value, root, f"{path}.properties.{name}", depth + 1)
            for name, value in properties.items()
        }
        if properties:
            out["propertyOrdering"] = list(properties)
        if node.get("required"):
            out["required"] = [name for name in node["required"] if name in properties]
    if out["type"] == "ARRAY":
        out["items"] = _convert(node.get("items", {}), root, f"{path}.items", depth + 1)
    return out


def _any_of(
    options: list[Any], node: Mapping[str, Any], root: Mapping[str, Any], path: str, depth: int
) -> dict[str, Any]:
    """``anyOf``: one real option plus null is that option, nullable; more stay an ``anyOf``."""
    nullable = any(isinstance(o, Mapping) and o.get("type") == "null" for o in options)
    real = [o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")]
    converted = [
        _convert(option, root, f"{path}.anyOf[{i}]", depth + 1) for i, option in enumerate(real)
    ]
    out: dict[str, Any] = converted[0] if len(converted) == 1 else {"anyOf": converted}
    if "description" in node:
        out["description"] = node["description"]
    if nullable:
        out["nullable"] = True
    return out


def _implied_type(node: Mapping[str, Any]) -> str:
    """The type a node without ``type`` implies by its keywords."""
    if "properties" in node:
        return "object"
    if "items" in node:
        return "array"
    return "string"


def _resolve(root: Mapping[str, Any], ref: str, path: str) -> Any:
    """A local ``#/...`` reference."""
    if not ref.startswith("#"):
        raise SchemaConversionError(f"{path}: only local $ref can be converted, got {ref!r}")
    target: Any = root
    for part in filter(None, ref[1:].split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or part not in target:
            raise SchemaConversionError(f"{path}: $ref {ref!r} points nowhere")
        target = target[part]
    return target
