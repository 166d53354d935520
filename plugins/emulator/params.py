"""The model-parameter rules the real API applies to one request body, with its error texts:
reasoning models and ``max_tokens``/``temperature``, chat-only parameters sent to the
Responses API, and the rules of a strict ``json_schema``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
NOT_REASONING = ("gpt-5-chat",)
MOVED_TO_RESPONSES = {
    "messages": "input",
    "max_tokens": "max_output_tokens",
    "max_completion_tokens": "max_output_tokens",
    "response_format": "text.format",
    "reasoning_effort": "reasoning.effort",
}
EFFORTS = ("minimal", "low", "medium", "high")


@dataclass(frozen=True)
class Rejection:
    """A 400 answer for one request line: message, param and code as the API sends them."""

    message: str
    param: str | None
    code: str | None


@dataclass(frozen=True)
class OutputFormat:
    """What the request asked the answer to be: free text, a JSON object, or a JSON schema."""

    kind: str
    """"text", "json_object" or "json_schema"."""
    name: str = ""
    schema: dict[str, Any] | None = None
    strict: bool = False


def is_reasoning(model: str) -> bool:
    """Whether ``model`` is a reasoning model (o-series, gpt-5 family except the chat models)."""
    name = model.lower()
    if name.startswith(NOT_REASONING):
        return False
    return name.startswith(REASONING_PREFIXES)


def check_chat(body: dict[str, Any]) -> Rejection | None:
    """The first rule a chat completions body breaks, or ``None``."""
    model = str(body.get("model") or "")
    reasoning = is_reasoning(model)
    if "max_tokens" in body and "max_completion_tokens" in body:
        return Rejection(
            "Invalid parameter combination: 'max_tokens' and 'max_completion_tokens' cannot "
            "both be set. Use 'max_completion_tokens'.",
            "max_tokens",
            "invalid_parameter_combination",
        )
    if reasoning and "max_tokens" in body:
        return Rejection(
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "max_tokens",
            "unsupported_parameter",
        )
    temperature = _temperature_rule(body, reasoning)
    if temperature is not None:
        return temperature
    effort = body.get("reasoning_effort")
    if effort is not None:
        if not reasoning:
            return Rejection(
                "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                "reasoning_effort",
                "unsupported_parameter",
            )
        if effort not in EFFORTS:
            return _invalid_effort(effort, "reasoning_effort")
    return check_format(chat_format(body), "response_format")


def check_responses(body: dict[str, Any]) -> Rejection | None:
    """The first rule a Responses API body breaks, or ``None``."""
    for chat_only, moved in MOVED_TO_RESPONSES.items():
        if chat_only in body:
            return Rejection(
                f"Unsupported parameter: '{chat_only}'. In the Responses API, this parameter "
                f"has moved to '{moved}'.",
                chat_only,
                "unsupported_parameter",
            )
    if body.get("input") in (None, "", []):
        return Rejection(
            "Missing required parameter: 'input'.", "input", "missing_required_parameter"
        )
    reasoning = is_reasoning(str(body.get("model") or ""))
    temperature = _temperature_rule(body, reasoning)
    if temperature is not None:
        return temperature
    settings = body.get("reasoning")
    if isinstance(settings, dict) and settings.get("effort") is not None:
        if not reasoning:
            return Rejection(
                "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
                "reasoning.effort",
                "unsupported_parameter",
            )
        if settings["effort"] not in EFFORTS:
            return _invalid_effort(settings["effort"], "reasoning.effort")
    return check_format(responses_format(body), "text.format")


def _temperature_rule(body: dict[str, Any], reasoning: bool) -> Rejection | None:
    """Reasoning models accept only the default temperature (1)."""
    value = body.get("temperature")
    if reasoning and value is not None and value != 1:
        return Rejection(
            f"Unsupported value: 'temperature' does not support {value} with this model. "
            "Only the default (1) value is supported.",
            "temperature",
            "unsupported_value",
        )
    return None


def _invalid_effort(value: Any, param: str) -> Rejection:
    """An effort that is not one of the known levels."""
    choices = ", ".join(f"'{e}'" for e in EFFORTS)
    return Rejection(
        f"Invalid value: '{value}'. Supported values are: {choices}.", param, "invalid_value"
    )


def chat_format(body: dict[str, Any]) -> OutputFormat:
    """The output format a chat body asks for (``response_format``)."""
    spec = body.get("response_format")
    if not isinstance(spec, dict):
        return OutputFormat("text")
    kind = spec.get("type")
    if kind == "json_schema":
        inner = spec.get("json_schema")
        return _schema_format(inner if isinstance(inner, dict) else {})
    return OutputFormat("json_object" if kind == "json_object" else "text")


def responses_format(body: dict[str, Any]) -> OutputFormat:
    """The output format a Responses body asks for (``text.format``)."""
    text = body.get("text")
    spec = text.get("format") if isinstance(text, dict) else None
    if not isinstance(spec, dict):
        return OutputFormat("text")
    if spec.get("type") == "json_schema":
        return _schema_format(spec)
    return OutputFormat("json_object" if spec.get("type") == "json_object" else "text")


def _schema_format(spec: dict[str, Any]) -> OutputFormat:
    """A json_schema format from its ``name``, ``schema`` and ``strict``."""
    schema = spec.get("schema")
    return OutputFormat(
        "json_schema",
        str(spec.get("name") or ""),
        schema if isinstance(schema, dict) else None,
        spec.get("strict") is True,
    )


def check_format(output: OutputFormat, param: str) -> Rejection | None:
    """A json_schema format needs a name and a schema; a strict one, a strict-compatible schema."""
    if output.kind != "json_schema":
        return None
    if not output.name:
        return Rejection(
            f"Missing required parameter: '{param}.name'.",
            f"{param}.name",
            "missing_required_parameter",
        )
    if output.schema is None:
        return Rejection(
            f"Missing required parameter: '{param}.schema'.",
            f"{param}.schema",
            "missing_required_parameter",
        )
    if not output.strict:
        return None
    problem = strict_problem(output.schema)
    if problem is None:
        return None
    return Rejection(
        f"Invalid schema for response_format '{output.name}': {problem}",
        param,
        "invalid_json_schema",
    )


def strict_problem(schema: dict[str, Any], context: tuple[str, ...] = ()) -> str | None:
    """Why a schema cannot be used in strict mode (the API's wording), or ``None``."""
    if not context and schema.get("type") != "object":
        return "schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{}\"'.".format(
            schema.get("type")
        )
    where = f"In context=({', '.join(repr(c) for c in context)}), "
    types = schema.get("type")
    if types == "object" or (isinstance(types, list) and "object" in types):
        if schema.get("additionalProperties") is not False:
            return where + "'additionalProperties' is required to be supplied and to be false."
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        missing = [name for name in properties if name not in required]
        if missing:
            return (
                where + "'required' is required to be supplied and to be an array including "
                f"every key in properties. Missing '{missing[0]}'."
            )
        for name, sub in properties.items():
            if isinstance(sub, dict):
                found = strict_problem(sub, (*context, "properties", name))
                if found:
                    return found
    items = schema.get("items")
    if isinstance(items, dict):
        found = strict_problem(items, (*context, "items"))
        if found:
            return found
    for key in ("anyOf",):
        for index, sub in enumerate(schema.get(key) or []):
            if isinstance(sub, dict):
                found = strict_problem(sub, (*context, key, str(index)))
                if found:
                    return found
    for name, sub in (schema.get("$defs") or {}).items():
        if isinstance(sub, dict):
            found = strict_problem(sub, (*context, "$defs", name))
            if found:
                return found
    return None


def output_limit(body: dict[str, Any], endpoint: str) -> int | None:
    """The request's output token limit (None: the model's own)."""
    names = (
        ("max_output_tokens",)
        if endpoint == "/v1/responses"
        else ("max_completion_tokens", "max_tokens")
    )
    for name in names:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def effort_of(body: dict[str, Any], endpoint: str) -> str:
    """The reasoning effort asked for (default medium)."""
    if endpoint == "/v1/responses":
        settings = body.get("reasoning")
        effort = settings.get("effort") if isinstance(settings, dict) else None
    else:
        effort = body.get("reasoning_effort")
    return effort if effort in EFFORTS else "medium"
