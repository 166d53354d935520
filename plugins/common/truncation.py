"""Answers cut off at the output token limit: the next attempt asks for a larger limit, and a
request cut off again fails for good with that reason (so it never loops)."""

from __future__ import annotations

from typing import Any, Final

TRUNCATED: Final = "answer cut off at the output token limit"
"""How a provider's decoder starts the error of a result cut off at the limit
(``finish_reason`` "length", an incomplete response)."""


def truncated(error: str | None) -> bool:
    """Whether a request's last error says its answer was cut off at the output limit."""
    return bool(error) and str(error).startswith(TRUNCATED)


def output_limit(base: int, previous_error: str | None, settings: Any) -> int:
    """The output token limit of the next attempt: ``base``, or ``base`` times
    ``model.length_retry_factor`` after an answer cut off at the limit."""
    if not truncated(previous_error):
        return base
    return int(base * float(settings.model.length_retry_factor))


def final_kind(kind: str, error: str | None, previous_error: str | None) -> str:
    """A "retry" for an answer cut off again after the larger limit becomes "fail"."""
    if kind == "retry" and truncated(error) and truncated(previous_error):
        return "fail"
    return kind
