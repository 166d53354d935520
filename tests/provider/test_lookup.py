"""Unit tests of the submission-key lookup over paged ``batches.list`` answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from openai.types import Batch

from plugins.openai_provider.lookup import find_by_submission_key
from plugins.openai_provider.mapping import SUBMISSION_KEY


@dataclass
class Page:
    """A stand-in for ``SyncCursorPage``."""

    data: list[Batch]
    has_more: bool


@dataclass
class Pages:
    """Serves batches newest first in pages of ``size``, recording the cursors asked for."""

    batches: list[Batch]
    size: int = 2
    cursors: list[str | None] = field(default_factory=list)

    def __call__(self, after: str | None) -> Page:
        """One page after ``after``."""
        self.cursors.append(after)
        start = 0 if after is None else [b.id for b in self.batches].index(after) + 1
        chunk = self.batches[start : start + self.size]
        return Page(chunk, start + self.size < len(self.batches))


def _batch(number: int, key: str | None = None) -> Batch:
    """Batch ``number`` created at second ``number``, optionally stamped with ``key``."""
    return Batch.construct(
        id=f"batch_{number}",
        status="validating",
        created_at=number,
        metadata={SUBMISSION_KEY: key} if key else {},
    )


def test_finds_a_key_on_a_later_page() -> None:
    """Pages are followed by the last id until the key shows up."""
    pages = Pages([_batch(n, "wanted" if n == 2 else None) for n in range(6, 0, -1)])
    found = find_by_submission_key(pages, "wanted")
    assert found is not None and found.provider_batch_id == "batch_2"
    assert pages.cursors == [None, "batch_5", "batch_3"]


def test_returns_none_when_the_list_ends() -> None:
    """No more pages and no match: None."""
    pages = Pages([_batch(n) for n in range(3, 0, -1)])
    assert find_by_submission_key(pages, "absent") is None
    assert len(pages.cursors) == 2


def test_stops_at_batches_older_than_the_cutoff() -> None:
    """Once a page reaches batches created before ``not_before``, older pages are not read."""
    pages = Pages([_batch(n) for n in range(100, 90, -1)])
    assert find_by_submission_key(pages, "absent", not_before=98) is None
    assert pages.cursors == [None, "batch_99"]


def test_page_budget_bounds_the_search() -> None:
    """Without a cutoff the search reads at most ``max_pages`` pages."""
    pages = Pages([_batch(n) for n in range(50, 0, -1)])
    assert find_by_submission_key(pages, "absent", max_pages=3) is None
    assert len(pages.cursors) == 3
