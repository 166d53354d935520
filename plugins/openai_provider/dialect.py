"""The two OpenAI-shaped batch services this plugin speaks: OpenAI itself and Azure OpenAI.

They share the Files + Batches API and every call, retry, breaker, lookup and file rule; they
differ in the provider name, the settings section (which also picks the client and the batch
endpoint: see :class:`~plugins.openai_provider.config.ProviderConfig`) and the limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugins.common.exchange import ProviderLimits


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the OpenAI-shaped providers."""

    name: str
    """The provider name answered for (``plan.provider``, ``batch.provider``)."""
    section: str
    """The settings section (``[openai]``, ``[azure_openai]``)."""
    limits: ProviderLimits
    """Requests and bytes one batch may hold."""
    match_input_files: bool = False
    """A lost create is also recognised by its input file (our upload ``bk-<key>.jsonl``), not
    only by the submission key in the batch's metadata."""


OPENAI = Dialect(
    name="openai",
    section="openai",
    limits=ProviderLimits(max_requests=50_000, max_bytes=200_000_000),
)
"""OpenAI's Batch API: 50,000 requests and 200 MB an input file."""

AZURE_OPENAI = Dialect(
    name="azure-openai",
    section="azure_openai",
    limits=ProviderLimits(max_requests=100_000, max_bytes=200_000_000),
    match_input_files=True,
)
"""Azure OpenAI's batch API (a Global-Batch deployment): 100,000 requests and 200 MB a file."""
