"""The emulated OpenAI routes: request checks, auth, fault injection, then the store.

Azure OpenAI's data-plane paths are served too: ``/openai/files...`` and ``/openai/batches...``
with a required ``api-version`` query parameter and the key in an ``api-key`` header (as the
``openai`` SDK's ``AzureOpenAI`` client sends them, ``openai/lib/azure.py``); Azure batches take
the ``/chat/completions`` endpoint, expiries of 14 to 30 days, optionally a list of known
Global-Batch deployments, and always publish an error file (empty when nothing failed), as the
Azure OpenAI batch documentation describes.
"""

from __future__ import annotations

import dataclasses
import hmac
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from .config import HIDDEN, ConfigBase, EmulatorConfig
from .errors import ApiError, not_found
from .faults import FaultInjector
from .files import UPLOAD_PURPOSES
from .store import Store
from .upload import parse_form

BATCH_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)
AZURE_BATCH_ENDPOINTS = ("/chat/completions",)
"""Azure OpenAI batches answer chat completions only (no embeddings)."""
AZURE_PREFIX = "/openai/"
"""Azure OpenAI's data-plane paths: ``/openai/files...`` and ``/openai/batches...``."""
AZURE_MIN_EXPIRY_SECONDS = 1_209_600
"""Azure accepts file and output expiries of 14 to 30 days only."""
QUOTA_OPERATIONS = frozenset({"files.create", "batches.create"})
"""The calls that spend money or storage: refused while the quota is exhausted."""
MAX_JSON_BODY = 1024 * 1024
MIN_EXPIRY_SECONDS = 3_600
MAX_EXPIRY_SECONDS = 2_592_000


class Body(Protocol):
    """The request body as the HTTP layer exposes it."""

    def chunks(self) -> Iterator[bytes]:
        """Yield the body in pieces."""
        ...

    def read_all(self, limit: int) -> bytes:
        """Read the whole body, refusing more than `limit` bytes."""
        ...


@dataclass
class Request:
    """One HTTP request, already split into path and query."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str] | Message[str, str]
    body: Body
    request_id: str
    azure: bool = False
    """Arrived on an Azure OpenAI path (``/openai/...``), rewritten to the ``/v1`` route."""

    def param(self, name: str) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    """What to answer: JSON, a streamed file, or nothing at all (dropped connection)."""

    status: int = 200
    json: Any = None
    stream: IO[bytes] | None = None
    length: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay: float = 0.0


Handler = Callable[..., Response]


class Ledgered(Protocol):
    """A store that can list everything it ever held (the admin ledger)."""

    def ledger(self) -> dict[str, Any]:
        """Every file and batch ever created, plus the faults injected so far."""
        ...


class ServedApp(Protocol):
    """What the HTTP layer and :class:`EmulatorServer` need of an emulator app (any provider's)."""

    @property
    def config(self) -> ConfigBase:
        """The settings in force."""
        ...

    @property
    def store(self) -> Ledgered:
        """The app's state."""
        ...

    def configure(self, **changes: Any) -> ConfigBase:
        """Change settings at runtime."""
        ...

    def handle(self, request: Request) -> Response:
        """Answer one request."""
        ...


class EmulatorApp:
    """Routes requests to operations; owns the config, the fault injector and the store."""

    def __init__(self, config: EmulatorConfig, directory: Path) -> None:
        self._config_lock = threading.Lock()
        self.faults = FaultInjector(config)
        self.store = Store(directory, config, self.faults)
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = [
            ("POST", re.compile(r"/v1/files/?"), "files.create", self.files_create),
            ("GET", re.compile(r"/v1/files/?"), "files.list", self.files_list),
            ("GET", re.compile(r"/v1/files/([^/]+)"), "files.retrieve", self.files_retrieve),
            ("DELETE", re.compile(r"/v1/files/([^/]+)"), "files.delete", self.files_delete),
            ("GET", re.compile(r"/v1/files/([^/]+)/content"), "files.content", self.files_content),
            ("POST", re.compile(r"/v1/batches/?"), "batches.create", self.batches_create),
            ("GET", re.compile(r"/v1/batches/?"), "batches.list", self.batches_list),
            ("GET", re.compile(r"/v1/batches/([^/]+)"), "batches.retrieve", self.batches_retrieve),
            (
                "POST",
                re.compile(r"/v1/batches/([^/]+)/cancel"),
                "batches.cancel",
                self.batches_cancel,
            ),
        ]

    @property
    def config(self) -> EmulatorConfig:
        """The settings in force."""
        return self.store.config

    def configure(self, **changes: Any) -> EmulatorConfig:
        """Change settings at runtime; unknown keys or bad values raise ValueError."""
        with self._config_lock:
            new = self.config.replace(**changes)
            self.store.set_config(new)
            self.faults.reconfigure(new)
            return new

    def handle(self, request: Request) -> Response:
        """Answer one request (ApiError escapes to the HTTP layer)."""
        if request.path.startswith("/_emulator/"):
            return self._admin(request)
        if request.path.startswith(AZURE_PREFIX):
            request = self._azure(request)
        else:
            self._authenticate(request)
        for method, pattern, operation, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                return self._call(operation, handler, request, match.groups())
        raise ApiError(404, f"Invalid URL ({request.method} {request.path})")

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
        if fault == "429":
            wait = cfg.retry_after_seconds
            raise ApiError(
                429,
                "Rate limit reached for requests. Please try again later.",
                type="requests",
                code="rate_limit_exceeded",
                headers={
                    "retry-after": str(math.ceil(wait)),
                    "retry-after-ms": str(int(wait * 1000)),
                },
            )
        if cfg.insufficient_quota and operation in QUOTA_OPERATIONS:
            raise ApiError(
                429,
                "You exceeded your current quota, please check your plan and billing details. "
                "For more information on this error, read the docs: "
                "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                type="insufficient_quota",
                code="insufficient_quota",
            )
        if fault == "500":
            raise ApiError(
                500,
                "The server had an error while processing your request. Sorry about that!",
                type="server_error",
            )
        if fault == "404" and operation == "batches.create":
            raise ApiError(
                404,
                "Cannot find the input file, or the project does not have access to it.",
                param="input_file_id",
            )
        if fault == "404":
            kind = "File" if operation.startswith("files.") else "Batch"
            raise not_found(kind, args[0] if args else "", f"{kind.lower()}_id")
        response = handler(request, *args)
        if fault == "slow":
            response.delay = cfg.slow_seconds
        return response

    def _authenticate(self, request: Request) -> None:
        """Require `Authorization: Bearer <key>`, and the configured key if there is one."""
        header = request.headers.get("Authorization") or ""
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code="invalid_api_key",
            )
        expected = self.config.api_key
        if expected is not None and not hmac.compare_digest(key.encode(), expected.encode()):
            shown = f"{key[:3]}***{key[-4:]}" if len(key) > 8 else "***"
            raise ApiError(
                401,
                f"Incorrect API key provided: {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )

    def _azure(self, request: Request) -> Request:
        """An Azure OpenAI call: require ``api-version`` and the ``api-key`` header (or an
        Entra ID bearer token), then serve it as the matching ``/v1`` route."""
        if not request.param("api-version"):
            raise ApiError(404, "Resource not found", code="404")
        key = (request.headers.get("api-key") or "").strip()
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if not key and scheme.lower() == "bearer":
            key = token.strip()
        expected = self.config.api_key
        if not key or (
            expected is not None and not hmac.compare_digest(key.encode(), expected.encode())
        ):
            raise ApiError(
                401,
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure "
                "to provide a valid key for an active subscription and use a correct regional "
                "API endpoint for your resource.",
                code="401",
            )
        path = "/v1/" + request.path[len(AZURE_PREFIX) :]
        return dataclasses.replace(request, path=path, azure=True)

    def _admin(self, request: Request) -> Response:
        """Test hooks: health and ledger (read-only, no secret in them) are open; config, which
        can change the API key or turn auth off, needs the API key and never echoes it."""
        path = request.path.rstrip("/")
        if path == "/_emulator/health" and request.method == "GET":
            return Response(json=self.store.health())
        if path == "/_emulator/ledger" and request.method == "GET":
            return Response(json=self.store.ledger())
        self._authenticate(request)
        if path == "/_emulator/config" and request.method == "GET":
            return Response(json=self.config.public())
        if path == "/_emulator/config" and request.method == "POST":
            changes = _json_object(request)
            if changes.get("api_key") == HIDDEN:
                del changes["api_key"]  # a GET answer posted back keeps the key as it is
            try:
                return Response(json=self.configure(**changes).public())
            except (ValueError, TypeError) as exc:
                raise ApiError(400, str(exc)) from exc
        raise ApiError(404, f"Invalid URL ({request.method} {request.path})")

    # Files

    def files_create(self, request: Request) -> Response:
        """POST /v1/files: stream the multipart upload to disk, then register it."""
        cfg = self.config
        destination = self.store.files.scratch_path("upload")
        try:
            upload = parse_form(
                request.body.chunks(),
                request.headers.get("Content-Type") or "",
                destination,
                cfg.max_file_bytes,
            )
            purpose = upload.fields.get("purpose")
            if not purpose:
                raise _missing("purpose")
            if purpose not in UPLOAD_PURPOSES:
                raise ApiError(
                    400,
                    f"Invalid value for 'purpose': '{purpose}'. "
                    f"Supported values are: {', '.join(UPLOAD_PURPOSES)}.",
                    param="purpose",
                    code="invalid_value",
                )
            if upload.path is None or upload.filename is None:
                raise _missing("file")
            if upload.too_large:
                raise ApiError(400, "File is too large.", param="file")
            if purpose == "batch" and not upload.filename.lower().endswith(".jsonl"):
                raise ApiError(
                    400, "Invalid file format for Batch API. Must be .jsonl", param="file"
                )
            ttl = _form_expiry(upload.fields)
            if request.azure:
                _azure_expiry(ttl, "expires_after")
            return Response(json=self.store.add_file(upload.path, upload.filename, purpose, ttl))
        finally:
            destination.unlink(missing_ok=True)

    def files_list(self, request: Request) -> Response:
        """GET /v1/files."""
        order = request.param("order") or "desc"
        if order not in ("asc", "desc"):
            raise ApiError(400, f"Invalid value for 'order': '{order}'.", param="order")
        limit = _limit(request.param("limit"), 10_000, 10_000)
        page = self.store.list_files(request.param("purpose"), limit, order, request.param("after"))
        return Response(json=page)

    def files_retrieve(self, request: Request, file_id: str) -> Response:
        """GET /v1/files/{id}."""
        return Response(json=self.store.get_file(file_id))

    def files_delete(self, request: Request, file_id: str) -> Response:
        """DELETE /v1/files/{id}."""
        return Response(json=self.store.delete_file(file_id))

    def files_content(self, request: Request, file_id: str) -> Response:
        """GET /v1/files/{id}/content, streamed from disk."""
        handle, size = self.store.open_file(file_id)
        return Response(
            stream=handle, length=size, headers={"Content-Type": "application/octet-stream"}
        )

    # Batches

    def batches_create(self, request: Request) -> Response:
        """POST /v1/batches: synchronous parameter checks, then a batch in `validating`."""
        body = _json_object(request)
        input_file_id = body.get("input_file_id")
        if not isinstance(input_file_id, str) or not input_file_id:
            raise _missing("input_file_id")
        endpoint = body.get("endpoint")
        if endpoint is None:
            raise _missing("endpoint")
        endpoints = AZURE_BATCH_ENDPOINTS if request.azure else BATCH_ENDPOINTS
        if endpoint not in endpoints:
            raise ApiError(
                400,
                f"Invalid value: '{endpoint}'. Supported values are: "
                + ", ".join(f"'{e}'" for e in endpoints)
                + ".",
                param="endpoint",
                code="invalid_value",
            )
        window = body.get("completion_window")
        if window is None:
            raise _missing("completion_window")
        if window != "24h":
            raise ApiError(
                400,
                f"Invalid value: '{window}'. Supported values are: '24h'.",
                param="completion_window",
                code="invalid_value",
            )
        metadata = _metadata(body.get("metadata")) if self.config.keep_batch_metadata else None
        ttl = _expiry(body.get("output_expires_after"), "output_expires_after")
        if request.azure:
            _azure_expiry(ttl, "output_expires_after")
        lost = self.faults.lose_create(request.request_id)
        batch = self.store.create_batch(
            input_file_id, endpoint, metadata, ttl, lost, azure=request.azure
        )
        return Response(drop=True) if lost else Response(json=batch)

    def batches_list(self, request: Request) -> Response:
        """GET /v1/batches, newest first."""
        limit = _limit(request.param("limit"), 20, 100)
        return Response(json=self.store.list_batches(request.param("after"), limit))

    def batches_retrieve(self, request: Request, batch_id: str) -> Response:
        """GET /v1/batches/{id}."""
        return Response(json=self.store.get_batch(batch_id))

    def batches_cancel(self, request: Request, batch_id: str) -> Response:
        """POST /v1/batches/{id}/cancel (the SDK sends an empty body)."""
        request.body.read_all(MAX_JSON_BODY)
        return Response(json=self.store.cancel_batch(batch_id))


def _missing(param: str) -> ApiError:
    """400 for an absent required parameter."""
    return ApiError(
        400,
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


def _json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; an empty body counts as {}."""
    raw = request.body.read_all(MAX_JSON_BODY)
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
        ) from exc
    if not isinstance(value, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return value


def _limit(raw: str | None, default: int, maximum: int) -> int:
    """Parse a list `limit` within 1..maximum."""
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, f"Invalid 'limit': '{raw}' is not an integer.", param="limit") from exc
    if not 1 <= value <= maximum:
        raise ApiError(
            400,
            f"Invalid 'limit': expected an integer between 1 and {maximum}, got {value}.",
            param="limit",
            code="integer_out_of_range",
        )
    return value


def _metadata(value: Any) -> dict[str, str] | None:
    """Check metadata: at most 16 string pairs, keys <= 64 and values <= 512 characters."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(400, "Invalid 'metadata': expected an object.", param="metadata")
    if len(value) > 16:
        raise ApiError(
            400,
            "Invalid 'metadata': too many properties. Expected an object with at most 16 "
            f"properties, but got an object with {len(value)} properties instead.",
            param="metadata",
            code="object_above_max_properties",
        )
    for key, item in value.items():
        if len(key) > 64:
            raise ApiError(
                400,
                f"Invalid 'metadata': key '{key[:20]}...' is longer than 64 characters.",
                param="metadata",
                code="string_above_max_length",
            )
        if not isinstance(item, str):
            raise ApiError(400, f"Invalid 'metadata.{key}': expected a string.", param="metadata")
        if len(item) > 512:
            raise ApiError(
                400,
                f"Invalid 'metadata.{key}': string too long. Expected a string with maximum "
                f"length 512, but got a string with length {len(item)} instead.",
                param="metadata",
                code="string_above_max_length",
            )
    return dict(value)


def _expiry(value: Any, param: str) -> int | None:
    """Check an expiration policy {anchor: created_at, seconds: 3600..2592000}."""
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("anchor") != "created_at":
        raise ApiError(400, f"Invalid '{param}.anchor': expected 'created_at'.", param=param)
    seconds = value.get("seconds")
    if isinstance(seconds, str) and seconds.isdigit():
        seconds = int(seconds)
    if (
        not isinstance(seconds, int)
        or isinstance(seconds, bool)
        or not MIN_EXPIRY_SECONDS <= seconds <= MAX_EXPIRY_SECONDS
    ):
        raise ApiError(
            400,
            f"Invalid '{param}.seconds': expected an integer between {MIN_EXPIRY_SECONDS} and "
            f"{MAX_EXPIRY_SECONDS}.",
            param=param,
        )
    return seconds


def _azure_expiry(seconds: int | None, param: str) -> None:
    """Azure refuses expiries shorter than 14 days."""
    if seconds is not None and seconds < AZURE_MIN_EXPIRY_SECONDS:
        raise ApiError(
            400,
            f"Invalid '{param}.seconds': {seconds}. Expected a value between "
            f"{AZURE_MIN_EXPIRY_SECONDS} (14 days) and {MAX_EXPIRY_SECONDS} (30 days).",
            param=f"{param}.seconds",
            code="invalid_value",
        )


def _form_expiry(fields: dict[str, str]) -> int | None:
    """The `expires_after[anchor]` / `expires_after[seconds]` form fields, checked."""
    anchor = fields.get("expires_after[anchor]")
    seconds = fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    return _expiry({"anchor": anchor, "seconds": seconds}, "expires_after")
