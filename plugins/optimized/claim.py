"""``fetch_pending`` set-based: each page is locked, planned and claimed in one short transaction
(the page's batch rows inserted in one statement, its requests claimed in one more), then every
batch file of the page is written from one streamed query over the messages."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Column, String, select, update

from kernel.api import KernelAPI
from kernel.db.rowcount import rowcount
from kernel.types import BatchPlan, BatchStatus
from plugins.common import calls
from plugins.common.exchange import RequestEncoder, TaskSpec
from plugins.common.lifecycle import new_submission_key
from plugins.common.lines import BatchLimits, neutral_request
from plugins.common.rowsets import insert_rows, update_rows
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest, Message, new_id
from plugins.common.schema.statuses import RequestStatus
from plugins.common.timeutil import utcnow
from plugins.optimized.planning import (
    Draft,
    LineSizer,
    candidates_of,
    eligible_companies,
    learn_ratio,
    measure_missing,
    page_query,
    plan_page,
    within_quota,
)
from plugins.optimized.staging import load, staging, temp_table

BATCH_COLUMNS = (
    "id",
    "provider",
    "company_id",
    "model",
    "processing_type",
    "status",
    "submission_key",
    "owner",
    "request_count",
    "input_bytes",
    "estimated_input_tokens",
    "created_at",
    "counts_total",
    "counts_completed",
    "counts_failed",
)
CLAIM_STAGE = temp_table(
    "bk_claim_stage", Column("request_id", String(36)), Column("batch_id", String(36))
)


def fetch_pending(
    kernel: KernelAPI,
    company_ids: Sequence[str],
    quotas: dict[str, int] | None = None,
    *,
    flush: bool = False,
    provider: str | None = None,
) -> list[BatchPlan]:
    """Claim every eligible pending request of these companies, page by page, at most
    ``quotas[company]`` batches for a company with a quota; ``flush``: small batches too.
    The batches go to ``provider`` (default: the first configured one), each on the model that
    provider runs for its requests' model."""
    settings = kernel.settings
    provider = provider or kernel.providers()[0]
    limits = BatchLimits.for_provider(kernel, provider)
    sizer = LineSizer(kernel, provider)
    page_size = int(settings.processing.chunk_size)
    now = utcnow()
    with kernel.db.transaction() as session:
        eligible = eligible_companies(session, company_ids, now, settings, flush)
    remaining = dict(quotas or {})
    plans: list[BatchPlan] = []
    while eligible:
        # a page's drafts are dropped and its reference cycles (result and statement objects)
        # collected before the next page is read, so peak memory does not grow with the backlog
        page = claim_page(kernel, eligible, limits, sizer, page_size, now, remaining)
        if page is None:
            break
        eligible = [c for c in eligible if remaining.get(c, 1) > 0]
        written = write_files(kernel, provider, page.named)
        if page.full:
            # another page may follow: collect this one's cycles first (a full collection is
            # costly in a large process, so not after the last, partial page)
            del page
            gc.collect()
        for plan in written:
            if plan.input_bytes > limits.max_bytes:
                kernel.abandon_plan(
                    plan, f"input file of {plan.input_bytes} bytes is over batch.max_file_bytes"
                )
            elif plan.estimated_input_tokens > limits.tokens_for(plan.model):
                kernel.abandon_plan(
                    plan,
                    f"input of {plan.estimated_input_tokens} tokens is over the token limit of "
                    f"{plan.model} (batch.max_input_tokens_per_batch, "
                    "batch.enqueued_token_limits)",
                )
            else:
                plans.append(plan)
    return plans


Named = list[tuple[str, str, Draft]]


class Page(NamedTuple):
    """The batches claimed from one page of candidates, and whether the page was full (more
    candidates may follow)."""

    named: Named
    full: bool


def claim_page(
    kernel: KernelAPI,
    company_ids: Sequence[str],
    limits: BatchLimits,
    sizer: LineSizer,
    page_size: int,
    now: Any,
    remaining: dict[str, int],
) -> Page | None:
    """Lock one page of candidates, plan it and claim what the quotas leave room for; None when
    nothing was left."""
    db = kernel.db
    with db.transaction() as session:
        candidates, read = candidates_of(
            session.connection().execute(
                page_query(company_ids, now, limits.max_requests, page_size, db.is_postgres)
            ),
            sizer.model_at,
        )
        if not read:
            return None
        full = read >= page_size
        measure_missing(session, candidates)
        drafts, empty, too_large, undefined = plan_page(candidates, limits, sizer)
        drafts = within_quota(drafts, remaining)
        if undefined:
            fail(session, undefined, sizer.undefined_reason())
        if empty:
            fail(session, empty, "session has no messages; nothing to analyse")
        if too_large:
            fail(
                session,
                too_large,
                f"session too large for one batch: over {limits.max_tokens} estimated input "
                f"tokens or {limits.max_bytes} bytes (batch.max_input_tokens_per_batch, "
                "batch.max_file_bytes)",
            )
        if not drafts:
            return Page([], full)
        named = [(new_id(), new_submission_key(), draft) for draft in drafts]
        insert_rows(
            session,
            AIBatchRequest.__table__,
            BATCH_COLUMNS,
            [
                (
                    batch_id,
                    sizer.provider,
                    d.company_id,
                    d.model,
                    d.processing_type,
                    BatchStatus.PLANNED.value,
                    key,
                    kernel.instance_id,
                    len(d.request_ids),
                    d.nbytes,
                    d.tokens,
                    now,
                    0,
                    0,
                    0,
                )
                for batch_id, key, d in named
            ],
        )
        members = [(rid, batch_id) for batch_id, _, d in named for rid in d.request_ids]
        with staging(session, CLAIM_STAGE) as stage:
            load(session, stage, members, db.queries)
            request = AIProcessingRequest
            claimed_result = session.execute(
                update(request)
                .where(
                    request.id == stage.c.request_id,
                    request.status == RequestStatus.PENDING_BATCHING,
                    request.batch_id.is_(None),
                )
                .values(status=RequestStatus.BATCHING_IN_PROGRESS, batch_id=stage.c.batch_id)
                .execution_options(synchronize_session=False)
            )
            claimed = rowcount(claimed_result)
        if claimed != len(members):
            raise RuntimeError(
                f"claimed {claimed} of {len(members)} locked requests; rolled back (another "
                "writer changed them)"
            )
    return Page(named, full)


def fail(session: Any, ids: Sequence[str], reason: str) -> None:
    """Close pending requests that can never succeed, with the reason."""
    request = AIProcessingRequest
    session.execute(
        update(request)
        .where(request.id.in_(ids), request.status == RequestStatus.PENDING_BATCHING)
        .values(status=RequestStatus.PROCESSING_FAILED, error=reason, completed_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def write_files(kernel: KernelAPI, provider: str, named: Named) -> list[BatchPlan]:
    """Stream the page's messages in batch order and write each batch's input file; each plan
    carries its file's size and its exact input token count (stored on its batch row)."""
    if not named:
        return []
    tasks = calls.tasks(kernel)
    drafts = {batch_id: draft for batch_id, _, draft in named}
    request = AIProcessingRequest
    query = (
        select(request.batch_id, request.id, Message.role, Message.content, request.error)
        .join(Message, Message.session_id == request.session_id)
        .where(
            request.batch_id.in_(list(drafts)),
            request.status == RequestStatus.BATCHING_IN_PROGRESS,
        )
        .order_by(request.batch_id, request.requested_at, request.id, Message.position)
        .execution_options(stream_results=True, yield_per=2000)
    )
    written: dict[str, tuple[int, int]] = {}
    with kernel.db.read_transaction() as session:
        rows = session.connection().execute(query)
        for batch_id, batch_rows in groupby(rows, key=itemgetter(0)):
            draft = drafts[batch_id]
            written[batch_id] = write_batch(
                kernel.workdir / f"{batch_id}.input.jsonl",
                calls.request_encoder(kernel, provider, draft.model),
                tasks[draft.processing_type],
                draft.model,
                batch_rows,
                kernel.settings,
            )
    plans = [
        BatchPlan(
            batch_id=batch_id,
            company_id=d.company_id,
            model=d.model,
            processing_type=d.processing_type,
            submission_key=key,
            input_path=kernel.workdir / f"{batch_id}.input.jsonl",
            request_count=len(d.request_ids),
            input_bytes=written.get(batch_id, (0, d.tokens))[0],
            estimated_input_tokens=written.get(batch_id, (0, d.tokens))[1],
            provider=provider,
        )
        for batch_id, key, d in named
    ]
    for plan in plans:
        learn_ratio(plan.model, drafts[plan.batch_id].tokens, plan.estimated_input_tokens)
    changed = [
        (p.batch_id, p.estimated_input_tokens)
        for p in plans
        if p.estimated_input_tokens != drafts[p.batch_id].tokens
    ]
    if changed:
        with kernel.db.transaction() as session:
            update_rows(
                session,
                AIBatchRequest.__table__,
                "id",
                ("id", "estimated_input_tokens"),
                changed,
            )
    return plans


def write_batch(
    path: Path,
    encoder: RequestEncoder,
    task: TaskSpec,
    model: str,
    rows: Iterable[Any],
    settings: Any,
) -> tuple[int, int]:
    """Write one batch's records from its ``(batch, request, role, content, error)`` rows,
    ordered by request then message (the request's last error decides its output limit);
    returns (file bytes, input tokens)."""
    tokens = 0
    with path.open("wb") as handle:
        for request_id, grouped in groupby(rows, key=itemgetter(1)):
            messages = list(grouped)
            neutral = neutral_request(
                request_id,
                task,
                model,
                [(row[2], row[3]) for row in messages],
                settings,
                previous_error=messages[0][4],
            )
            handle.write(encoder.encode(neutral))
            tokens += encoder.count_tokens(neutral)
        return handle.tell(), tokens
