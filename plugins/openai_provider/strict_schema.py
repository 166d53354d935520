"""What OpenAI's strict structured outputs accept as a schema (the ``openai`` and ``azure-openai``
providers send every task's schema with ``"strict": true``): an object root; every object requires
all its properties and forbids others; the keywords below; bounded nesting, properties and enums."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 10
MAX_PROPERTIES = 5000
MAX_ENUM_VALUES = 1000
TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
ALLOWED = frozenset(
    {"type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf"}
    | {"$ref", "$defs", "definitions", "description", "title", "pattern", "format", "multipleOf"}
    | {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems"}
)
"""The keywords strict mode accepts."""


class _Walk:
    """One pass over a schema, collecting problems as ``(json path, message)``."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []
        self.properties = 0
        self.enum_values = 0

    def node(self, schema: Any, path: str, depth: int) -> None:
        """Check one subschema and everything below it."""
        if not isinstance(schema, Mapping):
            self.problems.append((path, "must be a JSON object (a schema)"))
            return
        if depth > MAX_DEPTH:
            self.problems.append((path, f"nests deeper than {MAX_DEPTH} levels"))
            return
        unknown = sorted(set(schema) - ALLOWED)
        if unknown:
            self.problems.append(
                (path, f"uses {', '.join(unknown)}, not supported by strict structured outputs")
            )
        kinds = schema.get("type")
        names = kinds if isinstance(kinds, list) else [kinds]
        if kinds is None and not ({"anyOf", "$ref", "enum", "const"} & set(schema)):
            self.problems.append((path, 'needs a "type"'))
        elif kinds is not None and not all(isinstance(k, str) and k in TYPES for k in names):
            self.problems.append((path, f"has an unknown type {kinds!r}"))
        if "object" in names:
            self.object(schema, path, depth)
        if "array" in names:
            if "items" not in schema:
                self.problems.append((path, 'is an array without "items"'))
            else:
                self.node(schema["items"], f"{path}.items", depth + 1)
        enum = schema.get("enum")
        if enum is not None:
            if not isinstance(enum, list) or not enum:
                self.problems.append((path, '"enum" must be a non-empty list'))
            else:
                self.enum_values += len(enum)
        for index, option in enumerate(schema.get("anyOf") or []):
            self.node(option, f"{path}.anyOf[{index}]", depth + 1)
        for key in ("$defs", "definitions"):
            for name, sub in (schema.get(key) or {}).items():
                self.node(sub, f"{path}.{key}.{name}", depth + 1)

    def object(self, schema: Mapping[str, Any], path: str, depth: int) -> None:
        """An object: additionalProperties false, every property required, each checked."""
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            self.problems.append((path, 'is an object without "properties"'))
            return
        if schema.get("additionalProperties") is not False:
            self.problems.append((path, 'must set "additionalProperties": false'))
        required = schema.get("required") or []
        missing = [name for name in properties if name not in required]
        if missing:
            self.problems.append(
                (path, f'must list every property in "required"; missing: {", ".join(missing)}')
            )
        self.properties += len(properties)
        for name, sub in properties.items():
            self.node(sub, f"{path}.properties.{name}", depth + 1)


def strict_problems(schema: Any) -> list[str]:
    """Every reason ``schema`` cannot be used in strict mode, each after its JSON path (``$``)."""
    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        return ['$: the root must be {"type": "object", ...}']
    walk = _Walk()
    walk.node(schema, "$", 1)
    problems = [f"{path}: {message}" for path, message in walk.problems]
    if walk.properties > MAX_PROPERTIES:
        problems.append(f"$: has {walk.properties} object properties; at most {MAX_PROPERTIES}")
    if walk.enum_values > MAX_ENUM_VALUES:
        problems.append(f"$: has {walk.enum_values} enum values; at most {MAX_ENUM_VALUES}")
    return problems
