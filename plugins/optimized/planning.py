"""Pages of pending requests, fairly interleaved across companies, cut into batches by the limits.

Sizes come from the session's stored transcript size, so a page is planned without reading a
single message; sessions stored without sizes (written by something other than batchkernel
import) are measured in one extra query for the page.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, aliased

from kernel.api import KernelAPI
from plugins.common import calls
from plugins.common.lines import BatchLimits, neutral_request
from plugins.common.schema.models import AIProcessingRequest, ChatSession, Company, Message
from plugins.common.schema.statuses import RequestStatus
from plugins.common.text import transcript_size
from plugins.common.tokens import approximate_tokens


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


TRANSCRIPT_RATIOS: dict[str, float] = {}
"""Per model, how many more tokens than characters / 4 written transcripts had (at least 1):
learnt from every batch written, so a batch the estimate under-counted is planned smaller
the next time instead of being over its token limit again."""


def learn_ratio(model: str, planned: int, exact: int) -> None:
    """Remember that a batch planned at ``planned`` tokens (already scaled by the model's ratio)
    had ``exact`` once written: the ratio grows by what was still missing."""
    if planned > 0 and exact > planned:
        TRANSCRIPT_RATIOS[model] = TRANSCRIPT_RATIOS.get(model, 1.0) * exact / planned


class LineSizer:
    """Sizes of request records from the sessions' stored transcript sizes, without reading a
    message: the encoded size and exact tokens of a record with an empty transcript (once per
    model and task), plus the transcript's bytes and its characters / 4 (scaled up by what
    earlier batches of the model showed, see :data:`TRANSCRIPT_RATIOS`)."""

    def __init__(self, kernel: KernelAPI, provider: str) -> None:
        self.kernel = kernel
        self.provider = provider
        self.tasks = calls.tasks(kernel)
        self._overheads: dict[tuple[str, str], tuple[int, int]] = {}
        self._models: dict[str, str] = {}

    def model_at(self, model: str) -> str:
        """The model this provider runs a request queued for ``model`` on (its own configured
        model when ``model`` is another provider's), one shared string per model."""
        found = self._models.get(model)
        if found is None:
            found = self._models[model] = sys.intern(
                calls.request_encoder(self.kernel, self.provider, model).model
            )
        return found

    def defines(self, task: str) -> bool:
        """Whether ``task`` is a defined task."""
        return task in self.tasks

    def undefined_reason(self) -> str:
        """Why a request of an undefined task fails."""
        return (
            f"its task is not defined (defined: {', '.join(sorted(self.tasks))}); define it in "
            "[default.tasks.NAME] of settings.toml"
        )

    def overhead(self, model: str, task: str) -> tuple[int, int]:
        """(bytes, input tokens) of a record of ``task`` for ``model`` with an empty transcript."""
        key = (model, task)
        found = self._overheads.get(key)
        if found is None:
            encoder = calls.request_encoder(self.kernel, self.provider, model)
            empty = neutral_request("0" * 36, self.tasks[task], model, [], self.kernel.settings)
            found = self._overheads[key] = (
                len(encoder.encode(empty)),
                encoder.count_tokens(empty),
            )
        return found

    def size(self, candidate: Candidate) -> tuple[int, int]:
        """(bytes, input tokens) of the candidate's record."""
        nbytes, tokens = self.overhead(candidate.model, candidate.processing_type)
        chars = int(candidate.chars or 0)
        ratio = TRANSCRIPT_RATIOS.get(candidate.model, 1.0)
        transcript = math.ceil(approximate_tokens(chars, 0) * ratio)
        return nbytes + int(candidate.nbytes or 0), tokens + transcript


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
            request.status == RequestStatus.PENDING_BATCHING,
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
    comes before anyone's second, so one big tenant never holds back the others' first batch.

    The last column, ``claimable``, says whether the row is still pending as locked (a claim
    that committed since the page was ranked changed it). It is a column, not a condition: a
    condition on the status lets PostgreSQL, whose statistics lag behind a burst of new
    pending rows, join the page through the status index and compare every page row with
    every pending row (12 s for a page of 10,000); joined by primary key only, it stays linear."""
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
            request.status == RequestStatus.PENDING_BATCHING,
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
            and_(r.status == RequestStatus.PENDING_BATCHING, r.batch_id.is_(None)).label(
                "claimable"
            ),
        )
        .join(page, page.c.id == r.id)
        .join(s, s.id == r.session_id)
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


def plan_page(
    candidates: Iterable[Candidate], limits: BatchLimits, sizer: LineSizer
) -> tuple[list[Draft], list[str], list[str], list[str]]:
    """Cut a page into batch drafts; also the ids with no messages, the ids too large and the
    ids whose task is not defined."""
    drafts: list[Draft] = []
    empty: list[str] = []
    too_large: list[str] = []
    undefined: list[str] = []
    current: Draft | None = None
    current_key: tuple[Any, ...] | None = None
    for candidate in candidates:
        if not sizer.defines(candidate.processing_type):
            undefined.append(candidate.id)
            continue
        if candidate.message_count == 0:
            empty.append(candidate.id)
            continue
        nbytes, tokens = sizer.size(candidate)
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
    return drafts, empty, too_large, undefined


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


def candidates_of(
    rows: Iterable[Any], model_at: Callable[[str], str] = sys.intern
) -> tuple[list[Candidate], int]:
    """The claimable rows of ``page_query`` as candidates, sharing one copy of each repeated
    string, each request's model as ``model_at`` gives it (the model the batch's provider runs
    it on); and how many rows were read, claimable or not (whether the page was full)."""
    intern = sys.intern
    candidates: list[Candidate] = []
    read = 0
    for rid, company, model, ptype, count, chars, nbytes, slot, claimable in rows:
        read += 1
        if claimable:
            candidates.append(
                Candidate(
                    rid, intern(company), model_at(model), intern(ptype), count, chars, nbytes, slot
                )
            )
    return candidates, read
