"""Tasks defined in settings: ``[default.tasks.NAME]`` with ``instructions``, ``schema`` (an inline
table, a JSON text, or a JSON file path relative to the settings file that names it), and the
optional ``model`` and ``params``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kernel.types import ConfigError
from plugins.common.exchange import TaskSpec
from plugins.tasks.settings_spec import TASK_KEYS


def plain(value: Any) -> Any:
    """Settings values (dynaconf boxes) as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def read_schema(name: str, value: Any) -> dict[str, Any]:
    """The schema of task ``name`` from its setting: a table, JSON text or a JSON file."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"tasks.{name}.schema must be a table, JSON text or the path of a JSON file"
        )
    text = value.strip()
    where = f"tasks.{name}.schema"
    if not text.startswith("{"):
        path = Path(text)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"tasks.{name}.schema: cannot read the schema file {path}: {exc.strerror or exc}"
            ) from None
        where = f"tasks.{name}.schema file {path}"
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise ConfigError(f"{where} must be a JSON object")
    return schema


def settings_task(name: str, body: Any) -> TaskSpec:
    """One ``[tasks.NAME]`` table as a task (its answer is stored as JSON only)."""
    if not isinstance(body, Mapping):
        raise ConfigError(f"tasks.{name} must be a table with instructions and schema")
    unknown = sorted(set(map(str, body)) - set(TASK_KEYS))
    if unknown:
        raise ConfigError(
            f"tasks.{name}: unknown key {', '.join(unknown)}; valid: {', '.join(TASK_KEYS)}"
        )
    for key in ("instructions", "schema"):
        if key not in body:
            raise ConfigError(f"tasks.{name} needs {key}")
    instructions = body["instructions"]
    if not isinstance(instructions, str):
        raise ConfigError(f"tasks.{name}.instructions must be a string")
    model = body.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise ConfigError(f"tasks.{name}.model must be a model name")
    params = body.get("params") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"tasks.{name}.params must be a table")
    return TaskSpec(
        name=str(name),
        instructions=instructions,
        schema=read_schema(name, body["schema"]),
        model=model,
        params=plain(params),
        applies="json",
    )


def settings_tasks(settings: Any) -> list[TaskSpec]:
    """Every task of the ``tasks`` settings section, in the order written."""
    section = settings.get("tasks") or {}
    return [settings_task(str(name).lower(), body) for name, body in section.items()]
