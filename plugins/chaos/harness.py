"""The chaos harness: scheduler processes, the emulator as its own process, kills and disconnects.

``run_chaos`` imports synthetic sessions into an empty database, starts the emulator with
injected faults and ``instances`` ``batchkernel run`` processes with short intervals, then, until
every request is terminal and every batch settled, SIGKILLs a random scheduler and restarts it,
and on PostgreSQL terminates a random scheduler connection; each kill and each disconnect also
waits until the schedulers have taken a step since the previous one (a batch submitted or settled,
a request finished), so on a loaded machine, where a restarted scheduler needs long to start, the
torment slows down with the work instead of starving it. A run gives up only when the open
work has not reached a new low for ``stall_seconds`` (no progress), or at the ``seconds`` cap:
a slow machine makes a run longer, not a failure. It then stops everything (each scheduler only
once it has registered, so its SIGTERM handler is in place) and audits the end state
(``plugins.chaos.audit``). Everything random comes from ``seed``, printed first, so a failing run
can be replayed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from plugins.chaos.audit import Audit, audit

APP_PREFIX = "bk-chaos-"
AMBIGUOUS_FAULTS = {"rate_lost_create": 0.05, "rate_slow": 0.02}
BASE_FAULTS = {
    "rate_429": 0.05,
    "rate_500": 0.03,
    "rate_drop": 0.02,
    "rate_expire": 0.1,
    "expire_done_fraction": 0.5,
    "rate_line_error": 0.03,
    "rate_garbage_lines": 0.01,
    "rate_missing_lines": 0.01,
    "retry_after_seconds": 0.2,
    "slow_seconds": 3.0,
    "validating_seconds": 0.3,
    "in_progress_seconds": 1.5,
    "finalizing_seconds": 0.2,
}


@dataclass
class ChaosOptions:
    """One chaos run: scale, faults, cadence of kills, and where to keep logs and files."""

    database_url: str
    workdir: Path
    seed: int
    instances: int = 3
    requests: int = 600
    companies: int = 12
    seconds: float = 150.0
    stall_seconds: float = 60.0
    ambiguous: bool = True
    kill_every: tuple[float, float] = (1.0, 4.0)
    disconnect_every: tuple[float, float] = (1.5, 4.0)
    processors: tuple[str, ...] = ("optimized", "original")
    batch_size: int = 40
    chunk_size: int = 25
    max_attempts: int = 6
    drain_seconds: float = 1.5


@dataclass
class ChaosResult:
    """Figures of a run and the audit of its end state."""

    seed: int
    quiescent: bool
    seconds: float
    stalled: bool = False
    kills: int = 0
    disconnects: int = 0
    unexpected_exits: list[str] = field(default_factory=list)
    audit: Audit = field(default_factory=Audit)

    @property
    def ok(self) -> bool:
        """Quiescent, nothing crashed on its own, and every invariant holds."""
        return self.quiescent and not self.unexpected_exits and self.audit.ok

    def lines(self) -> list[str]:
        """The report of the run."""
        state = "quiescent" if self.quiescent else "NOT quiescent"
        if self.stalled:
            state += " (no progress)"
        head = [
            f"seed {self.seed} (replay: BATCHKERNEL_CHAOS_SEED={self.seed}): {state} after "
            f"{self.seconds:.1f}s; {self.kills} SIGKILLs, {self.disconnects} database "
            f"connections terminated, {len(self.unexpected_exits)} unexpected exits",
        ]
        head += [f"UNEXPECTED EXIT: {text}" for text in self.unexpected_exits]
        return head + self.audit.lines()


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch_json(url: str, timeout: float = 10.0) -> Any:
    """GET a JSON document."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def settings_env(settings: dict[str, Any]) -> dict[str, str]:
    """``{"openai.timeout_seconds": 1}`` as ``BATCHKERNEL_OPENAI__TIMEOUT_SECONDS=1``."""
    return {
        "BATCHKERNEL_" + key.upper().replace(".", "__"): str(value)
        for key, value in settings.items()
    }


def base_environment() -> dict[str, str]:
    """This process's environment without any BATCHKERNEL_ setting or crash point."""
    return {k: v for k, v in os.environ.items() if not k.startswith("BATCHKERNEL_")}


class EmulatorProcess:
    """``python -m plugins.emulator`` on a free port, with its ledger over HTTP."""

    def __init__(self, config: dict[str, Any], directory: Path) -> None:
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "plugins.emulator", "--port", str(self.port)]
        args += ["--data-dir", str(directory / "data")]
        for key, value in config.items():
            args += ["--" + key.replace("_", "-"), str(value)]
        self.log = (directory / "emulator.log").open("wb")
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                fetch_json(f"{self.admin}/health", timeout=1)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the emulator did not start") from None
                time.sleep(0.1)

    @property
    def base_url(self) -> str:
        """The SDK's base URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def admin(self) -> str:
        """The emulator's test routes."""
        return f"http://127.0.0.1:{self.port}/_emulator"

    def ledger(self) -> dict[str, Any]:
        """Every file and batch the emulator ever created, and the faults it injected."""
        return dict(fetch_json(f"{self.admin}/ledger", timeout=60))

    def configure(self, **changes: Any) -> None:
        """Change the running emulator's settings."""
        request = urllib.request.Request(
            f"{self.admin}/config",
            data=json.dumps(changes).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        """Stop the emulator process."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class SchedulerSlot:
    """One scheduler instance slot: a ``python -m kernel run`` process, restarted after kills."""

    def __init__(self, index: int, env: dict[str, str], directory: Path) -> None:
        self.index = index
        self.env = env
        self.directory = directory
        self.log_path = directory / f"scheduler-{index}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start (or restart) the process, appending to the slot's log."""
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts} ---\n".encode())
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kernel", "run"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def exited(self) -> int | None:
        """The exit code if the process ended on its own, else None."""
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        """SIGKILL this slot's process (only that pid) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def wait_registered(self, registered: Callable[[int], bool], timeout: float = 120.0) -> None:
        """Wait until the process has registered its instance (signal handlers are in place
        by then) or has ended; a process still starting up would die of SIGTERM instead."""
        deadline = time.monotonic() + timeout
        while self.process is not None and self.process.poll() is None:
            if registered(self.process.pid) or time.monotonic() > deadline:
                return
            time.sleep(0.1)

    def terminate(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait for a clean stop; SIGKILL if it does not come."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def tail(self, lines: int = 15) -> str:
        """The end of the slot's log."""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def prepare_database(url: str, workdir: Path, requests: int, companies: int, seed: int) -> None:
    """Migrate an empty database and import the synthetic sessions (one request each)."""
    from kernel.db.migrate import upgrade
    from kernel.manager import Kernel
    from plugins.common.importing.importer import import_file
    from plugins.common.synthetic import write_jsonl

    kernel = Kernel.create(
        overrides={
            "database.url": url,
            "batch.workdir": str(workdir / "import"),
            "plugins.autoload": False,
            "plugins.cache": "none",
        }
    )
    try:
        upgrade(kernel.db)
        with kernel.db.transaction() as session:
            existing = session.execute(sa.text("SELECT count(*) FROM ai_processing_requests"))
            if existing.scalar_one():
                raise RuntimeError("the chaos harness needs an empty database")
        source = write_jsonl(workdir / "sessions.jsonl", companies, requests, seed=seed)
        report = import_file(kernel, source)
        if report.requests_created != requests:
            raise RuntimeError(f"imported {report.requests_created} of {requests} requests")
    finally:
        kernel.close()


def scheduler_settings(options: ChaosOptions, base_url: str) -> dict[str, Any]:
    """Settings of every scheduler process: short intervals, leases and timeouts."""
    return {
        "database.url": options.database_url,
        "database.pool_size": 2,
        "openai.base_url": base_url,
        "openai.timeout_seconds": 1.5,
        "openai.connect_timeout_seconds": 1,
        "openai.max_retries": 3,
        "openai.backoff_base_seconds": 0.05,
        "openai.backoff_max_seconds": 0.5,
        "openai.circuit_failure_threshold": 20,
        "openai.circuit_reset_seconds": 1,
        "openai.file_retention": "delete",
        "plugins.autoload": "false",
        "plugins.cache": "none",
        "processing.chunk_size": options.chunk_size,
        "batch.max_requests_per_batch": options.batch_size,
        "batch.min_batch_size": 1,
        "batch.max_attempts": options.max_attempts,
        "batch.retry_base_seconds": 0.2,
        "batch.retry_max_seconds": 1,
        "batch.stale_plan_seconds": 5,
        "scheduler.check_provider_on_start": "false",  # the provider is faulty on purpose
        "scheduler.create_interval_seconds": 0.2,
        "scheduler.poll_interval_seconds": 0.2,
        "scheduler.apply_interval_seconds": 0.2,
        "scheduler.retry_interval_seconds": 0.2,
        "scheduler.reconcile_interval_seconds": 0.2,
        "scheduler.lease_seconds": 3,
        "scheduler.heartbeat_seconds": 0.5,
    }


class Chaos:
    """Drives one run; see the module docstring."""

    def __init__(self, options: ChaosOptions, out: Callable[[str], None] = print) -> None:
        self.options = options
        self.out = out
        self.rng = random.Random(options.seed)
        self.engine = sa.create_engine(options.database_url, poolclass=sa.pool.NullPool)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self.slots: list[SchedulerSlot] = []
        self.emulator: EmulatorProcess | None = None

    def emulator_config(self) -> dict[str, Any]:
        """The emulator's faults for this run."""
        config = {"seed": self.options.seed, **BASE_FAULTS}
        if self.options.ambiguous:
            config |= AMBIGUOUS_FAULTS
        return config

    def work_left(self) -> tuple[int, int]:
        """(requests not terminal plus local batches not settled, steps taken so far: batches
        submitted plus batches settled plus requests finished)."""
        with self.engine.connect() as conn:
            left, steps = conn.execute(
                sa.text(
                    "SELECT (SELECT count(*) FROM ai_processing_requests WHERE status IN "
                    "('PENDING_BATCHING', 'BATCHING_IN_PROGRESS')) + (SELECT count(*) FROM "
                    "ai_batch_requests WHERE status NOT IN ('APPLIED', 'ABANDONED')), "
                    "(SELECT count(provider_batch_id) FROM ai_batch_requests) + (SELECT count(*) "
                    "FROM ai_batch_requests WHERE status IN ('APPLIED', 'ABANDONED')) + (SELECT "
                    "count(*) FROM ai_processing_requests WHERE status NOT IN "
                    "('PENDING_BATCHING', 'BATCHING_IN_PROGRESS'))"
                )
            ).one()
            return int(left), int(steps)

    def registered(self, pid: int) -> bool:
        """Whether a running scheduler with this pid has registered its instance row."""
        with self.engine.connect() as conn:
            return bool(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM scheduler_instances "
                        "WHERE pid = :pid AND stopped_at IS NULL"
                    ),
                    {"pid": pid},
                ).scalar_one()
            )

    def disconnect(self) -> bool:
        """Terminate one random scheduler connection (PostgreSQL only)."""
        with self.engine.connect() as conn:
            pids = list(
                conn.execute(
                    sa.text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND application_name LIKE :p AND pid <> pg_backend_pid()"
                    ),
                    {"p": APP_PREFIX + "%"},
                ).scalars()
            )
            if not pids:
                return False
            conn.execute(
                sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": self.rng.choice(pids)}
            )
            return True

    def run(self) -> ChaosResult:
        """The whole run: prepare, start, torment, drain, stop, audit."""
        options = self.options
        options.workdir.mkdir(parents=True, exist_ok=True)
        self.out(
            f"chaos seed {options.seed}: {options.instances} schedulers, {options.requests} "
            f"requests, {'with' if options.ambiguous else 'without'} ambiguous faults, "
            f"cap {options.seconds:.0f}s or {options.stall_seconds:.0f}s without progress, "
            f"{self.engine.dialect.name}"
        )
        prepare_database(
            options.database_url, options.workdir, options.requests, options.companies, options.seed
        )
        self.emulator = EmulatorProcess(self.emulator_config(), options.workdir / "emulator")
        try:
            return self._run(self.emulator)
        finally:
            for slot in self.slots:
                slot.kill()
            self.emulator.stop()
            self.engine.dispose()

    def _run(self, emulator: EmulatorProcess) -> ChaosResult:
        """Start the schedulers and torment them until quiescent, stalled or out of time."""
        options = self.options
        settings = scheduler_settings(options, emulator.base_url)
        for index in range(options.instances):
            env = base_environment() | settings_env(settings)
            env |= {
                "BATCHKERNEL_PLUGINS__PROCESSOR": options.processors[
                    index % len(options.processors)
                ],
                "BATCHKERNEL_BATCH__WORKDIR": str(options.workdir / f"slot-{index}"),
                "PGAPPNAME": f"{APP_PREFIX}{index}",
                "OPENAI_API_KEY": "sk-chaos",
            }
            slot = SchedulerSlot(index, env, options.workdir)
            slot.start()
            self.slots.append(slot)
        result = ChaosResult(options.seed, quiescent=False, seconds=0.0)
        start = time.monotonic()
        next_kill = start + self.rng.uniform(*options.kill_every)
        next_disconnect = start + self.rng.uniform(*options.disconnect_every)
        last_report = start
        lowest, steps = self.work_left()
        last_progress, steps_at_kill, steps_at_disconnect = start, steps, steps
        while True:
            now = time.monotonic()
            for slot in self.slots:
                code = slot.exited()
                if code is not None:
                    result.unexpected_exits.append(
                        f"scheduler {slot.index} exited with {code}:\n{slot.tail()}"
                    )
                    slot.start()
            left, steps = self.work_left()
            if left == 0:
                result.quiescent = True
                break
            if left < lowest:
                lowest, last_progress = left, now
            if now - last_progress > options.stall_seconds:
                result.stalled = True
                break
            if now - start > options.seconds:
                break
            if now >= next_kill and steps > steps_at_kill:
                steps_at_kill = steps
                slot = self.rng.choice(self.slots)
                slot.kill()
                slot.start()
                result.kills += 1
                next_kill = now + self.rng.uniform(*options.kill_every)
            if self.is_postgres and now >= next_disconnect and steps > steps_at_disconnect:
                steps_at_disconnect = steps
                result.disconnects += int(self.disconnect())
                next_disconnect = now + self.rng.uniform(*options.disconnect_every)
            if now - last_report > 10:
                self.out(f"  {now - start:5.0f}s: {left} requests/batches open")
                last_report = now
            time.sleep(0.1)
        result.seconds = time.monotonic() - start
        time.sleep(options.drain_seconds)
        for slot in self.slots:
            slot.wait_registered(self.registered)
            code = slot.terminate()
            if code not in (0, None):
                result.unexpected_exits.append(
                    f"scheduler {slot.index} stopped with {code}:\n{slot.tail()}"
                )
        result.audit = audit(options.database_url, emulator.ledger(), ambiguous=options.ambiguous)
        return result


def run_chaos(options: ChaosOptions, out: Callable[[str], None] = print) -> ChaosResult:
    """Run one chaos scenario and print its report."""
    result = Chaos(options, out).run()
    for line in result.lines():
        out(line)
    return result
