"""Per-company processing as the original system did it: one query per company per step, full
sessions with all messages loaded through ORM relationships, one transaction per result line.

Correctness is not the original's: every state change is conditional on the expected current
state, batches are planned before the provider is called, and no member is left in flight.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session, selectinload

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.db.models import SchedulerInstance
from kernel.db.rowcount import rowcount
from kernel.types import (
    ApplySummary,
    BatchPlan,
    BatchStatus,
    Company,
    ConfigError,
    LocalBatch,
    ProviderBatch,
    ResultFiles,
    RetrySummary,
    SubmittedBatch,
)
from plugins.common import batchrows, calls
from plugins.common.answers import AnswerJudge, Outcome
from plugins.common.exchange import RequestEncoder
from plugins.common.hookspecs import Probe
from plugins.common.lifecycle import (
    new_submission_key,
    retry_at,
)
from plugins.common.lines import (
    BatchLimits,
    RequestLine,
    encode_line,
    neutral_request,
    split_lines,
    write_lines,
)
from plugins.common.outcomes import failed_batch_rule, request_values
from plugins.common.pricing import PriceBook, load_prices
from plugins.common.retrying import retry_companies
from plugins.common.routes import by_route
from plugins.common.schema.hooks import SchemaHooks
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest, ChatSession
from plugins.common.schema.models import Company as CompanyRow
from plugins.common.schema.rows import to_local_batch as to_local
from plugins.common.schema.statuses import (
    ENDED_BATCH_STATUSES,
    IN_FLIGHT_BATCH_STATUSES,
    CompanyStatus,
    RequestStatus,
)
from plugins.common.session_tasks import SESSION_FIELDS
from plugins.common.timeutil import as_utc, utcnow
from plugins.common.truncation import final_kind


def to_plan(row: AIBatchRequest, kernel: KernelAPI) -> BatchPlan:
    """A PLANNED batch row as a plan (for reconciliation)."""
    return BatchPlan(
        batch_id=row.id,
        company_id=row.company_id,
        model=row.model,
        processing_type=row.processing_type,
        submission_key=row.submission_key,
        input_path=kernel.workdir / f"{row.id}.input.jsonl",
        request_count=row.request_count,
        input_bytes=row.input_bytes,
        estimated_input_tokens=row.estimated_input_tokens,
        provider=row.provider,
    )


def fail_requests(session: Session, ids: Sequence[str], reason: str) -> int:
    """Close pending requests for good with a reason (they can never succeed)."""
    if not ids:
        return 0
    result = session.execute(
        update(AIProcessingRequest)
        .where(
            AIProcessingRequest.id.in_(ids),
            AIProcessingRequest.status == RequestStatus.PENDING_BATCHING,
        )
        .values(status=RequestStatus.PROCESSING_FAILED, error=reason, completed_at=utcnow())
    )
    return rowcount(result) or 0


class OriginalProcessor(SchemaHooks):
    """Processor plugin ``original``: registered always, answers last (``trylast``)."""

    @hookimpl
    def benchmark_probes(self, kernel: KernelAPI, stage: str) -> list[Probe]:
        """The claim inside ``fetch_pending``: each batch's transaction, less the input file it
        writes at its end (building)."""
        if stage != "claim":
            return []
        return [Probe(OriginalProcessor, "_claim"), Probe(sys.modules[__name__], "write_lines", -1)]

    @hookimpl(trylast=True)
    def get_companies(self, kernel: KernelAPI) -> list[Company]:
        """All ACTIVE companies with their own provider lists, straight from the database every
        time."""
        with kernel.db.transaction() as session:
            rows = session.execute(
                select(CompanyRow.id, CompanyRow.name, CompanyRow.providers)
                .where(CompanyRow.status == CompanyStatus.ACTIVE.value)
                .order_by(CompanyRow.id)
            ).all()
        return [
            Company(id=row.id, name=row.name, providers=tuple(row.providers or ())) for row in rows
        ]

    @hookimpl(trylast=True)
    def fetch_pending(
        self, kernel: KernelAPI, companies: Sequence[Company], flush: bool
    ) -> list[BatchPlan]:
        """One query per company loading full sessions and messages, then plan and claim batches
        for the provider routing chose for the company."""
        plans: list[BatchPlan] = []
        for provider, routed in by_route(kernel, companies).items():
            for company in routed:
                plans += self._plan_company(kernel, company, flush, provider)
        return plans

    def _plan_company(
        self, kernel: KernelAPI, company: Company, flush: bool, provider: str
    ) -> list[BatchPlan]:
        """Plan this company's next batches for ``provider`` (at most
        ``batch.max_requests_per_batch`` requests), each on the model that provider runs for
        its requests' model; fewer than ``batch.min_batch_size`` wait unless old enough or
        ``flush``."""
        settings = kernel.settings
        limits = BatchLimits.for_provider(kernel, provider)
        tasks = calls.tasks(kernel)
        now = utcnow()
        with kernel.db.transaction() as session:
            requests = session.scalars(
                select(AIProcessingRequest)
                .where(
                    AIProcessingRequest.company_id == company.id,
                    AIProcessingRequest.status == RequestStatus.PENDING_BATCHING,
                    AIProcessingRequest.batch_id.is_(None),
                    AIProcessingRequest.available_at <= now,
                    ~exists().where(CompanyRow.id == company.id, CompanyRow.paused_at.is_not(None)),
                )
                .order_by(AIProcessingRequest.requested_at, AIProcessingRequest.id)
                .limit(limits.max_requests)
                .options(
                    selectinload(AIProcessingRequest.session).selectinload(ChatSession.messages)
                )
            ).all()
            if not requests:
                return []
            if len(requests) < int(settings.batch.min_batch_size) and not flush:
                oldest = as_utc(min(r.requested_at for r in requests))
                if oldest and now - oldest < timedelta(
                    minutes=float(settings.batch.max_wait_minutes)
                ):
                    return []
            empty = [r.id for r in requests if not r.session.messages]
            groups: dict[tuple[str, str], list[RequestLine]] = defaultdict(list)
            too_large: list[str] = []
            unknown: list[str] = []
            encoders: dict[str, RequestEncoder] = {}
            for request in requests:
                task = tasks.get(request.processing_type)
                if task is None:
                    unknown.append(request.id)
                    continue
                if not request.session.messages:
                    continue
                encoder = encoders.get(request.model)
                if encoder is None:
                    encoder = encoders[request.model] = calls.request_encoder(
                        kernel, provider, request.model
                    )
                line = encode_line(
                    encoder,
                    neutral_request(
                        request.id,
                        task,
                        encoder.model,
                        [(m.role, m.content) for m in request.session.messages],
                        settings,
                        previous_error=request.error,
                    ),
                )
                if limits.for_model(encoder.model).fits_alone(line):
                    groups[(encoder.model, request.processing_type)].append(line)
                else:
                    too_large.append(request.id)
            fail_requests(session, empty, "session has no messages; nothing to analyse")
            if unknown:
                fail_requests(session, unknown, str(ConfigError(_undefined(tasks))))
            fail_requests(
                session,
                too_large,
                f"session too large for one batch: over {limits.max_tokens} estimated input "
                f"tokens or {limits.max_bytes} bytes (batch.max_input_tokens_per_batch, "
                "batch.max_file_bytes)",
            )
        plans: list[BatchPlan] = []
        for (model, processing_type), lines in groups.items():
            for group in split_lines(lines, limits.for_model(model)):
                if company.max_batches and len(plans) >= company.max_batches:
                    return plans
                plan = self._claim(kernel, company, provider, model, processing_type, group)
                if plan is not None:
                    plans.append(plan)
        return plans

    def _claim(
        self,
        kernel: KernelAPI,
        company: Company,
        provider: str,
        model: str,
        processing_type: str,
        lines: list[RequestLine],
    ) -> BatchPlan | None:
        """Commit a PLANNED batch row and claim its members, then write the input file."""
        batch = AIBatchRequest(
            company_id=company.id,
            provider=provider,
            model=model,
            processing_type=processing_type,
            status=BatchStatus.PLANNED.value,
            submission_key=new_submission_key(),
            owner=kernel.instance_id,
        )
        with kernel.db.transaction() as session:
            session.add(batch)
            session.flush()
            claimed = set(
                session.scalars(
                    update(AIProcessingRequest)
                    .where(
                        AIProcessingRequest.id.in_([line.request_id for line in lines]),
                        AIProcessingRequest.status == RequestStatus.PENDING_BATCHING,
                        AIProcessingRequest.batch_id.is_(None),
                    )
                    .values(status=RequestStatus.BATCHING_IN_PROGRESS, batch_id=batch.id)
                    .returning(AIProcessingRequest.id)
                )
            )
            if not claimed:
                session.execute(delete(AIBatchRequest).where(AIBatchRequest.id == batch.id))
                return None
            mine = [line for line in lines if line.request_id in claimed]
            batch.request_count = len(mine)
            batch.input_bytes = sum(len(line.data) for line in mine)
            batch.estimated_input_tokens = sum(line.tokens for line in mine)
        plan = to_plan(batch, kernel)
        try:
            write_lines(plan.input_path, mine)
        except OSError as exc:
            self.abandon_plan(kernel, plan, f"could not write the input file: {exc}")
            raise
        return plan

    @hookimpl(trylast=True)
    def record_submitted(
        self, kernel: KernelAPI, submissions: Sequence[tuple[BatchPlan, SubmittedBatch]]
    ) -> list[str]:
        """PLANNED -> the provider's status with its ids, one statement for all plans (the
        batch-row writes both processors share)."""
        return batchrows.record_submitted(kernel, submissions)

    @hookimpl(trylast=True)
    def company_concurrency(self, kernel: KernelAPI) -> int:
        """One company at a time, as the original system did."""
        return 1

    @hookimpl(trylast=True)
    def abandon_plan(self, kernel: KernelAPI, plan: BatchPlan, reason: str) -> bool:
        """PLANNED -> ABANDONED and its members back to the queue, no attempt spent."""
        with kernel.db.transaction() as session:
            result = session.execute(
                update(AIBatchRequest)
                .where(
                    AIBatchRequest.id == plan.batch_id,
                    AIBatchRequest.status == BatchStatus.PLANNED.value,
                )
                .values(status=BatchStatus.ABANDONED, note=reason, ended_at=utcnow())
            )
            if rowcount(result) != 1:
                return False
            session.execute(
                update(AIProcessingRequest)
                .where(
                    AIProcessingRequest.batch_id == plan.batch_id,
                    AIProcessingRequest.status == RequestStatus.BATCHING_IN_PROGRESS,
                )
                .values(status=RequestStatus.PENDING_BATCHING, batch_id=None, available_at=utcnow())
            )
        plan.input_path.unlink(missing_ok=True)
        return True

    @hookimpl(trylast=True)
    def fetch_stale_plans(self, kernel: KernelAPI, older_than_seconds: float) -> list[BatchPlan]:
        """PLANNED batches of this instance (or of none) older than the grace period, and those
        whose owner stopped beating.

        An owner is dead when its instance row is gone, stopped, or its heartbeat is older than
        ``scheduler.lease_seconds``: its plans are taken over within that bound, not after the
        (longer) grace period. A live owner's plans are left to it, however old: it may still be
        submitting them (a long create step), and abandoning one under it would make its late
        batch a duplicate.
        """
        now = utcnow()
        cutoff = now - timedelta(seconds=older_than_seconds)
        lease = timedelta(seconds=float(kernel.settings.scheduler.lease_seconds))
        owner = SchedulerInstance
        plan_owner = AIBatchRequest.owner
        me = kernel.instance_id
        dead = or_(
            owner.id.is_(None), owner.stopped_at.is_not(None), owner.heartbeat_at < now - lease
        )
        other = (
            plan_owner.is_not(None)
            if me is None
            else and_(plan_owner.is_not(None), plan_owner != me)
        )
        mine = plan_owner.is_(None) if me is None else or_(plan_owner.is_(None), plan_owner == me)
        with kernel.db.transaction() as session:
            rows = session.scalars(
                select(AIBatchRequest)
                .outerjoin(owner, owner.id == plan_owner)
                .where(
                    AIBatchRequest.status == BatchStatus.PLANNED.value,
                    or_(and_(AIBatchRequest.created_at <= cutoff, mine), and_(other, dead)),
                )
            ).all()
            return [to_plan(row, kernel) for row in rows]

    @staticmethod
    def _batches_per_company(
        kernel: KernelAPI, companies: Sequence[Company], *conditions: Any
    ) -> list[LocalBatch]:
        """One query per company for its batches matching ``conditions``."""
        batches: list[LocalBatch] = []
        for company in companies:
            with kernel.db.transaction() as session:
                rows = session.scalars(
                    select(AIBatchRequest).where(
                        AIBatchRequest.company_id == company.id, *conditions
                    )
                ).all()
                batches += [to_local(row) for row in rows]
        return batches

    @hookimpl(trylast=True)
    def fetch_inflight(self, kernel: KernelAPI, companies: Sequence[Company]) -> list[LocalBatch]:
        """One query per company for its batches still running at the provider."""
        statuses = [s.value for s in IN_FLIGHT_BATCH_STATUSES]
        return self._batches_per_company(kernel, companies, AIBatchRequest.status.in_(statuses))

    @hookimpl(trylast=True)
    def record_batch_statuses(
        self, kernel: KernelAPI, updates: Sequence[tuple[LocalBatch, ProviderBatch]]
    ) -> int:
        """Every polled status in one statement, each conditional on the polled status (the
        batch-row writes both processors share); a status that would go backwards is ignored."""
        return batchrows.record_statuses(kernel, updates)

    @hookimpl(trylast=True)
    def fetch_finished(self, kernel: KernelAPI, companies: Sequence[Company]) -> list[LocalBatch]:
        """One query per company for ended batches whose results are not applied."""
        statuses = [s.value for s in ENDED_BATCH_STATUSES]
        return self._batches_per_company(
            kernel,
            companies,
            AIBatchRequest.status.in_(statuses),
            AIBatchRequest.applied_at.is_(None),
        )

    @hookimpl(trylast=True)
    def apply_results(
        self, kernel: KernelAPI, results: Sequence[tuple[LocalBatch, ResultFiles]]
    ) -> ApplySummary:
        """Apply batch after batch."""
        total = ApplySummary()
        for batch, files in results:
            total += self._apply_batch(kernel, batch, files)
        return total

    def _apply_batch(
        self, kernel: KernelAPI, batch: LocalBatch, files: ResultFiles
    ) -> ApplySummary:
        """Apply line by line, one transaction per line, then settle every member left over."""
        with kernel.db.transaction() as session:
            if session.scalar(
                select(AIBatchRequest.applied_at).where(AIBatchRequest.id == batch.batch_id)
            ):
                return ApplySummary(already_applied=1)
            members = {
                r.id: (r.attempts, r.model, r.processing_type, r.error)
                for r in session.scalars(
                    select(AIProcessingRequest)
                    .where(
                        AIProcessingRequest.batch_id == batch.batch_id,
                        AIProcessingRequest.status == RequestStatus.BATCHING_IN_PROGRESS,
                    )
                    .options(selectinload(AIProcessingRequest.session))
                )
            }
        prices = load_prices(kernel)
        judge = AnswerJudge(calls.tasks(kernel))
        tally: dict[str, float] = defaultdict(float)
        if batch.status == BatchStatus.FAILED:
            self._apply_failed(kernel, batch, files, members, prices, tally)
        else:
            seen: set[str] = set()
            for result in calls.read_results(kernel, batch, files):
                request_id = result.custom_id
                if not request_id:
                    kernel.log.warning("batch %s: %s", batch.batch_id, result.error)
                    tally["ignored_lines"] += 1
                    continue
                if request_id not in members or request_id in seen:
                    tally["ignored_lines"] += 1
                    continue
                seen.add(request_id)
                attempts, model, processing_type, previous = members[request_id]
                outcome = judge.judge(result, processing_type)
                kind = final_kind(outcome.kind, outcome.error, previous)
                if kind != outcome.kind:
                    outcome = replace(outcome, kind="fail")
                self._write_outcome(kernel, batch, outcome, attempts, model, prices, tally)
                kernel.crashpoint("apply_chunk")
            charged = batch.status == BatchStatus.COMPLETED and not files.missing
            for request_id in members.keys() - seen:
                attempts, model, _, _ = members[request_id]
                reason = "no result line from the provider"
                if files.missing:
                    reason = "result file no longer available at the provider"
                elif batch.status != BatchStatus.COMPLETED:
                    reason = f"not run: batch {batch.status.value.lower()}"
                outcome = Outcome(request_id, "retry" if charged else "requeue", error=reason)
                self._write_outcome(kernel, batch, outcome, attempts, model, prices, tally)
        with kernel.db.transaction() as session:
            marked = session.execute(
                update(AIBatchRequest)
                .where(
                    AIBatchRequest.id == batch.batch_id,
                    AIBatchRequest.status == batch.status.value,
                    AIBatchRequest.applied_at.is_(None),
                )
                .values(
                    status=BatchStatus.APPLIED.value,
                    applied_at=utcnow(),
                    actual_input_tokens=int(tally["input_tokens"]),
                    actual_output_tokens=int(tally["output_tokens"]),
                    actual_cost_usd=tally["cost_usd"],
                )
            )
        return ApplySummary(
            completed=int(tally["completed"]),
            failed=int(tally["failed"]),
            requeued=int(tally["requeued"]),
            ignored_lines=int(tally["ignored_lines"]),
            input_tokens=int(tally["input_tokens"]),
            output_tokens=int(tally["output_tokens"]),
            cost_usd=tally["cost_usd"],
            batches=int(rowcount(marked) == 1),
            already_applied=int(rowcount(marked) != 1),
        )

    def _apply_failed(
        self,
        kernel: KernelAPI,
        batch: LocalBatch,
        files: ResultFiles,
        members: dict[str, tuple[int, str, str, str | None]],
        prices: PriceBook,
        tally: dict[str, float],
    ) -> None:
        """A batch that failed at the provider: the requests it blamed fail, the rest are
        settled by :func:`failed_batch_rule` (back at once, later, or for an attempt)."""
        kind, reason = failed_batch_rule(batch, files)
        later = retry_at(utcnow(), 1, kernel.settings)
        for request_id, (attempts, model, _, _) in members.items():
            message = files.rejected.get(request_id)
            if message is not None:
                outcome = Outcome(request_id, "fail", error=message)
            elif kind == "defer":
                self._write_requeue(kernel, batch, request_id, reason, later)
                tally["requeued"] += 1
                continue
            else:
                outcome = Outcome(
                    request_id, "requeue" if kind == "requeue" else "retry", error=reason
                )
            self._write_outcome(kernel, batch, outcome, attempts, model, prices, tally)
        kernel.log.warning(
            "batch %s failed at the provider (%s); %d of %d requests rejected, the others: %s",
            batch.batch_id,
            "; ".join(f"{e.code}: {e.message}" for e in batch.errors) or "no reason given",
            len(files.rejected.keys() & members.keys()),
            len(members),
            {"defer": "re-queued later", "requeue": "re-queued", "retry": "charged an attempt"}[
                kind
            ],
        )

    def _write_requeue(
        self, kernel: KernelAPI, batch: LocalBatch, request_id: str, reason: str, when: Any
    ) -> None:
        """Put one member back in the queue without spending an attempt."""
        with kernel.db.transaction() as session:
            session.execute(
                update(AIProcessingRequest)
                .where(
                    AIProcessingRequest.id == request_id,
                    AIProcessingRequest.batch_id == batch.batch_id,
                    AIProcessingRequest.status == RequestStatus.BATCHING_IN_PROGRESS,
                )
                .values(
                    status=RequestStatus.PENDING_BATCHING,
                    batch_id=None,
                    available_at=when,
                    error=reason,
                )
            )

    def _write_outcome(
        self,
        kernel: KernelAPI,
        batch: LocalBatch,
        outcome: Outcome,
        attempts: int,
        model: str,
        prices: PriceBook,
        tally: dict[str, float],
    ) -> None:
        """One line, one transaction: the request row, then its session when it succeeded."""
        values = request_values(
            outcome,
            attempts=attempts,
            model=model,
            prices=prices,
            provider=batch.provider,
            settings=kernel.settings,
            now=utcnow(),
        )
        adds = {key: values.pop(key) for key in list(values) if key.startswith("add_")}
        row = AIProcessingRequest
        with kernel.db.transaction() as session:
            result = session.execute(
                update(row)
                .where(
                    row.id == outcome.request_id,
                    row.batch_id == batch.batch_id,
                    row.status == RequestStatus.BATCHING_IN_PROGRESS,
                )
                .values(
                    **values,
                    provider=batch.provider,
                    model=batch.model or row.model,
                    prompt_tokens=row.prompt_tokens + adds["add_prompt_tokens"],
                    completion_tokens=row.completion_tokens + adds["add_completion_tokens"],
                    total_tokens=row.total_tokens
                    + adds["add_prompt_tokens"]
                    + adds["add_completion_tokens"],
                    cached_tokens=row.cached_tokens + adds["add_cached_tokens"],
                    prompt_cost_usd=row.prompt_cost_usd + adds["add_prompt_cost"],
                    completion_cost_usd=row.completion_cost_usd + adds["add_completion_cost"],
                    total_cost_usd=row.total_cost_usd
                    + adds["add_prompt_cost"]
                    + adds["add_completion_cost"],
                )
            )
            if rowcount(result) != 1:
                tally["ignored_lines"] += 1
                return
            if outcome.kind == "success" and outcome.fields:
                request = session.get(AIProcessingRequest, outcome.request_id)
                assert request is not None
                session.execute(
                    update(ChatSession)
                    .where(ChatSession.id == request.session_id)
                    .values(
                        **{k: outcome.fields[k] for k in SESSION_FIELDS if k in outcome.fields},
                        analyzed_at=utcnow(),
                    )
                )
        tally["input_tokens"] += outcome.usage.input
        tally["output_tokens"] += outcome.usage.output
        tally["cost_usd"] += adds["add_prompt_cost"] + adds["add_completion_cost"]
        status = values["status"]
        if status == RequestStatus.PROCESSING_COMPLETE:
            tally["completed"] += 1
        elif status == RequestStatus.PROCESSING_FAILED:
            tally["failed"] += 1
        else:
            tally["requeued"] += 1

    @hookimpl(trylast=True)
    def retry_failed(self, kernel: KernelAPI, companies: Sequence[Company]) -> RetrySummary:
        """Per company: close requests out of attempts, re-queue members of batches that ended."""
        max_attempts = int(kernel.settings.batch.max_attempts)
        total = RetrySummary()
        for company in companies:
            with kernel.db.transaction() as session:
                done = retry_companies(session, [company.id], max_attempts)
            total = RetrySummary(total.requeued + done.requeued, total.failed + done.failed)
        return total


def _undefined(tasks: Any) -> str:
    """Why a request of a task nobody defines fails."""
    return (
        f"its task is not defined (defined: {', '.join(sorted(tasks))}); define it in "
        "[default.tasks.NAME] of settings.toml"
    )
