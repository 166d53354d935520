"""The ``anthropic`` provider plugin: the provider hooks over the official SDK's Message Batches.

Reads, cancels and deletes use the SDK's own retries (429 and 529 wait their ``retry-after``).
A create never does: the SDK sends no idempotency key, so a create whose answer was lost would be
made twice. It runs with ``max_retries=0``, retries only answers that prove nothing was created
(429, 529), and after a lost answer the batch is looked up by the tag its custom ids carry
(:mod:`plugins.anthropic_provider.lookup`). Hooks answer only for provider ``anthropic``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
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
from plugins.anthropic_provider.client import ClientHolder
from plugins.anthropic_provider.config import AnthropicConfig
from plugins.anthropic_provider.customids import LOCAL_PATTERN, MAX_LOCAL_LENGTH, split, tag_of
from plugins.anthropic_provider.encoding import AnthropicEncoder
from plugins.anthropic_provider.errors import error_type, is_quota, retry_after, to_provider_error
from plugins.anthropic_provider.lookup import Lookup, find_tagged, first_tag_of_lines
from plugins.anthropic_provider.mapping import status_of, to_provider_batch, to_result
from plugins.anthropic_provider.submission import batch_requests
from plugins.common.exchange import LLMResult, ProviderLimits
from plugins.common.hookspecs import HealthCheck
from plugins.common.sweeps import SweepSchedule, report_sweep

if TYPE_CHECKING:
    import anthropic
    from anthropic.types.messages.batch_create_params import Request

NAME = "anthropic"
MAX_REQUESTS = 100_000
MAX_BYTES = 250_000_000
"""Below the 256 MB create body: room for the tags and the JSON around the records."""
PAGE_SIZE = 100
CREATE_SKEW_SECONDS = 300
"""A batch made by a lost create is no older than the call less this (server clock skew)."""
KNOWN_LIMIT = 10_000
BYTES = "batchkernel.provider.bytes"


class AnthropicProvider:
    """Submits, polls, downloads, cancels and deletes Message Batches. ``clock`` and ``sleep``
    are plain attributes so tests can replace them."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self._clients = ClientHolder()
        self._lock = threading.Lock()
        self._created: dict[str, str] = {}
        """Provider batch id → submission key of the batches this process created."""
        self._unknown: set[str] = set()
        self._quota_until = 0.0
        self._quota_reason = ""
        self._tags: dict[str, str | None] = {}
        """Provider batch id → the tag of its first result line (None: none of ours)."""
        self.sweeps = SweepSchedule(lambda: self.clock())
        self.page_size = PAGE_SIZE

    def _setup(self, kernel: Any) -> tuple[AnthropicConfig, anthropic.Anthropic]:
        """Current settings and client."""
        config = AnthropicConfig.from_settings(kernel.settings)
        return config, self._clients.get(config)

    # What run and doctor check, and what the banner says

    @hookimpl
    def health_checks(self, kernel: Any, remote: bool) -> list[HealthCheck]:
        """The key is set; with ``remote``, the endpoint answers a list call and knows the model."""
        from plugins.anthropic_provider.health import checks

        return checks(kernel.settings, remote=remote)

    @hookimpl
    def describe_setup(self, kernel: Any) -> dict[str, str]:
        """The banner's provider line: name, endpoint, model, whether a key is set."""
        from plugins.anthropic_provider.health import setup_facts

        return setup_facts(kernel.settings)

    # What the processors need before a batch exists

    @hookimpl
    def provider_limits(self, kernel: Any, provider: str) -> ProviderLimits | None:
        """100,000 requests or 256 MB a batch; request ids short enough to carry the tag."""
        if provider != NAME:
            return None
        return ProviderLimits(
            max_requests=MAX_REQUESTS,
            max_bytes=MAX_BYTES,
            custom_id_max_length=MAX_LOCAL_LENGTH,
            custom_id_pattern=LOCAL_PATTERN,
        )

    @hookimpl
    def request_encoder(self, kernel: Any, provider: str, model: str) -> AnthropicEncoder | None:
        """The encoder of ``{custom_id, params}`` records for ``model``."""
        if provider != NAME:
            return None
        return AnthropicEncoder(AnthropicConfig.from_settings(kernel.settings), model)

    @hookimpl
    def provider_health(self, kernel: Any, provider: str) -> ProviderHealth | None:
        """``config`` without a key, ``quota`` during the cool-down after a billing refusal."""
        if provider != NAME:
            return None
        config = AnthropicConfig.from_settings(kernel.settings)
        if not config.api_key:
            return ProviderHealth(NAME, "config", "anthropic.api_key is empty")
        with self._lock:
            until, reason = self._quota_until, self._quota_reason
        if until > self.clock():
            from datetime import UTC, datetime

            return ProviderHealth(NAME, "quota", reason, datetime.fromtimestamp(until, UTC))
        return ProviderHealth(NAME, "ok")

    # Submission

    @hookimpl
    def submit_batch(self, kernel: Any, plan: BatchPlan) -> SubmittedBatch | None:
        """Create the plan's batch; adopt, never duplicate, one whose create answer was lost."""
        if plan.provider != NAME:
            return None
        config, client = self._setup(kernel)
        key = plan.submission_key
        if key in self._unknown:
            found = self._lookup(kernel, config, client, plan, self._plan_cutoff(plan, config))
            if found.batch is not None:
                return self._adopted(kernel, plan, found.batch)
            if found.undecided:
                raise ProviderError(
                    f"batch {plan.batch_id}: an earlier create may have succeeded; "
                    f"{found.undecided} running batch(es) could be it, looking again once they end",
                    retryable=True,
                    operation="create",
                )
            self._unknown.discard(key)
        self._check_quota()
        requests = batch_requests(Path(plan.input_path), tag_of(key))
        batch = self._create(kernel, config, client, plan, requests)
        with self._lock:
            if len(self._created) >= KNOWN_LIMIT:
                self._created.clear()
            self._created[batch.id] = key
        kernel.metric(
            BYTES, plan.input_bytes, kind="counter", unit="By", direction="upload", provider=NAME
        )
        return SubmittedBatch(batch.id, "", status_of(batch))

    def _create(
        self,
        kernel: Any,
        config: AnthropicConfig,
        client: anthropic.Anthropic,
        plan: BatchPlan,
        requests: list[Request],
    ) -> Any:
        """One create, retried only while the answer proves nothing was made (429, 529)."""
        import anthropic

        creator = client.with_options(max_retries=0)
        for attempt in range(config.create_retries + 1):
            try:
                return creator.messages.batches.create(requests=requests)
            except anthropic.APIStatusError as exc:
                status, kind, message = error_type(exc)
                if is_quota(status, kind, message):
                    self._quota(config, message)
                if status in (429, 529) and attempt < config.create_retries:
                    wait = retry_after(exc)
                    wait = wait if wait is not None else min(30.0, 2.0**attempt) * random.random()
                    if wait <= config.max_retry_wait_seconds:
                        kernel.log.info(
                            "anthropic create answered %s; again in %.1fs", status, wait
                        )
                        self.sleep(wait)
                        continue
                if status is not None and status >= 500 and status != 529:
                    raise self._ambiguous(kernel, plan, exc) from exc
                raise to_provider_error(exc, "create") from exc
            except anthropic.APIConnectionError as exc:
                raise self._ambiguous(kernel, plan, exc) from exc
        raise AssertionError("unreachable")

    def _ambiguous(self, kernel: Any, plan: BatchPlan, exc: Exception) -> ProviderError:
        """After a create whose outcome is unknown: remember it; the plan waits for the lookup."""
        self._unknown.add(plan.submission_key)
        kernel.log.warning(
            "anthropic create for batch %s: outcome unknown (%s); it will be looked up by its tag",
            plan.batch_id,
            type(exc).__name__,
        )
        return ProviderError(
            f"anthropic create for batch {plan.batch_id}: outcome unknown ({exc})",
            retryable=True,
            operation="create",
        )

    def _check_quota(self) -> None:
        """Refuse a create during the cool-down after a billing refusal."""
        with self._lock:
            until, reason = self._quota_until, self._quota_reason
        if until > self.clock():
            raise ProviderError(
                f"anthropic: quota exhausted ({reason}); no batch is sent until the cool-down ends",
                retryable=False,
                operation="create",
                condition="quota",
            )

    def _quota(self, config: AnthropicConfig, reason: str) -> None:
        """Start the quota cool-down."""
        with self._lock:
            self._quota_until = self.clock() + config.quota_cooldown_seconds
            self._quota_reason = reason[:200]

    # Finding a lost create

    @hookimpl
    def find_batch(self, kernel: Any, plan: BatchPlan) -> ProviderBatch | None:
        """The batch made for ``plan``, or None when none was; a retryable error while running
        candidates cannot be judged yet."""
        if plan.provider != NAME:
            return None
        config, client = self._setup(kernel)
        found = self._lookup(kernel, config, client, plan, self._plan_cutoff(plan, config))
        if found.batch is not None:
            self._unknown.discard(plan.submission_key)
            return to_provider_batch(found.batch)
        if found.undecided:
            raise ProviderError(
                f"batch {plan.batch_id}: {found.undecided} running batch(es) of "
                f"{plan.request_count} requests could be its lost create; looking again once "
                "they end",
                retryable=True,
                operation="list",
            )
        self._unknown.discard(plan.submission_key)
        return None

    def _lookup(
        self,
        kernel: Any,
        config: AnthropicConfig,
        client: anthropic.Anthropic,
        plan: BatchPlan,
        not_before: float | None,
    ) -> Lookup:
        """Search the batch list for the plan's batch (see :mod:`lookup`)."""
        with self._lock:
            others = {bid for bid, key in self._created.items() if key != plan.submission_key}
        try:
            return find_tagged(
                client.messages.batches.list(limit=PAGE_SIZE),
                tag_of(plan.submission_key),
                plan.request_count,
                not_before,
                lambda batch_id: self._first_tag(client, batch_id),
                others,
            )
        except ProviderError:
            raise
        except Exception as exc:
            raise self._error(exc, "list") from exc

    def _first_tag(self, client: anthropic.Anthropic, batch_id: str) -> str | None:
        """The tag on an ended batch's first readable result line."""
        with client.messages.batches.with_streaming_response.results(batch_id) as response:
            return first_tag_of_lines(response.iter_lines())

    def _adopted(self, kernel: Any, plan: BatchPlan, batch: Any) -> SubmittedBatch:
        """Take over the batch a lost create made."""
        self._unknown.discard(plan.submission_key)
        kernel.log.warning("batch %s: adopting %s made by a lost create", plan.batch_id, batch.id)
        return SubmittedBatch(batch.id, "", status_of(batch))

    @staticmethod
    def _plan_cutoff(plan: BatchPlan, config: AnthropicConfig) -> float | None:
        """The oldest creation time the plan's batch can have: its file's mtime less a margin."""
        try:
            return Path(plan.input_path).stat().st_mtime - config.lookup_margin_seconds
        except OSError:
            return None

    # In flight and after

    @hookimpl
    def poll_batch(self, kernel: Any, batch: LocalBatch) -> ProviderBatch | None:
        """Retrieve one batch's status."""
        if batch.provider != NAME:
            return None
        _, client = self._setup(kernel)
        batch_id = _provider_id(batch, "retrieve")
        return self._call(
            "retrieve", lambda: to_provider_batch(client.messages.batches.retrieve(batch_id))
        )

    @hookimpl
    def cancel_batch(self, kernel: Any, batch: LocalBatch) -> ProviderBatch | None:
        """Ask for cancellation; a batch that already ended is returned as it is."""
        if batch.provider != NAME:
            return None
        _, client = self._setup(kernel)
        batch_id = _provider_id(batch, "cancel")
        try:
            return self._call(
                "cancel", lambda: to_provider_batch(client.messages.batches.cancel(batch_id))
            )
        except ProviderError as exc:
            if exc.retryable:
                raise
            current = self.poll_batch(kernel, batch)
            if current is not None and current.status in ("completed", "expired", "cancelled"):
                return current
            raise

    @hookimpl
    def download_results(
        self, kernel: Any, batch: LocalBatch, directory: Path
    ) -> ResultFiles | None:
        """Stream the results JSONL to ``directory/<batch_id>.output.jsonl`` (no error file:
        errors are result lines too)."""
        if batch.provider != NAME:
            return None
        import anthropic

        _, client = self._setup(kernel)
        batch_id = _provider_id(batch, "download")
        target = Path(directory) / f"{batch.batch_id}.output.jsonl"
        try:
            with client.messages.batches.with_streaming_response.results(batch_id) as response:
                size = 0
                with target.open("wb") as handle:
                    for chunk in response.iter_bytes():
                        handle.write(chunk)
                        size += len(chunk)
        except anthropic.NotFoundError:
            kernel.log.warning("batch %s: %s is gone at Anthropic", batch.batch_id, batch_id)
            return ResultFiles(output_path=None, error_path=None, missing=(batch_id,))
        except Exception as exc:
            target.unlink(missing_ok=True)
            raise self._error(exc, "download") from exc
        kernel.metric(BYTES, size, kind="counter", unit="By", direction="download", provider=NAME)
        return ResultFiles(output_path=target, error_path=None)

    @hookimpl
    def read_results(
        self, kernel: Any, batch: LocalBatch, files: ResultFiles
    ) -> Iterator[LLMResult] | None:
        """The batch's results by request id, in the file's (any) order."""
        if batch.provider != NAME:
            return None
        return self._read(kernel, batch, files)

    def _read(self, kernel: Any, batch: LocalBatch, files: ResultFiles) -> Iterator[LLMResult]:
        """Stream the decoded lines; a line tied to no request of this batch (not JSON, another
        tag, a repeat) comes with an empty ``custom_id`` and the reason in ``error``."""
        if files.output_path is None:
            return
        path = Path(files.output_path)
        tag = tag_of(batch.submission_key)
        seen: set[str] = set()
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                raw = raw.strip()
                if not raw:
                    continue
                where = f"{path.name} line {number}"
                try:
                    record = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    yield LLMResult("", "fail", error=f"{where}: not JSON: {exc}")
                    continue
                custom_id = record.get("custom_id") if isinstance(record, dict) else None
                result = record.get("result") if isinstance(record, dict) else None
                parts = split(custom_id) if isinstance(custom_id, str) else None
                if parts is None or parts[0] != tag or not isinstance(result, dict):
                    yield LLMResult(
                        "", "fail", error=f"{where}: custom_id {custom_id!r} is not ours"
                    )
                    continue
                if parts[1] in seen:
                    yield LLMResult("", "fail", error=f"{where}: repeats {parts[1]}")
                    continue
                seen.add(parts[1])
                yield to_result(parts[1], result, raw)

    @hookimpl
    def discard_submission(self, kernel: Any, plan: BatchPlan) -> None:
        """Nothing to discard: a create uploads no file."""

    @hookimpl
    def cleanup_batch(self, kernel: Any, batch: LocalBatch) -> bool | None:
        """Delete the ended batch (and its results) when ``anthropic.batch_retention`` is
        ``delete``; True when it is gone (a 404 counts as gone). Never raises."""
        if batch.provider != NAME:
            return None
        try:
            config, client = self._setup(kernel)
            if config.batch_retention != "delete" or not batch.provider_batch_id:
                return True
            return self._delete_quietly(kernel, client, batch.provider_batch_id)
        except Exception as exc:
            kernel.log.warning(
                "cleanup of batch %s failed (tried again later): %s", batch.batch_id, exc
            )
            return False

    @hookimpl
    def sweep_provider_files(
        self, kernel: Any, settled: Callable[[Sequence[str]], set[str]]
    ) -> int:
        """Delete every ended batch of ours whose local batch is over, at most once per
        ``sweep_interval_seconds`` and only with ``batch_retention = delete``.

        Ours: a batch a local batch recorded, or whose first result line carries the tag of a
        local batch that recorded none (a lost create; see :mod:`.owners`). Batches of keys no
        local batch knows are left alone. Every page of the list is read; never raises; returns
        the batches deleted.
        """
        try:
            config, client = self._setup(kernel)
            wanted = config.batch_retention == "delete"
            started = self.sweeps.due(config.sweep_interval_seconds, enabled=wanted)
            if started is None:
                return 0
            ended = [
                str(batch.id)
                for batch in client.messages.batches.list(limit=self.page_size)
                if batch.processing_status == "ended"
            ]
            owned = self._owners(kernel, client, ended)
            over = settled(sorted(set(owned.values())))
            doomed = [batch_id for batch_id, key in owned.items() if key in over]
            deleted = sum(self._delete_quietly(kernel, client, batch_id) for batch_id in doomed)
            self.sweeps.done(started)
        except Exception as exc:
            kernel.log.warning("sweep of anthropic batches failed (tried again later): %s", exc)
            return 0
        report_sweep(kernel, NAME, deleted, len(doomed))
        return deleted

    def _owners(
        self, kernel: Any, client: anthropic.Anthropic, batch_ids: Sequence[str]
    ) -> dict[str, str]:
        """Submission key by provider batch id, for the ended batches that are ours."""
        from plugins.anthropic_provider.owners import recorded_keys, unplaced_tags

        owned = recorded_keys(kernel, batch_ids)
        wanted = set(batch_ids)
        with self._lock:
            owned.update({bid: key for bid, key in self._created.items() if bid in wanted})
        rest = [batch_id for batch_id in batch_ids if batch_id not in owned]
        if not rest:
            return owned
        tags = unplaced_tags(kernel)
        for batch_id in rest:
            tag = self._tag_of_batch(kernel, client, batch_id)
            if tag is not None and tag in tags:
                owned[batch_id] = tags[tag]
        return owned

    def _tag_of_batch(self, kernel: Any, client: anthropic.Anthropic, batch_id: str) -> str | None:
        """The tag on an ended batch's results (remembered: they never change); None when it
        carries none or cannot be read now (tried again next sweep)."""
        if batch_id in self._tags:
            return self._tags[batch_id]
        try:
            tag = self._first_tag(client, batch_id)
        except Exception as exc:
            kernel.log.warning("sweep: could not read the results of %s: %s", batch_id, exc)
            return None
        if len(self._tags) >= KNOWN_LIMIT:
            self._tags.clear()
        self._tags[batch_id] = tag
        return tag

    def _delete_quietly(self, kernel: Any, client: anthropic.Anthropic, batch_id: str) -> bool:
        """Delete one ended batch: True when it is gone (a 404 counts); a failure is a warning."""
        import anthropic

        try:
            client.messages.batches.delete(batch_id)
        except anthropic.NotFoundError:
            return True
        except Exception as exc:
            kernel.log.warning("could not delete anthropic batch %s: %s", batch_id, exc)
            return False
        return True

    def _call(self, operation: str, call: Callable[[], ProviderBatch]) -> ProviderBatch:
        """One SDK call (its own retries inside), failures as ProviderError."""
        try:
            return call()
        except Exception as exc:
            raise self._error(exc, operation) from exc

    def _error(self, exc: Exception, operation: str) -> ProviderError:
        """Any failure of an SDK call as ProviderError."""
        if isinstance(exc, ProviderError):
            return exc
        import anthropic

        if isinstance(exc, anthropic.APIError):
            return to_provider_error(exc, operation)
        return ProviderError(f"anthropic {operation}: {exc}", retryable=True, operation=operation)


def _provider_id(batch: LocalBatch, operation: str) -> str:
    """The batch's provider id, or a non-retryable error when it never reached the provider."""
    if not batch.provider_batch_id:
        raise ProviderError(
            f"batch {batch.batch_id} has no provider batch id", retryable=False, operation=operation
        )
    return batch.provider_batch_id
