"""The kernel's own settings sections: database, plugins, processing, batch, scheduler, log,
model, prices.

These are the keys the scheduler, the processors and the pipeline core read. Plugins declare
their own sections (and may add keys to these) through the same ``declare_settings`` hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kernel import hookimpl
from kernel.settingspec import Section, Setting

PRICE_FIELDS = ("input", "cached_input", "output", "batch_discount")


def _model_prices(models: Mapping[str, Any]) -> bool:
    """Each model is a table of non-negative prices with ``input`` and ``output``."""
    return all(
        isinstance(prices, Mapping)
        and {"input", "output"} <= set(prices)
        and set(prices) <= set(PRICE_FIELDS)
        and all(
            isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
            for value in prices.values()
        )
        for prices in models.values()
    )


DATABASE = Section(
    "database",
    "The database that holds companies, sessions, requests and batches.",
    (
        Setting(
            "url",
            str,
            "sqlite:///batchkernel.db",
            "a SQLite file (one machine) or postgresql+psycopg://user@host:5432/db",
            non_empty=True,
        ),
        Setting("pool_size", int, 5, "PostgreSQL connections kept per process", ge=1, le=1000),
        Setting(
            "statement_timeout_ms",
            int,
            30000,
            "PostgreSQL: a statement running longer is cancelled",
            ge=0,
        ),
        Setting(
            "idle_in_transaction_timeout_ms",
            int,
            30000,
            "PostgreSQL: a transaction left idle this long is ended",
            ge=0,
        ),
        Setting(
            "sqlite_busy_timeout_ms",
            int,
            30000,
            "how long a SQLite writer waits for the lock",
            ge=0,
        ),
        Setting("echo", bool, False, "log every SQL statement (debugging)"),
    ),
)

PLUGINS = Section(
    "plugins",
    "Which plugins run. Names are those of `batchkernel plugins` (entry-point names for "
    "third-party plugins).",
    (
        Setting(
            "processor",
            str,
            "optimized",
            "the processor plugin: optimized or original (or a third-party one)",
            non_empty=True,
        ),
        Setting(
            "provider", str, "openai", "the plugin that talks to the batch provider", non_empty=True
        ),
        Setting(
            "cache",
            str,
            "cache-disk",
            "the company cache: cache-disk, cache-memory, cache-redis or none",
            non_empty=True,
        ),
        Setting("exporters", list, [], "telemetry plugins to enable, by name"),
        Setting("enabled", list, [], "more plugins to enable, by name"),
        Setting("disabled", list, [], "plugins never to load, by name (their dependents go too)"),
        Setting("autoload", bool, True, "load every installed third-party plugin"),
        Setting("strict", bool, False, "a third-party plugin that fails to import stops start-up"),
        Setting(
            "trace",
            bool,
            False,
            "log every hook call at debug level (also BATCHKERNEL_TRACE_PLUGINS=1)",
        ),
    ),
)

PROCESSING = Section(
    "processing",
    "How requests are processed. The legacy environment flags ENABLE_BATCH_OPTIMIZATION, "
    "ENABLE_BATCH_OPERATIONS, ENABLE_PARALLEL_PROCESSING and FALLBACK_ON_ERRORS are read from the "
    "environment too and win over this section.",
    (
        Setting(
            "enable_batch_optimization",
            bool,
            True,
            "false: the original processor, whatever plugins.processor says",
        ),
        Setting(
            "enable_batch_operations",
            bool,
            True,
            "false: the optimized processor queries per company",
        ),
        Setting(
            "enable_parallel_processing",
            bool,
            True,
            "false: one company's submissions and downloads at a time",
        ),
        Setting(
            "fallback_on_errors",
            bool,
            True,
            "false: no fallback plugin around the optimized processor",
        ),
        Setting(
            "max_concurrent_companies",
            int,
            5,
            "companies whose provider calls run at once (optimized)",
            ge=1,
            le=64,
        ),
        Setting(
            "default_tasks",
            list,
            ["session_analysis"],
            'tasks enqueued for an imported session whose line names none (its "tasks")',
            non_empty=True,
            check=lambda names: all(isinstance(name, str) and name for name in names),
            rule="of task names",
        ),
        Setting(
            "chunk_size",
            int,
            5000,
            "optimized: requests claimed per page and result lines written per statement pair",
            ge=1,
            le=50000,
        ),
    ),
)

BATCH = Section(
    "batch",
    "How pending requests become provider batches, and how failed attempts are retried.",
    (
        Setting(
            "max_requests_per_batch",
            int,
            1000,
            "requests per batch (the provider allows 50,000 lines a file)",
            ge=1,
            le=50000,
        ),
        Setting(
            "max_file_bytes",
            int,
            200_000_000,
            "input file size limit (the provider's is 200 MB)",
            ge=1,
            le=200_000_000,
        ),
        Setting(
            "max_input_tokens_per_batch", int, 2_000_000, "estimated input tokens per batch", ge=1
        ),
        Setting("min_batch_size", int, 10, "wait for this many pending requests...", ge=1),
        Setting("max_wait_minutes", float, 30, "...or for the oldest to be this old", ge=0),
        Setting("max_attempts", int, 3, "attempts before a request fails for good", ge=1, le=100),
        Setting(
            "retry_base_seconds",
            float,
            30,
            "backoff before the second attempt (exponential, with jitter)",
            ge=0,
        ),
        Setting("retry_max_seconds", float, 21600, "the longest backoff between attempts", ge=0),
        Setting(
            "stale_plan_seconds",
            float,
            600,
            "a planned batch the provider never confirmed is reconciled after this",
            ge=0,
        ),
        Setting(
            "inflight_margin_hours",
            float,
            2,
            "past the 24 h window plus this, an in-flight batch is reconciled",
            ge=0,
        ),
        Setting(
            "cancelling_timeout_seconds",
            float,
            900,
            "a batch the provider still shows cancelling this long after the cancel is taken "
            "as cancelled: its results so far are applied, the rest re-queued",
            ge=0,
        ),
        Setting(
            "workdir",
            str,
            ".batchkernel/files",
            "where batch input and result files are written",
            non_empty=True,
        ),
    ),
)

SCHEDULER = Section(
    "scheduler",
    "How often each task runs, and the leases that keep several instances from doing it twice.",
    (
        Setting("create_interval_seconds", float, 300, "claim pending work into batches", gt=0),
        Setting("poll_interval_seconds", float, 120, "ask the provider for batch statuses", gt=0),
        Setting("apply_interval_seconds", float, 60, "apply finished batches' results", gt=0),
        Setting("retry_interval_seconds", float, 600, "re-queue or fail stranded requests", gt=0),
        Setting(
            "reconcile_interval_seconds", float, 600, "repair stale plans and lost batches", gt=0
        ),
        Setting("idle_pause_seconds", float, 0.05, "--until-idle: pause between passes", ge=0),
        Setting("idle_timeout_seconds", float, 3600, "--until-idle gives up after this", gt=0),
        Setting(
            "lease_seconds",
            float,
            60,
            "task leases and a dead instance's planned batches lapse after this",
            gt=0,
        ),
        Setting(
            "heartbeat_seconds",
            float,
            10,
            "how often a running instance beats and renews its leases",
            gt=0,
        ),
        Setting(
            "check_provider_on_start",
            bool,
            True,
            "`run` calls the provider once before claiming work (false: like --no-provider-check)",
        ),
    ),
)

LOG = Section(
    "log",
    "What the command line logs on standard error, and how. `--log-level`, `--quiet` and "
    "`--debug` win over `level`.",
    (
        Setting(
            "level",
            str,
            "info",
            "batchkernel's log level (info: a start-up banner and progress per cycle)",
            choices=("debug", "info", "warning", "error"),
        ),
        Setting(
            "format",
            str,
            "text",
            "text (one line with a UTC timestamp) or json (one object a line, for log shippers)",
            choices=("text", "json"),
        ),
    ),
)

MODEL = Section(
    "model",
    "The request parameters sent with every request.",
    (
        Setting("name", str, "gpt-4o-mini", "the model", non_empty=True),
        Setting("temperature", float, 0.1, "sampling temperature", ge=0, le=2),
        Setting("max_tokens", int, 1000, "the most output tokens per request", ge=1),
        Setting(
            "length_retry_factor",
            float,
            2.0,
            "an answer cut off at the output limit is asked once more with the limit times this; "
            "cut off again, the request fails",
            ge=1,
        ),
    ),
)

PRICES = Section(
    "prices",
    "USD per million tokens, by model; costs, estimates and budgets use them. Add or change a "
    'model in your settings file: [default.prices.models."gpt-4.1"] input = 2.0, output = 8.0.',
    (
        Setting(
            "batch_discount",
            float,
            0.5,
            "fraction taken off list prices for batch requests (a model may set its own)",
            ge=0,
            lt=1,
        ),
        Setting(
            "models",
            dict,
            {
                "gpt-4o-mini": {"input": 0.15, "cached_input": 0.075, "output": 0.60},
                "gpt-4o": {"input": 2.50, "cached_input": 1.25, "output": 10.00},
                "gpt-4.1": {"input": 2.00, "cached_input": 0.50, "output": 8.00},
                "gpt-4.1-mini": {"input": 0.40, "cached_input": 0.10, "output": 1.60},
                "gpt-4.1-nano": {"input": 0.10, "cached_input": 0.025, "output": 0.40},
                "gpt-5": {"input": 1.25, "cached_input": 0.125, "output": 10.00},
                "gpt-5-mini": {"input": 0.25, "cached_input": 0.025, "output": 2.00},
                "gpt-5-nano": {"input": 0.05, "cached_input": 0.005, "output": 0.40},
                "o3": {"input": 2.00, "cached_input": 0.50, "output": 8.00},
                "o4-mini": {"input": 1.10, "cached_input": 0.275, "output": 4.40},
                "claude-haiku-4-5": {"input": 1.00, "cached_input": 0.10, "output": 5.00},
                "claude-sonnet-4-5": {"input": 3.00, "cached_input": 0.30, "output": 15.00},
                "claude-opus-4-5": {"input": 5.00, "cached_input": 0.50, "output": 25.00},
                "gemini-2.5-flash": {"input": 0.30, "cached_input": 0.03, "output": 2.50},
                "gemini-2.5-flash-lite": {"input": 0.10, "cached_input": 0.01, "output": 0.40},
                "gemini-2.5-pro": {"input": 1.25, "cached_input": 0.125, "output": 10.00},
            },
            "per model: input, cached_input, output (and batch_discount), USD per million "
            "tokens; a reasoning model's reasoning tokens are billed as output",
            check=_model_prices,
            rule="whose models each give input and output (and may give cached_input and "
            "batch_discount) as numbers of at least 0",
        ),
    ),
)

TASK_KEYS = ("instructions", "schema", "model", "params")


def _task_table(task: Any) -> bool:
    """A task is a table with instructions and schema, and maybe model and params."""
    return (
        isinstance(task, Mapping)
        and {"instructions", "schema"} <= set(task)
        and set(task) <= set(TASK_KEYS)
    )


TASKS = Section(
    "tasks",
    "Your own tasks, one table each: [default.tasks.NAME] with instructions (the system prompt), "
    "schema (the answer's JSON schema: a table, JSON text, or a JSON file path relative to the "
    "settings file) and optionally model and params (temperature, max_output_tokens, "
    "reasoning_effort). Their answers are stored as JSON on each request.",
    (),
    entries=Setting(
        "NAME",
        dict,
        {},
        "one task",
        check=_task_table,
        rule="with instructions and schema (and optionally model and params)",
        relative_paths=("schema",),
    ),
)

SECTIONS = (DATABASE, PLUGINS, PROCESSING, BATCH, SCHEDULER, LOG, MODEL, PRICES, TASKS)


@hookimpl
def declare_settings() -> list[Section]:
    """The kernel's sections."""
    return list(SECTIONS)
