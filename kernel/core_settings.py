"""The kernel's own settings: database, plugins, and the keys of processing, batch and scheduler
it reads itself (plugins add theirs through the same ``declare_settings`` hook)."""

from __future__ import annotations

from kernel import hookimpl
from kernel.settingspec import Section, Setting

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
            flag_env="ENABLE_BATCH_OPTIMIZATION",
        ),
        Setting(
            "fallback_on_errors",
            bool,
            True,
            "false: no fallback plugin around the optimized processor",
            flag_env="FALLBACK_ON_ERRORS",
        ),
    ),
)

BATCH = Section(
    "batch",
    "How pending requests become provider batches, and how failed attempts are retried.",
    (
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
    ),
)

SECTIONS = (DATABASE, PLUGINS, PROCESSING, BATCH, SCHEDULER)


@hookimpl
def declare_settings() -> list[Section]:
    """The kernel's sections."""
    return list(SECTIONS)
