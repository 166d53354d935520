"""Message batches with a lazily evaluated, compressed-clock lifecycle: in_progress, canceling,
ended; results are written when a batch ends and served until it is deleted."""

from __future__ import annotations

import math
import random
import shutil
import threading
import time
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from plugins.emulator.faults import BatchFaults, FaultInjector

from .answers import PromptCache
from .config import AnthropicEmulatorConfig
from .errors import AnthropicApiError, not_found
from .lines import outcomes
from .results import Counts, Plan, run

BATCH_WINDOW = 86_400
"""``expires_at`` is 24 hours after creation."""


@dataclass
class BatchRecord:
    """One batch: lifecycle timestamps (float seconds), its plan until it ends, then its counts."""

    id: str
    seq: int
    created: float
    total: int
    custom_ids: list[str]
    model: str | None
    faults: BatchFaults
    create_response_lost: bool
    plan: Plan | None
    status: str = "in_progress"
    cancel_initiated: float | None = None
    ended: float | None = None
    counts: Counts | None = None
    results_path: Path | None = None
    deleted: bool = False
    times: dict[str, float] = field(default_factory=dict)


class Store:
    """All batches behind one re-entrant lock; a batch's state advances when it is read."""

    def __init__(
        self, directory: Path, config: AnthropicEmulatorConfig, faults: FaultInjector
    ) -> None:
        self.lock = threading.RLock()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.faults = faults
        self.cache = PromptCache()
        self._batches: dict[str, BatchRecord] = {}
        self._seq = 0
        self._sent: dict[str, int] = {}

    def set_config(self, config: AnthropicEmulatorConfig) -> None:
        """Settle every batch under the old settings, then switch to the new ones."""
        with self.lock:
            self._advance_all(time.time())
            self.config = config

    def create(
        self,
        pairs: list[tuple[str, dict[str, Any]]],
        faults: BatchFaults,
        batch_id: str,
        lost: bool,
    ) -> dict[str, Any]:
        """Store the requests on disk and start a batch in ``in_progress``."""
        with self.lock:
            cfg = self.config
            self._seq += 1
            seed = f"{cfg.seed}:{self._seq}"
            path = self.directory / f"{batch_id}.requests.jsonl"
            offsets = array("q")
            with path.open("wb") as handle:
                for _, params in pairs:
                    offsets.append(handle.tell())
                    handle.write(orjson.dumps(params) + b"\n")
            custom_ids = [custom_id for custom_id, _ in pairs]
            order = array("I", range(len(pairs)))
            if cfg.shuffle_output:
                random.Random(f"{seed}:order").shuffle(order)
            codes = outcomes(custom_ids, self._sent, seed, cfg)
            first_model = pairs[0][1].get("model")
            record = BatchRecord(
                id=batch_id,
                seq=self._seq,
                created=time.time(),
                total=len(pairs),
                custom_ids=custom_ids,
                model=first_model if isinstance(first_model, str) else None,
                faults=faults,
                create_response_lost=lost,
                plan=Plan(path, offsets, custom_ids, order, codes, cfg.line_error_type, seed),
            )
            self._batches[batch_id] = record
            return self._api(record)

    def get(self, batch_id: str) -> dict[str, Any]:
        """The batch as of now, or 404."""
        with self.lock:
            self._advance_all(time.time())
            return self._api(self._batch(batch_id))

    def page(self, before_id: str | None, after_id: str | None, limit: int) -> dict[str, Any]:
        """A page of batches, newest first: after ``after_id`` (older), or the ``limit`` just
        before ``before_id`` (newer)."""
        with self.lock:
            self._advance_all(time.time())
            items = sorted(
                (b for b in self._batches.values() if not b.deleted),
                key=lambda b: b.seq,
                reverse=True,
            )
            if before_id is not None:
                end = _position(items, before_id)
                start = max(0, end - limit)
                chosen, more = items[start:end], start > 0
            else:
                start = _position(items, after_id) + 1 if after_id is not None else 0
                chosen, more = items[start : start + limit], start + limit < len(items)
            data = [self._api(b) for b in chosen]
            return {
                "data": data,
                "has_more": more,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }

    def cancel(self, batch_id: str) -> dict[str, Any]:
        """Move an in-progress batch to ``canceling``; what ran before keeps its results."""
        with self.lock:
            now = time.time()
            self._advance_all(now)
            record = self._batch(batch_id)
            if record.status == "ended":
                raise AnthropicApiError(
                    400, f"Message batch {batch_id} has already ended and cannot be canceled."
                )
            if record.status == "in_progress":
                record.status = "canceling"
                record.cancel_initiated = now
            self._advance(record, now)
            return self._api(record)

    def results(self, batch_id: str) -> tuple[IO[bytes], int]:
        """An open handle on the results JSONL and its size; the caller closes it."""
        with self.lock:
            self._advance_all(time.time())
            record = self._batch(batch_id)
            if record.status != "ended" or record.results_path is None:
                raise AnthropicApiError(
                    400,
                    f"Message batch {batch_id} is still {record.status}; results are available once it has ended.",
                )
            return record.results_path.open("rb"), record.results_path.stat().st_size

    def delete(self, batch_id: str) -> dict[str, Any]:
        """Delete an ended batch and its results."""
        with self.lock:
            self._advance_all(time.time())
            record = self._batch(batch_id)
            if record.status != "ended":
                raise AnthropicApiError(
                    400,
                    f"Message batch {batch_id} is {record.status}; it can only be deleted once "
                    "it has ended. Cancel it first.",
                )
            record.deleted = True
            if record.results_path is not None:
                record.results_path.unlink(missing_ok=True)
            return {"id": batch_id, "type": "message_batch_deleted"}

    def ledger(self) -> dict[str, Any]:
        """Every batch ever created (deleted ones too), with custom ids and per-request outcomes."""
        with self.lock:
            self._advance_all(time.time())
            return {
                "batches": [_ledger_entry(b) for b in self._batches.values()],
                "faults": self.faults.snapshot(),
            }

    def health(self) -> dict[str, Any]:
        """Counts for the health endpoint."""
        with self.lock:
            live = [b for b in self._batches.values() if not b.deleted]
            return {
                "status": "ok",
                "batches": len(live),
                "active_batches": sum(1 for b in live if b.status != "ended"),
            }

    def close(self) -> None:
        """Remove every stored request and result file."""
        with self.lock:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _batch(self, batch_id: str) -> BatchRecord:
        """A live batch record, or 404."""
        record = self._batches.get(batch_id)
        if record is None or record.deleted:
            raise not_found(batch_id)
        return record

    # Lifecycle

    def _advance_all(self, now: float) -> None:
        """End every batch whose time has come."""
        for record in self._batches.values():
            if record.status != "ended":
                self._advance(record, now)

    def _advance(self, record: BatchRecord, now: float) -> None:
        """End the batch if it is due: all ran, it expired, or its cancellation completed."""
        cfg = self.config
        if record.status == "canceling":
            assert record.cancel_initiated is not None
            when = record.cancel_initiated + cfg.cancelling_seconds
            if now >= when:
                self._end(record, self._done_at(record, record.cancel_initiated), "canceled", when)
            return
        finish = record.created + cfg.in_progress_seconds
        expiry = record.created + cfg.expiry_seconds
        if record.faults.expire and now >= finish:
            done = math.floor(record.total * cfg.expire_done_fraction)
            self._end(record, done, "expired", finish)
        elif expiry < finish and now >= expiry:
            self._end(record, self._done_at(record, expiry), "expired", expiry)
        elif now >= finish:
            self._end(record, record.total, "expired", finish)

    def _done_at(self, record: BatchRecord, when: float) -> int:
        """How many requests (in processing order) have run by ``when``."""
        span = self.config.in_progress_seconds
        if span <= 0:
            return record.total
        return min(record.total, math.floor(record.total * max(0.0, when - record.created) / span))

    def _end(self, record: BatchRecord, done: int, not_run: str, when: float) -> None:
        """Run the first ``done`` requests, write the results and end the batch."""
        plan = record.plan
        assert plan is not None
        path = self.directory / f"{record.id}.results.jsonl"
        record.counts = run(plan, done, not_run, path, self.cache)
        plan.input_path.unlink(missing_ok=True)
        record.plan = None
        record.results_path = path
        record.status = "ended"
        record.ended = when

    def _api(self, record: BatchRecord) -> dict[str, Any]:
        """The MessageBatch object, every field present."""
        counts = (
            record.counts.as_api()
            if record.counts is not None
            else {
                "processing": record.total,
                "succeeded": 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            }
        )
        return {
            "id": record.id,
            "type": "message_batch",
            "processing_status": record.status,
            "request_counts": counts,
            "created_at": _rfc3339(record.created),
            "expires_at": _rfc3339(record.created + BATCH_WINDOW),
            "ended_at": _rfc3339(record.ended),
            "cancel_initiated_at": _rfc3339(record.cancel_initiated),
            "archived_at": None,
            "results_url": (
                f"/v1/messages/batches/{record.id}/results" if record.status == "ended" else None
            ),
        }


def _position(items: list[BatchRecord], batch_id: str) -> int:
    """Where a cursor batch is in the list; an unknown cursor is a 400."""
    for index, item in enumerate(items):
        if item.id == batch_id:
            return index
    raise AnthropicApiError(
        400, f"Invalid pagination cursor: no message batch with id '{batch_id}'."
    )


def _rfc3339(value: float | None) -> str | None:
    """RFC 3339 UTC with microseconds, as the API writes times; None stays None."""
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ledger_entry(record: BatchRecord) -> dict[str, Any]:
    """What tests need to know about a batch, including faults the server injected."""
    return {
        "id": record.id,
        "seq": record.seq,
        "processing_status": record.status,
        "deleted": record.deleted,
        "model": record.model,
        "created_at": record.created,
        "custom_ids": list(record.custom_ids),
        "outcomes": dict(record.counts.by_id) if record.counts is not None else {},
        "request_counts": record.counts.as_api() if record.counts is not None else None,
        "create_response_lost": record.create_response_lost,
        "faults": {
            "fail_validation": record.faults.fail_validation,
            "expire": record.faults.expire,
        },
    }
