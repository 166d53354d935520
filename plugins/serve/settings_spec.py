"""Settings of the ``serve`` plugin: the ``[serve]`` section of ``batchkernel serve``."""

from __future__ import annotations

from kernel import hookimpl
from kernel.settingspec import Section, Setting

SERVE = Section(
    "serve",
    "The monitoring HTTP server (Hypercorn): /healthz, /readyz, /api/batch-monitoring, /metrics "
    "and the dashboard. A connection must deliver a whole request within keep_alive_seconds of "
    "opening or of its previous answer; an idle one is closed after the same time.",
    (
        Setting("host", str, "127.0.0.1", "the address to listen on", non_empty=True),
        Setting("port", int, 8080, "the port (0: any free one)", ge=0, le=65535),
        Setting(
            "refresh_seconds", float, 10, "how often the dashboard page refreshes itself", gt=0
        ),
        Setting(
            "tokens",
            list,
            [],
            'bearer tokens: [{token = ...}, {token = ..., company = id, role = "operator", '
            'name = "alice"}]; a company scopes one, role is read (default) or operator (may '
            "cancel, retry, pause and resume), name labels its actions in the audit log; "
            "never logged",
            secret=True,
        ),
        Setting(
            "keep_alive_seconds",
            float,
            5,
            "a whole request must arrive within this; idle connections close after it",
            gt=0,
            le=60,
        ),
        Setting(
            "read_timeout_seconds",
            float,
            10,
            "a connection silent this long in the middle of a request is closed",
            gt=0,
            le=600,
        ),
        Setting(
            "max_concurrent_requests",
            int,
            32,
            "requests answered at once; more get 503 (/healthz always answers)",
            ge=1,
            le=10000,
        ),
        Setting(
            "backlog",
            int,
            1024,
            "connections queued before the server accepts them",
            ge=16,
            le=65535,
        ),
        Setting(
            "shutdown_seconds", float, 3, "on stop, requests in progress get this long", ge=0, le=60
        ),
        Setting(
            "top_companies",
            int,
            20,
            "companies per page and in /metrics (by backlog, then cost); __other__ sums the rest",
            ge=1,
            le=10000,
        ),
        Setting(
            "max_page_size",
            int,
            500,
            "the largest ?page_size= a client may ask for",
            ge=1,
            le=10000,
        ),
        Setting(
            "cache_seconds",
            float,
            2,
            "concurrent and repeated requests share one snapshot this long",
            ge=0,
            le=60,
        ),
    ),
)


@hookimpl
def declare_settings() -> list[Section]:
    """The ``[serve]`` section."""
    return [SERVE]
