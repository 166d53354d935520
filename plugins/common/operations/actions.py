"""Operator actions: cancel a batch, retry or cancel requests, pause or resume a company, set
its provider list.

Each action checks the target exists and belongs to the actor's company (a company-scoped actor
never learns about other companies' rows: theirs are "not found"), changes it with one
conditional ``UPDATE`` (so it never races the scheduler into a wrong state), and writes an audit
row (who, what, when, result) in the same transaction; a refusal is audited too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from kernel.api import KernelAPI
from kernel.db.rowcount import rowcount
from kernel.types import BatchPlan, BatchStatus, KernelError, LocalBatch
from plugins.common import calls
from plugins.common.operations import audit
from plugins.common.operations.filters import FilterError, Filters
from plugins.common.operations.listing import filtered
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest, Company
from plugins.common.schema.rows import to_local_batch
from plugins.common.schema.statuses import (
    ENDED_BATCH_STATUSES,
    IN_FLIGHT_BATCH_STATUSES,
    RequestStatus,
)
from plugins.common.timeutil import utcnow

PENDING = RequestStatus.PENDING_BATCHING.value
IN_PROGRESS = RequestStatus.BATCHING_IN_PROGRESS.value
FAILED = RequestStatus.PROCESSING_FAILED.value
CANCELLABLE_BATCH = frozenset(
    s.value for s in IN_FLIGHT_BATCH_STATUSES if s is not BatchStatus.CANCELLING
)
ACTIONS = (
    "batches.cancel",
    "requests.retry",
    "requests.cancel",
    "companies.pause",
    "companies.resume",
    "companies.set-provider",
)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts (``cli:user@host``, ``token:name``) and the one company they may act on, if any."""

    name: str
    company: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action did: ``status`` 200 done, 404 no such target (or not the actor's), 409 not
    in a state that allows it, 400 bad filters, 502 the provider refused or failed."""

    ok: bool
    status: int
    message: str
    changed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"ok": self.ok, "message": self.message, "changed": self.changed}


def _refuse(
    kernel: KernelAPI, actor: Actor, action: str, target: str, company: str | None, outcome: Outcome
) -> Outcome:
    """Audit a refusal in its own transaction and return it."""
    with kernel.db.transaction() as session:
        audit.record(
            session,
            actor=actor.name,
            action=action,
            target=target,
            company=company,
            result="error" if outcome.status >= 500 else "refused",
            detail=outcome.message,
        )
    return outcome


def _visible(actor: Actor, company: str | None) -> bool:
    """Whether the actor may see a row of ``company``."""
    return company is not None and (actor.company is None or actor.company == company)


def cancel_batch(kernel: KernelAPI, actor: Actor, batch_id: str) -> Outcome:
    """Cancel a batch: one at the provider is asked to cancel (what already ran is applied, the
    rest goes back to the queue); a planned one is given up before it reaches the provider."""
    action = "batches.cancel"
    local: LocalBatch | None = None
    plan: BatchPlan | None = None
    with kernel.db.transaction() as session:
        row = session.scalars(select(AIBatchRequest).where(AIBatchRequest.id == batch_id)).first()
        company = row.company_id if row is not None else None
        if row is None or not _visible(actor, company):
            refusal = Outcome(False, 404, f"no batch with id {batch_id!r}")
            company = None
        elif row.status in CANCELLABLE_BATCH or row.status == BatchStatus.PLANNED.value:
            refusal = None
            local = to_local_batch(row)
            plan = BatchPlan(
                batch_id=row.id,
                company_id=row.company_id,
                model=row.model,
                processing_type=row.processing_type,
                submission_key=row.submission_key,
                input_path=kernel.workdir / f"{row.id}.input.jsonl",
                request_count=row.request_count,
                input_bytes=row.input_bytes,
                estimated_input_tokens=row.estimated_input_tokens,
                provider=local.provider,
            )
        else:
            ended = {s.value for s in ENDED_BATCH_STATUSES} | {"APPLIED", "ABANDONED"}
            why = "has ended" if row.status in ended else "is being cancelled already"
            refusal = Outcome(
                False, 409, f"batch {batch_id} {why} ({row.status}); nothing to cancel"
            )
    if refusal is not None or local is None or plan is None:
        return _refuse(kernel, actor, action, batch_id, company, refusal or Outcome(False, 404, ""))
    reason = f"cancelled by {actor.name}"
    try:
        if local.status is BatchStatus.PLANNED:
            if not kernel.abandon_plan(plan, reason):
                return _refuse(
                    kernel,
                    actor,
                    action,
                    batch_id,
                    company,
                    Outcome(False, 409, f"batch {batch_id} was submitted meanwhile; try again"),
                )
            kernel.discard_submission(plan)
            message = (
                f"batch {batch_id} cancelled before it reached the provider; its "
                f"{plan.request_count} requests are back in the queue"
            )
        else:
            answer = kernel.cancel_batch(local)
            kernel.record_batch_statuses([(local, answer)])
            message = (
                f"batch {batch_id} ({local.provider_batch_id}) is cancelling at the provider; "
                "what already ran is applied, the rest goes back to the queue"
            )
    except KernelError as exc:
        return _refuse(
            kernel, actor, action, batch_id, company, Outcome(False, 502, f"cancel failed: {exc}")
        )
    with kernel.db.transaction() as session:
        audit.record(
            session,
            actor=actor.name,
            action=action,
            target=batch_id,
            company=company,
            result="ok",
            detail=message,
        )
    return Outcome(True, 200, message, 1)


def _request_action(
    kernel: KernelAPI,
    actor: Actor,
    request_id: str,
    action: str,
    allowed: str,
    values: dict[str, Any],
) -> Outcome:
    """Move one request from state ``allowed`` with ``values``, conditionally, audited."""
    r = AIProcessingRequest
    with kernel.db.transaction() as session:
        row = session.execute(
            select(r.company_id, r.status, r.batch_id).where(r.id == request_id)
        ).first()
        company = row.company_id if row is not None else None
        if row is None or not _visible(actor, company):
            refusal = Outcome(False, 404, f"no request with id {request_id!r}")
            company = None
        else:
            changed = rowcount(
                session.execute(
                    update(r)
                    .where(r.id == request_id, *_movable(allowed))
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
            )
            if changed:
                message = f"request {request_id}: {row.status} -> {values['status']}"
                audit.record(
                    session,
                    actor=actor.name,
                    action=action,
                    target=request_id,
                    company=company,
                    result="ok",
                    detail=message,
                )
                return Outcome(True, 200, message, 1)
            refusal = Outcome(
                False, 409, _wrong_state(request_id, action, row.status, row.batch_id)
            )
    return _refuse(kernel, actor, action, request_id, company, refusal)


def _movable(allowed: str) -> list[Any]:
    """Conditions for a request an action may move: in ``allowed`` and, when pending, not
    claimed into a batch yet (failed requests keep the batch they failed in)."""
    r = AIProcessingRequest
    conditions = [r.status == allowed]
    if allowed == PENDING:
        conditions.append(r.batch_id.is_(None))
    return conditions


def _wrong_state(request_id: str, action: str, status: str, batch_id: str | None) -> str:
    """Why a request cannot be retried or cancelled now, and what to do instead."""
    if status == IN_PROGRESS and batch_id:
        return (
            f"request {request_id} is in batch {batch_id} at the provider; cancel that batch "
            f"(batches cancel {batch_id}) or wait for its result"
        )
    if action == "requests.retry":
        return f"request {request_id} is {status}; only failed requests can be retried"
    return f"request {request_id} is {status}; only pending requests can be cancelled"


def retry_values() -> dict[str, Any]:
    """A failed request made pending again with a fresh set of attempts."""
    return {
        "status": PENDING,
        "batch_id": None,
        "attempts": 0,
        "error": None,
        "completed_at": None,
        "available_at": utcnow(),
    }


def cancel_values(actor: Actor) -> dict[str, Any]:
    """A pending request closed for good by an operator."""
    return {"status": FAILED, "error": f"cancelled by {actor.name}", "completed_at": utcnow()}


def retry_request(kernel: KernelAPI, actor: Actor, request_id: str) -> Outcome:
    """Send a failed request round again (attempts start over)."""
    return _request_action(kernel, actor, request_id, "requests.retry", FAILED, retry_values())


def cancel_request(kernel: KernelAPI, actor: Actor, request_id: str) -> Outcome:
    """Close a pending request (not yet in a batch) as failed, "cancelled by" the actor."""
    return _request_action(
        kernel, actor, request_id, "requests.cancel", PENDING, cancel_values(actor)
    )


def _matching(
    kernel: KernelAPI,
    actor: Actor,
    filters: Filters,
    action: str,
    allowed: str,
    values: dict[str, Any],
) -> Outcome:
    """One set-based ``UPDATE`` over every request matching the filters and in ``allowed``."""
    if filters.state is not None and filters.state != allowed:
        raise FilterError(f"{action} applies to {allowed} requests only; leave the state out")
    if actor.company is not None:
        if filters.company not in (None, actor.company):
            return _refuse(
                kernel,
                actor,
                action,
                filters.describe(),
                None,
                Outcome(False, 404, f"no company with id {filters.company!r}"),
            )
        filters = Filters(**{**_fields(filters), "company": actor.company})
    r = AIProcessingRequest
    stmt = update(r).where(*_movable(allowed)).values(**values)
    stmt = filtered(stmt, r, filters, r.requested_at)
    with kernel.db.transaction() as session:
        changed = rowcount(session.execute(stmt.execution_options(synchronize_session=False)))
        message = (
            f"{changed} {allowed} requests matching {filters.describe()} -> {values['status']}"
        )
        audit.record(
            session,
            actor=actor.name,
            action=action,
            target=filters.describe(),
            company=filters.company,
            result="ok",
            detail=message,
        )
    return Outcome(True, 200, message, int(changed or 0))


def _fields(filters: Filters) -> dict[str, Any]:
    """The filters as keyword arguments."""
    return {name: getattr(filters, name) for name in Filters.__slots__}


def retry_matching(kernel: KernelAPI, actor: Actor, filters: Filters) -> Outcome:
    """Retry every failed request matching the filters, in one statement."""
    return _matching(kernel, actor, filters, "requests.retry", FAILED, retry_values())


def cancel_matching(kernel: KernelAPI, actor: Actor, filters: Filters) -> Outcome:
    """Cancel every pending request matching the filters, in one statement."""
    return _matching(kernel, actor, filters, "requests.cancel", PENDING, cancel_values(actor))


def set_paused(kernel: KernelAPI, actor: Actor, company_id: str, paused: bool) -> Outcome:
    """Pause (no new claims; batches at the provider finish) or resume a company."""
    action = "companies.pause" if paused else "companies.resume"
    message = ""
    if actor.company is not None and actor.company != company_id:
        return _refuse(
            kernel,
            actor,
            action,
            company_id,
            None,
            Outcome(False, 404, f"no company with id {company_id!r}"),
        )
    with kernel.db.transaction() as session:
        paused_at = session.execute(
            select(Company.paused_at).where(Company.id == company_id)
        ).first()
        if paused_at is None:
            refusal = Outcome(False, 404, f"no company with id {company_id!r}")
            company = None
        else:
            company = company_id
            changed = rowcount(
                session.execute(
                    update(Company)
                    .where(
                        Company.id == company_id,
                        Company.paused_at.is_(None) if paused else Company.paused_at.is_not(None),
                    )
                    .values(paused_at=utcnow() if paused else None)
                    .execution_options(synchronize_session=False)
                )
            )
            if changed:
                message = (
                    f"company {company_id} paused: nothing new is claimed; its batches at the "
                    "provider finish"
                    if paused
                    else f"company {company_id} resumed: its pending requests are claimed again"
                )
                audit.record(
                    session,
                    actor=actor.name,
                    action=action,
                    target=company_id,
                    company=company_id,
                    result="ok",
                    detail=message,
                )
                refusal = None
            else:
                state = "paused" if paused else "not paused"
                refusal = Outcome(False, 409, f"company {company_id} is {state} already")
    if refusal is not None:
        return _refuse(kernel, actor, action, company_id, company, refusal)
    calls.companies_changed(kernel, [company_id])
    return Outcome(True, 200, message, 1)


def set_providers(
    kernel: KernelAPI, actor: Actor, company_id: str, providers: Sequence[str]
) -> Outcome:
    """Give a company its own provider list for routing, primary first (empty: back to
    ``routing.providers``). Every name must be a configured provider; batches already at a
    provider finish there."""
    action = "companies.set-provider"
    names = list(dict.fromkeys(str(name) for name in providers))
    configured = configured_providers(kernel)
    unknown = [name for name in names if name not in configured]
    if unknown:
        refusal = Outcome(
            False,
            400,
            f"provider {unknown[0]!r} is not configured; configured providers (plugins.provider, "
            f"routing.providers): {', '.join(configured)}",
        )
        return _refuse(kernel, actor, action, company_id, None, refusal)
    if actor.company is not None and actor.company != company_id:
        refusal = Outcome(False, 404, f"no company with id {company_id!r}")
        return _refuse(kernel, actor, action, company_id, None, refusal)
    listed = ", ".join(names) if names else f"routing.providers ({', '.join(kernel.providers())})"
    message = f"company {company_id} routes new batches to {listed}"
    with kernel.db.transaction() as session:
        changed = rowcount(
            session.execute(
                update(Company)
                .where(Company.id == company_id)
                .values(providers=names or None)
                .execution_options(synchronize_session=False)
            )
        )
        if changed:
            audit.record(
                session,
                actor=actor.name,
                action=action,
                target=company_id,
                company=company_id,
                result="ok",
                detail=message,
            )
    if not changed:
        refusal = Outcome(False, 404, f"no company with id {company_id!r}")
        return _refuse(kernel, actor, action, company_id, None, refusal)
    calls.companies_changed(kernel, [company_id])
    return Outcome(True, 200, message, 1)


def configured_providers(kernel: KernelAPI) -> list[str]:
    """The providers new batches may go to: ``routing.providers`` and ``plugins.provider``."""
    return list(dict.fromkeys([*kernel.providers(), str(kernel.settings.plugins.provider)]))
