"""Finding the batch of a create whose answer was lost (Anthropic batches carry no metadata).

A candidate is a batch created no earlier than the plan (less a margin) with exactly the plan's
number of requests. Its custom ids show only in its results, once it has ended: an ended
candidate is ours when its first readable result line carries the plan's tag (see
:mod:`plugins.anthropic_provider.customids`). While a candidate is still running nothing tells
whose it is, so the answer is "undecided" and the caller asks again later; a plan with no
candidate at all was never created.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from plugins.anthropic_provider.customids import split


@dataclass(frozen=True, slots=True)
class Lookup:
    """The batch found (``batch``), or how many candidates could not be judged yet."""

    batch: Any = None
    undecided: int = 0


def request_total(batch: Any) -> int:
    """How many requests a batch holds (the sum of its request counts)."""
    c = batch.request_counts
    return c.processing + c.succeeded + c.errored + c.canceled + c.expired


def find_tagged(
    batches: Iterable[Any],
    tag: str,
    count: int,
    not_before: float | None,
    first_tag: Callable[[str], str | None],
    exclude: Container[str] = (),
) -> Lookup:
    """Walk ``batches`` (newest first) until one older than ``not_before``; see the module."""
    undecided = 0
    for batch in batches:
        created = batch.created_at.timestamp() if batch.created_at is not None else None
        if not_before is not None and created is not None and created < not_before:
            break
        if batch.id in exclude or request_total(batch) != count:
            continue
        if batch.processing_status != "ended":
            undecided += 1
            continue
        if first_tag(batch.id) == tag:
            return Lookup(batch=batch)
    return Lookup(undecided=undecided)


def first_tag_of_lines(lines: Iterable[str | bytes]) -> str | None:
    """The tag of the first parseable result line that carries one of our custom ids."""
    for raw in lines:
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        custom_id = record.get("custom_id") if isinstance(record, dict) else None
        parts = split(custom_id) if isinstance(custom_id, str) else None
        if parts is not None:
            return parts[0]
    return None
