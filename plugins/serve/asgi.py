"""The monitoring app as an ASGI application (Starlette), with a concurrency limit.

Routing, auth and formats stay in :class:`plugins.serve.app.MonitoringApp`; this module adapts
it: ``/healthz`` is answered on the event loop (so it answers while database reads are busy),
everything else in Starlette's thread pool. More than ``max_concurrent`` requests at once get a
503 with ``Retry-After``; a request with a body gets a 413 without the body being read (no route
takes one: the console's POST actions carry their target in the path), so no request can hold
the server by trickling a body.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from plugins.serve.app import MonitoringApp, Response

HEALTH = "/healthz"
COMMON_HEADERS = (("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"))


def _to_starlette(response: Response, method: str) -> StarletteResponse:
    """The app's answer as a Starlette response; HEAD keeps the length but sends no body."""
    answer = StarletteResponse(
        content=b"" if method == "HEAD" else response.body,
        status_code=response.status,
        media_type=response.content_type,
    )
    if method == "HEAD":
        answer.headers["Content-Length"] = str(len(response.body))
    for name, value in (*COMMON_HEADERS, *response.headers):
        answer.headers.append(name, value)
    return answer


def _target(scope: Scope) -> str:
    """The request target as sent: raw path and query (decoded by the app's own parser)."""
    path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string", b"")
    return path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


class _Endpoint:
    """Every method and path goes to the app, which answers 404/405 itself (a plain ASGI
    endpoint: Starlette would limit a function endpoint to GET and answer other methods)."""

    def __init__(self, app: MonitoringApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request: ``/healthz`` on the event loop, the rest in the thread pool."""
        request = Request(scope, receive)
        method = request.method
        target = _target(scope)
        headers = {key.lower(): value for key, value in request.headers.items()}
        if request.url.path == HEALTH:
            response = self.app.handle(method, target, headers)
        else:
            response = await run_in_threadpool(self.app.handle, method, target, headers)
        await _to_starlette(response, method)(scope, receive, send)


def asgi_app(app: MonitoringApp, *, max_concurrent: int) -> ASGIApp:
    """The ASGI application serving ``app``, at most ``max_concurrent`` requests at once."""
    starlette = Starlette(routes=[Route("/{path:path}", _Endpoint(app))])
    return RequestLimits(starlette, max_concurrent=max_concurrent)


class RequestLimits:
    """ASGI middleware: refuse request bodies (413) and requests beyond the limit (503)."""

    def __init__(self, inner: ASGIApp, *, max_concurrent: int) -> None:
        self.inner = inner
        self.max_concurrent = max_concurrent
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass lifespan through; check and count HTTP requests."""
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length", b"0").strip()
        if b"transfer-encoding" in headers or length not in (b"", b"0"):
            await _refuse(send, 413, "requests to this server carry no body", close=True)
            return
        if self.active >= self.max_concurrent and scope["path"] != HEALTH:
            await _refuse(send, 503, "too many requests at once; retry shortly", retry=True)
            return
        self.active += 1
        try:
            await self.inner(scope, receive, send)
        finally:
            self.active -= 1


async def _refuse(
    send: Send, status: int, message: str, *, close: bool = False, retry: bool = False
) -> None:
    """A short JSON error answered by the middleware itself."""
    body = orjson.dumps({"error": message})
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in COMMON_HEADERS),
    ]
    if close:
        headers.append((b"connection", b"close"))
    if retry:
        headers.append((b"retry-after", b"1"))
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
