"""What processors, providers and tasks exchange, which the kernel never reads: tasks, the
provider-neutral requests and results, and what one batch may hold at a provider.

The kernel moves batches; what is asked of the model and what it answered stays between the
plugins, through the hooks of :mod:`plugins.common.hookspecs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One task: instructions, the JSON schema of the answer, its own model and parameters, and
    ``applies``: ``"session"`` (fields go onto the session's columns) or ``"json"`` (stored only)."""

    name: str
    instructions: str
    schema: Mapping[str, Any]
    model: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    applies: Literal["session", "json"] = "json"


@dataclass(frozen=True, slots=True)
class LLMRequest:
    """One request, provider-neutral: ``custom_id`` is the request id, ``messages`` are ``(role,
    content)`` pairs (user, assistant), ``instructions`` the system prompt, ``schema`` the answer's."""

    custom_id: str
    task: str
    model: str
    instructions: str
    messages: tuple[tuple[str, str], ...]
    schema: Mapping[str, Any] | None
    schema_name: str
    max_output_tokens: int
    temperature: float | None
    reasoning_effort: str | None = None


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Tokens one answer used: input (of which ``cached``) and output (of which ``reasoning``)."""

    input: int = 0
    output: int = 0
    cached: int = 0
    reasoning: int = 0


ResultKind = Literal["success", "retry", "requeue", "fail"]


@dataclass(frozen=True, slots=True)
class LLMResult:
    """One decoded answer: ``kind`` success (``text``, still validated), retry (spends an attempt),
    requeue (never ran) or fail (for good); an untied record has an empty ``custom_id``."""

    custom_id: str
    kind: ResultKind
    text: str | None = None
    finish_reason: str | None = None
    refusal: str | None = None
    error: str | None = None
    usage: TokenUsage = TokenUsage()
    provider_request_id: str | None = None
    raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class ProviderLimits:
    """What one batch may hold at a provider, and the custom ids it accepts."""

    max_requests: int
    max_bytes: int
    custom_id_max_length: int = 64
    custom_id_pattern: str = r"^[A-Za-z0-9_-]{1,64}$"


class RequestEncoder(Protocol):
    """A provider's encoder of neutral requests for one model (from the ``request_encoder`` hook).

    ``model`` is the model the provider runs them on: the one asked for, or the provider's own
    configured model when the one asked for belongs to another provider (a failover).
    """

    @property
    def model(self) -> str:
        """The model the provider runs these requests on (recorded on the batch)."""
        ...

    def encode(self, request: LLMRequest) -> bytes:
        """One record of the provider's batch input file, newline-terminated."""
        ...

    def count_tokens(self, request: LLMRequest) -> int:
        """The input tokens the provider will count for ``request`` (exact, or a close estimate)."""
        ...
