"""The emulated Message Batches routes: headers and auth, fault injection, then the store."""

from __future__ import annotations

import hmac
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from plugins.emulator.api import Request, Response
from plugins.emulator.config import HIDDEN
from plugins.emulator.errors import ApiError
from plugins.emulator.faults import FaultInjector

from . import ids
from .config import HTTP_FAULTS, OLDEST_VERSION, AnthropicEmulatorConfig
from .errors import AnthropicApiError, error_body, invalid
from .store import Store
from .validation import check_create

log = logging.getLogger(__name__)

MAX_JSON_BODY = 1024 * 1024
CREDIT_EXHAUSTED = (
    "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing "
    "to upgrade or purchase credits."
)
VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")
KNOWN_MODEL = re.compile(r"claude-(?:[a-z0-9.]+-)*[a-z0-9.]+")
"""Model ids the emulator knows: any ``claude-...`` name (``GET /v1/models/{id}``)."""
Handler = Callable[..., Response]


class AnthropicEmulatorApp:
    """Routes requests to operations; owns the config, the fault injector and the store."""

    def __init__(self, config: AnthropicEmulatorConfig, directory: Path) -> None:
        self._config_lock = threading.Lock()
        self.faults = FaultInjector(config, HTTP_FAULTS)  # type: ignore[arg-type]
        self.store = Store(directory, config, self.faults)
        batch = r"/v1/messages/batches/([^/]+)"
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = [
            ("POST", re.compile(r"/v1/messages/batches/?"), "batches.create", self.create),
            ("GET", re.compile(r"/v1/messages/batches/?"), "batches.list", self.list),
            ("GET", re.compile(batch), "batches.retrieve", self.retrieve),
            ("DELETE", re.compile(batch), "batches.delete", self.delete),
            ("POST", re.compile(batch + "/cancel"), "batches.cancel", self.cancel),
            ("GET", re.compile(batch + "/results"), "batches.results", self.results),
            ("GET", re.compile(r"/v1/models/([^/]+)"), "models.retrieve", self.model),
        ]

    @property
    def config(self) -> AnthropicEmulatorConfig:
        """The settings in force."""
        return self.store.config

    def configure(self, **changes: Any) -> AnthropicEmulatorConfig:
        """Change settings at runtime; unknown keys or bad values raise ValueError."""
        with self._config_lock:
            new = self.config.replace(**changes)
            self.store.set_config(new)
            self.faults.reconfigure(new)  # type: ignore[arg-type]
            return new

    def handle(self, request: Request) -> Response:
        """Answer one request; every answer carries a ``request-id`` header."""
        try:
            response = self._route(request)
        except AnthropicApiError as exc:
            response = Response(
                status=exc.status, json=exc.body(request.request_id), headers=exc.headers
            )
        except ApiError as exc:  # the shared HTTP layer's body limits
            kind = "request_too_large" if exc.status == 413 else "invalid_request_error"
            response = Response(
                status=exc.status, json=error_body(kind, exc.message, request.request_id)
            )
        response.headers.setdefault("request-id", request.request_id)
        return response

    def _route(self, request: Request) -> Response:
        """Admin hooks, then headers, then the operation the path names."""
        if request.path.startswith("/_emulator/"):
            return self._admin(request)
        self._authenticate(request)
        version = request.headers.get("anthropic-version")
        if not version:
            raise invalid("anthropic-version: header is required")
        if not VERSION.fullmatch(version) or version < OLDEST_VERSION:
            raise invalid(
                f"anthropic-version: '{version}' is not a valid version; "
                f"send a date such as {OLDEST_VERSION} or later"
            )
        for method, pattern, operation, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                return self._call(operation, handler, request, match.groups())
        raise AnthropicApiError(404, f"Not found: {request.method} {request.path}")

    def _call(
        self, operation: str, handler: Handler, request: Request, args: tuple[str, ...]
    ) -> Response:
        """Apply latency and transport faults around one operation."""
        cfg = self.config
        if cfg.latency_ms > 0:
            time.sleep(cfg.latency_ms / 1000)
        fault = self.faults.http_fault(operation, request.request_id)
        if fault == "drop":
            return Response(drop=True)
        # ``retry-after`` in whole seconds as the service sends it, and ``retry-after-ms`` (which
        # the SDK reads first) so a test can ask for sub-second waits.
        wait = cfg.retry_after_seconds
        headers = {"retry-after": str(math.ceil(wait)), "retry-after-ms": str(int(wait * 1000))}
        if fault == "429":
            raise AnthropicApiError(
                429,
                "Number of request tokens has exceeded your per-minute rate limit. "
                "Please try again later.",
                headers=headers,
            )
        if fault == "529":
            raise AnthropicApiError(529, "Overloaded", headers=headers)
        if fault == "500":
            raise AnthropicApiError(500, "Internal server error", headers=headers)
        response = handler(request, *args)
        if fault == "slow":
            response.delay = cfg.slow_seconds
        return response

    def _authenticate(self, request: Request) -> None:
        """Require ``x-api-key`` (older SDKs) or ``Authorization: Bearer`` (SDK 2.x), and the
        configured key if there is one."""
        key = (request.headers.get("x-api-key") or "").strip()
        if not key:
            scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else ""
        if not key:
            raise AnthropicApiError(401, "x-api-key header is required")
        expected = self.config.api_key
        if expected is not None and not hmac.compare_digest(key.encode(), expected.encode()):
            raise AnthropicApiError(401, "invalid x-api-key")

    def _admin(self, request: Request) -> Response:
        """Test hooks: health and ledger are open (no secret in them); config needs the key."""
        path = request.path.rstrip("/")
        if path == "/_emulator/health" and request.method == "GET":
            return Response(json=self.store.health())
        if path == "/_emulator/ledger" and request.method == "GET":
            return Response(json=self.store.ledger())
        self._authenticate(request)
        if path == "/_emulator/config" and request.method == "GET":
            return Response(json=self.config.public())
        if path == "/_emulator/config" and request.method == "POST":
            changes = _json_object(request, MAX_JSON_BODY)
            if changes.get("api_key") == HIDDEN:
                del changes["api_key"]
            try:
                return Response(json=self.configure(**changes).public())
            except (ValueError, TypeError) as exc:
                raise invalid(str(exc)) from exc
        raise AnthropicApiError(404, f"Not found: {request.method} {request.path}")

    # Operations

    def create(self, request: Request) -> Response:
        """POST /v1/messages/batches: check the request list, then a batch in ``in_progress``."""
        cfg = self.config
        body = _json_object(request, cfg.max_body_bytes)
        if cfg.credit_exhausted:
            raise invalid(CREDIT_EXHAUSTED)
        pairs = check_create(body, cfg.max_requests_per_batch)
        extra = sorted(set(body) - {"requests"})
        if extra:
            raise invalid(f"{extra[0]}: Extra inputs are not permitted")
        batch_id = ids.batch_id()
        faults = self.faults.batch_faults(batch_id)
        if faults.fail_validation:
            raise invalid(
                "requests.0.params: the request was rejected (the emulator's "
                "validation-failure fault); no batch was created."
            )
        lost = self.faults.lose_create(request.request_id)
        batch = self.store.create(pairs, faults, batch_id, lost)
        return Response(drop=True) if lost else Response(json=_absolute(batch, request))

    def list(self, request: Request) -> Response:
        """GET /v1/messages/batches, newest first, cursor pages."""
        before, after = request.param("before_id"), request.param("after_id")
        if before and after:
            raise invalid("before_id and after_id cannot both be given")
        limit = _limit(request.param("limit"))
        page = self.store.page(before or None, after or None, limit)
        page["data"] = [_absolute(b, request) for b in page["data"]]
        return Response(json=page)

    def retrieve(self, request: Request, batch_id: str) -> Response:
        """GET /v1/messages/batches/{id}."""
        return Response(json=_absolute(self.store.get(batch_id), request))

    def cancel(self, request: Request, batch_id: str) -> Response:
        """POST /v1/messages/batches/{id}/cancel."""
        request.body.read_all(MAX_JSON_BODY)
        return Response(json=_absolute(self.store.cancel(batch_id), request))

    def delete(self, request: Request, batch_id: str) -> Response:
        """DELETE /v1/messages/batches/{id}."""
        return Response(json=self.store.delete(batch_id))

    def results(self, request: Request, batch_id: str) -> Response:
        """GET the results JSONL (streamed from disk)."""
        handle, size = self.store.results(batch_id)
        return Response(stream=handle, length=size, headers={"Content-Type": "application/binary"})

    def model(self, request: Request, model_id: str) -> Response:
        """GET /v1/models/{id}: a ``claude-...`` id is known, anything else is 404."""
        if not KNOWN_MODEL.fullmatch(model_id):
            raise AnthropicApiError(404, f"model: {model_id}")
        return Response(
            json={
                "type": "model",
                "id": model_id,
                "display_name": model_id.replace("-", " ").title(),
                "created_at": "2025-10-01T00:00:00Z",
                "lifecycle": "active",
            }
        )


def _absolute(batch: dict[str, Any], request: Request) -> dict[str, Any]:
    """The batch with an absolute ``results_url`` on the host the client called."""
    url = batch.get("results_url")
    host = request.headers.get("Host")
    if url and host and url.startswith("/"):
        batch = {**batch, "results_url": f"http://{host}{url}"}
    return batch


def _json_object(request: Request, limit: int) -> dict[str, Any]:
    """The request body as a JSON object; an empty body counts as {}."""
    raw = request.body.read_all(limit)
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid("The request body is not valid JSON.") from exc
    if not isinstance(value, dict):
        raise invalid("The request body must be a JSON object.")
    return value


def _limit(raw: str | None) -> int:
    """``limit`` within 1..1000, default 20."""
    if raw is None:
        return 20
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid(f"limit: Input should be a valid integer, got '{raw}'") from exc
    if not 1 <= value <= 1000:
        raise invalid(f"limit: Input should be between 1 and 1000, got {value}")
    return value
