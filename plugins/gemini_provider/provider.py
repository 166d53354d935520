"""The ``gemini`` provider plugin: Gemini batch mode through the google-genai SDK.

Small batches (``gemini.inline_max_bytes``) go inline, larger ones as an uploaded JSONL file. Every
batch is created with ``display_name`` = its submission key; creation is not idempotent and a
create whose answer is lost is never repeated blindly: the batch is looked up by that display
name (``batches.list``) and adopted. Results, inline or in the results file, are read by key in
any order. A hook answers only for ``provider == "gemini"`` (``plan.provider``, ``batch.provider``).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from kernel import hookimpl
from kernel.types import (
    BatchPlan,
    LocalBatch,
    ProviderBatch,
    ProviderError,
    ProviderHealth,
    ResultFiles,
    SubmittedBatch,
)
from plugins.common.exchange import LLMResult, ProviderLimits
from plugins.common.hookspecs import HealthCheck
from plugins.common.sweeps import SweepSchedule, report_sweep

from . import decoding
from .calls import Caller, Health, ProviderCallError
from .config import ClientHolder, GeminiConfig
from .encoding import GeminiEncoder, inlined_request
from .mapping import (
    INLINE_PREFIX,
    SUBMISSION_KEY,
    job_to_provider_batch,
    to_provider_batch,
    to_submitted,
)

if TYPE_CHECKING:
    from google import genai

NAME = "gemini"
MAX_REQUESTS = 50_000
MAX_FILE_BYTES = 2_000_000_000
"""A batch input file may hold up to 2 GB; we stay a little below."""
LIST_PAGE_SIZE = 100
FILE_PAGE_SIZE = 100
"""The most files one ``files.list`` page holds."""
ENDED = frozenset({"completed", "failed", "cancelled", "expired"})
GEMINI_MODEL_PREFIXES = ("gemini", "gemma", "models/", "tunedModels/")
GONE = frozenset({"not_found", "unauthorized"})
"""Gemini answers 403 for a file that no longer exists."""


class GeminiProvider:
    """Submits, polls, downloads and cleans up Gemini batches."""

    def __init__(self) -> None:
        self._clients = ClientHolder()
        self.health = Health()
        self.caller = Caller(self.health)
        self._lock = threading.Lock()
        self._unknown_creates: set[str] = set()
        self.clock = time.time
        self.sweeps = SweepSchedule(lambda: self.clock())
        self.page_size = LIST_PAGE_SIZE
        self.file_page_size = FILE_PAGE_SIZE

    def _setup(self, kernel: Any) -> tuple[GeminiConfig, genai.Client]:
        """Current settings and the client for them."""
        config = GeminiConfig.from_settings(kernel.settings)
        return config, self._clients.get(config)

    # What a batch may hold, how requests are written and read

    @hookimpl
    def provider_limits(self, kernel: Any, provider: str) -> ProviderLimits | None:
        """Up to 50,000 requests and 2 GB a batch; keys are free-form (we send request ids)."""
        if provider != NAME:
            return None
        return ProviderLimits(max_requests=MAX_REQUESTS, max_bytes=MAX_FILE_BYTES)

    @hookimpl
    def request_encoder(self, kernel: Any, provider: str, model: str) -> GeminiEncoder | None:
        """GenerateContentRequest records for ``model``; the output limit is at least
        ``gemini.max_output_tokens`` (thinking tokens count against it)."""
        if provider != NAME:
            return None
        config = GeminiConfig.from_settings(kernel.settings)
        return GeminiEncoder(model_for(model, config), config.max_output_tokens)

    @hookimpl
    def read_results(
        self, kernel: Any, batch: LocalBatch, files: ResultFiles
    ) -> Iterable[LLMResult] | None:
        """The neutral results of a downloaded batch, by key, in file order."""
        if batch.provider != NAME:
            return None
        return decoding.read_results(files)

    @hookimpl
    def provider_health(self, kernel: Any, provider: str) -> ProviderHealth | None:
        """``config`` without an API key; else quota, an open circuit, or ok."""
        if provider != NAME:
            return None
        if not str(kernel.settings.gemini.api_key or ""):
            return ProviderHealth(
                NAME,
                "config",
                "gemini.api_key is empty: set [gemini] api_key or GEMINI_API_KEY",
            )
        condition, reason, until = self.health.current()
        return ProviderHealth(NAME, condition, reason, until)  # type: ignore[arg-type]

    # What run and doctor check, and what the banner says

    @hookimpl
    def health_checks(self, kernel: Any, remote: bool) -> list[HealthCheck]:
        """The key is set; with ``remote``, the endpoint answers a list call and knows the model."""
        from .health import checks

        return checks(kernel.settings, remote=remote)

    @hookimpl
    def describe_setup(self, kernel: Any) -> dict[str, str]:
        """The banner's provider line: name, endpoint, model, whether a key is set."""
        from .health import setup_facts

        return setup_facts(kernel.settings)

    # Lifecycle

    @hookimpl
    def submit_batch(self, kernel: Any, plan: BatchPlan) -> SubmittedBatch | None:
        """Send the plan inline or as a file and create its batch; adopt, never duplicate, a batch
        whose create answer was lost."""
        if plan.provider != NAME:
            return None
        config, client = self._setup(kernel)
        key = plan.submission_key
        with self._lock:
            unresolved = key in self._unknown_creates
        if unresolved:
            found = self._find(config, client, key)
            if found is not None:
                self._resolved(key)
                return to_submitted(found, "")
        path = Path(plan.input_path)
        inline = plan.input_bytes <= config.inline_max_bytes
        try:
            source: Any = _inline_source(path) if inline else None
        except OSError as exc:
            raise ProviderError(
                f"cannot read batch input file {path}: {exc}", retryable=False, operation="upload"
            ) from exc
        uploaded = "" if inline else self._upload(config, client, path, key)
        kernel.crashpoint("after_file_upload")
        model = model_for(plan.model, config)

        def create() -> ProviderBatch:
            """One create call (never repeated after an ambiguous failure)."""
            job = client.batches.create(
                model=model, src=source if inline else uploaded, config={"display_name": key}
            )
            return job_to_provider_batch(job)

        try:
            batch = self.caller.run(
                config,
                "create",
                create,
                retry_ambiguous=False,
                on_ambiguous=lambda failure: self._adopt(kernel, config, client, key, failure),
            )
        except ProviderCallError as exc:
            if exc.failure.ambiguous:
                with self._lock:
                    self._unknown_creates.add(key)
                kernel.log.warning("gemini create for %s: outcome unknown (%s)", key, exc)
            elif uploaded:
                self._delete_file(config, client, uploaded)
            raise
        self._resolved(key)
        return to_submitted(batch, uploaded)

    def _upload(self, config: GeminiConfig, client: genai.Client, path: Path, key: str) -> str:
        """Upload the JSONL input (resumable protocol); its display name is the submission key."""

        def upload() -> str:
            """One upload attempt."""
            item = client.files.upload(
                file=str(path), config={"mime_type": "application/jsonl", "display_name": key}
            )
            return str(item.name)

        return self.caller.run(config, "upload", upload)

    def _adopt(
        self, kernel: Any, config: GeminiConfig, client: genai.Client, key: str, failure: Any
    ) -> ProviderBatch | None:
        """After an ambiguous create failure: did the batch get made anyway?"""
        try:
            found = self._find(config, client, key)
        except ProviderError:
            return None
        if found is not None:
            kernel.log.warning(
                "gemini create for %s failed (%s) but the batch exists: adopting %s",
                key,
                failure.kind,
                found.provider_batch_id,
            )
        return found

    def _find(self, config: GeminiConfig, client: genai.Client, key: str) -> ProviderBatch | None:
        """The newest batch whose display name is ``key`` (all pages, one retried listing)."""

        def search() -> ProviderBatch | None:
            """List every batch, newest first, until the key turns up."""
            for job in client.batches.list(config={"page_size": LIST_PAGE_SIZE}):
                if job.display_name == key:
                    return job_to_provider_batch(job)
            return None

        return self.caller.run(config, "list", search)

    def _resolved(self, key: str) -> None:
        """Forget that a key's create outcome was unknown."""
        with self._lock:
            self._unknown_creates.discard(key)

    @hookimpl
    def find_batch(self, kernel: Any, plan: BatchPlan) -> ProviderBatch | None:
        """The batch made for ``plan`` (by its display name), or ``None``."""
        if plan.provider != NAME:
            return None
        config, client = self._setup(kernel)
        found = self._find(config, client, plan.submission_key)
        if found is not None:
            self._resolved(plan.submission_key)
            return self._operation(config, client, found.provider_batch_id)
        return None

    @hookimpl
    def poll_batch(self, kernel: Any, batch: LocalBatch) -> ProviderBatch | None:
        """The batch's state, counts, output and (when it failed) the reason."""
        if batch.provider != NAME:
            return None
        config, client = self._setup(kernel)
        return self._operation(config, client, _provider_id(batch, "retrieve"))

    def _operation(self, config: GeminiConfig, client: genai.Client, name: str) -> ProviderBatch:
        """Read the batch's Operation (see :mod:`.mapping` for why not ``batches.get``)."""
        return to_provider_batch(
            self.caller.run(config, "retrieve", lambda: _raw_operation(client, name))
        )

    @hookimpl
    def cancel_batch(self, kernel: Any, batch: LocalBatch) -> ProviderBatch | None:
        """Ask for cancellation; a batch that already ended is returned as it is; one still
        running shows as ``cancelling`` until the cancel lands."""
        if batch.provider != NAME:
            return None
        config, client = self._setup(kernel)
        name = _provider_id(batch, "cancel")
        try:
            self.caller.run(config, "cancel", lambda: client.batches.cancel(name=name))
        except ProviderCallError as exc:
            if exc.failure.status != 400:
                raise
        current = self._operation(config, client, name)
        if current.status in ("validating", "in_progress"):
            return dataclasses.replace(current, status="cancelling")
        return current

    @hookimpl
    def download_results(
        self, kernel: Any, batch: LocalBatch, directory: Path
    ) -> ResultFiles | None:
        """The results as ``directory/<batch_id>.output.jsonl``: the results file downloaded, or
        the inline responses written as ``{"key", "response"|"error"}`` records."""
        if batch.provider != NAME:
            return None
        config, client = self._setup(kernel)
        output = batch.output_file_id
        if not output and batch.provider_batch_id:
            output = self._operation(config, client, batch.provider_batch_id).output_file_id
        if not output:
            return ResultFiles(output_path=None, error_path=None)
        target = Path(directory) / f"{batch.batch_id}.output.jsonl"
        if output.startswith(INLINE_PREFIX):
            operation = self.caller.run(config, "download", lambda: _raw_operation(client, output))
            _write_inline(operation, target)
            return ResultFiles(output_path=target, error_path=None)
        try:
            self.caller.run(
                config,
                "download",
                lambda: client.files.download(file=output, destination=str(target)),
            )
        except ProviderCallError as exc:
            if exc.failure.kind not in GONE:
                raise
            kernel.log.warning("batch %s: results file %s is gone", batch.batch_id, output)
            return ResultFiles(output_path=None, error_path=None, missing=(output,))
        return ResultFiles(output_path=target, error_path=None)

    @hookimpl
    def discard_submission(self, kernel: Any, plan: BatchPlan) -> None:
        """Delete input files uploaded for a plan whose batch was never created (never raises)."""
        if plan.provider != NAME:
            return
        try:
            config, client = self._setup(kernel)
            names = self.caller.run(
                config,
                "list",
                lambda: [
                    str(f.name)
                    for f in client.files.list()
                    if f.display_name == plan.submission_key
                ],
            )
            for name in names:
                self._delete_file(config, client, name)
        except Exception as exc:
            kernel.log.warning("could not discard uploads of plan %s: %s", plan.batch_id, exc)

    @hookimpl
    def cleanup_batch(self, kernel: Any, batch: LocalBatch) -> bool | None:
        """With ``gemini.file_retention = delete``: delete the input file, the results file and
        the batch itself (inline answers live in it). True when nothing is left; never raises."""
        if batch.provider != NAME:
            return None
        try:
            config, client = self._setup(kernel)
            if config.file_retention != "delete":
                return True
            files = [
                f
                for f in (batch.input_file_id, batch.output_file_id)
                if f and f.startswith("files/")
            ]
            gone = [self._delete_file(config, client, f) for f in files]
            if batch.provider_batch_id:
                gone.append(self._delete_batch(config, client, batch.provider_batch_id))
            return all(gone)
        except Exception as exc:
            kernel.log.warning("cleanup of batch %s failed (tried later): %s", batch.batch_id, exc)
            return False

    @hookimpl
    def sweep_provider_files(
        self, kernel: Any, settled: Callable[[Sequence[str]], set[str]]
    ) -> int:
        """Delete the uploaded files and ended batch jobs of ours whose local batch is over, at
        most once per ``sweep_interval_seconds`` and only with ``file_retention = delete``.

        Ours, as adoption sees it: a batch job or an upload whose display name is a submission
        key a local batch knows. A key whose job still runs keeps its files. Every page of both
        lists is read; never raises; returns how many files and jobs were deleted.
        """
        try:
            config, client = self._setup(kernel)
            wanted = config.file_retention == "delete"
            started = self.sweeps.due(config.sweep_interval_seconds, enabled=wanted)
            if started is None:
                return 0
            jobs, files = self._listings(config, client)
            keys = {key for _, key in files} | {str(j.metadata[SUBMISSION_KEY]) for j in jobs}
            over = settled(sorted(keys))
            doomed_jobs, doomed_files = doomed(jobs, files, over)
            deleted = sum(self._delete_file(config, client, name) for name in doomed_files)
            deleted += sum(self._delete_batch(config, client, name) for name in doomed_jobs)
            self.sweeps.done(started)
        except Exception as exc:
            kernel.log.warning("sweep of gemini files failed (tried again later): %s", exc)
            return 0
        report_sweep(kernel, NAME, deleted, len(doomed_jobs) + len(doomed_files))
        return deleted

    def _listings(
        self, config: GeminiConfig, client: genai.Client
    ) -> tuple[list[ProviderBatch], list[tuple[str, str]]]:
        """Every batch job named for a key, and every upload as (name, display name); all pages.
        Results files, named for themselves, come with their batch job."""

        def jobs() -> list[ProviderBatch]:
            """All batch jobs that carry a display name."""
            listed = client.batches.list(config={"page_size": self.page_size})
            found = [job_to_provider_batch(job) for job in listed]
            return [job for job in found if job.metadata.get(SUBMISSION_KEY)]

        def files() -> list[tuple[str, str]]:
            """All uploads that carry a display name."""
            listed = client.files.list(config={"page_size": self.file_page_size})
            return [
                (str(f.name), str(f.display_name))
                for f in listed
                if f.display_name and f.display_name != f.name
            ]

        return self.caller.run(config, "list", jobs), self.caller.run(config, "list", files)

    def _delete_file(self, config: GeminiConfig, client: genai.Client, name: str) -> bool:
        """Delete one file; True when it is gone (already gone counts)."""
        return self._delete(config, lambda: client.files.delete(name=name))

    def _delete_batch(self, config: GeminiConfig, client: genai.Client, name: str) -> bool:
        """Delete one batch; True when it is gone."""
        return self._delete(config, lambda: client.batches.delete(name=name))

    def _delete(self, config: GeminiConfig, call: Any) -> bool:
        """Run a delete; a 404/403 means it was already gone."""
        try:
            self.caller.run(config, "delete", call)
        except ProviderCallError as exc:
            return exc.failure.kind in GONE
        except ProviderError:
            return False
        return True


def doomed(
    jobs: Sequence[ProviderBatch], files: Sequence[tuple[str, str]], over: set[str]
) -> tuple[list[str], list[str]]:
    """The batch jobs and files to delete: those of keys that are ``over``, unless a job of the
    key is still running; a job's results file goes with it."""
    busy = {j.metadata[SUBMISSION_KEY] for j in jobs if j.status not in ENDED}
    done = [j for j in jobs if j.metadata[SUBMISSION_KEY] in over - busy]
    names = [name for name, key in files if key in over - busy]
    names += [j.output_file_id or "" for j in done if (j.output_file_id or "").startswith("files/")]
    return [j.provider_batch_id for j in done], list(dict.fromkeys(n for n in names if n))


def model_for(model: str | None, config: GeminiConfig) -> str:
    """The Gemini model for a batch: its own when it names a Gemini model, else ``gemini.model``
    (a batch planned with another provider's model name, e.g. the default ``model.name``)."""
    if model and model.startswith(GEMINI_MODEL_PREFIXES):
        return model
    return config.model


def _provider_id(batch: LocalBatch, operation: str) -> str:
    """The batch's provider name, or a non-retryable error when it never reached the provider."""
    if not batch.provider_batch_id:
        raise ProviderError(
            f"batch {batch.batch_id} has no provider batch id", retryable=False, operation=operation
        )
    return batch.provider_batch_id


def _raw_operation(client: genai.Client, name: str) -> dict[str, Any]:
    """``GET {version}/batches/{id}`` as JSON, through the SDK's client (auth, errors)."""
    response = client._api_client.request("get", name, {})
    return orjson.loads(response.body) if response.body else {}


def _inline_source(path: Path) -> list[Any]:
    """The plan's encoded records as SDK ``InlinedRequest``s."""
    with path.open("rb") as handle:
        return [inlined_request(orjson.loads(line)) for line in handle if line.strip()]


def _inline_records(operation: dict[str, Any]) -> Iterator[bytes]:
    """Inline responses as results-file records (the key from the echoed metadata)."""
    metadata = operation.get("metadata") or {}
    output = metadata.get("output") or operation.get("response") or {}
    for item in (output.get("inlinedResponses") or {}).get("inlinedResponses") or []:
        record: dict[str, Any] = {"key": str((item.get("metadata") or {}).get("key") or "")}
        if "error" in item:
            record["error"] = item["error"]
        else:
            record["response"] = item.get("response")
        yield orjson.dumps(record) + b"\n"


def _write_inline(operation: dict[str, Any], target: Path) -> None:
    """Write the inline responses to ``target`` as JSONL."""
    with target.open("wb") as handle:
        handle.writelines(_inline_records(operation))
