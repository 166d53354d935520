"""The ``otel`` plugin: spans around the scheduler's cycles, tasks and hook calls; metrics out.

Every span comes from a ``wrapper=True, tryfirst=True`` hook implementation: it is the
outermost layer, so its timing includes any fallback, and an error inside is recorded on the
span and re-raised unchanged. Providers and exporters are built on first use, per plugin instance;
OpenTelemetry itself is imported only then, so a command that records nothing never loads it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.types import (
    ApplySummary,
    BatchPlan,
    Company,
    LocalBatch,
    Metric,
    ProviderBatch,
    ResultFiles,
    RetrySummary,
    SubmittedBatch,
)
from plugins.otel import spans
from plugins.otel.config import TelemetryConfig

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from plugins.otel.instruments import MetricBridge
    from plugins.otel.providers import Telemetry

log = logging.getLogger("batchkernel.otel")
SCOPE = "batchkernel"
TOKENS = "batchkernel.tokens"
COST = "batchkernel.cost"
MIXED = "mixed"


def _set(span: Span | None, attributes: dict[str, Any]) -> None:
    """Add attributes to a span that may be absent (telemetry off or failed to start)."""
    if span is not None and attributes:
        span.set_attributes(attributes)


class OtelPlugin:
    """Traces and metrics of the pipeline through OpenTelemetry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.config: TelemetryConfig | None = None
        self.telemetry: Telemetry | None = None
        self.tracer: Tracer | None = None
        self.bridge: MetricBridge | None = None
        self._counters: dict[str, Any] = {}
        self._broken = False

    def _ready(self, kernel: KernelAPI) -> bool:
        """Build providers and exporters on first use; a failure disables telemetry, not the run."""
        if self.telemetry is not None:
            return True
        if self._broken:
            return False
        with self._lock:
            if self.telemetry is not None:
                return True
            try:
                from plugins.otel.instruments import MetricBridge
                from plugins.otel.providers import build_telemetry

                config = TelemetryConfig.from_settings(kernel.settings)
                telemetry = build_telemetry(config)
                meter = telemetry.meter_provider.get_meter(SCOPE)
                self._counters = {
                    TOKENS: meter.create_counter(
                        TOKENS, unit="{token}", description="Tokens used by applied batches"
                    ),
                    COST: meter.create_counter(
                        COST, unit="{USD}", description="Cost of applied batches, batch prices"
                    ),
                }
                self.bridge = MetricBridge(meter, kernel)
                self.tracer = telemetry.tracer_provider.get_tracer(SCOPE)
                self.config = config
                self.telemetry = telemetry
            except Exception as exc:
                self._broken = True
                log.warning("telemetry disabled: could not start exporters: %s", exc)
                return False
        return True

    @contextmanager
    def _span(
        self,
        kernel: KernelAPI,
        name: str,
        attributes: dict[str, Any],
        client: bool = False,
    ) -> Iterator[Span | None]:
        """A current span for the block (errors recorded, then re-raised), or nothing if off;
        ``client``: a call to the provider (span kind CLIENT, else INTERNAL)."""
        if not self._ready(kernel) or self.tracer is None:
            yield None
            return
        from opentelemetry.trace import SpanKind

        kind = SpanKind.CLIENT if client else SpanKind.INTERNAL
        with self.tracer.start_as_current_span(name, kind=kind, attributes=attributes) as span:
            yield span

    def force_flush(self, timeout_millis: int = 10_000) -> None:
        """Export everything buffered now."""
        if self.telemetry is not None:
            self.telemetry.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Flush and stop exporters and release the read pool."""
        if self.telemetry is not None:
            self.telemetry.shutdown()
        if self.bridge is not None:
            self.bridge.close()

    @hookimpl
    def record_metric(self, kernel: KernelAPI, metric: Metric) -> None:
        """Record a kernel metric on its OTel instrument; never raises."""
        try:
            if self._ready(kernel) and self.bridge is not None:
                self.bridge.record(metric)
        except Exception:
            log.debug("telemetry: metric %s not recorded", metric.name, exc_info=True)

    @hookimpl
    def collect_status(self, kernel: KernelAPI) -> dict[str, Any]:
        """The ``telemetry`` section: exporter, collector and export health."""
        config = self.config or TelemetryConfig.from_settings(kernel.settings)
        section: dict[str, Any] = {
            "exporter": config.exporter,
            "active": self.telemetry is not None,
        }
        if config.exporter == "otlp":
            section.update(protocol=config.protocol, endpoint=config.describe_endpoint())
        if self.telemetry is not None:
            section.update(self.telemetry.health.snapshot())
            section["prometheus"] = self.telemetry.prometheus_url
        return {"telemetry": section}

    @hookimpl(wrapper=True, tryfirst=True)
    def run_cycle(
        self, kernel: KernelAPI, step: Callable[[], dict[str, float]]
    ) -> Generator[None, dict[str, float] | None, dict[str, float] | None]:
        """A ``batchkernel.cycle`` span: the parent of one pass's task spans."""
        with self._span(kernel, "batchkernel.cycle", {}) as span:
            result = yield
            _set(span, spans.count_attributes("batchkernel.cycle", result))
            return result

    @hookimpl(wrapper=True, tryfirst=True)
    def run_task(
        self, kernel: KernelAPI, task: str, step: Callable[[], dict[str, float]]
    ) -> Generator[None, dict[str, float] | None, dict[str, float] | None]:
        """A ``batchkernel.task.<task>`` span with the task's counts."""
        with self._span(kernel, f"batchkernel.task.{task}", {"batchkernel.task": task}) as span:
            result = yield
            _set(span, spans.count_attributes("batchkernel.task", result))
            return result

    @hookimpl(wrapper=True, tryfirst=True)
    def get_companies(self, kernel: KernelAPI) -> Generator[None, Any, Any]:
        """A span with the number of active companies."""
        with self._span(kernel, "batchkernel.get_companies", {}) as span:
            result = yield
            _set(span, {"batchkernel.company.count": len(result or [])})
            return result

    @hookimpl(wrapper=True, tryfirst=True)
    def fetch_pending(
        self, kernel: KernelAPI, companies: Sequence[Company]
    ) -> Generator[None, Any, Any]:
        """A span with companies asked, batches planned and requests claimed."""
        attributes = {"batchkernel.company.count": len(companies)}
        with self._span(kernel, "batchkernel.fetch_pending", attributes) as span:
            result: list[BatchPlan] | None = yield
            plans = result or []
            _set(
                span,
                {
                    "batchkernel.batch.count": len(plans),
                    "batchkernel.request.count": sum(p.request_count for p in plans),
                    "batchkernel.company.ids": sorted({p.company_id for p in plans}),
                },
            )
            return result

    @hookimpl(wrapper=True, tryfirst=True)
    def fetch_inflight(
        self, kernel: KernelAPI, companies: Sequence[Company]
    ) -> Generator[None, Any, Any]:
        """A span with the number of batches in flight."""
        return (yield from self._batches_span(kernel, "batchkernel.fetch_inflight", companies))

    @hookimpl(wrapper=True, tryfirst=True)
    def fetch_finished(
        self, kernel: KernelAPI, companies: Sequence[Company]
    ) -> Generator[None, Any, Any]:
        """A span with the number of ended batches waiting for their results."""
        return (yield from self._batches_span(kernel, "batchkernel.fetch_finished", companies))

    def _batches_span(
        self, kernel: KernelAPI, name: str, companies: Sequence[Company]
    ) -> Generator[None, Any, Any]:
        """Shared body of the two batch-listing wrappers."""
        with self._span(kernel, name, {"batchkernel.company.count": len(companies)}) as span:
            result: list[LocalBatch] | None = yield
            _set(span, {"batchkernel.batch.count": len(result or [])})
            return result

    @hookimpl(wrapper=True, tryfirst=True)
    def record_batch_statuses(
        self, kernel: KernelAPI, updates: Sequence[tuple[LocalBatch, ProviderBatch]]
    ) -> Generator[None, Any, Any]:
        """A span with the statuses stored and the rows they changed."""
        attributes = {"batchkernel.batch.count": len(updates)}
        with self._span(kernel, "batchkernel.record_batch_statuses", attributes) as span:
            result = yield
            _set(span, {"batchkernel.batch.changed": int(result or 0)})
            return result

    @hookimpl(wrapper=True, tryfirst=True)
    def retry_failed(
        self, kernel: KernelAPI, companies: Sequence[Company]
    ) -> Generator[None, Any, Any]:
        """A span with the requests re-queued and closed."""
        attributes = {"batchkernel.company.count": len(companies)}
        with self._span(kernel, "batchkernel.retry_failed", attributes) as span:
            result: RetrySummary | None = yield
            if result is not None:
                _set(
                    span,
                    {
                        "batchkernel.requests.requeued": result.requeued,
                        "batchkernel.requests.failed": result.failed,
                    },
                )
            return result

    @hookimpl(wrapper=True, tryfirst=True)
    def submit_batch(self, kernel: KernelAPI, plan: BatchPlan) -> Generator[None, Any, Any]:
        """A provider-call span for one batch's upload and create."""
        attributes = spans.gen_ai_attributes(
            "submit_batch", plan.model, plan.provider
        ) | spans.plan_attributes(plan)
        name = spans.provider_span_name("submit_batch", plan.model)
        with self._span(kernel, name, attributes, client=True) as span:
            result: SubmittedBatch | None = yield
            if result is not None:
                _set(
                    span,
                    {
                        "gen_ai.batch.id": result.provider_batch_id,
                        "batchkernel.provider.status": result.status,
                    },
                )
            return result

    @hookimpl(wrapper=True, tryfirst=True)
    def poll_batch(self, kernel: KernelAPI, batch: LocalBatch) -> Generator[None, Any, Any]:
        """A provider-call span for one status poll."""
        return (yield from self._batch_call(kernel, "poll_batch", batch))

    @hookimpl(wrapper=True, tryfirst=True)
    def cancel_batch(self, kernel: KernelAPI, batch: LocalBatch) -> Generator[None, Any, Any]:
        """A provider-call span for one cancellation."""
        return (yield from self._batch_call(kernel, "cancel_batch", batch))

    def _batch_call(
        self, kernel: KernelAPI, hook: str, batch: LocalBatch
    ) -> Generator[None, Any, Any]:
        """Shared body of the provider calls that take a local batch and return its status."""
        attributes = spans.gen_ai_attributes(
            hook, batch.model, batch.provider
        ) | spans.batch_attributes(batch)
        name = spans.provider_span_name(hook, batch.model)
        with self._span(kernel, name, attributes, client=True) as span:
            result: ProviderBatch | None = yield
            _set(span, spans.provider_batch_attributes(result))
            return result

    @hookimpl(wrapper=True, tryfirst=True)
    def find_batch(self, kernel: KernelAPI, plan: BatchPlan) -> Generator[None, Any, Any]:
        """A provider-call span for one lookup by submission key."""
        attributes = spans.gen_ai_attributes(
            "find_batch", plan.model, plan.provider
        ) | spans.plan_attributes(plan)
        name = spans.provider_span_name("find_batch", plan.model)
        with self._span(kernel, name, attributes, client=True) as span:
            result: ProviderBatch | None = yield
            _set(span, spans.provider_batch_attributes(result))
            return result

    @hookimpl(wrapper=True, tryfirst=True)
    def download_results(
        self, kernel: KernelAPI, batch: LocalBatch, directory: Path
    ) -> Generator[None, Any, Any]:
        """A provider-call span for downloading one batch's result files."""
        attributes = spans.gen_ai_attributes("download_results", batch.model, batch.provider)
        attributes |= spans.batch_attributes(batch)
        name = spans.provider_span_name("download_results", batch.model)
        with self._span(kernel, name, attributes, client=True) as span:
            result: ResultFiles | None = yield
            _set(span, spans.files_attributes(result))
            return result

    @hookimpl(wrapper=True, tryfirst=True)
    def apply_results(
        self, kernel: KernelAPI, results: Sequence[tuple[LocalBatch, ResultFiles]]
    ) -> Generator[None, Any, Any]:
        """A span for applying a step's batches; their token usage and cost go to the counters."""
        batches = [batch for batch, _files in results]
        models = sorted({b.model for b in batches if b.model})
        providers = sorted({b.provider for b in batches}) or [spans.GEN_AI_SYSTEM]
        attributes: dict[str, Any] = {
            "batchkernel.batch.count": len(batches),
            "batchkernel.batch.ids": [b.batch_id for b in batches],
            "batchkernel.company.ids": sorted({b.company_id for b in batches}),
            **spans.provider_attributes(providers[0] if len(providers) == 1 else MIXED),
        }
        if len(models) == 1:
            attributes["gen_ai.request.model"] = models[0]
        with self._span(kernel, "batchkernel.apply_results", attributes) as span:
            result: ApplySummary | None = yield
            _set(span, spans.apply_attributes(result))
            if result is not None:
                self._count_usage(models, providers, result)
            return result

    def _count_usage(self, models: list[str], providers: list[str], summary: ApplySummary) -> None:
        """Add one apply step's tokens and cost to the counters (``provider``: the batches'
        provider, ``mixed`` when the step applied batches of several)."""
        try:
            base = spans.provider_attributes(providers[0] if len(providers) == 1 else MIXED)
            if len(models) == 1:
                base["gen_ai.request.model"] = models[0]
            tokens = self._counters[TOKENS]
            tokens.add(summary.input_tokens, base | {"gen_ai.token.type": "input"})
            tokens.add(summary.output_tokens, base | {"gen_ai.token.type": "output"})
            self._counters[COST].add(summary.cost_usd, base)
        except Exception:
            log.debug("telemetry: usage not counted", exc_info=True)
