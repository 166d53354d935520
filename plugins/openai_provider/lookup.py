"""Paging through the provider's lists: the batch of a submission key (``batches.list`` newest
first), and every file (``files.list``, all pages, by the SDK's own pagination)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any

from kernel.types import ProviderBatch
from plugins.openai_provider.mapping import submission_key_of, to_provider_batch

PAGE_SIZE = 100
"""Batches per list page (the API's maximum)."""

MAX_PAGES = 10
"""Pages read at most per lookup: the newest 1,000 batches."""

FILE_PAGE_SIZE = 10_000
"""Files per list page (the API's maximum)."""

ListPage = Callable[[str | None], Any]
"""Fetches one page of batches (or files) after the given cursor (``None``: the first page)."""


def every_item(first: Callable[[], Any], following: Callable[[Any], Any]) -> Iterator[Any]:
    """Every item of a cursor-paged list, page after page while the SDK's page says there is
    another (``has_next_page``); ``following(page)`` fetches the next one (``get_next_page``),
    so the cursor rules are the SDK's own and each page is a call of its own."""
    page = first()
    while True:
        yield from list(getattr(page, "data", None) or [])
        if not page.has_next_page():
            return
        page = following(page)


def find_by_submission_key(
    list_page: ListPage,
    submission_key: str,
    *,
    not_before: int | None = None,
    max_pages: int = MAX_PAGES,
    input_file_ids: Collection[str] = (),
) -> ProviderBatch | None:
    """The newest batch whose metadata carries ``submission_key`` (or, for a service that does
    not keep metadata, whose input file is one of ``input_file_ids``), or ``None``.

    The API has no metadata filter, so this pages through batches newest first and matches on the
    client. It stops at the first page holding a batch created before ``not_before`` (unix
    seconds; nothing older can be ours), when there are no more pages, or after ``max_pages``.
    """
    after: str | None = None
    for _ in range(max(1, max_pages)):
        page = list_page(after)
        batches = list(getattr(page, "data", None) or [])
        for batch in batches:
            if submission_key_of(batch) == submission_key or (
                getattr(batch, "input_file_id", None) in input_file_ids
            ):
                return to_provider_batch(batch)
        if not batches or not getattr(page, "has_more", False):
            return None
        if not_before is not None and any(_older(b, not_before) for b in batches):
            return None
        after = getattr(batches[-1], "id", None)
        if not after:
            return None
    return None


def _older(batch: Any, not_before: int) -> bool:
    """Whether ``batch`` was created before ``not_before`` (unknown creation time: no)."""
    created = getattr(batch, "created_at", None)
    return isinstance(created, int | float) and created < not_before
