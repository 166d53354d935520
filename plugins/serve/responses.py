"""What the app's routes answer with: :class:`Response`, JSON answers and :class:`RequestError`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson


@dataclass
class Response:
    """Status, headers and body of one answer; a header name may repeat (``WWW-Authenticate``)."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(status: int, data: Any) -> Response:
    """A JSON response."""
    return Response(status, orjson.dumps(data, option=orjson.OPT_INDENT_2))


class RequestError(Exception):
    """A request the app refuses, with its status and message (and ``Allow`` for a 405)."""

    def __init__(
        self, status: int, message: str, *, allow: str = "GET, HEAD", **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.allow = allow
        self.extra = extra


def query_params(path: str, query: str, valid: tuple[str, ...]) -> dict[str, str]:
    """Query parameters, each at most once and all known; else a 400 listing the valid ones."""
    parsed = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(parsed) - set(valid))
    if unknown:
        raise RequestError(
            400,
            f"unknown query parameter(s) for {path}: {', '.join(unknown)}",
            valid_parameters=list(valid),
        )
    repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
    if repeated:
        raise RequestError(400, f"parameter(s) given more than once: {', '.join(repeated)}")
    return {name: values[0] for name, values in parsed.items()}
