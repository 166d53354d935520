"""Tasks of the user's own: defined in settings, enqueued, run through the real SDK against the
emulator with strict json_schema lines, exported and validated against their schema."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.scheduler import Scheduler
from kernel.types import ConfigError
from plugins.common import calls, tokens
from plugins.common.exchange import LLMRequest, TaskSpec
from plugins.common.importing.importer import import_file
from plugins.common.schema.models import CATEGORIES, SENTIMENTS, AIProcessingRequest
from plugins.common.schema.statuses import RequestStatus
from plugins.common.session_tasks import Sentiment, SessionCategory
from plugins.common.synthetic import write_jsonl
from plugins.common.until_idle import run_until_idle
from plugins.emulator import EmulatorConfig, EmulatorServer
from plugins.openai_provider.encoding import OpenAIEncoder
from plugins.tasks.enqueue import enqueue_task
from plugins.tasks.export import finished_results, write_results

TOPICS_SCHEMA = {
    "type": "object",
    "properties": {
        "topics": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "urgent": {"type": "boolean"},
        "mood": {"type": "string", "enum": ["calm", "upset"]},
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
    },
    "required": ["topics", "urgent", "mood", "score"],
    "additionalProperties": False,
}
SETTINGS = """
[default.tasks.topics]
instructions = "List the employee's topics, whether it is urgent, the mood and a score."
schema = "schemas/topics.json"
params = { max_output_tokens = 300 }
"""


def settings_file(folder: Path, text: str = SETTINGS, schema: Any = TOPICS_SCHEMA) -> Path:
    """A settings file in ``folder`` whose task schema is a file beside it."""
    (folder / "schemas").mkdir(parents=True, exist_ok=True)
    (folder / "schemas" / "topics.json").write_text(json.dumps(schema))
    path = folder / "settings.toml"
    path.write_text(text)
    return path


@pytest.fixture
def emulator() -> Any:
    """One emulator, stopped at the end."""
    server = EmulatorServer(EmulatorConfig(seed=1)).start()
    yield server
    server.stop()


@pytest.mark.parametrize("processor", ["original", "optimized"])
def test_user_task_end_to_end(
    make_kernel: Any,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    emulator: Any,
    processor: str,
) -> None:
    monkeypatch.setenv("BATCHKERNEL_SETTINGS_FILE", str(settings_file(tmp_path / "config")))
    kernel = make_kernel(
        db_url,
        openai__base_url=emulator.base_url,
        batch__max_requests_per_batch=10,
        batch__min_batch_size=1,
        plugins__processor=processor,
    )
    sessions = 24
    source = write_jsonl(tmp_path / "sessions.jsonl", 2, sessions, seed=3)
    assert import_file(kernel, source).requests_created == sessions
    assert enqueue_task(kernel, "topics") == sessions
    assert enqueue_task(kernel, "topics") == 0, "a session never gets a task twice"

    outcome = run_until_idle(Scheduler(kernel), timeout=120)
    assert outcome.idle, outcome.reason

    with kernel.db.transaction() as session:
        rows = session.execute(
            select(AIProcessingRequest.processing_type, AIProcessingRequest.status)
        ).all()
    assert sorted(rows) == sorted(
        [("session_analysis", RequestStatus.PROCESSING_COMPLETE)] * sessions
        + [("topics", RequestStatus.PROCESSING_COMPLETE)] * sessions
    )
    exported = list(finished_results(kernel, task="topics"))
    assert len(exported) == sessions
    validator = Draft202012Validator(TOPICS_SCHEMA)
    for record in exported:
        assert set(record) == {
            "request_id",
            "session_id",
            "company",
            "task",
            "model",
            "completed_at",
            "result",
        }
        assert record["task"] == "topics"
        validator.validate(record["result"])
    analyses = list(finished_results(kernel, task="session_analysis"))
    assert {r["result"]["sentiment"] for r in analyses} <= {"POSITIVE", "NEUTRAL", "NEGATIVE"}

    out = io.StringIO()
    assert write_results(iter(exported), out, "csv") == sessions
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(table) == sessions
    assert all(validator.is_valid(json.loads(row["result"])) for row in table)


def test_results_command_writes_jsonl(
    make_kernel: Any, sqlite_url: str, tmp_path: Path, emulator: Any
) -> None:
    from typer.testing import CliRunner

    from plugins.cli.main import build_app

    kernel = make_kernel(sqlite_url, openai__base_url=emulator.base_url, batch__min_batch_size=1)
    source = write_jsonl(tmp_path / "sessions.jsonl", 1, 5, seed=3)
    import_file(kernel, source)
    assert run_until_idle(Scheduler(kernel), timeout=60).idle
    target = tmp_path / "out.jsonl"
    args = ["results", "--database", sqlite_url, "--task", "session_analysis"]
    result = CliRunner().invoke(build_app(args), [*args, "--output", str(target)])
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in target.read_bytes().splitlines()]
    assert len(lines) == 5 and {line["task"] for line in lines} == {"session_analysis"}


def test_import_lines_choose_their_tasks(
    make_kernel: Any, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATCHKERNEL_SETTINGS_FILE", str(settings_file(tmp_path / "config")))
    kernel = make_kernel(sqlite_url)
    lines = [
        {"company": "c", "session_id": "a", "start_time": "2026-11-01T09:00:00Z",
         "messages": [{"role": "user", "content": "hi"}], "tasks": ["topics", "session_analysis"]},
        {"company": "c", "session_id": "b", "start_time": "2026-11-01T09:00:00Z",
         "messages": [{"role": "user", "content": "hi"}]},
        {"company": "c", "session_id": "x", "start_time": "2026-11-01T09:00:00Z",
         "messages": [{"role": "user", "content": "hi"}], "tasks": ["nope"]},
    ]  # fmt: skip
    source = tmp_path / "lines.jsonl"
    source.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    report = import_file(kernel, source)
    assert report.requests_created == 3
    assert [p.line for p in report.problems] == [3]
    assert "unknown task 'nope'" in report.problems[0].reason


def test_session_answers_use_the_values_the_database_accepts() -> None:
    assert tuple(Sentiment) == SENTIMENTS
    assert tuple(SessionCategory) == CATEGORIES


def test_strict_json_schema_in_lines() -> None:
    request = LLMRequest(
        "r1",
        "topics",
        "gpt-4o-mini",
        "Do it.",
        (("user", "hi"),),
        TOPICS_SCHEMA,
        "topics",
        300,
        0.1,
    )
    line = orjson.loads(OpenAIEncoder("gpt-4o-mini").encode(request))
    assert line["body"]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "topics", "schema": TOPICS_SCHEMA, "strict": True},
    }
    assert line["custom_id"] == "r1" and line["body"]["max_tokens"] == 300


def test_token_counter_against_known_counts() -> None:
    assert tokens.exact_counts(), "the dev extra installs the offline tokenizer"
    assert tokens.encoding_name("gpt-4o-mini") == "o200k_base"
    assert tokens.encoding_name("gpt-5-mini") == "o200k_base"
    assert tokens.encoding_name("o3") == "o200k_base"
    assert tokens.encoding_name("ft:gpt-4.1-mini:acme::x1") == "o200k_base"
    assert tokens.encoding_name("gpt-4") == "cl100k_base"
    assert tokens.encoding_name("gpt-3.5-turbo") == "cl100k_base"
    # the tokenizer's documented examples: "tiktoken is great!" is 6 tokens in both vocabularies
    assert tokens.count_text("gpt-4o", "tiktoken is great!") == 6
    assert tokens.count_text("gpt-4", "tiktoken is great!") == 6
    assert tokens.count_text("gpt-4o", "hello world") == 2
    # 3 priming + per message 3 + role (1) + content
    assert tokens.count_chat("gpt-4o", [("system", "hello world"), ("user", "hello world")]) == 15


def test_token_counts_match_the_tokenizer_package_without_importing_its_wrapper() -> None:
    """Counting loads only the compiled tokenizer (not the package's Python wrapper, which parses
    every vocabulary at import), and counts what the wrapper's encoder counts."""
    script = (
        "import sys; from plugins.common import tokens; "
        "n = tokens.count_text('gpt-4o', 'Ünïcödé, <|endoftext|> and 12345 tokens!'); "
        "print(n, 'bpe_openai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    count, wrapper_loaded = out.stdout.split()
    assert wrapper_loaded == "False"
    with warnings.catch_warnings():  # the wrapper loads its data with a deprecated call
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai

        o200k, cl100k = (
            bpe_openai.get_encoding("o200k_base"),
            bpe_openai.get_encoding("cl100k_base"),
        )
    assert int(count) == len(o200k.encode_ordinary("Ünïcödé, <|endoftext|> and 12345 tokens!"))
    for text in ("", "hello world", "def f(x):\n    return x ** 2\n", "日本語のテキスト"):
        assert tokens.count_text("gpt-4", text) == len(cl100k.encode_ordinary(text))


def test_token_counter_falls_back_to_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "encoding", lambda name: None)
    assert tokens.count_chat("gpt-4o", [("system", "x" * 10), ("user", "y" * 10)]) == 5 + 8
    assert tokens.count_text("gpt-4o", "x" * 9) == 3


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, "$"),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "object", "properties": {"b": {"type": "string"}},
                                     "required": ["b"]}},
                "required": ["a"],
                "additionalProperties": False,
            },
            "$.properties.a",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string", "minLength": 2}},
             "required": ["a"], "additionalProperties": False},
            "$.properties.a",
        ),
        ({"type": "array", "items": {"type": "string"}}, "$"),
    ],
)  # fmt: skip
def test_schema_errors_at_start_up(tmp_path: Path, schema: Any, path: str) -> None:
    from typer.testing import CliRunner

    from plugins.cli.main import build_app

    settings = settings_file(tmp_path, schema=schema)
    args = ["tasks", "--settings", str(settings)]
    with pytest.raises(ConfigError) as caught:
        CliRunner().invoke(build_app(args), args, catch_exceptions=False)
    message = str(caught.value)
    assert "task 'topics'" in message and f"schema {path}:" in message


def test_tasks_come_from_plugins_not_the_kernel(tmp_path: Path) -> None:
    from kernel.manager import Kernel
    from kernel.settings import load_settings

    settings = settings_file(tmp_path)
    kernel = Kernel.create(load_settings({"plugins.autoload": False}, settings_file=settings))
    assert {"session_analysis", "summary", "topics"} <= set(calls.tasks(kernel))
    alone = Kernel.create(
        load_settings(
            {"plugins.autoload": False, "plugins.disabled": ["session-tasks", "tasks"]},
            settings_file=settings,
        )
    )
    assert dict(calls.tasks(alone)) == {}
    with pytest.raises(ConfigError, match="unknown task 'session_analysis'"):
        calls.task(alone, "session_analysis")


def test_tasks_are_read_once_per_kernel_and_each_time_for_a_stand_in(tmp_path: Path) -> None:
    """A kernel's tasks are collected once; a stand-in that cannot be weakly referenced (a
    dataclass with the kernel's members) still gets them, asked each time."""
    from kernel.manager import Kernel
    from kernel.settings import load_settings

    kernel = Kernel.create(
        load_settings({"plugins.autoload": False}, settings_file=settings_file(tmp_path))
    )
    assert calls.tasks(kernel) is calls.tasks(kernel)

    @dataclasses.dataclass(slots=True)
    class StandIn:
        pm: Any
        settings: Any

    stand_in = StandIn(kernel.pm, kernel.settings)
    first, second = calls.tasks(stand_in), calls.tasks(stand_in)  # type: ignore[arg-type]
    assert first == second == calls.tasks(kernel) and first is not second


OPEN_OBJECT = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def test_schema_rules_are_the_registered_providers(tmp_path: Path) -> None:
    """Strict mode is the OpenAI providers' rule: Anthropic alone takes an open object, and
    openai with azure-openai registered report each of its problems once."""
    from kernel.manager import Kernel
    from kernel.settings import load_settings

    settings = settings_file(tmp_path, schema=OPEN_OBJECT)
    base: dict[str, Any] = {"plugins.autoload": False}
    anthropic = Kernel.create(
        load_settings({**base, "plugins.provider": "anthropic"}, settings_file=settings)
    )
    assert "topics" in calls.tasks(anthropic)
    routed = {
        "routing.providers": ["openai", "azure-openai"],
        "azure_openai.endpoint": "https://example.openai.azure.com",
        "azure_openai.api_key": "azure-key",
    }
    both = Kernel.create(load_settings({**base, **routed}, settings_file=settings))
    with pytest.raises(ConfigError) as caught:
        calls.tasks(both)
    assert str(caught.value) == (
        """invalid task: task 'topics': schema $: must set "additionalProperties": false"""
    )


class NeedsTemperature:
    """A plugin that refuses tasks without a temperature."""

    @hookimpl
    def task_problems(self, kernel: KernelAPI, task: TaskSpec) -> list[str] | None:
        return None if "temperature" in task.params else ["params must set a temperature"]


def test_a_plugin_adds_its_task_problems_to_the_kernels(tmp_path: Path) -> None:
    from kernel.manager import Kernel
    from kernel.settings import load_settings

    text = SETTINGS.replace("max_output_tokens = 300", "top_p = 1")
    settings = settings_file(tmp_path, text=text)
    kernel = Kernel.create(
        load_settings(
            {"plugins.autoload": False, "plugins.disabled": ["session-tasks"]},
            settings_file=settings,
        ),
        extra=[("needs-temperature", NeedsTemperature())],
    )
    with pytest.raises(ConfigError) as caught:
        calls.tasks(kernel)
    assert str(caught.value).splitlines()[1:] == [
        "  task 'topics': unknown params top_p; valid: temperature, max_output_tokens, "
        "reasoning_effort",
        "  task 'topics': params must set a temperature",
    ]


class ManyTasks:
    """A plugin whose tasks break every rule: the kernel's, the schema's and a plugin's."""

    @hookimpl
    def register_tasks(self, kernel: KernelAPI) -> list[Any]:
        schema = TOPICS_SCHEMA
        return [
            TaskSpec("Bad-Name", "", schema, params={"top_p": 1}),
            "not a task",
            TaskSpec("Bad-Name", "Again.", schema),
        ]


def test_every_task_problem_in_one_error_the_registrys_first(tmp_path: Path) -> None:
    from kernel.manager import Kernel
    from kernel.settings import load_settings

    kernel = Kernel.create(
        load_settings(
            {"plugins.autoload": False, "plugins.disabled": ["session-tasks", "tasks"]},
            settings_file=settings_file(tmp_path),
        ),
        extra=[("needs-temperature", NeedsTemperature()), ("many-tasks", ManyTasks())],
    )
    with pytest.raises(ConfigError) as caught:
        calls.tasks(kernel)
    assert str(caught.value).splitlines() == [
        "invalid tasks:",
        "  register_tasks returned str, not a TaskSpec",
        "  task 'Bad-Name' is defined twice; rename one of them",
        "  task 'Bad-Name': the name must be lower-case letters, digits and _ (starting with a "
        "letter, at most 64)",
        "  task 'Bad-Name': instructions are empty",
        "  task 'Bad-Name': unknown params top_p; valid: temperature, max_output_tokens, "
        "reasoning_effort",
        "  task 'Bad-Name': params must set a temperature",
    ]
