"""JSON Schema to Gemini responseSchema: what is kept, converted and dropped, and that the
emulator (which refuses unknown Schema fields like the API) accepts every converted schema."""

from __future__ import annotations

from typing import Any

import pytest

from plugins.emulator_gemini.schema import normalise
from plugins.gemini_provider.schema import SchemaConversionError, to_gemini

STRICT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "sentiment": {"type": "string", "enum": ["POSITIVE", "NEGATIVE"]},
        "note": {"type": ["string", "null"], "description": "optional"},
        "ref": {"anyOf": [{"$ref": "#/$defs/label"}, {"type": "null"}]},
        "scores": {"type": "array", "items": {"type": "integer", "enum": [1, 2]}, "maxItems": 3},
        "fixed": {"const": "X"},
        "nested": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"when": {"type": "string", "format": "date-time"}},
            "required": ["when"],
        },
    },
    "required": ["sentiment", "note", "ref", "scores", "fixed", "nested"],
    "$defs": {"label": {"type": "string", "enum": ["A", "B"]}},
}


def test_strict_schema_converted() -> None:
    out = to_gemini(STRICT)
    assert out["type"] == "OBJECT" and "additionalProperties" not in out
    assert out["propertyOrdering"] == list(STRICT["properties"])
    props = out["properties"]
    assert props["sentiment"] == {"type": "STRING", "enum": ["POSITIVE", "NEGATIVE"]}
    assert props["note"] == {"type": "STRING", "nullable": True, "description": "optional"}
    assert props["ref"] == {"type": "STRING", "enum": ["A", "B"], "nullable": True}
    assert props["scores"] == {"type": "ARRAY", "maxItems": 3, "items": {"type": "INTEGER"}}
    assert props["fixed"] == {"type": "STRING", "enum": ["X"]}
    assert props["nested"]["properties"]["when"] == {"type": "STRING", "format": "date-time"}
    assert normalise(out)


def test_unions_and_errors() -> None:
    union = to_gemini({"type": ["string", "integer", "null"]})
    assert union == {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}], "nullable": True}
    assert normalise(union)
    with pytest.raises(SchemaConversionError, match="points nowhere"):
        to_gemini({"$ref": "#/$defs/missing"})
    with pytest.raises(SchemaConversionError, match="only local"):
        to_gemini({"$ref": "https://example.com/schema.json"})
    with pytest.raises(SchemaConversionError, match="recursive"):
        to_gemini({"$ref": "#", "type": "object"})
