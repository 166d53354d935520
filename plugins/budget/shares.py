"""Which companies the create task claims for, in which order, and how many batches each.

Companies are served least recently admitted first, so the order rotates across cycles and
instances (it is read from the batches, not kept in memory). With ``batch.max_batches_per_cycle``
every company with pending work gets one slot before any gets a second, then the remaining slots
go by weight (``batch.company_weights``), never above what a company needs or the room it has
under ``batch.max_inflight_per_company``. Companies held back by a budget, or whose pending work
is all for models at their enqueued-token limit, are left out so their requests simply wait.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select

from kernel.api import KernelAPI
from kernel.types import Company
from plugins.common.budgets import EPSILON, Budgets, Usage, batch_usage, committed, holds
from plugins.common.schema.models import AIProcessingRequest, BudgetHold
from plugins.common.schema.statuses import RequestStatus
from plugins.common.timeutil import utcnow

EARLIEST = datetime.min.replace(tzinfo=UTC)


def weights(settings: Any) -> dict[str, float]:
    """Weight per company id from ``batch.company_weights`` (others weigh 1)."""
    raw = settings.batch.company_weights
    return {str(cid): max(float(w), 0.001) for cid, w in raw.items()}


def token_limits(settings: Any) -> dict[str, int]:
    """The enqueued-token limit per model (``batch.enqueued_token_limits``; 0 or absent: none)."""
    raw = settings.batch.enqueued_token_limits
    return {str(model): int(limit) for model, limit in raw.items() if int(limit) > 0}


def serve_order(company_ids: Sequence[str], usage: dict[tuple[str, str, str], Usage]) -> list[str]:
    """Least recently admitted first (never admitted before anyone), then by id."""
    last: dict[str, datetime] = {}
    for (cid, _, _), use in usage.items():
        if use.last_admitted is not None:
            last[cid] = max(last.get(cid, EARLIEST), use.last_admitted)
    return sorted(company_ids, key=lambda cid: (last.get(cid, EARLIEST), cid))


def allocate(
    order: Sequence[str], room: dict[str, int], weight: dict[str, float], slots: int
) -> dict[str, int]:
    """Share ``slots`` batches: one each in ``order``, then the rest by weight, within ``room``."""
    given = dict.fromkeys(order, 0)
    left = slots
    for cid in order:
        if left and room[cid] > 0:
            given[cid], left = 1, left - 1
    while left:
        open_ = [cid for cid in order if given[cid] < room[cid]]
        if not open_:
            break
        total = sum(weight.get(cid, 1.0) for cid in open_)
        grants = {
            cid: min(room[cid] - given[cid], int(left * weight.get(cid, 1.0) / total))
            for cid in open_
        }
        if not any(grants.values()):
            ranked = sorted(open_, key=lambda cid: -weight.get(cid, 1.0))
            grants = dict.fromkeys(ranked[:left], 1)
        for cid, grant in grants.items():
            given[cid] += grant
            left -= grant
    return given


def pending_batches(session: Any, now: datetime, max_requests: int) -> dict[str, dict[str, int]]:
    """Batches each company's due pending requests need, per model (one grouped query)."""
    r = AIProcessingRequest
    rows = session.execute(
        select(r.company_id, r.model, func.count())
        .where(
            r.status == RequestStatus.PENDING_BATCHING.value,
            r.batch_id.is_(None),
            r.available_at <= now,
        )
        .group_by(r.company_id, r.model)
    ).all()
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for cid, model, count in rows:
        out[cid][model] = math.ceil(int(count) / max_requests)
    return out


def budget_blocked(
    cid: str, budgets: Budgets, spent: dict[tuple[str, str], float], need: float
) -> bool:
    """Whether some budget of this company has less than ``need`` USD left (or nothing)."""
    for rule in budgets.for_company(cid):
        left = rule.limit_usd - spent.get((rule.scope, rule.period), 0.0)
        if left <= EPSILON or left + EPSILON < need:
            return True
    return False


def choose(kernel: KernelAPI, companies: Sequence[Company]) -> list[Company] | None:
    """The companies to claim for this cycle with their quotas; ``None`` when nothing limits."""
    settings = kernel.settings
    cap = int(settings.batch.max_batches_per_cycle)
    per_company = int(settings.batch.max_inflight_per_company)
    budgets = Budgets.from_settings(settings)
    history_days = float(settings.estimates.history_days)
    limits = token_limits(settings)
    now = utcnow()
    with kernel.db.transaction() as session:
        held = holds(session)
        if not (cap or per_company or budgets.any or held):
            return None
        usage = batch_usage(session, now, history_days)
        model_holds = {s.removeprefix("model:"): v[0] for s, v in held.items() if s[:6] == "model:"}
        needs = (
            pending_batches(session, now, int(settings.batch.max_requests_per_batch))
            if cap or model_holds
            else None
        )
        spent = committed(usage)
        tokens: dict[str, int] = defaultdict(int)
        inflight: dict[str, int] = defaultdict(int)
        for (cid, model, _), use in usage.items():
            tokens[model] += use.inflight_tokens
            inflight[cid] += use.inflight
        blocked_models = {
            model
            for model, need in model_holds.items()
            if limits.get(model) is not None and limits[model] - tokens[model] < need
        }
        lifted = [f"model:{m}" for m in model_holds if m not in blocked_models]
        room: dict[str, int] = {}
        for company in companies:
            cid = company.id
            hold = held.get(f"company:{cid}")
            if budgets.any and budget_blocked(cid, budgets, spent, hold[0] if hold else 0.0):
                continue
            if hold:
                lifted.append(f"company:{cid}")
            space = per_company - inflight[cid] if per_company else math.inf
            wanted = needs.get(cid, {}) if needs is not None else None
            if wanted is not None:
                space = min(space, sum(n for m, n in wanted.items() if m not in blocked_models))
            if space > 0:
                room[cid] = int(min(space, 1_000_000))
        if lifted:
            session.execute(delete(BudgetHold).where(BudgetHold.scope.in_(lifted)))
    order = serve_order(list(room), usage)
    quota = allocate(order, room, weights(settings), cap) if cap else None
    by_id = {company.id: company for company in companies}
    chosen = []
    for cid in order:
        share = quota[cid] if quota is not None else (room[cid] if per_company else 0)
        if quota is not None and share == 0:
            continue
        chosen.append(replace(by_id[cid], max_batches=share))
    return chosen
