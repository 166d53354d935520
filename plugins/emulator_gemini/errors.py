"""Google API errors: the ``{"error": {code, message, status, details}}`` envelope of the Gemini API.

The HTTP layer of :mod:`plugins.emulator` answers any ``ApiError`` with ``exc.body()``, so this
subclass only changes the body's shape.
"""

from __future__ import annotations

from typing import Any

from plugins.emulator.errors import ApiError

# google.rpc.Code numbers and names, and the HTTP status each maps to.
RPC_CODES: dict[str, tuple[int, int]] = {
    "INVALID_ARGUMENT": (3, 400),
    "FAILED_PRECONDITION": (9, 400),
    "DEADLINE_EXCEEDED": (4, 504),
    "NOT_FOUND": (5, 404),
    "PERMISSION_DENIED": (7, 403),
    "RESOURCE_EXHAUSTED": (8, 429),
    "UNAUTHENTICATED": (16, 401),
    "INTERNAL": (13, 500),
    "UNAVAILABLE": (14, 503),
    "CANCELLED": (1, 499),
}
STATUS_BY_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class GoogleError(ApiError):
    """An HTTP error answered with a google.rpc.Status body."""

    def __init__(
        self,
        status: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(http_status or RPC_CODES[status][1], message, headers=headers)
        self.rpc_status = status
        self.details = details or []

    def body(self) -> dict[str, Any]:
        """``{"error": {"code": <http>, "message", "status", "details"}}`` as Google APIs answer."""
        error: dict[str, Any] = {
            "code": self.status,
            "message": self.message,
            "status": self.rpc_status,
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


def from_api_error(exc: ApiError) -> GoogleError:
    """Re-shape an error raised by the shared HTTP plumbing (413, bad lengths) as a Google one."""
    if isinstance(exc, GoogleError):
        return exc
    status = STATUS_BY_HTTP.get(exc.status, "INVALID_ARGUMENT")
    return GoogleError(status, exc.message, http_status=exc.status, headers=exc.headers)


def rpc_status(status: str, message: str) -> dict[str, Any]:
    """A google.rpc.Status object (per-request errors, failed operations): numeric code."""
    return {"code": RPC_CODES[status][0], "message": message}


def not_found(kind: str, name: str) -> GoogleError:
    """404 for an unknown batch or file."""
    return GoogleError("NOT_FOUND", f"{kind} {name} not found.")


def invalid(message: str) -> GoogleError:
    """400 INVALID_ARGUMENT."""
    return GoogleError("INVALID_ARGUMENT", message)
