"""What executing one request line gives: its HTTP status, JSON body and token usage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import error_body


@dataclass(frozen=True)
class EndpointResult:
    """Status code and JSON body of one executed request, plus its token usage."""

    status: int
    body: dict[str, Any]
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0


def invalid(message: str, param: str | None, code: str | None = None) -> EndpointResult:
    """A 400 line result."""
    return EndpointResult(400, error_body(message, "invalid_request_error", param, code))
