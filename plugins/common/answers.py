"""Judging a provider's neutral result: the answer parsed and validated against its task's schema.

Validation happens on arrival even when the provider enforced the schema (providers without
strict mode, truncated answers). Session tasks are then normalised onto the session's columns:
enum values upper-cased, text trimmed to the column sizes, the language code checked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from plugins.common.exchange import LLMResult, ResultKind, TaskSpec, TokenUsage
from plugins.common.session_tasks import SESSION_FIELDS

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
_UPPER = ("sentiment", "category")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one result means for its request: the kind of ending, the validated answer
    (``result``, stored as JSON), the session column values of a session task (``fields``),
    tokens used and the error when it is no success."""

    request_id: str
    kind: ResultKind
    result: Any = None
    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)
    provider_request_id: str | None = None
    raw: str | None = None
    """The provider's result record as it came, for operators (``requests show``)."""


def parse_answer(text: str) -> Any:
    """The model's JSON answer (a fenced code block is unwrapped); ValueError with why."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1)
    try:
        return orjson.loads(stripped)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"model answer is not JSON: {exc}") from None


def session_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """A schema-valid session answer as column values; ValueError for what the schema cannot say."""
    out: dict[str, Any] = {}
    for key in SESSION_FIELDS:
        if key not in data:
            continue
        value = data[key]
        if key == "summary":
            if not value.strip():
                raise ValueError("summary must be a non-empty string")
            value = value.strip()[:4000]
        elif key == "language":
            if not _LANGUAGE.match(value.strip()):
                raise ValueError(f"language {value!r} is not an ISO 639-1 code")
            value = value.strip().lower()
        elif key == "questions":
            value = [q.strip()[:1000] for q in value if q.strip()][:50]
        out[key] = value
    return out


def describe(error: Any) -> str:
    """One schema violation in words, naming the answer's field: ``category 'PARKING' is not an
    allowed category; allowed: ...``."""
    name = str(error.path[-1]) if error.path else "answer"
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value[:20]))
        return f"{name} {error.instance!r} is not an allowed {name}; allowed: {allowed}"
    where = error.json_path if error.path else "answer"
    return f"{where}: {error.message}"


class AnswerJudge:
    """Judges results against the defined tasks, one compiled validator per task."""

    def __init__(self, tasks: Mapping[str, TaskSpec]) -> None:
        self.tasks = tasks
        self._validators: dict[str, Draft202012Validator] = {}

    def validator(self, task: TaskSpec) -> Draft202012Validator:
        """The compiled validator of ``task``'s schema."""
        found = self._validators.get(task.name)
        if found is None:
            found = self._validators[task.name] = Draft202012Validator(dict(task.schema))
        return found

    def check(self, task: TaskSpec, text: str) -> tuple[Any, dict[str, Any]]:
        """The validated answer and, for a session task, its column values; ValueError."""
        data = parse_answer(text)
        if task.applies == "session" and isinstance(data, dict):
            for key in _UPPER:
                if isinstance(data.get(key), str):
                    data[key] = data[key].upper()
        error = best_match(self.validator(task).iter_errors(data))
        if error is not None:
            raise ValueError(describe(error))
        fields = session_fields(data) if task.applies == "session" else {}
        if task.applies == "session":
            data = {**data, **fields}
        return data, fields

    def judge(self, result: LLMResult, task_name: str) -> Outcome:
        """The outcome of one result for a request of task ``task_name``."""
        base = Outcome(
            result.custom_id,
            result.kind,
            error=result.error,
            usage=result.usage,
            provider_request_id=result.provider_request_id,
            raw=result.raw.decode(errors="replace") if result.raw is not None else None,
        )
        if result.kind != "success":
            return base
        task = self.tasks.get(task_name)
        if task is None:
            return replace(base, kind="fail", error=f"task {task_name!r} is no longer defined")
        try:
            data, fields = self.check(task, result.text or "")
        except ValueError as exc:
            return replace(base, kind="retry", error=f"invalid model answer: {exc}")
        return replace(base, result=data, fields=fields, error=None)
