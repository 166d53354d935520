"""Anthropic's error envelope and the exception that carries it through the request handlers."""

from __future__ import annotations

from typing import Any

ERROR_TYPE_OF_STATUS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


class AnthropicApiError(Exception):
    """An HTTP error answered with ``{"type": "error", "error": {type, message}, "request_id"}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or ERROR_TYPE_OF_STATUS.get(status, "api_error")
        self.headers = headers or {}

    def body(self, request_id: str | None) -> dict[str, Any]:
        """The JSON body of the answer."""
        return error_body(self.type, self.message, request_id)


def error_body(type: str, message: str, request_id: str | None = None) -> dict[str, Any]:
    """``{"type": "error", "error": {"type", "message"}, "request_id"}``."""
    return {"type": "error", "error": {"type": type, "message": message}, "request_id": request_id}


def invalid(message: str) -> AnthropicApiError:
    """400 invalid_request_error."""
    return AnthropicApiError(400, message)


def not_found(batch_id: str) -> AnthropicApiError:
    """404 for an unknown (or deleted) batch id."""
    return AnthropicApiError(404, f"No message batch found with id '{batch_id}'.")
