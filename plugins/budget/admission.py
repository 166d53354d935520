"""Admission: estimate every claimed plan and admit those within budgets and limits, atomically.

One transaction per create step, under an exclusive lock shared by every instance (a PostgreSQL
advisory lock; SQLite's single writer): read what is committed and in flight, decide each plan in
fair order, stamp the admitted batches with their estimate and ``admitted_at``, and record why
the others wait. The next instance to admit reads those stamps, so no two instances can both
spend the last of a budget or fill the last of an enqueued-token limit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, delete, select, update

from kernel.api import KernelAPI
from kernel.types import BatchPlan, BatchStatus
from plugins.budget.estimate import Estimate, Estimator
from plugins.budget.shares import serve_order, token_limits, weights
from plugins.common.budgets import EPSILON, Budget, Budgets, batch_usage, committed, next_period
from plugins.common.locks import exclusive
from plugins.common.pricing import load_prices
from plugins.common.rowsets import fields_of, insert_rows, rowset
from plugins.common.schema.models import AIBatchRequest, BudgetHold
from plugins.common.timeutil import utcnow


@dataclass(slots=True)
class Ledger:
    """What is committed while the lock is held, updated as plans are admitted."""

    spent: dict[tuple[str, str], float]
    tokens: dict[str, int]
    inflight: dict[str, int]
    crossed: list[tuple[Budget, float]] = field(default_factory=list)


def fair_order(plans: Sequence[BatchPlan], order: list[str], weight: dict[str, float]) -> list:
    """Plans interleaved across companies: each one's first before anyone's second, by weight."""
    rank: dict[str, int] = defaultdict(int)
    place = {cid: index for index, cid in enumerate(order)}
    keyed = []
    for plan in plans:
        rank[plan.company_id] += 1
        turn = rank[plan.company_id] / weight.get(plan.company_id, 1.0)
        keyed.append((turn, place.get(plan.company_id, len(place)), plan))
    return [plan for _, _, plan in sorted(keyed, key=lambda item: item[:2])]


class Admission:
    """Decides one create step's plans against one ledger."""

    def __init__(self, kernel: KernelAPI, ledger: Ledger, now: datetime) -> None:
        settings = kernel.settings
        self.budgets = Budgets.from_settings(settings)
        self.per_company = int(settings.batch.max_inflight_per_company)
        self.limits = token_limits(settings)
        self.ledger = ledger
        self.now = now

    def refusal(self, plan: BatchPlan, estimate: Estimate) -> tuple[str, str, float] | None:
        """(hold scope, reason, need) when the plan cannot go now, else ``None``."""
        ledger = self.ledger
        if self.per_company and ledger.inflight[plan.company_id] >= self.per_company:
            return (
                "",
                f"waiting: company {plan.company_id} has {self.per_company} batches in flight "
                "(batch.max_inflight_per_company)",
                0.0,
            )
        limit = self.limits.get(plan.model)
        if limit is not None and ledger.tokens[plan.model] + estimate.input_tokens > limit:
            return (
                f"model:{plan.model}",
                f"waiting: enqueued-token limit of {limit:,} for {plan.model} reached "
                f"({ledger.tokens[plan.model]:,} in flight, this batch needs "
                f"{estimate.input_tokens:,}; batch.enqueued_token_limits)",
                float(estimate.input_tokens),
            )
        for rule in self.budgets.for_company(plan.company_id):
            used = ledger.spent[(rule.scope, rule.period)]
            if used + estimate.cost_usd > rule.limit_usd + EPSILON:
                return (
                    f"company:{plan.company_id}",
                    f"waiting: {rule.describe()} reached (${used:.4f} committed, this batch "
                    f"needs ${estimate.cost_usd:.4f}); goes on from "
                    f"{next_period(rule.period, self.now):%Y-%m-%d %H:%M} UTC or when raised",
                    estimate.cost_usd,
                )
        return None

    def take(self, plan: BatchPlan, estimate: Estimate) -> None:
        """Book an admitted plan into the ledger, noting budgets it pushes past the warning."""
        ledger = self.ledger
        ledger.inflight[plan.company_id] += 1
        ledger.tokens[plan.model] += estimate.input_tokens
        for rule in self.budgets.for_company(plan.company_id):
            key = (rule.scope, rule.period)
            before = ledger.spent[key]
            ledger.spent[key] = before + estimate.cost_usd
            threshold = rule.limit_usd * self.budgets.warn_fraction
            if before < threshold <= ledger.spent[key]:
                ledger.crossed.append((rule, ledger.spent[key]))


def _stamp(session: Any, admitted: list[tuple[BatchPlan, Estimate]], now: datetime) -> None:
    """Record the admitted plans' estimates and admission time in one ``UPDATE ... FROM``, each
    row only while its batch is still PLANNED."""
    table = AIBatchRequest.__table__
    fields = [
        ("batch_id", String(36)),
        *fields_of(table, "estimated_output_tokens", "estimated_cost_usd"),
    ]
    rows = [(p.batch_id, e.output_tokens, e.cost_usd) for p, e in admitted]
    v = rowset(session.get_bind().dialect, fields, rows)
    session.execute(
        update(table)
        .where(table.c.id == v.c.batch_id, table.c.status == BatchStatus.PLANNED.value)
        .values(
            estimated_output_tokens=v.c.estimated_output_tokens,
            estimated_cost_usd=v.c.estimated_cost_usd,
            admitted_at=now,
        )
    )


def _record_holds(
    session: Any, admitted: set[str], refused: dict[str, tuple[str, float]], now: datetime
) -> None:
    """Drop holds of scopes that went on; (re)write the holds of scopes that must wait (one
    statement each, however many scopes)."""
    scopes = sorted((admitted | set(refused)) - {""})
    if scopes:
        v = rowset(
            session.get_bind().dialect,
            fields_of(BudgetHold.__table__, "scope"),
            [(s,) for s in scopes],
        )
        session.execute(delete(BudgetHold).where(BudgetHold.scope.in_(select(v.c.scope))))
    rows = [(scope, need, reason, now) for scope, (reason, need) in refused.items() if scope]
    insert_rows(session, BudgetHold.__table__, ("scope", "need", "reason", "held_at"), rows)


def admit(kernel: KernelAPI, plans: Sequence[BatchPlan]) -> list[tuple[BatchPlan, bool, str]]:
    """Decide every plan; admitted ones are stamped before this returns."""
    if not plans:
        return []
    prices = load_prices(kernel)
    history_days = float(kernel.settings.estimates.history_days)
    now = utcnow()
    decisions: dict[str, tuple[bool, str]] = {}
    with kernel.db.transaction() as session:
        exclusive(session, kernel.db, "admission")
        usage = batch_usage(session, now, history_days)
        ledger = Ledger(defaultdict(float, committed(usage)), defaultdict(int), defaultdict(int))
        for (cid, model, _), use in usage.items():
            ledger.tokens[model] += use.inflight_tokens
            ledger.inflight[cid] += use.inflight
        estimator = Estimator(kernel.settings, usage, prices)
        admission = Admission(kernel, ledger, now)
        order = serve_order(sorted({p.company_id for p in plans}), usage)
        admitted: list[tuple[BatchPlan, Estimate]] = []
        refused: dict[str, tuple[str, float]] = {}
        went: set[str] = set()
        for plan in fair_order(plans, order, weights(kernel.settings)):
            estimate = estimator.estimate(plan)
            refusal = admission.refusal(plan, estimate)
            if refusal is None:
                admission.take(plan, estimate)
                admitted.append((plan, estimate))
                went |= {f"company:{plan.company_id}", f"model:{plan.model}"}
                decisions[plan.batch_id] = (True, "")
            else:
                scope, reason, need = refusal
                if scope not in refused or need < refused[scope][1]:
                    refused[scope] = (reason, need)
                decisions[plan.batch_id] = (False, reason)
        if admitted:
            _stamp(session, admitted, now)
        if went or refused:
            _record_holds(session, went - set(refused), refused, now)
    for rule, used in ledger.crossed:
        kernel.log.warning(
            "%s is %.0f%% used ($%.4f committed)",
            rule.describe(),
            100 * used / rule.limit_usd,
            used,
        )
        kernel.metric(
            "batchkernel.budget.warning", 1, scope=rule.scope, period=rule.period, usd=used
        )
    return [(plan, *decisions[plan.batch_id]) for plan in plans]
