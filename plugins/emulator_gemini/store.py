"""Batches and files behind one lock; a batch's state advances lazily whenever it is read.

States (``GenerateContentBatch.state``): BATCH_STATE_PENDING -> RUNNING -> SUCCEEDED, or FAILED
(the input did not validate), EXPIRED (the window ran out; what ran is kept unless
``expired_keeps_results`` is off) or CANCELLED (what ran before the cancel is kept). The SDK
shows these as ``JOB_STATE_*``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from plugins.emulator.faults import (
    LINE_ERROR,
    BatchFaults,
    FaultInjector,
    line_outcomes,
    line_outcomes_by_request,
)

from . import ids
from .config import GeminiEmulatorConfig
from .errors import GoogleError, invalid, not_found, rpc_status
from .execution import Item, Results, run, write_lines
from .files import GeminiFiles
from .timefmt import int64, rfc3339

BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"
PENDING = "BATCH_STATE_PENDING"
RUNNING = "BATCH_STATE_RUNNING"
SUCCEEDED = "BATCH_STATE_SUCCEEDED"
FAILED = "BATCH_STATE_FAILED"
CANCELLED = "BATCH_STATE_CANCELLED"
EXPIRED = "BATCH_STATE_EXPIRED"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED})


@dataclass
class Batch:
    """One GenerateContentBatch: input, lifecycle times, faults and, when ended, its output."""

    id: str
    seq: int
    model: str
    display_name: str
    created: float
    faults: BatchFaults
    input_file: str | None
    items: list[Item]
    estimated_tokens: int
    create_response_lost: bool = False
    state: str = PENDING
    times: dict[str, float] = field(default_factory=dict)
    outcomes: bytearray = field(default_factory=bytearray)
    error: dict[str, Any] | None = None
    results: Results | None = None
    responses_file: str | None = None
    deleted: bool = False

    @property
    def name(self) -> str:
        """``batches/<id>``."""
        return f"batches/{self.id}"


Event = tuple[float, Callable[[Batch, float], None]]


class Store:
    """All emulator state; every public method takes the lock and settles due transitions."""

    def __init__(
        self, directory: Path, config: GeminiEmulatorConfig, faults: FaultInjector
    ) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.faults = faults
        self.files = GeminiFiles(directory, config.max_file_bytes)
        self._batches: dict[str, Batch] = {}
        self._seq = 0
        self._sent: dict[str, int] = {}

    def set_config(self, config: GeminiEmulatorConfig) -> None:
        """Settle every batch under the old settings, then switch."""
        with self.lock:
            self._advance(time.time())
            self.config = config
            self.files.max_file_bytes = config.max_file_bytes

    # Batches

    def create(
        self,
        model: str,
        display_name: str,
        input_file: str | None,
        items: list[Item] | None,
        lost: bool,
    ) -> dict[str, Any]:
        """Make a batch in PENDING (file contents are checked when it leaves PENDING)."""
        with self.lock:
            now = time.time()
            self._advance(now)
            if input_file is not None:
                estimated = math.ceil(self.files.get(input_file).size / 4)
            else:
                estimated = sum(math.ceil(len(orjson.dumps(i.request)) / 4) for i in items or [])
            self._check_enqueued(model, estimated)
            self._seq += 1
            batch_id = ids.batch_id()
            batch = Batch(
                id=batch_id,
                seq=self._seq,
                model=model,
                display_name=display_name,
                created=now,
                faults=self.faults.batch_faults(f"batches/{batch_id}"),
                input_file=input_file,
                items=list(items or []),
                estimated_tokens=estimated,
                create_response_lost=lost,
            )
            self._batches[batch_id] = batch
            return self._operation(batch, now)

    def get(self, batch_id: str) -> dict[str, Any]:
        """The batch's Operation as of now."""
        with self.lock:
            now = time.time()
            self._advance(now)
            return self._operation(self._batch(batch_id), now)

    def list_batches(self, page_size: int, page_token: str | None) -> dict[str, Any]:
        """A page of batches, newest first; the token is the last seq shown."""
        with self.lock:
            now = time.time()
            self._advance(now)
            try:
                after = int(page_token) if page_token else None
            except ValueError:
                raise invalid(f"Invalid page token: {page_token!r}.") from None
            items = sorted(
                (b for b in self._batches.values() if not b.deleted),
                key=lambda b: b.seq,
                reverse=True,
            )
            if after is not None:
                items = [b for b in items if b.seq < after]
            page = items[:page_size]
            out: dict[str, Any] = {"operations": [self._operation(b, now) for b in page]}
            if len(items) > page_size:
                out["nextPageToken"] = str(page[-1].seq)
            return out

    def cancel(self, batch_id: str) -> None:
        """Ask for cancellation; it lands after ``cancelling_seconds``."""
        with self.lock:
            now = time.time()
            self._advance(now)
            batch = self._batch(batch_id)
            if batch.state in TERMINAL:
                raise GoogleError(
                    "FAILED_PRECONDITION",
                    f"Batch {batch.name} is already in a terminal state ({batch.state}).",
                )
            batch.times.setdefault("cancel_requested", now)
            self._advance(now)

    def delete(self, batch_id: str) -> None:
        """Forget the batch (it is no longer listed or readable; it is not cancelled)."""
        with self.lock:
            self._advance(time.time())
            self._batch(batch_id).deleted = True

    # Files

    def ledger(self) -> dict[str, Any]:
        """Every batch and file ever made, plus the faults injected so far."""
        with self.lock:
            self._advance(time.time())
            return {
                "batches": [_ledger_entry(b) for b in self._batches.values()],
                "files": [f.to_ledger() for f in self.files.all()],
                "faults": self.faults.snapshot(),
            }

    def health(self) -> dict[str, Any]:
        """Counts for the health endpoint."""
        with self.lock:
            return {
                "status": "ok",
                "files": len(self.files.live()),
                "batches": len(self._batches),
                "active_batches": sum(b.state not in TERMINAL for b in self._batches.values()),
            }

    def _batch(self, batch_id: str) -> Batch:
        """A live batch, or 404."""
        batch = self._batches.get(batch_id)
        if batch is None or batch.deleted:
            raise not_found("Batch", f"batches/{batch_id}")
        return batch

    def _check_enqueued(self, model: str, estimated: int) -> None:
        """Refuse a batch that would pass the model's enqueued-token limit."""
        limits = self.config.enqueued_token_limits
        short = model.removeprefix("models/")
        limit = limits.get(short, limits.get(model, limits.get("*")))
        if limit is None:
            return
        enqueued = sum(
            b.estimated_tokens
            for b in self._batches.values()
            if b.model == model and b.state not in TERMINAL
        )
        if enqueued + estimated > limit:
            raise GoogleError(
                "RESOURCE_EXHAUSTED",
                f"Enqueued tokens limit exceeded for model {short}: {enqueued:,} tokens are "
                f"enqueued and the limit is {limit:,}. Try again once running batches finish.",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [
                            {
                                "quotaMetric": "generativelanguage.googleapis.com/"
                                "batch_enqueued_tokens",
                                "quotaId": "BatchEnqueuedTokensPerModel",
                                "quotaDimensions": {"model": short},
                                "quotaValue": str(limit),
                            }
                        ],
                    }
                ],
            )

    # Lifecycle

    def _advance(self, now: float) -> None:
        """Apply every due transition, earliest first."""
        while True:
            best: tuple[float, int, Batch, Callable[[Batch, float], None]] | None = None
            for batch in self._batches.values():
                if batch.state in TERMINAL:
                    continue
                event = self._next(batch)
                if event is None or event[0] > now:
                    continue
                if best is None or (event[0], batch.seq) < best[:2]:
                    best = (event[0], batch.seq, batch, event[1])
            if best is None:
                return
            when, _, batch, action = best
            action(batch, when)

    def _next(self, batch: Batch) -> Event | None:
        """When the batch leaves its state, and how."""
        cfg = self.config
        candidates: list[Event] = []
        requested = batch.times.get("cancel_requested")
        if requested is not None:
            candidates.append((requested + cfg.cancelling_seconds, self._cancelled))
        if batch.state == PENDING:
            candidates.append((batch.created + cfg.validating_seconds, self._start))
        elif batch.state == RUNNING:
            start = batch.times["start"]
            end = start + cfg.in_progress_seconds
            window_end = batch.created + cfg.completion_window_seconds
            if batch.faults.expire:
                candidates.append(
                    (start + cfg.in_progress_seconds * cfg.expire_done_fraction, self._expire)
                )
            elif window_end < end:
                candidates.append((max(window_end, start), self._expire))
            else:
                candidates.append((end, self._succeed))
        return min(candidates, key=lambda event: event[0]) if candidates else None

    def _start(self, batch: Batch, when: float) -> None:
        """Validate the input; fail the batch or start running it."""
        cfg = self.config
        if batch.faults.fail_validation:
            self._fail(batch, when, "Injected fault: the batch input failed validation.")
            return
        if batch.input_file is not None:
            try:
                batch.items = self._read_input(batch.input_file)
            except GoogleError as exc:
                self._fail(batch, when, exc.message)
                return
        if len(batch.items) > cfg.max_requests_per_batch:
            self._fail(
                batch,
                when,
                f"The batch has {len(batch.items):,} requests; at most "
                f"{cfg.max_requests_per_batch:,} are allowed.",
            )
            return
        keys = [item.key for item in batch.items]
        batch.outcomes = (
            line_outcomes_by_request(keys, self._sent, cfg)
            if cfg.line_faults_by_request
            else line_outcomes(random.Random(f"{cfg.seed}:{batch.seq}:lines"), len(keys), cfg)
        )
        batch.state = RUNNING
        batch.times["start"] = when

    def _read_input(self, name: str) -> list[Item]:
        """Parse a JSONL input file: one ``{"key", "request"}`` per line, keys unique."""
        try:
            path = self.files.path(name)
        except GoogleError:
            raise invalid(f"The input file {name} no longer exists.") from None
        items: list[Item] = []
        seen: set[str] = set()
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    line = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise invalid(f"Line {number} of {name} is not valid JSON.") from None
                if not isinstance(line, dict) or not isinstance(line.get("request"), dict):
                    raise invalid(f"Line {number} of {name} has no 'request' object.")
                key = line.get("key")
                if not isinstance(key, str) or not key:
                    raise invalid(f"Line {number} of {name} has no 'key' string.")
                if key in seen:
                    raise invalid(f"Line {number} of {name} repeats the key {key!r}.")
                seen.add(key)
                items.append(Item(key=key, request=line["request"]))
        if not items:
            raise invalid(f"The input file {name} holds no requests.")
        return items

    def _fail(self, batch: Batch, when: float, message: str) -> None:
        """End in FAILED with the Operation's error."""
        batch.state = FAILED
        batch.error = rpc_status("INVALID_ARGUMENT", message)
        batch.times["end"] = when

    def _done_at(self, batch: Batch, when: float) -> int:
        """How many requests have run by ``when``."""
        start = batch.times.get("start")
        if batch.state != RUNNING or start is None or when < start:
            return 0
        span = self.config.in_progress_seconds
        if span <= 0:
            return len(batch.items)
        return min(len(batch.items), math.floor(len(batch.items) * (when - start) / span))

    def _succeed(self, batch: Batch, when: float) -> None:
        """Every request ran."""
        self._finish(batch, when, SUCCEEDED, len(batch.items))

    def _expire(self, batch: Batch, when: float) -> None:
        """The window ran out: the requests run so far keep their results."""
        if batch.faults.expire:
            done = math.floor(len(batch.items) * self.config.expire_done_fraction)
        else:
            done = self._done_at(batch, when)
        keep = self.config.expired_keeps_results
        self._finish(batch, when, EXPIRED, done if keep else 0)

    def _cancelled(self, batch: Batch, when: float) -> None:
        """The cancel landed: what ran before it was asked for keeps its results."""
        done = self._done_at(batch, batch.times.get("cancel_requested", when))
        self._finish(batch, when, CANCELLED, done)

    def _finish(self, batch: Batch, when: float, state: str, done: int) -> None:
        """Run ``done`` requests, publish the output, and end in ``state``."""
        cfg = self.config
        inline = batch.input_file is None
        batch.results = run(
            batch.items,
            done,
            batch.outcomes,
            model_name=cfg.model_version or batch.model.removeprefix("models/"),
            thoughts_tokens=cfg.thoughts_tokens,
            line_error_status=cfg.line_error_status,
            inline=inline,
            shuffle_seed=f"{cfg.seed}:{batch.seq}" if cfg.shuffle_output else None,
        )
        if not inline and done:
            scratch = self.files.table.scratch_path(f"batch-{batch.id}")
            with scratch.open("wb") as handle:
                write_lines(handle, batch.results.entries)
            name = f"files/batch-{batch.id}"
            self.files.adopt(scratch, name, name, "application/jsonl", "GENERATED", when)
            batch.responses_file = name
        batch.state = state
        batch.times["end"] = when

    # Views

    def _stats(self, batch: Batch, now: float) -> dict[str, str]:
        """batchStats as int64 strings."""
        total = len(batch.items)
        if batch.results is not None:
            ok, failed = batch.results.succeeded, batch.results.failed
            pending = 0 if batch.state in TERMINAL else total - ok - failed
        elif batch.state == RUNNING:
            done = self._done_at(batch, now)
            failed = batch.outcomes.count(LINE_ERROR, 0, done)
            ok, pending = done - failed, total - done
        else:
            ok = failed = 0
            pending = total
        stats = {
            "requestCount": int64(total),
            "successfulRequestCount": int64(ok),
            "failedRequestCount": int64(failed),
            "pendingRequestCount": int64(pending),
        }
        return {key: value for key, value in stats.items() if value != "0"}

    def _output(self, batch: Batch) -> dict[str, Any] | None:
        """GenerateContentBatchOutput, once the batch ended with results."""
        if batch.results is None:
            return None
        if batch.responses_file is not None:
            return {"responsesFile": batch.responses_file}
        if batch.input_file is None and batch.results.entries:
            return {"inlinedResponses": {"inlinedResponses": list(batch.results.entries)}}
        return None

    def _operation(self, batch: Batch, now: float) -> dict[str, Any]:
        """The google.longrunning.Operation wrapping the batch, as get/list/create answer."""
        metadata: dict[str, Any] = {
            "@type": BATCH_TYPE,
            "model": batch.model,
            "name": batch.name,
            "displayName": batch.display_name,
            "createTime": rfc3339(batch.created),
            "updateTime": rfc3339(max([batch.created, *batch.times.values()])),
            "batchStats": self._stats(batch, now),
            "state": batch.state,
            "priority": "0",
        }
        if batch.input_file is not None:
            metadata["inputConfig"] = {"fileName": batch.input_file}
        if "end" in batch.times:
            metadata["endTime"] = rfc3339(batch.times["end"])
        output = self._output(batch)
        if output is not None:
            metadata["output"] = output
        operation: dict[str, Any] = {"name": batch.name, "metadata": metadata}
        if batch.state in TERMINAL:
            operation["done"] = True
            if batch.error is not None:
                operation["error"] = batch.error
            else:
                operation["response"] = {"@type": OUTPUT_TYPE, **(output or {})}
        return operation


def _ledger_entry(batch: Batch) -> dict[str, Any]:
    """A batch as the ledger shows it: identity, state, keys and counts."""
    results = batch.results
    return {
        "name": batch.name,
        "display_name": batch.display_name,
        "model": batch.model,
        "state": batch.state,
        "source": "file" if batch.input_file else "inline",
        "input_file": batch.input_file,
        "responses_file": batch.responses_file,
        "keys": [item.key for item in batch.items],
        "succeeded": results.succeeded if results else 0,
        "failed": results.failed if results else 0,
        "input_tokens": results.input_tokens if results else 0,
        "output_tokens": results.output_tokens if results else 0,
        "create_response_lost": batch.create_response_lost,
        "deleted": batch.deleted,
        "created": batch.created,
    }
