"""The ``openai`` and ``azure-openai`` provider plugins: the ProviderSpec hooks over the official SDK."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from kernel import hookimpl
from kernel.api import KernelAPI, Reporting
from kernel.types import (
    BatchPlan,
    BatchStatus,
    LocalBatch,
    ProviderBatch,
    ProviderError,
    ProviderHealth,
    ResultFiles,
    SubmittedBatch,
)
from plugins.common.exchange import LLMResult, ProviderLimits, TaskSpec
from plugins.common.hookspecs import HealthCheck
from plugins.common.sweeps import SweepSchedule, report_sweep
from plugins.openai_provider.breaker import (
    BREAKER_RANK,
    OPEN,
    STATE_GAUGE,
    BreakerBoard,
    CircuitOpenError,
)
from plugins.openai_provider.calls import Caller, OutcomeUnknownError, ProviderCallError
from plugins.openai_provider.client import ClientHolder
from plugins.openai_provider.config import ProviderConfig
from plugins.openai_provider.decoding import read_results
from plugins.openai_provider.dialect import AZURE_OPENAI, OPENAI, Dialect
from plugins.openai_provider.encoding import OpenAIEncoder, endpoint_of, sdk_endpoint
from plugins.openai_provider.files import (
    batch_of_result,
    download_file,
    key_of_upload,
    output_expiry,
    upload_file,
    upload_filename,
)
from plugins.openai_provider.lookup import (
    FILE_PAGE_SIZE,
    PAGE_SIZE,
    every_item,
    find_by_submission_key,
)
from plugins.openai_provider.mapping import (
    batch_metadata,
    submission_key_of,
    to_provider_batch,
    to_submitted,
)
from plugins.openai_provider.models import capabilities
from plugins.openai_provider.pause import PAUSED, CreationPause
from plugins.openai_provider.rejections import blamed_lines, rejected_requests
from plugins.openai_provider.retry import Failure
from plugins.openai_provider.strict_schema import strict_problems

if TYPE_CHECKING:
    import openai
    from openai import Omit

COMPLETION_WINDOW: Final = "24h"
CREATE_LOOKUP_MARGIN_SECONDS = 300
"""A batch created for our upload cannot be older than the upload minus this (server clock)."""
PLAN_LOOKUP_MARGIN_SECONDS = 3600
"""Same, measured from the input file's local mtime: allows for clock skew with the server."""
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
CIRCUIT_STATE = "batchkernel.provider.circuit.state"
BYTES = "batchkernel.provider.bytes"
FOREIGN_MODEL_PREFIXES = ("claude", "gemini")
"""Models of other providers: a request queued with one that fails over here runs on
``model.name``."""
KEY_CACHE_SIZE = 10_000
"""Batch ids whose submission key the sweep remembers (a batch's metadata never changes)."""


def _after(cursor: str | None) -> str | Omit:
    """The ``after`` argument of a list call: the cursor, or omitted on the first page."""
    from openai import omit

    return omit if cursor is None else cursor


class OpenAIProvider:
    """Submits, polls, downloads and cleans up batches at an OpenAI-compatible Batch API.

    All retrying is ours (SDK ``max_retries=0``): exponential full-jitter backoff, honouring
    ``retry-after`` on 429/503, and one circuit breaker per operation. A create is never blindly
    repeated: after an ambiguous failure the batch is first looked up by its submission key.
    ``clock`` and ``sleep`` are plain attributes so tests can replace them. ``DIALECT`` says
    which OpenAI-shaped service it speaks (name, settings section, endpoint, limits).
    """

    DIALECT: ClassVar[Dialect] = OPENAI

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self._kernel: Reporting | None = None
        self._clients = ClientHolder()
        self._built = False
        self._lock = threading.Lock()
        self._unknown_creates: set[str] = set()
        self._batch_keys: dict[str, str | None] = {}
        self.sweeps = SweepSchedule(lambda: self.clock())
        self.file_page_size = FILE_PAGE_SIZE
        self.breakers = BreakerBoard(clock=lambda: self.clock(), on_transition=self._on_transition)
        self.caller = Caller(
            self.breakers,
            clock=lambda: self.clock(),
            sleep=lambda seconds: self.sleep(seconds),
            rng=rng,
            on_condition=self._on_condition,
            provider=self.DIALECT.name,
        )
        self.pause = CreationPause(self.DIALECT.name, clock=lambda: self.clock())

    def breaker_states(self) -> dict[str, dict[str, Any]]:
        """Every operation's breaker: ``state`` (closed/open/half_open), ``failures``, ``opened_at``."""
        return self.breakers.states()

    @hookimpl
    def provider_health(self, kernel: KernelAPI, provider: str) -> ProviderHealth | None:
        """ "quota" while creation is paused by a billing or account condition, "circuit" while
        the upload or create circuit is open (until its half-open probe may go), else "ok"."""
        if provider != self.DIALECT.name:
            return None
        health = self.pause.health()
        if health.condition != "ok":
            return health
        for operation in ("upload", "create"):
            try:
                self.breakers[operation].check()
            except CircuitOpenError as exc:
                until = datetime.fromtimestamp(self.clock() + exc.retry_in_seconds, UTC)
                return ProviderHealth(provider, "circuit", str(exc), until)
        return health

    @hookimpl
    def provider_limits(self, kernel: KernelAPI, provider: str) -> ProviderLimits | None:
        """The Batch API's limits per batch, for this plugin's provider."""
        return self.DIALECT.limits if provider == self.DIALECT.name else None

    @hookimpl
    def task_problems(self, kernel: KernelAPI, task: TaskSpec) -> list[str]:
        """What strict structured outputs, which every line asks for, refuse in the task's schema."""
        return [f"schema {problem}" for problem in strict_problems(task.schema)]

    @hookimpl
    def request_encoder(self, kernel: KernelAPI, provider: str, model: str) -> OpenAIEncoder | None:
        """Lines of the configured endpoint for ``model`` (``model.name`` when it names another
        provider's model), with the parameters its entry in the capability table (``models``)
        says it takes; for this plugin's provider. At Azure every line names the configured
        deployment and calls ``/chat/completions``."""
        if provider != self.DIALECT.name:
            return None
        config = self._config(kernel)
        if model.startswith(FOREIGN_MODEL_PREFIXES):
            model = str(kernel.settings.model.name)
        reasoning = capabilities(model, config.models).reasoning
        return OpenAIEncoder(
            model,
            config.endpoint,
            reasoning,
            config.reasoning_effort,
            deployment=config.deployment or None,
        )

    @hookimpl
    def read_results(
        self, kernel: KernelAPI, batch: LocalBatch, files: ResultFiles
    ) -> Iterable[LLMResult] | None:
        """The neutral results of this provider's batch output and error files, streamed."""
        return read_results(files) if batch.provider == self.DIALECT.name else None

    @hookimpl
    def collect_status(self, kernel: KernelAPI) -> dict[str, Any]:
        """The monitoring snapshot's ``breakers`` (every operation's breaker) and
        ``provider_health`` (whether batch creation is paused, why, until when). Beside the
        ``openai`` plugin, another dialect's operations are named with its provider."""
        states = self.breaker_states()
        registered = {*kernel.providers(), str(kernel.settings.plugins.provider)}
        if self.DIALECT.name != "openai" and "openai" in registered:
            states = {f"{self.DIALECT.name} {op}": info for op, info in states.items()}
        return {"breakers": states, "provider_health": {self.DIALECT.name: self.pause.state()}}

    @hookimpl
    def health_checks(self, kernel: KernelAPI, remote: bool) -> list[HealthCheck]:
        """The key is set; with ``remote``, the endpoint answers a list call with it."""
        from plugins.openai_provider.health import checks

        return checks(kernel.settings, remote=remote, section=self.DIALECT.section)

    @hookimpl
    def describe_setup(self, kernel: KernelAPI) -> dict[str, str]:
        """The banner's provider line: name, endpoint, whether a key is set."""
        from plugins.openai_provider.health import setup_facts

        return setup_facts(kernel.settings, self.DIALECT.name, self.DIALECT.section)

    @hookimpl
    def merge_status(self, kernel: KernelAPI, section: str, parts: Sequence[Any]) -> Any:
        """Several instances' ``breakers`` as one: per operation, the worst state any reports
        (open, then half-open, then closed); ``provider_health``: any instance's pause."""
        if section == "provider_health":
            return _merge_health(parts)
        if section != "breakers":
            return None
        merged: dict[str, Any] = {}
        for part in parts:
            for operation, info in (part if isinstance(part, dict) else {}).items():
                if not isinstance(info, dict):
                    continue
                current = merged.get(operation)
                rank = BREAKER_RANK.get(str(info.get("state")), -1)
                if current is None or rank > BREAKER_RANK.get(str(current.get("state")), -1):
                    merged[operation] = dict(info)
        return merged

    def _setup(self, kernel: KernelAPI) -> tuple[ProviderConfig, openai.OpenAI]:
        """Current settings and client; a changed endpoint or key gets a new client and breakers."""
        self._kernel = kernel
        config = self._config(kernel)
        client, rebuilt = self._clients.get(config)
        if rebuilt:
            if self._built:
                self.breakers.reset()
            self._built = True
        return config, client

    def _config(self, kernel: KernelAPI) -> ProviderConfig:
        """The current settings of this plugin's section."""
        return ProviderConfig.from_settings(kernel.settings, self.DIALECT.section)

    def _on_transition(self, operation: str, state: str) -> None:
        """Report a breaker transition as a gauge and a log line."""
        kernel = self._kernel
        if kernel is None:
            return
        log = kernel.log.warning if state == OPEN else kernel.log.info
        log("provider circuit %s is now %s", operation, state)
        kernel.metric(
            CIRCUIT_STATE,
            STATE_GAUGE[state],
            kind="gauge",
            operation=operation,
            provider=self.DIALECT.name,
        )

    def _on_condition(self, kernel: Any, operation: str, failure: Failure) -> None:
        """A quota or billing answer: pause batch creation for a long, growing cool-down."""
        config = self._config(kernel)
        until = self.pause.record(
            failure.condition or "quota",
            failure.message,
            config.quota_pause_seconds,
            config.quota_pause_max_seconds,
        )
        kernel.log.error(
            "provider %s: %s; batch creation paused for %.0fs (check the plan and billing)",
            operation,
            failure.message,
            until - self.clock(),
        )
        kernel.metric(
            PAUSED, 1, kind="gauge", provider=self.DIALECT.name, condition=failure.condition
        )

    def _check_paused(self) -> None:
        """Refuse to create while creation is paused (the plan goes back, no attempt spent)."""
        health = self.pause.health()
        if health.condition != "ok":
            raise ProviderError(
                f"batch creation at {self.DIALECT.name} is paused until "
                f"{health.until.isoformat() if health.until else '?'}: {health.reason}",
                retryable=False,
                operation="create",
                condition=health.condition,
            )

    def _created(self, kernel: Any) -> None:
        """The provider accepted a batch: any quota condition is over."""
        if self.pause.clear():
            kernel.log.info(
                "provider %s accepts batches again; creation resumed", self.DIALECT.name
            )
            kernel.metric(PAUSED, 0, kind="gauge", provider=self.DIALECT.name, condition="quota")

    @hookimpl
    def submit_batch(self, kernel: KernelAPI, plan: BatchPlan) -> SubmittedBatch | None:
        """Upload the plan's file and create its batch; adopt, never duplicate, a lost create."""
        if plan.provider != self.DIALECT.name:
            return None
        config, client = self._setup(kernel)
        self._check_paused()
        key = plan.submission_key
        with self._lock:
            unresolved = key in self._unknown_creates
        if unresolved:
            found = self._find(kernel, config, client, key, not_before=self._plan_cutoff(plan))
            if found is not None:
                self._resolved(key)
                return to_submitted(found, found.input_file_id or "")
        self.breakers["upload"].check()
        self.breakers["create"].check()
        uploaded = self._upload(kernel, config, client, plan)
        kernel.crashpoint("after_file_upload")
        file_id = str(uploaded.id)
        endpoint = endpoint_of(Path(plan.input_path), config.endpoint)
        created_at = getattr(uploaded, "created_at", None)
        not_before = (
            int(created_at) - CREATE_LOOKUP_MARGIN_SECONDS
            if isinstance(created_at, int | float)
            else self._plan_cutoff(plan)
        )

        def create() -> ProviderBatch:
            """One create attempt, SDK retries off (it sends no idempotency key)."""
            return to_provider_batch(
                client.with_options(max_retries=0).batches.create(
                    input_file_id=file_id,
                    endpoint=sdk_endpoint(endpoint),
                    completion_window=COMPLETION_WINDOW,
                    metadata=batch_metadata(key, plan.batch_id, plan.company_id, plan.model),
                    output_expires_after=output_expiry(config.output_expires_after_seconds),
                )
            )

        def recover(failure: Failure) -> ProviderBatch | None:
            """After an ambiguous create failure: did the server create it anyway?"""
            found = self._find(
                kernel, config, client, key, not_before=not_before, input_file_id=file_id
            )
            if found is not None:
                kernel.log.warning(
                    "provider create for %s failed (%s) but the batch exists: adopting %s",
                    key,
                    failure.kind,
                    found.provider_batch_id,
                )
            return found

        try:
            batch = self.caller.run(kernel, config, "create", create, recover=recover)
        except OutcomeUnknownError:
            with self._lock:
                self._unknown_creates.add(key)
            kernel.log.warning(
                "provider create for %s: outcome unknown; input file %s kept", key, file_id
            )
            raise
        except ProviderError:
            self._resolved(key)
            self._delete_quietly(kernel, config, client, file_id)
            raise
        self._resolved(key)
        self._created(kernel)
        if batch.input_file_id and batch.input_file_id != file_id:
            self._delete_quietly(kernel, config, client, file_id)
        return to_submitted(batch, file_id)

    def _resolved(self, key: str) -> None:
        """Forget that a submission key's create outcome was unknown."""
        with self._lock:
            self._unknown_creates.discard(key)

    @staticmethod
    def _plan_cutoff(plan: BatchPlan) -> int | None:
        """Oldest creation time a batch of ``plan`` can have: its input file's mtime less a margin."""
        try:
            return int(Path(plan.input_path).stat().st_mtime) - PLAN_LOOKUP_MARGIN_SECONDS
        except OSError:
            return None

    def _upload(
        self, kernel: KernelAPI, config: ProviderConfig, client: openai.OpenAI, plan: BatchPlan
    ) -> Any:
        """Upload the input file under ``bk-<key>.jsonl``; delete duplicates a lost answer left."""
        path = Path(plan.input_path)
        filename = upload_filename(plan.submission_key)
        ambiguous: list[Failure] = []

        def note(failure: Failure) -> None:
            """Remember that an attempt may have stored a file we never heard about."""
            ambiguous.append(failure)

        try:
            size = path.stat().st_size
            uploaded = self.caller.run(
                kernel,
                config,
                "upload",
                lambda: upload_file(client, path, filename, config.input_expires_after_seconds),
                recover=note,
            )
        except OSError as exc:
            raise ProviderError(
                f"cannot read batch input file {path}: {exc}", retryable=False, operation="upload"
            ) from exc
        except ProviderCallError:
            if ambiguous:
                self._delete_orphans(kernel, config, client, filename, keep=None)
            raise
        kernel.metric(
            BYTES, size, kind="counter", unit="By", direction="upload", provider=self.DIALECT.name
        )
        if ambiguous:
            self._delete_orphans(kernel, config, client, filename, keep=str(uploaded.id))
        return uploaded

    def _delete_orphans(
        self,
        kernel: KernelAPI,
        config: ProviderConfig,
        client: openai.OpenAI,
        filename: str,
        keep: str | None,
    ) -> None:
        """Best effort: delete uploads named ``filename`` other than ``keep`` (all pages)."""
        try:
            orphans = [
                str(item.id)
                for item in self._files(kernel, config, client, "batch")
                if getattr(item, "filename", None) == filename and item.id != keep
            ]
        except ProviderError as exc:
            kernel.log.warning("could not list files to remove orphan uploads: %s", exc)
            return
        for file_id in orphans:
            kernel.log.info("deleting orphan upload %s (%s)", file_id, filename)
            self._delete_quietly(kernel, config, client, file_id)

    def _files(
        self, kernel: KernelAPI, config: ProviderConfig, client: openai.OpenAI, purpose: str
    ) -> Iterator[Any]:
        """Every provider file of ``purpose``, all pages (the SDK's cursor pagination); each
        page is one retried call."""

        def first() -> Any:
            """The first page of files, oldest first."""
            return self.caller.run(
                kernel,
                config,
                "list",
                lambda: client.files.list(purpose=purpose, limit=self.file_page_size, order="asc"),
            )

        def following(page: Any) -> Any:
            """The page after ``page``."""
            return self.caller.run(kernel, config, "list", page.get_next_page)

        return every_item(first, following)

    def _find(
        self,
        kernel: KernelAPI,
        config: ProviderConfig,
        client: openai.OpenAI,
        key: str,
        *,
        not_before: int | None,
        input_file_id: str | None = None,
    ) -> ProviderBatch | None:
        """Look a batch up by submission key, or by its input file: ``input_file_id`` when the
        caller knows it, else (for a service that may not keep metadata) our uploads named for
        the key. Each page is one retried ``list`` call."""

        def list_page(after: str | None) -> Any:
            """One page of batches, newest first."""
            return self.caller.run(
                kernel,
                config,
                "list",
                lambda: client.batches.list(limit=PAGE_SIZE, after=_after(after)),
            )

        files: list[str] = [input_file_id] if input_file_id else []
        if not files and self.DIALECT.match_input_files:
            filename = upload_filename(key)
            files = [
                str(item.id)
                for item in self._files(kernel, config, client, "batch")
                if getattr(item, "filename", None) == filename
            ]
        return find_by_submission_key(
            list_page, key, not_before=not_before, input_file_ids=frozenset(files)
        )

    @hookimpl
    def find_batch(self, kernel: KernelAPI, plan: BatchPlan) -> ProviderBatch | None:
        """The provider batch stamped with ``plan``'s submission key, or ``None``."""
        if plan.provider != self.DIALECT.name:
            return None
        config, client = self._setup(kernel)
        found = self._find(
            kernel, config, client, plan.submission_key, not_before=self._plan_cutoff(plan)
        )
        if found is not None:
            self._resolved(plan.submission_key)
        return found

    @hookimpl
    def poll_batch(self, kernel: KernelAPI, batch: LocalBatch) -> ProviderBatch | None:
        """Retrieve one batch's current status."""
        if batch.provider != self.DIALECT.name:
            return None
        return self._retrieve(kernel, batch)

    def _retrieve(self, kernel: KernelAPI, batch: LocalBatch) -> ProviderBatch:
        """One batch's current status at the provider."""
        config, client = self._setup(kernel)
        batch_id = _provider_id(batch, "retrieve")
        return self.caller.run(
            kernel, config, "retrieve", lambda: to_provider_batch(client.batches.retrieve(batch_id))
        )

    @hookimpl
    def cancel_batch(self, kernel: KernelAPI, batch: LocalBatch) -> ProviderBatch | None:
        """Ask for cancellation; a batch that already ended is returned as it is."""
        if batch.provider != self.DIALECT.name:
            return None
        config, client = self._setup(kernel)
        batch_id = _provider_id(batch, "cancel")
        try:
            return self.caller.run(
                kernel, config, "cancel", lambda: to_provider_batch(client.batches.cancel(batch_id))
            )
        except ProviderCallError as exc:
            if exc.failure.retryable or exc.failure.status != 400:
                raise
            current = self._retrieve(kernel, batch)
            if current.status in TERMINAL_STATUSES:
                return current
            raise

    @hookimpl
    def download_results(
        self, kernel: KernelAPI, batch: LocalBatch, directory: Path
    ) -> ResultFiles | None:
        """Stream the output and error files to ``directory/<batch_id>.{output,error}.jsonl``;
        for a batch that failed validation naming lines, the requests on those lines."""
        if batch.provider != self.DIALECT.name:
            return None
        config, client = self._setup(kernel)
        if batch.status == BatchStatus.FAILED:
            return self._rejections(kernel, config, client, batch, Path(directory))
        output_id, error_id = batch.output_file_id, batch.error_file_id
        if not output_id and not error_id and batch.provider_batch_id:
            current = self._retrieve(kernel, batch)
            output_id, error_id = current.output_file_id, current.error_file_id
        directory = Path(directory)
        missing: list[str] = []
        paths: list[Path | None] = []
        for file_id, suffix in ((output_id, "output"), (error_id, "error")):
            if not file_id:
                paths.append(None)
                continue
            target = directory / f"{batch.batch_id}.{suffix}.jsonl"
            try:
                size = self.caller.run(
                    kernel,
                    config,
                    "download",
                    partial(download_file, client, file_id, target),
                )
            except ProviderCallError as exc:
                if exc.failure.kind != "not_found":
                    raise
                kernel.log.warning(
                    "batch %s: %s file %s is gone at the provider (expired?)",
                    batch.batch_id,
                    suffix,
                    file_id,
                )
                missing.append(file_id)
                paths.append(None)
                continue
            kernel.metric(
                BYTES,
                size,
                kind="counter",
                unit="By",
                direction="download",
                provider=self.DIALECT.name,
            )
            paths.append(target)
        return ResultFiles(output_path=paths[0], error_path=paths[1], missing=tuple(missing))

    def _rejections(
        self,
        kernel: Any,
        config: ProviderConfig,
        client: openai.OpenAI,
        batch: LocalBatch,
        directory: Path,
    ) -> ResultFiles:
        """A failed batch has no result files; when its errors name lines, read the requests on
        them from the input file (gone at the provider: none, and every member pays an attempt)."""
        lines = blamed_lines(batch.errors)
        if not lines or not batch.input_file_id:
            return ResultFiles(None, None)
        target = directory / f"{batch.batch_id}.input.jsonl"
        input_id = batch.input_file_id
        try:
            self.caller.run(
                kernel, config, "download", lambda: download_file(client, input_id, target)
            )
            rejected = rejected_requests(target, lines)
        except ProviderCallError as exc:
            if exc.failure.kind != "not_found":
                raise
            kernel.log.warning(
                "batch %s failed validation at lines %s, but its input file %s is gone",
                batch.batch_id,
                sorted(lines),
                input_id,
            )
            return ResultFiles(None, None)
        finally:
            target.unlink(missing_ok=True)
        return ResultFiles(None, None, rejected=rejected)

    @hookimpl
    def discard_submission(self, kernel: KernelAPI, plan: BatchPlan) -> None:
        """Delete input files uploaded for a plan whose batch was never created (never raises;
        what it misses, the sweep deletes later)."""
        if plan.provider != self.DIALECT.name:
            return None
        try:
            config, client = self._setup(kernel)
            self._delete_orphans(kernel, config, client, upload_filename(plan.submission_key), None)
        except Exception as exc:
            kernel.log.warning("could not discard uploads of plan %s: %s", plan.batch_id, exc)

    @hookimpl
    def cleanup_batch(self, kernel: KernelAPI, batch: LocalBatch) -> bool | None:
        """Delete the batch's provider files when ``file_retention`` is ``delete``.

        True when none is left (a 404 counts as gone; with ``keep`` nothing is to be deleted),
        False when one may remain: the kernel tries again later. Never raises.
        """
        if batch.provider != self.DIALECT.name:
            return None
        try:
            config, client = self._setup(kernel)
            if config.file_retention != "delete":
                return True
            output_id, error_id = batch.output_file_id, batch.error_file_id
            if not output_id and not error_id and batch.provider_batch_id:
                output_id, error_id = self._result_files(kernel, batch)
            file_ids = [f for f in (batch.input_file_id, output_id, error_id) if f]
            gone = [self._delete_quietly(kernel, config, client, f) for f in file_ids]
            return all(gone)
        except Exception as exc:
            kernel.log.warning(
                "cleanup of batch %s failed (tried again later): %s", batch.batch_id, exc
            )
            return False

    def _result_files(self, kernel: KernelAPI, batch: LocalBatch) -> tuple[str | None, str | None]:
        """The result file ids the provider reports for a batch adopted after it ended (never
        recorded locally); none when the provider no longer knows the batch."""
        try:
            current = self._retrieve(kernel, batch)
        except ProviderCallError as exc:
            if exc.failure.kind != "not_found":
                raise
            return None, None
        return current.output_file_id, current.error_file_id

    @hookimpl
    def sweep_provider_files(
        self, kernel: KernelAPI, settled: Callable[[Sequence[str]], set[str]]
    ) -> int:
        """Delete every provider file of ours whose batch is over, at most once per
        ``sweep_interval_seconds`` and only with ``file_retention = delete``.

        Ours: input files named ``bk-<submission key>.jsonl`` and result files of batches
        stamped with a submission key. Files of keys no local batch knows (another deployment
        on the same account) are left to expire. Never raises; returns the files deleted.
        """
        try:
            config, client = self._setup(kernel)
            wanted = config.file_retention == "delete"
            started = self.sweeps.due(config.sweep_interval_seconds, enabled=wanted)
            if started is None:
                return 0
            owned = self._owned_files(kernel, config, client)
            over = settled(sorted(set(owned.values())))
            doomed = [file_id for file_id, key in owned.items() if key in over]
            deleted = sum(self._delete_quietly(kernel, config, client, f) for f in doomed)
            self.sweeps.done(started)
        except Exception as exc:
            kernel.log.warning("sweep of provider files failed (tried again later): %s", exc)
            return 0
        report_sweep(kernel, self.DIALECT.name, deleted, len(doomed))
        return deleted

    def _owned_files(
        self, kernel: KernelAPI, config: ProviderConfig, client: openai.OpenAI
    ) -> dict[str, str]:
        """Our files at the provider, by file id, with the submission key each belongs to."""
        owned: dict[str, str] = {}
        for item in self._files(kernel, config, client, "batch"):
            key = key_of_upload(getattr(item, "filename", None))
            if key is not None:
                owned[str(item.id)] = key
        for item in self._files(kernel, config, client, "batch_output"):
            batch_id = batch_of_result(getattr(item, "filename", None))
            key = self._key_of_batch(kernel, config, client, batch_id) if batch_id else None
            if key is not None:
                owned[str(item.id)] = key
        return owned

    def _key_of_batch(
        self, kernel: KernelAPI, config: ProviderConfig, client: openai.OpenAI, batch_id: str
    ) -> str | None:
        """The submission key stamped on provider batch ``batch_id`` (remembered), or ``None``
        (not ours, gone, or not known this time: a failed lookup is tried again next sweep)."""
        if batch_id in self._batch_keys:
            return self._batch_keys[batch_id]
        try:
            batch = self.caller.run(
                kernel, config, "retrieve", lambda: client.batches.retrieve(batch_id)
            )
            key = submission_key_of(batch)
        except ProviderCallError as exc:
            if exc.failure.kind != "not_found":
                kernel.log.warning("sweep: could not look up batch %s: %s", batch_id, exc)
                return None
            key = None
        except ProviderError as exc:
            kernel.log.warning("sweep: could not look up batch %s: %s", batch_id, exc)
            return None
        if len(self._batch_keys) >= KEY_CACHE_SIZE:
            self._batch_keys.clear()
        self._batch_keys[batch_id] = key
        return key

    def _delete_quietly(
        self, kernel: KernelAPI, config: ProviderConfig, client: openai.OpenAI, file_id: str
    ) -> bool:
        """Delete one provider file: True when it is gone (a 404 counts as gone); a failure is
        logged as a warning and answers False."""
        try:
            self.caller.run(kernel, config, "delete", lambda: client.files.delete(file_id))
        except ProviderCallError as exc:
            if exc.failure.kind == "not_found":
                return True
            kernel.log.warning("could not delete provider file %s: %s", file_id, exc)
            return False
        except ProviderError as exc:
            kernel.log.warning("could not delete provider file %s: %s", file_id, exc)
            return False
        return True


def _merge_health(parts: Sequence[Any]) -> dict[str, Any]:
    """Per provider, the part of an instance that has creation paused (the latest end), else
    the newest instance's."""
    merged: dict[str, Any] = {}
    for part in parts:
        for provider, info in (part if isinstance(part, dict) else {}).items():
            if not isinstance(info, dict):
                continue
            current = merged.get(provider)
            paused = info.get("condition") not in (None, "ok")
            if current is None or (
                paused
                and (
                    current.get("condition") in (None, "ok")
                    or str(info.get("until") or "") > str(current.get("until") or "")
                )
            ):
                merged[provider] = dict(info)
    return merged


def _provider_id(batch: LocalBatch, operation: str) -> str:
    """The batch's provider id, or a non-retryable error when it never reached the provider."""
    if not batch.provider_batch_id:
        raise ProviderError(
            f"batch {batch.batch_id} has no provider batch id", retryable=False, operation=operation
        )
    return batch.provider_batch_id


class AzureOpenAIProvider(OpenAIProvider):
    """The same plugin for Azure OpenAI (provider ``azure-openai``, settings ``[azure_openai]``).

    The SDK's ``AzureOpenAI`` client sends every call to ``{endpoint}/openai/files`` and
    ``/openai/batches`` with ``?api-version=`` and the key in an ``api-key`` header; batches
    use the ``/chat/completions`` endpoint and every line names the Global-Batch deployment.
    """

    DIALECT: ClassVar[Dialect] = AZURE_OPENAI
