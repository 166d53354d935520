"""SDK exceptions as the kernel's ProviderError: retryable or not, and the condition routing
and the scheduler act on (``rate_limit``, ``quota``, ``config``)."""

from __future__ import annotations

from typing import Any

from kernel.types import ProviderError

RETRYABLE_TYPES = frozenset({"rate_limit_error", "overloaded_error", "api_error", "timeout_error"})
"""Error types worth another attempt (in a result line or an HTTP answer)."""
QUOTA_HINTS = ("credit balance", "spend limit", "billing")


def error_type(exc: Any) -> tuple[int | None, str, str]:
    """(HTTP status, Anthropic error type, message) of an SDK exception."""
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    detail = body.get("error") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        return status, str(detail.get("type") or ""), str(detail.get("message") or "")
    return status, "", str(getattr(exc, "message", "") or exc)


def is_quota(status: int | None, kind: str, message: str) -> bool:
    """A billing refusal: retrying does not help until the account is topped up."""
    lowered = message.lower()
    return status == 402 or kind == "billing_error" or any(h in lowered for h in QUOTA_HINTS)


def to_provider_error(exc: Exception, operation: str) -> ProviderError:
    """The ProviderError for a failed SDK call (never shows the key: the SDK never puts it in)."""
    import anthropic

    if isinstance(exc, anthropic.APIConnectionError):
        return ProviderError(
            f"anthropic {operation}: no answer ({type(exc).__name__}: {exc})",
            retryable=True,
            operation=operation,
        )
    status, kind, message = error_type(exc)
    text = f"anthropic {operation}: HTTP {status} {kind or 'error'}: {message}"
    if status in (429,) or kind == "rate_limit_error":
        return ProviderError(text, retryable=True, operation=operation, condition="rate_limit")
    if is_quota(status, kind, message):
        return ProviderError(text, retryable=False, operation=operation, condition="quota")
    if status in (401, 403):
        return ProviderError(
            text + " (check [anthropic] api_key / ANTHROPIC_API_KEY and base_url)",
            retryable=False,
            operation=operation,
            condition="config",
        )
    retryable = status is None or status >= 500 or status in (408, 409) or kind in RETRYABLE_TYPES
    return ProviderError(text, retryable=retryable, operation=operation)


def retry_after(exc: Any) -> float | None:
    """The seconds a 429/529 answer asks to wait, if it says."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) * scale)
        except ValueError:
            continue
    return None
