"""Span names and attributes for each wrapped hook (OTel GenAI conventions where they apply)."""

from __future__ import annotations

from typing import Any

from kernel.types import ApplySummary, BatchPlan, LocalBatch, ProviderBatch, ResultFiles

GEN_AI_SYSTEM = "openai"
GEN_AI_PROVIDERS = {"gemini": "gcp.gemini", "azure-openai": "azure.ai.openai"}
"""Our provider names that the GenAI conventions spell otherwise (``gen_ai.provider.name``)."""
OPERATIONS = {
    "submit_batch": "batch.submit",
    "poll_batch": "batch.retrieve",
    "find_batch": "batch.find",
    "download_results": "batch.download",
    "cancel_batch": "batch.cancel",
}
"""Provider hooks and the ``gen_ai.operation.name`` each one's span carries."""


def provider_span_name(hook: str, model: str) -> str:
    """GenAI style: ``{operation} {model}`` (just the operation when the model is unknown)."""
    operation = OPERATIONS[hook]
    return f"{operation} {model}" if model else operation


def provider_attributes(provider: str) -> dict[str, Any]:
    """The provider of a batch: GenAI's name for it, and ours (the metrics' ``provider`` label)."""
    name = GEN_AI_PROVIDERS.get(provider, provider)
    return {"gen_ai.system": name, "gen_ai.provider.name": name, "provider": provider}


def gen_ai_attributes(hook: str, model: str, provider: str = GEN_AI_SYSTEM) -> dict[str, Any]:
    """The GenAI attributes every provider-call span has."""
    attributes: dict[str, Any] = {
        **provider_attributes(provider),
        "gen_ai.operation.name": OPERATIONS[hook],
    }
    if model:
        attributes["gen_ai.request.model"] = model
    return attributes


def plan_attributes(plan: BatchPlan) -> dict[str, Any]:
    """A planned batch: company, batch, size."""
    return {
        "batchkernel.company.id": plan.company_id,
        "batchkernel.batch.id": plan.batch_id,
        "batchkernel.batch.request_count": plan.request_count,
        "batchkernel.batch.input_bytes": plan.input_bytes,
        "batchkernel.batch.estimated_input_tokens": plan.estimated_input_tokens,
    }


def batch_attributes(batch: LocalBatch) -> dict[str, Any]:
    """A local batch: company, batch, provider id, local status."""
    attributes: dict[str, Any] = {
        "batchkernel.company.id": batch.company_id,
        "batchkernel.batch.id": batch.batch_id,
        "batchkernel.batch.status": str(batch.status),
    }
    if batch.provider_batch_id:
        attributes["gen_ai.batch.id"] = batch.provider_batch_id
    return attributes


def provider_batch_attributes(result: ProviderBatch | None) -> dict[str, Any]:
    """What the provider answered: status and request counts."""
    if result is None:
        return {"batchkernel.provider.found": False}
    return {
        "gen_ai.batch.id": result.provider_batch_id,
        "batchkernel.provider.status": result.status,
        "batchkernel.batch.requests.total": result.total,
        "batchkernel.batch.requests.completed": result.completed,
        "batchkernel.batch.requests.failed": result.failed,
    }


def files_attributes(files: ResultFiles | None) -> dict[str, Any]:
    """Which result files arrived."""
    if files is None:
        return {}
    return {
        "batchkernel.results.output_file": files.output_path is not None,
        "batchkernel.results.error_file": files.error_path is not None,
        "batchkernel.results.missing_files": len(files.missing),
    }


def apply_attributes(summary: ApplySummary | None) -> dict[str, Any]:
    """What applying results did, with token usage in GenAI terms."""
    if summary is None:
        return {}
    return {
        "gen_ai.usage.input_tokens": summary.input_tokens,
        "gen_ai.usage.output_tokens": summary.output_tokens,
        "batchkernel.requests.completed": summary.completed,
        "batchkernel.requests.failed": summary.failed,
        "batchkernel.requests.requeued": summary.requeued,
        "batchkernel.results.ignored_lines": summary.ignored_lines,
        "batchkernel.cost.usd": summary.cost_usd,
        "batchkernel.batches.already_applied": summary.already_applied,
    }


def count_attributes(prefix: str, counts: dict[str, float] | None) -> dict[str, Any]:
    """A task's or cycle's counts as ``{prefix}.{name}`` attributes."""
    return {f"{prefix}.{name}": value for name, value in (counts or {}).items()}
