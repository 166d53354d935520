"""Whose ended batches are at Anthropic: the local batches that recorded them, else the tag.

A batch this deployment created is recorded under its provider id; a batch made by a create
whose answer was lost may be recorded nowhere, so (as adoption does) its first result line's tag
is compared with the tags of our local batches that never got a provider id. Only batches of
the last :data:`RESULTS_DAYS` days can still show their results, so only those are compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select

from kernel.api import KernelAPI
from plugins.anthropic_provider.customids import tag_of
from plugins.common.schema.models import AIBatchRequest
from plugins.common.timeutil import utcnow

NAME = "anthropic"
CHUNK = 500
RESULTS_DAYS = 30
"""Anthropic serves a batch's results for 29 days after its creation."""


def recorded_keys(kernel: KernelAPI, batch_ids: Sequence[str]) -> dict[str, str]:
    """Submission key by provider batch id, for the ids a local batch of ours recorded."""
    found: dict[str, str] = {}
    ids = sorted(set(batch_ids))
    with kernel.db.transaction() as session:
        for start in range(0, len(ids), CHUNK):
            rows = session.execute(
                select(AIBatchRequest.provider_batch_id, AIBatchRequest.submission_key).where(
                    AIBatchRequest.provider == NAME,
                    AIBatchRequest.provider_batch_id.in_(ids[start : start + CHUNK]),
                )
            )
            found.update({str(batch_id): str(key) for batch_id, key in rows})
    return found


def unplaced_tags(kernel: KernelAPI) -> dict[str, str]:
    """Submission key by tag, of our recent local batches that recorded no provider id."""
    since = utcnow() - timedelta(days=RESULTS_DAYS)
    with kernel.db.transaction() as session:
        keys = session.scalars(
            select(AIBatchRequest.submission_key).where(
                AIBatchRequest.provider == NAME,
                AIBatchRequest.provider_batch_id.is_(None),
                AIBatchRequest.created_at >= since,
            )
        ).all()
    return {tag_of(str(key)): str(key) for key in keys}
