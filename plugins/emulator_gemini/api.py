"""The emulated Gemini API routes: auth, fault injection, then the store.

Routes (``{v}`` is v1, v1beta or v1alpha): ``GET /{v}/models/{model}``,
``POST /{v}/models/{model}:batchGenerateContent``,
``GET /{v}/batches``, ``GET|DELETE /{v}/batches/{id}``, ``POST /{v}/batches/{id}:cancel``,
``POST /upload/{v}/files`` (resumable upload: start, then chunks on the session URL),
``GET /{v}/files``, ``GET|DELETE /{v}/files/{id}``, ``GET /{v}/files/{id}:download?alt=media``;
and the test hooks under ``/_emulator/`` (health, ledger, config) as in the OpenAI emulator.
"""

from __future__ import annotations

import hmac
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

from .config import GeminiEmulatorConfig
from .errors import GoogleError, from_api_error, invalid
from .execution import Item
from .generate import RequestError, check_schemas
from .store import Store

MAX_JSON_BODY = 1024 * 1024
MAX_CHUNK = 64 * 1024 * 1024
VERSION = r"(?:v1|v1beta|v1alpha)"
KNOWN_MODEL = re.compile(r"(?:gemini|gemma)-[a-z0-9.-]+")
"""Model names the emulator knows: any ``gemini-...`` or ``gemma-...`` (``GET /{v}/models/{m}``)."""
Handler = Callable[..., Response]


class GeminiApp:
    """Routes requests to operations; owns the config, the fault injector and the store."""

    def __init__(self, config: GeminiEmulatorConfig, directory: Path) -> None:
        self._config_lock = threading.Lock()
        self.faults = FaultInjector(config)
        self.store = Store(directory, config, self.faults)
        routes: list[tuple[str, str, str, Handler]] = [
            (
                "POST",
                rf"/{VERSION}/models/([^/:]+):batchGenerateContent",
                "batches.create",
                self.batches_create,
            ),
            ("GET", rf"/{VERSION}/models/([^/:]+)", "models.get", self.models_get),
            ("GET", rf"/{VERSION}/batches/?", "batches.list", self.batches_list),
            ("GET", rf"/{VERSION}/batches/([^/:]+)", "batches.get", self.batches_get),
            ("POST", rf"/{VERSION}/batches/([^/:]+):cancel", "batches.cancel", self.batches_cancel),
            ("DELETE", rf"/{VERSION}/batches/([^/:]+)", "batches.delete", self.batches_delete),
            ("POST", rf"/upload/{VERSION}/files/?", "files.upload", self.files_upload),
            ("GET", rf"/{VERSION}/files/?", "files.list", self.files_list),
            ("GET", rf"/{VERSION}/files/([^/:]+)", "files.get", self.files_get),
            ("DELETE", rf"/{VERSION}/files/([^/:]+)", "files.delete", self.files_delete),
            ("GET", rf"/{VERSION}/files/([^/:]+):download", "files.download", self.files_download),
        ]
        self._routes = [(m, re.compile(p), op, h) for m, p, op, h in routes]

    @property
    def config(self) -> GeminiEmulatorConfig:
        """The settings in force."""
        return self.store.config

    def configure(self, **changes: Any) -> GeminiEmulatorConfig:
        """Change settings at runtime; unknown keys or bad values raise ValueError."""
        with self._config_lock:
            new = self.config.replace(**changes)
            self.store.set_config(new)
            self.faults.reconfigure(new)
            return new

    def handle(self, request: Request) -> Response:
        """Answer one request; errors leave as GoogleError for the HTTP layer."""
        try:
            if request.path.startswith("/_emulator/"):
                return self._admin(request)
            if not _upload_session(request):
                self._authenticate(request)
            for method, pattern, operation, handler in self._routes:
                match = pattern.fullmatch(request.path)
                if match and method == request.method:
                    return self._call(operation, handler, request, match.groups())
            raise GoogleError("NOT_FOUND", f"Invalid URL ({request.method} {request.path}).")
        except ApiError as exc:
            raise from_api_error(exc) from None

    def _call(
        self, operation: str, handler: Handler, request: Request, args: tuple[str, ...]
    ) -> Response:
        """Apply latency and transport faults around one operation (upload chunks excepted)."""
        cfg = self.config
        if cfg.latency_ms > 0:
            time.sleep(cfg.latency_ms / 1000)
        fault = (
            None
            if _upload_session(request)
            else self.faults.http_fault(operation, request.request_id)
        )
        if fault == "drop":
            return Response(drop=True)
        if fault == "429":
            raise GoogleError(
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": f"{cfg.retry_after_seconds:g}s",
                    }
                ],
            )
        if fault == "500" and cfg.server_error_code == 503:
            raise GoogleError("UNAVAILABLE", "The model is overloaded. Please try again later.")
        if fault == "500":
            raise GoogleError(
                "INTERNAL", "An internal error has occurred. Please retry or report the problem."
            )
        if fault == "404":
            raise GoogleError("NOT_FOUND", "Requested entity was not found.")
        response = handler(request, *args)
        if fault == "slow":
            response.delay = cfg.slow_seconds
        return response

    def _authenticate(self, request: Request) -> None:
        """Require ``x-goog-api-key`` (or ``?key=``), and the configured key if there is one."""
        key = (request.headers.get("x-goog-api-key") or request.param("key") or "").strip()
        if not key:
            raise GoogleError(
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
            )
        expected = self.config.api_key
        if expected is not None and not hmac.compare_digest(key.encode(), expected.encode()):
            raise GoogleError(
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                    }
                ],
            )

    def _admin(self, request: Request) -> Response:
        """Health and ledger are open (no secret in them); config needs the API key."""
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
                del changes["api_key"]
            try:
                return Response(json=self.configure(**changes).public())
            except (ValueError, TypeError) as exc:
                raise invalid(str(exc)) from exc
        raise GoogleError("NOT_FOUND", f"Invalid URL ({request.method} {request.path}).")

    # Models

    def models_get(self, request: Request, model: str) -> Response:
        """GET models/{model}: a ``gemini-...``/``gemma-...`` name is known, else 404."""
        if not KNOWN_MODEL.fullmatch(model):
            raise GoogleError("NOT_FOUND", f"models/{model} is not found for API version v1beta.")
        return Response(
            json={
                "name": f"models/{model}",
                "version": "001",
                "displayName": model,
                "inputTokenLimit": 1_048_576,
                "outputTokenLimit": 65_536,
                "supportedGenerationMethods": [
                    "generateContent",
                    "countTokens",
                    "batchGenerateContent",
                ],
            }
        )

    # Batches

    def batches_create(self, request: Request, model: str) -> Response:
        """Create a batch from inlined requests or an uploaded JSONL file."""
        try:
            raw = request.body.read_all(self.config.max_inline_bytes)
        except ApiError as exc:
            if exc.status != 413:
                raise
            raise invalid(
                f"Request payload size exceeds the limit: {self.config.max_inline_bytes} bytes."
            ) from None
        body = _parse_object(raw)
        batch = body.get("batch")
        if not isinstance(batch, dict):
            raise invalid("* BatchGenerateContentRequest.batch: batch is not specified")
        config = batch.get("inputConfig") or batch.get("input_config")
        if not isinstance(config, dict):
            raise invalid("* GenerateContentBatch.input_config: input_config is not specified")
        file_name = config.get("fileName") or config.get("file_name")
        requests = config.get("requests")
        if (file_name is None) == (requests is None):
            raise invalid(
                "* GenerateContentBatch.input_config: exactly one of file_name or requests "
                "must be set"
            )
        items: list[Item] | None = None
        if file_name is not None:
            with self.store.lock:
                self.store.files.get(str(file_name))
        else:
            items = _inline_items(requests)
        display_name = str(
            batch.get("displayName") or batch.get("display_name") or f"batch-{int(time.time())}"
        )
        lost = self.faults.lose_create(request.request_id)
        operation = self.store.create(
            f"models/{model.removeprefix('models/')}",
            display_name,
            str(file_name) if file_name is not None else None,
            items,
            lost,
        )
        return Response(drop=True) if lost else Response(json=operation)

    def batches_list(self, request: Request) -> Response:
        """GET batches: newest first, ``pageSize`` (default 50, at most 1000), ``pageToken``."""
        size = _page_size(request.param("pageSize"), 50, 1000)
        return Response(json=self.store.list_batches(size, request.param("pageToken")))

    def batches_get(self, request: Request, batch_id: str) -> Response:
        """GET batches/{id}: the Operation."""
        return Response(json=self.store.get(batch_id))

    def batches_cancel(self, request: Request, batch_id: str) -> Response:
        """POST batches/{id}:cancel: answers an empty object."""
        request.body.read_all(MAX_JSON_BODY)
        self.store.cancel(batch_id)
        return Response(json={})

    def batches_delete(self, request: Request, batch_id: str) -> Response:
        """DELETE batches/{id}: answers an empty object."""
        self.store.delete(batch_id)
        return Response(json={})

    # Files

    def files_upload(self, request: Request) -> Response:
        """The resumable upload: ``start`` opens a session, later calls carry its bytes."""
        upload = request.param("upload_id")
        command = (request.headers.get("X-Goog-Upload-Command") or "").lower()
        if upload is None:
            return self._upload_start(request, command)
        commands = {part.strip() for part in command.split(",")}
        if not commands & {"upload", "finalize"}:
            raise invalid(f"Unsupported X-Goog-Upload-Command {command!r}.")
        try:
            offset = int(request.headers.get("X-Goog-Upload-Offset") or "0")
        except ValueError:
            raise invalid("X-Goog-Upload-Offset must be an integer.") from None
        data = request.body.read_all(MAX_CHUNK) if "upload" in commands else b""
        with self.store.lock:
            done = self.store.files.receive(upload, offset, data, "finalize" in commands)
        if done is None:
            return Response(json={}, headers={"x-goog-upload-status": "active"})
        return Response(json={"file": done.to_api()}, headers={"x-goog-upload-status": "final"})

    def _upload_start(self, request: Request, command: str) -> Response:
        """``X-Goog-Upload-Command: start``: answer the session URL."""
        if (request.headers.get("X-Goog-Upload-Protocol") or "").lower() != "resumable":
            raise invalid("Only the resumable upload protocol is supported.")
        if command != "start":
            raise invalid("An upload must begin with X-Goog-Upload-Command: start.")
        try:
            size = int(request.headers.get("X-Goog-Upload-Header-Content-Length") or "")
        except ValueError:
            raise invalid("X-Goog-Upload-Header-Content-Length must be an integer.") from None
        mime = request.headers.get("X-Goog-Upload-Header-Content-Type") or ""
        body = _parse_object(request.body.read_all(MAX_JSON_BODY))
        described = body.get("file")
        metadata: dict[str, Any] = described if isinstance(described, dict) else {}
        with self.store.lock:
            upload = self.store.files.start_upload(size, mime, metadata)
        host = request.headers.get("Host") or "127.0.0.1"
        url = f"http://{host}{request.path}?upload_id={upload}&upload_protocol=resumable"
        return Response(
            json={},
            headers={
                "x-goog-upload-url": url,
                "x-goog-upload-status": "active",
                "x-goog-upload-chunk-granularity": str(8 * 1024 * 1024),
            },
        )

    def files_list(self, request: Request) -> Response:
        """GET files: newest first, ``pageSize`` (default 10, at most 100), ``pageToken``."""
        size = _page_size(request.param("pageSize"), 10, 100)
        token = request.param("pageToken")
        with self.store.lock:
            items = self.store.files.live()
        names = [f.name for f in items]
        start = names.index(token) + 1 if token in names else 0
        page = items[start : start + size]
        out: dict[str, Any] = {"files": [f.to_api() for f in page]}
        if start + size < len(items):
            out["nextPageToken"] = page[-1].name
        return Response(json=out)

    def files_get(self, request: Request, file_id: str) -> Response:
        """GET files/{id}."""
        with self.store.lock:
            return Response(json=self.store.files.get(f"files/{file_id}").to_api())

    def files_delete(self, request: Request, file_id: str) -> Response:
        """DELETE files/{id}: answers an empty object."""
        with self.store.lock:
            self.store.files.delete(f"files/{file_id}")
        return Response(json={})

    def files_download(self, request: Request, file_id: str) -> Response:
        """GET files/{id}:download?alt=media: the bytes of a generated file, streamed."""
        if request.param("alt") != "media":
            raise invalid("files.download needs alt=media.")
        with self.store.lock:
            item = self.store.files.get(f"files/{file_id}")
            if item.source != "GENERATED":
                raise invalid(f"Only generated files can be downloaded; {item.name} was uploaded.")
            handle, size = self.store.files.open(item.name)
        return Response(
            stream=handle, length=size, headers={"Content-Type": "application/octet-stream"}
        )


def _upload_session(request: Request) -> bool:
    """A call on an upload session URL: the session id is its credential (the SDK sends no key)."""
    return request.path.startswith("/upload/") and request.param("upload_id") is not None


def _inline_items(requests: Any) -> list[Item]:
    """``inputConfig.requests.requests``: each ``{request, metadata}``, checked as the API
    parses them; the key is ``metadata.key`` (or the position)."""
    listed = requests.get("requests") if isinstance(requests, dict) else None
    if not isinstance(listed, list) or not listed:
        raise invalid("* GenerateContentBatch.input_config.requests: requests is empty")
    items: list[Item] = []
    for index, entry in enumerate(listed):
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict):
            raise invalid(f"* InlinedRequests.requests[{index}].request: request is not specified")
        try:
            check_schemas(request)
        except RequestError as exc:
            raise invalid(f"requests[{index}]: {exc}") from None
        metadata = entry.get("metadata")
        metadata = dict(metadata) if isinstance(metadata, dict) else None
        key = str((metadata or {}).get("key", index))
        items.append(Item(key=key, request=request, metadata=metadata))
    return items


def _parse_object(raw: bytes) -> dict[str, Any]:
    """A JSON object body (empty counts as {})."""
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid("Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(value, dict):
        raise invalid("Invalid JSON payload received. Expected an object.")
    return value


def _json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object."""
    return _parse_object(request.body.read_all(MAX_JSON_BODY))


def _page_size(raw: str | None, default: int, maximum: int) -> int:
    """``pageSize``: a positive integer; larger than the maximum means the maximum."""
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"Invalid value for pageSize: {raw!r}.") from None
    if value < 0:
        raise invalid("pageSize must not be negative.")
    return min(value or default, maximum)
