"""The OpenAI error envelope and the exception that carries it through the request handlers."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error answered with the OpenAI `{"error": {...}}` body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body, every key present as the spec requires."""
        return error_body(self.message, self.type, self.param, self.code)


def error_body(
    message: str, type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """Build `{"error": {message, type, param, code}}`."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def not_found(kind: str, object_id: str, param: str) -> ApiError:
    """404 for an unknown file or batch id."""
    return ApiError(404, f"No such {kind} object: {object_id}", param=param)
