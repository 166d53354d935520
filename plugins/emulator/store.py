"""Files and batches state with a lazily evaluated, compressed-clock batch lifecycle."""

from __future__ import annotations

import math
import os
import random
import shutil
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import ids
from .config import EmulatorConfig
from .errors import ApiError, not_found
from .execution import Outcome, Plan, execute, progress
from .faults import BatchFaults, FaultInjector, line_outcomes, line_outcomes_by_request
from .files import BATCH_INPUT_TTL, FileRecord, FileTable
from .validation import batch_error, scan_input

TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
ENQUEUED = frozenset({"in_progress", "finalizing", "cancelling"})
BATCH_WINDOW = 86_400
ORGANIZATION = "org-emulator"

_TIMESTAMPS = (
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)


@dataclass
class BatchRecord:
    """One batch: request parameters, lifecycle timestamps (float seconds) and results."""

    id: str
    seq: int
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, str] | None
    output_expires_seconds: int | None
    created: float
    faults: BatchFaults
    create_response_lost: bool = False
    status: str = "validating"
    model: str | None = None
    errors: list[dict[str, Any]] | None = None
    times: dict[str, float] = field(default_factory=dict)
    total: int = 0
    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    estimated_tokens: int = 0
    custom_ids: list[str] = field(default_factory=list)
    plan: Plan | None = None
    pending: Outcome | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    azure: bool = False
    """Created through the Azure OpenAI paths: an error file is always published, and every
    line must name a known deployment (when the config lists them)."""


Event = tuple[float, Callable[[BatchRecord, float], None]]


class Store:
    """All emulator state behind one re-entrant lock; batch state advances when it is read."""

    def __init__(self, directory: Path, config: EmulatorConfig, faults: FaultInjector) -> None:
        self.lock = threading.RLock()
        self.files = FileTable(directory)
        self.config = config
        self.faults = faults
        self._batches: dict[str, BatchRecord] = {}
        self._active: dict[str, BatchRecord] = {}
        self._seq = 0
        self._released_at = 0.0
        self._sent: dict[str, int] = {}

    def set_config(self, config: EmulatorConfig) -> None:
        """Settle every batch under the old settings, then switch to the new ones."""
        with self.lock:
            now = time.time()
            self._advance_all(now)
            if self.config.stuck_finalizing and not config.stuck_finalizing:
                self._released_at = now
            self.config = config

    # Files

    def add_file(self, source: Path, filename: str, purpose: str, ttl: int | None) -> dict:
        """Register an uploaded file (already on disk) and return its FileObject."""
        with self.lock:
            created = int(time.time())
            if ttl is None and purpose == "batch":
                ttl = BATCH_INPUT_TTL
            expires = created + ttl if ttl is not None else None
            return self.files.adopt(source, filename, purpose, created, expires).to_api()

    def get_file(self, file_id: str) -> dict:
        """FileObject of a live file, or 404."""
        with self.lock:
            return self._file(file_id).to_api()

    def delete_file(self, file_id: str) -> dict:
        """Delete a file and its content, or 404."""
        with self.lock:
            record = self.files.delete(file_id)
            if record is None:
                raise not_found("File", file_id, "file_id")
            return {"id": file_id, "object": "file", "deleted": True}

    def open_file(self, file_id: str) -> tuple[IO[bytes], int]:
        """An open handle on a file's content and its size; the caller closes it."""
        with self.lock:
            record = self._file(file_id)
            return record.path.open("rb"), record.bytes

    def list_files(self, purpose: str | None, limit: int, order: str, after: str | None) -> dict:
        """A page of live files, optionally filtered by purpose."""
        with self.lock:
            items = [f for f in self.files.live() if purpose is None or f.purpose == purpose]
            if order == "desc":
                items.reverse()
            return _page([f.to_api() for f in items], after, limit)

    def _file(self, file_id: str) -> FileRecord:
        """A live file record, or 404."""
        record = self.files.get(file_id)
        if record is None:
            raise not_found("File", file_id, "file_id")
        return record

    # Batches

    def create_batch(
        self,
        input_file_id: str,
        endpoint: str,
        metadata: dict[str, str] | None,
        output_expires_seconds: int | None,
        lost: bool,
        azure: bool = False,
    ) -> dict:
        """Make a new batch in `validating` (content checks come later, asynchronously)."""
        with self.lock:
            source = self.files.get(input_file_id)
            if source is None:
                raise not_found("File", input_file_id, "input_file_id")
            if source.purpose != "batch":
                raise ApiError(
                    400,
                    f"File {input_file_id} has purpose '{source.purpose}'; "
                    "a batch input file must have purpose 'batch'.",
                    param="input_file_id",
                    code="invalid_file_purpose",
                )
            self._seq += 1
            batch_id = ids.batch_id()
            record = BatchRecord(
                id=batch_id,
                seq=self._seq,
                endpoint=endpoint,
                input_file_id=input_file_id,
                completion_window="24h",
                metadata=metadata,
                output_expires_seconds=output_expires_seconds,
                created=time.time(),
                faults=self.faults.batch_faults(batch_id),
                create_response_lost=lost,
                azure=azure,
            )
            self._batches[batch_id] = record
            self._active[batch_id] = record
            return self._api(record, record.created)

    def get_batch(self, batch_id: str) -> dict:
        """The batch as of now, or 404."""
        with self.lock:
            now = time.time()
            self._advance_all(now)
            return self._api(self._batch(batch_id), now)

    def list_batches(self, after: str | None, limit: int) -> dict:
        """A page of batches, newest first."""
        with self.lock:
            now = time.time()
            self._advance_all(now)
            items = sorted(self._batches.values(), key=lambda b: b.seq, reverse=True)
            return _page([self._api(b, now) for b in items], after, limit)

    def cancel_batch(self, batch_id: str) -> dict:
        """Move a batch to `cancelling`; the requests done so far keep their results."""
        with self.lock:
            now = time.time()
            self._advance_all(now)
            record = self._batch(batch_id)
            if record.status in TERMINAL:
                raise ApiError(
                    400,
                    f"Cannot cancel a batch with status '{record.status}'.",
                    param="batch_id",
                )
            if record.status == "in_progress" and record.plan is not None:
                done = self._done_at(record, now)
                self._run(record, done, "batch_cancelled", now)
            if record.status != "cancelling":
                record.status = "cancelling"
                record.times["cancelling_at"] = now
            return self._api(record, now)

    def ledger(self) -> dict[str, Any]:
        """Every file and batch ever created, with the custom_ids each batch accepted."""
        with self.lock:
            self._advance_all(time.time())
            return {
                "files": [f.to_ledger() for f in self.files.all()],
                "batches": [_ledger_entry(b) for b in self._batches.values()],
                "faults": self.faults.snapshot(),
            }

    def health(self) -> dict[str, Any]:
        """Counts for the health endpoint."""
        with self.lock:
            return {
                "status": "ok",
                "files": len(self.files.live()),
                "batches": len(self._batches),
                "active_batches": len(self._active),
            }

    def _batch(self, batch_id: str) -> BatchRecord:
        """A batch record, or 404."""
        record = self._batches.get(batch_id)
        if record is None:
            raise not_found("Batch", batch_id, "batch_id")
        return record

    # Lifecycle

    def _advance_all(self, now: float) -> None:
        """Apply every due transition of every active batch, earliest first."""
        while True:
            best: tuple[float, int, BatchRecord, Callable[[BatchRecord, float], None]] | None
            best = None
            for record in self._active.values():
                event = self._next_event(record)
                if event is None or event[0] > now:
                    continue
                if best is None or (event[0], record.seq) < best[:2]:
                    best = (event[0], record.seq, record, event[1])
            if best is None:
                return
            when, _, record, action = best
            action(record, when)
            if record.status in TERMINAL:
                self._active.pop(record.id, None)

    def _next_event(self, record: BatchRecord) -> Event | None:
        """When the batch leaves its current status, and how."""
        cfg = self.config
        times = record.times
        if record.status == "validating":
            return record.created + cfg.validating_seconds, self._validate
        if record.status == "in_progress":
            start = times["in_progress_at"]
            end = start + cfg.in_progress_seconds
            if record.faults.expire:
                return start + cfg.in_progress_seconds * cfg.expire_done_fraction, self._expire
            window_end = record.created + cfg.completion_window_seconds
            if window_end < end:
                return max(window_end, start), self._expire
            return end, self._finalize
        if record.status == "finalizing":
            if cfg.stuck_finalizing:
                return None
            due = times["finalizing_at"] + cfg.finalizing_seconds
            return max(due, self._released_at), self._complete
        if record.status == "cancelling":
            return times["cancelling_at"] + cfg.cancelling_seconds, self._cancelled
        return None

    def _validate(self, record: BatchRecord, when: float) -> None:
        """Validate the input file; fail the batch, or start it."""
        cfg = self.config
        if record.faults.fail_validation:
            self._fail(
                record,
                when,
                [batch_error("invalid_file", "Injected fault: the input file failed validation.")],
            )
            return
        path = self._snapshot_input(record)
        scan = scan_input(
            path,
            record.endpoint,
            cfg.max_requests_per_batch,
            cfg.reject_line_marker,
            exact_tokens=bool(cfg.enqueued_token_limits),
        )
        record.model = scan.model
        if record.azure and cfg.azure_deployments and scan.model not in cfg.azure_deployments:
            scan.errors.append(
                batch_error(
                    "model_not_found",
                    f"The provided model deployment '{scan.model}' does not exist or is not a "
                    "Global-Batch deployment.",
                    param="body.model",
                )
            )
        if scan.errors:
            path.unlink(missing_ok=True)
            self._fail(record, when, scan.errors)
            return
        limit = cfg.enqueued_token_limits.get(scan.model or "", cfg.enqueued_token_limits.get("*"))
        if limit is not None:
            enqueued = sum(
                other.estimated_tokens
                for other in self._active.values()
                if other is not record and other.model == scan.model and other.status in ENQUEUED
            )
            if enqueued + scan.input_tokens > limit:
                message = (
                    f"Enqueued token limit reached for {scan.model} in organization {ORGANIZATION}. "
                    f"Limit: {limit:,} enqueued tokens. Please try again once some in_progress "
                    "batches have been completed."
                )
                path.unlink(missing_ok=True)
                self._fail(record, when, [batch_error("token_limit_exceeded", message)])
                return
        count = len(scan.offsets)
        seed = f"{cfg.seed}:{record.seq}"
        order = array("I", range(count))
        if cfg.shuffle_output:
            random.Random(f"{seed}:order").shuffle(order)
        record.plan = Plan(
            input_path=path,
            endpoint=record.endpoint,
            offsets=scan.offsets,
            custom_ids=scan.custom_ids,
            order=order,
            outcomes=(
                line_outcomes_by_request(scan.custom_ids, self._sent, cfg)
                if cfg.line_faults_by_request
                else line_outcomes(random.Random(f"{seed}:lines"), count, cfg)
            ),
            line_error_status=cfg.line_error_status,
            seed=seed,
        )
        record.custom_ids = scan.custom_ids
        record.estimated_tokens = scan.input_tokens
        record.total = count
        record.status = "in_progress"
        record.times["in_progress_at"] = when

    def _snapshot_input(self, record: BatchRecord) -> Path:
        """A private hard link (or copy) of the input, so deleting the file cannot break a run."""
        snapshot = self.files.scratch_path(f"{record.id}-input")
        source = self.files.get(record.input_file_id)
        if source is not None:
            try:
                os.link(source.path, snapshot)
            except OSError:
                shutil.copyfile(source.path, snapshot)
        return snapshot

    def _fail(self, record: BatchRecord, when: float, errors: list[dict[str, Any]]) -> None:
        """End the batch in `failed` with validation errors and no files."""
        record.status = "failed"
        record.errors = errors
        record.times["failed_at"] = when

    def _finalize(self, record: BatchRecord, when: float) -> None:
        """All requests ran: write the result files and enter `finalizing`."""
        self._run(record, record.total, "batch_expired", when)
        record.status = "finalizing"
        record.times["finalizing_at"] = when

    def _expire(self, record: BatchRecord, when: float) -> None:
        """The window ran out: keep what ran, the rest become `batch_expired` lines."""
        if record.faults.expire:
            done = math.floor(record.total * self.config.expire_done_fraction)
        else:
            done = self._done_at(record, when)
        self._run(record, done, "batch_expired", when)
        record.status = "expired"
        record.times["expired_at"] = when
        self._publish(record, when)

    def _complete(self, record: BatchRecord, when: float) -> None:
        """Finalizing is over: expose the result files."""
        record.status = "completed"
        record.times["completed_at"] = when
        self._publish(record, when)

    def _cancelled(self, record: BatchRecord, when: float) -> None:
        """Cancellation is over: expose partial results, if any ran."""
        record.status = "cancelled"
        record.times["cancelled_at"] = when
        self._publish(record, when)

    def _done_at(self, record: BatchRecord, when: float) -> int:
        """How many requests (in processing order) have run by `when`."""
        start = record.times.get("in_progress_at")
        if start is None or when < start:
            return 0
        span = self.config.in_progress_seconds
        if span <= 0:
            return record.total
        return min(record.total, math.floor(record.total * (when - start) / span))

    def _run(self, record: BatchRecord, done: int, not_run_code: str, when: float) -> None:
        """Execute the first `done` requests and keep the files until they are published."""
        if record.plan is None or record.pending is not None:
            return
        outcome = execute(
            record.plan,
            done,
            not_run_code,
            self.files.scratch_path(f"{record.id}-output"),
            self.files.scratch_path(f"{record.id}-errors"),
            int(when),
        )
        record.plan.input_path.unlink(missing_ok=True)
        record.plan = None
        record.pending = outcome
        record.completed = outcome.completed
        record.failed = outcome.failed
        record.input_tokens = outcome.input_tokens
        record.output_tokens = outcome.output_tokens
        record.reasoning_tokens = outcome.reasoning_tokens

    def _publish(self, record: BatchRecord, when: float) -> None:
        """Turn non-empty result files into `batch_output` file objects."""
        outcome = record.pending
        if outcome is None:
            return
        created = int(when)
        ttl = record.output_expires_seconds
        expires = created + ttl if ttl is not None else None
        if outcome.output_lines:
            record.output_file_id = self.files.adopt(
                outcome.output_path, f"{record.id}_output.jsonl", "batch_output", created, expires
            ).id
        else:
            outcome.output_path.unlink(missing_ok=True)
        if (outcome.error_path is not None and outcome.error_lines) or (
            outcome.error_path is not None and record.azure
        ):
            record.error_file_id = self.files.adopt(
                outcome.error_path, f"{record.id}_error.jsonl", "batch_output", created, expires
            ).id
        elif outcome.error_path is not None:
            outcome.error_path.unlink(missing_ok=True)

    def _api(self, record: BatchRecord, now: float) -> dict[str, Any]:
        """The OpenAI Batch object as of `now`, every field present."""
        completed, failed = record.completed, record.failed
        if record.status == "in_progress" and record.plan is not None and record.pending is None:
            completed, failed = progress(record.plan, self._done_at(record, now))
        times = {name: _int_or_none(record.times.get(name)) for name in _TIMESTAMPS}
        created = int(record.created)
        return {
            "id": record.id,
            "object": "batch",
            "endpoint": record.endpoint,
            "model": record.model,
            "errors": {"object": "list", "data": record.errors} if record.errors else None,
            "input_file_id": record.input_file_id,
            "completion_window": record.completion_window,
            "status": record.status,
            "output_file_id": record.output_file_id,
            "error_file_id": record.error_file_id,
            "created_at": created,
            "in_progress_at": times["in_progress_at"],
            "expires_at": created + BATCH_WINDOW,
            "finalizing_at": times["finalizing_at"],
            "completed_at": times["completed_at"],
            "failed_at": times["failed_at"],
            "expired_at": times["expired_at"],
            "cancelling_at": times["cancelling_at"],
            "cancelled_at": times["cancelled_at"],
            "request_counts": {"total": record.total, "completed": completed, "failed": failed},
            "usage": {
                "input_tokens": record.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": record.output_tokens,
                "output_tokens_details": {"reasoning_tokens": record.reasoning_tokens},
                "total_tokens": record.input_tokens + record.output_tokens,
            },
            "metadata": record.metadata,
        }


def _int_or_none(value: float | None) -> int | None:
    """Unix seconds for the API, or None."""
    return None if value is None else int(value)


def _page(items: list[dict[str, Any]], after: str | None, limit: int) -> dict[str, Any]:
    """A cursor page: items after the object `after`, `limit` of them, with has_more."""
    start = 0
    if after:
        position = next((i for i, item in enumerate(items) if item["id"] == after), None)
        start = len(items) if position is None else position + 1
    data = items[start : start + limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": start + limit < len(items),
    }


def _ledger_entry(record: BatchRecord) -> dict[str, Any]:
    """What tests need to know about a batch, including faults the server injected."""
    return {
        "id": record.id,
        "seq": record.seq,
        "status": record.status,
        "endpoint": record.endpoint,
        "input_file_id": record.input_file_id,
        "metadata": record.metadata,
        "model": record.model,
        "created_at": int(record.created),
        "custom_ids": list(record.custom_ids),
        "request_counts": {
            "total": record.total,
            "completed": record.completed,
            "failed": record.failed,
        },
        "output_file_id": record.output_file_id,
        "error_file_id": record.error_file_id,
        "create_response_lost": record.create_response_lost,
        "faults": {
            "fail_validation": record.faults.fail_validation,
            "expire": record.faults.expire,
        },
    }
