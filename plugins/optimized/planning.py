"""Pages of pending requests, fairly interleaved across companies, cut into batches by the limits.

Sizes come from the session's stored transcript size, so a page is planned without reading a
single message; sessions stored without sizes (written by something other than batchkernel
import) are measured in one extra query for the page.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from kernel.db.models import AIProcessingRequest, ChatSession, Company, Message
from kernel.types import RequestStatus
from plugins.common.lines import BatchLimits, build_line, estimate_tokens
from plugins.common.prompts import system_prompt
from plugins.common.text import transcript_size

PENDING = RequestStatus.PENDING_BATCHING.value


@dataclass(slots=True)
class Candidate:
    """One pending request with what planning needs: where it goes and how big its line is.

    Kept small on purpose (a page holds thousands): repeated strings are interned.
    """

    id: str
    company_id: str
    model: str
    processing_type: str
    message_count: int
    chars: int | None
    nbytes: int | None
    slot: int


@dataclass(slots=True)
class Draft:
    """A batch planned in memory, not yet claimed."""

    company_id: str
    model: str
    processing_type: str
    request_ids: list[str] = field(default_factory=list)
    nbytes: int = 0
    tokens: int = 0


@cache
def line_overhead(model: str, processing_type: str) -> tuple[int, int]:
    """(bytes, prompt characters) of a request line with an empty transcript."""
    line = build_line("0" * 36, model, processing_type, [], temperature=0.1, max_tokens=1000)
    return len(line.data), len(system_prompt(processing_type))


def eligible_companies(
    session: Session, company_ids: Sequence[str], now: datetime, settings: Any, flush: bool
) -> list[str]:
    """Companies whose pending work should go out now: enough of it, old enough, or flushing.
    A paused company is never eligible (its batches already out still finish)."""
    if not company_ids:
        return []
    request = AIProcessingRequest
    rows = session.execute(
        select(request.company_id, func.count(), func.min(request.requested_at))
        .join(Company, Company.id == request.company_id)
        .where(
            Company.paused_at.is_(None),
            request.company_id.in_(company_ids),
            request.status == PENDING,
            request.batch_id.is_(None),
            request.available_at <= now,
        )
        .group_by(request.company_id)
    ).all()
    minimum = int(settings.batch.min_batch_size)
    cutoff = now - timedelta(minutes=float(settings.batch.max_wait_minutes))
    keep = []
    for company_id, count, oldest in rows:
        oldest_utc = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
        if flush or count >= minimum or oldest_utc <= cutoff:
            keep.append(company_id)
    return keep


def page_query(
    company_ids: Sequence[str], now: datetime, slot_size: int, page_size: int, lock: bool
) -> Select[Any]:
    """Pending requests ranked per company, in batch-sized slots: every company's first batch
    comes before anyone's second, so one big tenant never holds back the others' first batch."""
    request = AIProcessingRequest
    ranked = (
        select(
            request.id,
            request.company_id,
            func.row_number()
            .over(partition_by=request.company_id, order_by=(request.requested_at, request.id))
            .label("rn"),
        )
        .where(
            request.company_id.in_(company_ids),
            request.status == PENDING,
            request.batch_id.is_(None),
            request.available_at <= now,
        )
        .cte("ranked")
    )
    slot = ((ranked.c.rn - 1) // slot_size).label("slot")
    page = (
        select(ranked.c.id, slot)
        .order_by(slot, ranked.c.company_id, ranked.c.rn)
        .limit(page_size)
        .cte("page")
    )
    r = aliased(AIProcessingRequest, name="r")
    s = aliased(ChatSession, name="s")
    query = (
        select(
            r.id,
            r.company_id,
            r.model,
            r.processing_type,
            s.message_count,
            s.transcript_chars,
            s.transcript_bytes,
            page.c.slot,
        )
        .join(page, page.c.id == r.id)
        .join(s, s.id == r.session_id)
        .where(r.status == PENDING, r.batch_id.is_(None))
        .order_by(page.c.slot, r.company_id, r.model, r.processing_type, r.requested_at, r.id)
    )
    if lock:
        query = query.with_for_update(skip_locked=True, of=r)
    return query


def measure_missing(session: Session, candidates: Sequence[Candidate]) -> None:
    """Fill in sizes for sessions stored without them, reading their messages in one query."""
    missing = {c.id: c for c in candidates if c.chars is None}
    if not missing:
        return
    messages: dict[str, list[tuple[str, str]]] = {rid: [] for rid in missing}
    request = AIProcessingRequest
    rows = session.execute(
        select(request.id, Message.role, Message.content)
        .join(Message, Message.session_id == request.session_id)
        .where(request.id.in_(list(missing)))
        .order_by(request.id, Message.position)
    )
    for request_id, role, content in rows:
        messages[request_id].append((role, content))
    for request_id, candidate in missing.items():
        found = messages[request_id]
        candidate.message_count = len(found)
        candidate.chars, candidate.nbytes = transcript_size(found)


def line_size(candidate: Candidate) -> tuple[int, int]:
    """(bytes, estimated tokens) of the candidate's request line."""
    overhead, prompt_chars = line_overhead(candidate.model, candidate.processing_type)
    return overhead + int(candidate.nbytes or 0), estimate_tokens(
        prompt_chars + int(candidate.chars or 0)
    )


def plan_page(
    candidates: Iterable[Candidate], limits: BatchLimits
) -> tuple[list[Draft], list[str], list[str]]:
    """Cut a page into batch drafts; also the ids with no messages and the ids too large."""
    drafts: list[Draft] = []
    empty: list[str] = []
    too_large: list[str] = []
    current: Draft | None = None
    current_key: tuple[Any, ...] | None = None
    for candidate in candidates:
        if candidate.message_count == 0:
            empty.append(candidate.id)
            continue
        nbytes, tokens = line_size(candidate)
        max_tokens = limits.tokens_for(candidate.model)
        if nbytes > limits.max_bytes or tokens > max_tokens:
            too_large.append(candidate.id)
            continue
        key = (candidate.slot, candidate.company_id, candidate.model, candidate.processing_type)
        if (
            current is None
            or key != current_key
            or len(current.request_ids) >= limits.max_requests
            or current.nbytes + nbytes > limits.max_bytes
            or current.tokens + tokens > max_tokens
        ):
            current = Draft(candidate.company_id, candidate.model, candidate.processing_type)
            current_key = key
            drafts.append(current)
        current.request_ids.append(candidate.id)
        current.nbytes += nbytes
        current.tokens += tokens
    return drafts, empty, too_large


def within_quota(drafts: list[Draft], remaining: dict[str, int]) -> list[Draft]:
    """The drafts each company still has room for (``remaining`` batches; absent: no cap)."""
    kept = []
    for draft in drafts:
        left = remaining.get(draft.company_id)
        if left is None:
            kept.append(draft)
        elif left > 0:
            remaining[draft.company_id] = left - 1
            kept.append(draft)
    return kept


def candidates_of(rows: Iterable[Any]) -> Iterator[Candidate]:
    """Rows of ``page_query`` as candidates, sharing one copy of each repeated string."""
    intern = sys.intern
    for rid, company, model, ptype, count, chars, nbytes, slot in rows:
        yield Candidate(
            rid, intern(company), intern(model), intern(ptype), count, chars, nbytes, slot
        )
