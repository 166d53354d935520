"""The column values each result outcome writes, shared so both processors change rows identically."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kernel.types import LocalBatch, ResultFiles
from plugins.common.answers import Outcome
from plugins.common.lifecycle import CAPACITY_ERROR_CODES, retry_at
from plugins.common.pricing import PriceBook
from plugins.common.schema.statuses import RequestStatus


def request_values(
    outcome: Outcome,
    *,
    attempts: int,
    model: str,
    prices: PriceBook,
    settings: Any,
    now: datetime,
    provider: str | None = None,
) -> dict[str, Any]:
    """New values for a request row given its outcome, the attempts it had used and the clock.

    Token and cost columns (``add_*``) are this outcome's amounts, which callers add to the
    row's totals; ``price_id`` (the price version charged: ``provider``'s price of ``model``)
    is set only when tokens were used.
    """
    values: dict[str, Any] = {}
    price = prices.for_model(model, provider)
    usage = outcome.usage
    prompt_cost, completion_cost = (
        price.cost(usage.input, usage.output, usage.cached) if price else (0.0, 0.0)
    )
    values["add_prompt_tokens"] = usage.input
    values["add_completion_tokens"] = usage.output
    values["add_cached_tokens"] = usage.cached
    values["add_prompt_cost"] = prompt_cost
    values["add_completion_cost"] = completion_cost
    values["provider_request_id"] = outcome.provider_request_id
    if outcome.raw is not None:
        values["raw_answer"] = outcome.raw
    if price is not None and price.id is not None and usage.input + usage.output:
        values["price_id"] = price.id
    max_attempts = int(settings.batch.max_attempts)
    if outcome.kind == "success":
        values.update(
            status=RequestStatus.PROCESSING_COMPLETE,
            completed_at=now,
            error=None,
            result_json=outcome.result,
        )
    elif outcome.kind == "fail":
        values.update(
            status=RequestStatus.PROCESSING_FAILED,
            completed_at=now,
            error=outcome.error,
            attempts=attempts + 1,
        )
    elif outcome.kind == "retry":
        used = attempts + 1
        if used >= max_attempts:
            values.update(
                status=RequestStatus.PROCESSING_FAILED,
                completed_at=now,
                attempts=used,
                error=f"gave up after {used} attempts: {outcome.error}",
            )
        else:
            values.update(
                status=RequestStatus.PENDING_BATCHING,
                batch_id=None,
                attempts=used,
                available_at=retry_at(now, used, settings),
                error=outcome.error,
            )
    else:
        values.update(
            status=RequestStatus.PENDING_BATCHING,
            batch_id=None,
            available_at=now,
            error=outcome.error,
        )
    return values


def failed_batch_rule(batch: LocalBatch, files: ResultFiles) -> tuple[str, str]:
    """How the members of a batch that failed at the provider are settled, and why.

    The requests the provider blamed (``files.rejected``) fail for good, each with its message;
    the others go back to the queue at once, no attempt spent ("requeue"): they are resubmitted
    without them. A capacity failure (enqueued-token limit) re-queues everyone after a backoff,
    no attempt spent ("defer"). Any other failure that names no request of ours spends an attempt
    on every member ("retry"), so the same content failing the same way ends.
    """
    reason = "; ".join(f"{e.code}: {e.message}" for e in batch.errors) or "batch failed"
    if {e.code for e in batch.errors} & CAPACITY_ERROR_CODES:
        return "defer", f"batch failed at provider: {reason}"
    if files.rejected:
        return (
            "requeue",
            f"resubmitted without the {len(files.rejected)} request(s) the provider rejected",
        )
    return "retry", f"batch failed at provider: {reason}"
