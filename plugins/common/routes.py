"""Companies grouped by the provider their new batches go to, as the processors plan them."""

from __future__ import annotations

from collections.abc import Sequence

from kernel.api import KernelAPI
from kernel.types import Company
from plugins.common import calls


def by_route(kernel: KernelAPI, companies: Sequence[Company]) -> dict[str, list[Company]]:
    """The companies grouped by the provider their new batches go to (routing decides once for
    all of them); a company routed nowhere is left out: its requests wait."""
    routes = calls.route_companies(kernel, companies)
    grouped: dict[str, list[Company]] = {}
    for company in companies:
        provider = routes.get(company.id)
        if provider:
            grouped.setdefault(provider, []).append(company)
    return grouped
