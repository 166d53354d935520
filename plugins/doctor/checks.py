"""The checks of ``batchkernel doctor`` that need no plugin: settings, plugins, database, schema
and clocks; then every plugin's own (``health_checks``).

Each check is a :class:`plugins.common.hookspecs.HealthCheck`; a check that cannot run because an earlier one
failed (no settings, no database) is left out rather than reported twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text

from kernel.api import KernelAPI
from kernel.manager import Kernel
from kernel.types import KernelError
from plugins.common.healthchecks import health_checks
from plugins.common.hookspecs import HealthCheck

SKEW_TOLERANCE_SECONDS = 5.0
"""Clocks further apart than this are reported (leases and liveness are measured in seconds)."""
SETTINGS_FIX = "fix the setting it names; `batchkernel settings` shows every value and its source"


def run_checks(
    settings_file: Path | None, database: str | None, *, remote: bool
) -> list[HealthCheck]:
    """Every check in order; stops early only where the next checks cannot run."""
    from kernel.manager import Kernel
    from kernel.settings import read_settings
    from plugins.cli.logs import apply_log_settings

    overrides = {"database.url": database} if database else {}
    try:
        loaded = read_settings(overrides, settings_file=settings_file)
    except KernelError as exc:
        return [HealthCheck("settings", False, str(exc), SETTINGS_FIX)]
    files = ", ".join(str(path) for path in loaded.files)
    checks = [
        HealthCheck("settings", True, f"valid (environment {loaded.environment}; files {files})")
    ]
    apply_log_settings(loaded.settings)
    try:
        kernel = Kernel.create(loaded.settings)
    except KernelError as exc:
        checks.append(
            HealthCheck(
                "plugins", False, str(exc), "fix plugins.* (`batchkernel plugins` lists them)"
            )
        )
        return checks
    kernel.create_database = False
    try:
        checks.append(plugins_check(kernel))
        database_ok = database_checks(kernel, checks)
        checks += health_checks(kernel, remote=remote)
        if database_ok:
            checks.append(clock_check(kernel))
    finally:
        kernel.close()
    return checks


def plugins_check(kernel: Kernel) -> HealthCheck:
    """Every selected plugin registered; third-party ones that failed are named."""
    enabled = sorted(info.name for info in kernel.registry if info.status == "enabled")
    failed = [info for info in kernel.registry if info.status == "failed"]
    if failed:
        names = "; ".join(f"{info.name}: {info.reason}" for info in failed)
        return HealthCheck(
            "plugins",
            False,
            f"{len(failed)} failed to load ({names})",
            "reinstall or disable them (plugins.disabled)",
        )
    return HealthCheck("plugins", True, f"{len(enabled)} loaded ({', '.join(enabled)})")


def database_checks(kernel: KernelAPI, checks: list[HealthCheck]) -> bool:
    """Reachable, then at this installation's schema; appends the checks, True when both pass."""
    from plugins.cli.readiness import (
        check_reachable,
        named,
        schema_heads,
        schema_problem,
        shown_url,
    )

    db = kernel.db
    try:
        check_reachable(db)
    except KernelError as exc:
        checks.append(HealthCheck("database", False, str(exc)))
        return False
    checks.append(HealthCheck("database", True, f"{shown_url(db.url)} answers"))
    try:
        heads = schema_heads(db)
        problem = schema_problem(heads)
    except KernelError as exc:
        heads, problem = frozenset(), str(exc)
    if problem:
        checks.append(HealthCheck("schema", False, problem))
        return False
    checks.append(HealthCheck("schema", True, f"at {named(heads)}, the newest"))
    return True


def _aware(value: datetime) -> datetime:
    """SQLite hands timestamps back naive (they are UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def clock_check(kernel: KernelAPI) -> HealthCheck:
    """This machine's clock against the database's (PostgreSQL), and the running instances'
    heartbeats: a heartbeat from the future means that instance's clock is ahead."""
    from kernel.db.models import SchedulerInstance

    db = kernel.db
    with db.engine.connect() as conn:
        now = _aware(conn.execute(text("SELECT now()")).scalar_one()) if db.is_postgres else None
        rows = conn.execute(
            select(SchedulerInstance.id, SchedulerInstance.heartbeat_at).where(
                SchedulerInstance.stopped_at.is_(None)
            )
        ).all()
    local = datetime.now(UTC)
    reference = now or local
    problems = []
    if now is not None:
        offset = (local - now).total_seconds()
        if abs(offset) > SKEW_TOLERANCE_SECONDS:
            side = "ahead of" if offset > 0 else "behind"
            problems.append(f"this machine is {abs(offset):.1f} s {side} the database")
    for row in rows:
        ahead = (_aware(row.heartbeat_at) - reference).total_seconds()
        if ahead > SKEW_TOLERANCE_SECONDS:
            problems.append(f"instance {row.id} is {ahead:.1f} s ahead of the database")
    if problems:
        return HealthCheck(
            "clocks",
            False,
            "; ".join(problems),
            "synchronise the clocks (NTP, e.g. `timedatectl set-ntp true`)",
        )
    source = "the database's" if now is not None else "this machine's (SQLite)"
    return HealthCheck(
        "clocks",
        True,
        f"within {SKEW_TOLERANCE_SECONDS:.0f} s of {source} clock "
        f"({len(rows)} running instance{'s' if len(rows) != 1 else ''} checked)",
    )
