"""``apply_results`` set-based: result lines of every batch of the step are staged in chunks and
applied with two conditional ``UPDATE ... FROM`` statements per chunk (sessions, then requests);
members without a line are settled with one statement per kind of ending."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Integer,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    update,
)

from kernel.api import KernelAPI
from kernel.db.rowcount import rowcount
from kernel.types import ApplySummary, BatchStatus, LocalBatch, ResultFiles
from plugins.common import calls
from plugins.common.answers import AnswerJudge, Outcome
from plugins.common.lifecycle import retry_at
from plugins.common.outcomes import failed_batch_rule
from plugins.common.pricing import PriceBook, load_prices
from plugins.common.rowsets import fields_of, rowset
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest, ChatSession
from plugins.common.schema.statuses import ENDED_BATCH_STATUSES, RequestStatus
from plugins.common.session_tasks import SESSION_FIELDS
from plugins.common.timeutil import utcnow
from plugins.common.truncation import TRUNCATED
from plugins.optimized.staging import clear, load, staging, temp_table

JSON_FIELDS = frozenset({"questions"})
"""Session fields staged as JSON text."""
RESULT_STAGE = temp_table(
    "bk_result_stage",
    Column("request_id", String(36)),
    Column("batch_id", String(36)),
    Column("kind", String(8)),
    Column("sentiment", String(16)),
    Column("category", String(32)),
    Column("summary", Text),
    Column("language", String(10)),
    Column("escalated", Boolean),
    Column("forwarded_hr", Boolean),
    Column("questions", Text),
    Column("result_json", Text),
    Column("provider", String(32)),
    Column("model", String(100)),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("cached_tokens", Integer),
    Column("prompt_cost", Float),
    Column("completion_cost", Float),
    Column("error", Text),
    Column("provider_request_id", String(255)),
    Column("price_id", Integer),
    Column("raw_answer", Text),
)

COL = {column.name: index for index, column in enumerate(RESULT_STAGE.columns)}


def json_text(value: Any) -> str | None:
    """A value as JSON text for a staging column (``None`` stays SQL NULL)."""
    return None if value is None else orjson.dumps(value).decode()


def stage_row(outcome: Outcome, batch: LocalBatch, prices: PriceBook) -> tuple[Any, ...]:
    """One staged row: the outcome, its session fields and answer, tokens and cost at the
    batch's price."""
    price = prices.for_model(batch.model, batch.provider)
    usage = outcome.usage
    prompt_cost, completion_cost = (
        price.cost(usage.input, usage.output, usage.cached) if price else (0.0, 0.0)
    )
    fields = outcome.fields
    return (
        outcome.request_id,
        batch.batch_id,
        outcome.kind,
        *(
            json_text(fields.get(name)) if name in JSON_FIELDS else fields.get(name)
            for name in SESSION_FIELDS
        ),
        json_text(outcome.result),
        batch.provider,
        batch.model or None,
        usage.input,
        usage.output,
        usage.cached,
        prompt_cost,
        completion_cost,
        outcome.error,
        outcome.provider_request_id,
        price.id if price and usage.input + usage.output else None,
        outcome.raw,
    )


def backoff(attempt: Any, now: datetime, settings: Any) -> Any:
    """SQL for when a request that has now failed ``attempt`` times may go again."""
    top = int(settings.batch.max_attempts)
    whens = [(attempt == n, retry_at(now, n, settings)) for n in range(1, top + 1)]
    return case(*whens, else_=retry_at(now, top, settings))


def request_changes(
    kind: Any, error: Any, tokens: dict[str, Any], now: datetime, settings: Any
) -> dict[str, Any]:
    """Column values of the requests UPDATE for an outcome ``kind`` (the rules of
    ``plugins.common.outcomes.request_values``, as SQL; an answer cut off at the output limit
    a second time fails, as :func:`plugins.common.truncation.final_kind` says)."""
    r = AIProcessingRequest
    max_attempts = int(settings.batch.max_attempts)
    used = r.attempts + 1
    cut_off_again = and_(
        kind == "retry", error.like(f"{TRUNCATED}%"), r.error.like(f"{TRUNCATED}%")
    )
    kind = case((cut_off_again, literal("fail")), else_=kind)
    retry = kind == "retry"
    exhausted = and_(retry, used >= max_attempts)
    again = and_(retry, used < max_attempts)
    closed = or_(kind == "success", kind == "fail", exhausted)
    gave_up = literal("gave up after ") + cast(used, String) + literal(" attempts: ") + error
    return {
        "status": case(
            (kind == "success", RequestStatus.PROCESSING_COMPLETE),
            (or_(kind == "fail", exhausted), RequestStatus.PROCESSING_FAILED),
            else_=RequestStatus.PENDING_BATCHING,
        ),
        "attempts": case((or_(kind == "fail", retry), used), else_=r.attempts),
        "batch_id": case((or_(kind == "requeue", again), null()), else_=r.batch_id),
        "completed_at": case((closed, now), else_=r.completed_at),
        "available_at": case(
            (kind == "requeue", now), (again, backoff(used, now, settings)), else_=r.available_at
        ),
        "error": case((kind == "success", null()), (exhausted, gave_up), else_=error),
        "prompt_tokens": r.prompt_tokens + tokens["prompt"],
        "completion_tokens": r.completion_tokens + tokens["completion"],
        "total_tokens": r.total_tokens + tokens["prompt"] + tokens["completion"],
        "cached_tokens": r.cached_tokens + tokens["cached"],
        "prompt_cost_usd": r.prompt_cost_usd + tokens["prompt_cost"],
        "completion_cost_usd": r.completion_cost_usd + tokens["completion_cost"],
        "total_cost_usd": r.total_cost_usd + tokens["prompt_cost"] + tokens["completion_cost"],
    }


class ResultApplier:
    """Applies the results of one apply step, chunk by chunk, inside short transactions."""

    def __init__(self, kernel: KernelAPI) -> None:
        self.kernel = kernel
        self.settings = kernel.settings
        self.prices = load_prices(kernel)
        self.judge = AnswerJudge(calls.tasks(kernel))
        self.summary = ApplySummary()
        self.actual: dict[str, list[float]] = {}
        self.chunk_size = int(kernel.settings.processing.chunk_size)
        self.session_tasks = [
            name for name, task in calls.tasks(kernel).items() if task.applies == "session"
        ]

    def apply(self, results: Sequence[tuple[LocalBatch, ResultFiles]]) -> ApplySummary:
        """Apply every batch not applied yet; settle leftovers; mark the batches APPLIED."""
        db = self.kernel.db
        ids = [batch.batch_id for batch, _ in results]
        with db.transaction() as session:
            open_ids = set(
                session.scalars(
                    select(AIBatchRequest.id).where(
                        AIBatchRequest.id.in_(ids), AIBatchRequest.applied_at.is_(None)
                    )
                )
            )
        todo = [(b, f) for b, f in results if b.batch_id in open_ids]
        already = len(results) - len(todo)
        chunk: list[tuple[Any, ...]] = []
        for row in self._rows(todo):
            chunk.append(row)
            if len(chunk) >= self.chunk_size:
                self._write_chunk(chunk)
                self.kernel.crashpoint("apply_chunk")
                chunk = []
        if chunk:
            self._write_chunk(chunk)
            self.kernel.crashpoint("apply_chunk")
        self._settle_leftovers(todo)
        applied = self._mark_applied([b.batch_id for b, _ in todo])
        return self.summary + ApplySummary(batches=applied, already_applied=already)

    def _mark_applied(self, batch_ids: list[str]) -> int:
        """Ended, unapplied batches -> APPLIED with their applied tokens and cost, in one
        ``UPDATE ... FROM``; the number of batches it moved."""
        if not batch_ids:
            return 0
        table = AIBatchRequest.__table__
        actual = ("actual_input_tokens", "actual_output_tokens", "actual_cost_usd")
        rows = [(bid, *self.actual.get(bid, [0, 0, 0.0])) for bid in batch_ids]
        with self.kernel.db.transaction() as session:
            fields = [("batch_id", String(36)), *fields_of(table, *actual)]
            v = rowset(session.get_bind().dialect, fields, rows)
            moved_result = session.execute(
                update(table)
                .where(
                    table.c.id == v.c.batch_id,
                    table.c.applied_at.is_(None),
                    table.c.status.in_([s.value for s in ENDED_BATCH_STATUSES]),
                )
                .values(
                    status=BatchStatus.APPLIED.value,
                    applied_at=utcnow(),
                    **{name: v.c[name] for name in actual},
                )
            )
            moved = rowcount(moved_result)
        return moved or 0

    def _rows(self, results: Sequence[tuple[LocalBatch, ResultFiles]]) -> Iterator[tuple[Any, ...]]:
        """Staged rows for every result of every batch, the first result of a request winning;
        results tied to no request are logged and counted as ignored. For a batch that failed
        validation, one "fail" row per request the provider rejected."""
        for batch, files in results:
            if batch.status == BatchStatus.FAILED:
                for request_id, message in files.rejected.items():
                    yield stage_row(Outcome(request_id, "fail", error=message), batch, self.prices)
                continue
            seen: set[str] = set()
            for result in calls.read_results(self.kernel, batch, files):
                request_id = result.custom_id
                if not request_id:
                    self.kernel.log.warning("batch %s: %s", batch.batch_id, result.error)
                    self.summary += ApplySummary(ignored_lines=1)
                    continue
                if request_id in seen:
                    self.summary += ApplySummary(ignored_lines=1)
                    continue
                seen.add(request_id)
                outcome = self.judge.judge(result, batch.processing_type)
                yield stage_row(outcome, batch, self.prices)

    def _write_chunk(self, rows: list[tuple[Any, ...]]) -> None:
        """Stage a chunk, update sessions of successful lines, then their requests."""
        db = self.kernel.db
        r = AIProcessingRequest
        now = utcnow()
        with db.transaction() as session, staging(session, RESULT_STAGE) as s:
            load(session, s, rows, db.queries)
            matches = and_(
                r.id == s.c.request_id,
                r.batch_id == s.c.batch_id,
                r.status == RequestStatus.BATCHING_IN_PROGRESS,
            )
            session_values: dict[str, Any] = {
                name: func.coalesce(self._staged(s, name), getattr(ChatSession, name))
                for name in SESSION_FIELDS
            }
            session_values["analyzed_at"] = now
            session.execute(
                update(ChatSession)
                .where(
                    ChatSession.id == r.session_id,
                    matches,
                    s.c.kind == "success",
                    r.processing_type.in_(self.session_tasks),
                )
                .values(**session_values)
                .execution_options(synchronize_session=False)
            )
            tokens = {
                "prompt": s.c.prompt_tokens,
                "completion": s.c.completion_tokens,
                "cached": s.c.cached_tokens,
                "prompt_cost": s.c.prompt_cost,
                "completion_cost": s.c.completion_cost,
            }
            changes = request_changes(s.c.kind, s.c.error, tokens, now, self.settings)
            changes["provider_request_id"] = s.c.provider_request_id
            changes["price_id"] = func.coalesce(s.c.price_id, r.price_id)
            changes["provider"] = s.c.provider
            changes["model"] = func.coalesce(s.c.model, r.model)
            changes["result_json"] = case(
                (s.c.kind == "success", self._staged(s, "result_json")), else_=r.result_json
            )
            changes["raw_answer"] = func.coalesce(s.c.raw_answer, r.raw_answer)
            returned = session.execute(
                update(r)
                .where(matches)
                .values(**changes)
                .returning(r.id, r.status)
                .execution_options(synchronize_session=False)
            ).all()
            clear(session, s)
        applied = {request_id for request_id, _ in returned}
        statuses = [status for _, status in returned]
        in_rows = [row for row in rows if row[0] in applied]
        for row in in_rows:
            sums = self.actual.setdefault(row[COL["batch_id"]], [0, 0, 0.0])
            sums[0] += row[COL["prompt_tokens"]]
            sums[1] += row[COL["completion_tokens"]]
            sums[2] += row[COL["prompt_cost"]] + row[COL["completion_cost"]]
        self.summary += ApplySummary(
            completed=statuses.count(RequestStatus.PROCESSING_COMPLETE),
            failed=statuses.count(RequestStatus.PROCESSING_FAILED),
            requeued=statuses.count(RequestStatus.PENDING_BATCHING),
            ignored_lines=len(rows) - len(applied),
            input_tokens=sum(row[COL["prompt_tokens"]] for row in in_rows),
            output_tokens=sum(row[COL["completion_tokens"]] for row in in_rows),
            cost_usd=sum(row[COL["prompt_cost"]] + row[COL["completion_cost"]] for row in in_rows),
        )

    def _staged(self, stage: Any, name: str) -> Any:
        """A staged column as its target column reads it (JSON text cast back on PostgreSQL)."""
        column = stage.c[name]
        if name in JSON_FIELDS or name == "result_json":
            return cast(column, JSON) if self.kernel.db.is_postgres else column
        return column

    def _settle_leftovers(self, results: Sequence[tuple[LocalBatch, ResultFiles]]) -> None:
        """Members with no line: re-queued free, or charged an attempt when the batch completed;
        members of a failed batch by :func:`failed_batch_rule` ("failed": re-queued later)."""
        groups: dict[tuple[str, str], list[str]] = {}
        for batch, files in results:
            if batch.status == BatchStatus.FAILED:
                kind, reason = failed_batch_rule(batch, files)
                key = (reason, "failed" if kind == "defer" else kind)
            elif files.missing:
                key = ("result file no longer available at the provider", "requeue")
            elif batch.status != BatchStatus.COMPLETED:
                key = (f"not run: batch {batch.status.value.lower()}", "requeue")
            else:
                key = ("no result line from the provider", "retry")
            groups.setdefault(key, []).append(batch.batch_id)
        r = AIProcessingRequest
        now = utcnow()
        zero = {
            name: 0 for name in ("prompt", "completion", "cached", "prompt_cost", "completion_cost")
        }
        for (reason, kind), batch_ids in groups.items():
            where = and_(r.batch_id.in_(batch_ids), r.status == RequestStatus.BATCHING_IN_PROGRESS)
            if kind == "failed":
                values: dict[str, Any] = {
                    "status": RequestStatus.PENDING_BATCHING,
                    "batch_id": None,
                    "available_at": retry_at(now, 1, self.settings),
                    "error": reason,
                }
            else:
                values = request_changes(literal(kind), literal(reason), zero, now, self.settings)
            with self.kernel.db.transaction() as session:
                statuses = session.scalars(
                    update(r)
                    .where(where)
                    .values(**values)
                    .returning(r.status)
                    .execution_options(synchronize_session=False)
                ).all()
            self.summary += ApplySummary(
                failed=statuses.count(RequestStatus.PROCESSING_FAILED),
                requeued=statuses.count(RequestStatus.PENDING_BATCHING),
            )
