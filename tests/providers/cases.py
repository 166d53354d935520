"""Every provider plugin under the contract suite: how to start its emulator, point a kernel at
it, speak its fault vocabulary and read its ledger, so that one scenario runs on all of them.

A new provider joins the suite by adding a :class:`ProviderCase` to :data:`CASES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

ALIASES = ("create", "poll", "upload", "download", "list")
"""The operations a scenario names: create a batch, poll it, upload input, download results,
list batches (the health check's call)."""

NEUTRAL_STATUS = {
    "completed": "completed",
    "failed": "failed",
    "expired": "expired",
    "cancelled": "cancelled",
    "JOB_STATE_SUCCEEDED": "completed",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_EXPIRED": "expired",
    "JOB_STATE_CANCELLED": "cancelled",
    "BATCH_STATE_SUCCEEDED": "completed",
    "BATCH_STATE_FAILED": "failed",
    "BATCH_STATE_EXPIRED": "expired",
    "BATCH_STATE_CANCELLED": "cancelled",
}
"""Each emulator's terminal batch states as the suite's words; anything else is ``running``."""


@dataclass(frozen=True)
class LedgerBatch:
    """One batch the provider's emulator made, in the suite's words."""

    id: str
    status: str
    request_ids: tuple[str, ...]


@dataclass(frozen=True)
class ProviderCase:
    """A provider plugin and its emulator, as the suite drives them."""

    name: str
    """The provider name (``plugins.provider``)."""
    section: str
    """The plugin's settings section."""
    url_key: str
    """The setting (in ``section``) that points the plugin at the emulator."""
    server: str
    """The emulator server class, ``module:Class``."""
    config: str
    """The emulator config class, ``module:Class``."""
    operations: Mapping[str, str]
    """The emulator's operation name for each of :data:`ALIASES` it has."""
    line_errors: Callable[[bool], dict[str, Any]]
    """Emulator knobs that make result lines fail: retryable (server-side) or final."""
    ledger_batch: Callable[[Mapping[str, Any]], LedgerBatch]
    """One ledger entry of the emulator as a :class:`LedgerBatch`."""
    leftovers: Callable[[Mapping[str, Any]], list[str]]
    """What the provider still keeps of ours after cleanup (files, batches), from the ledger."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Emulator knobs every scenario starts from."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Plugin settings every scenario starts from (fast retries, the emulator's deployment)."""
    no_retries: Mapping[str, Any] = field(default_factory=dict)
    """Plugin settings under which a failing call fails at once and, where the plugin has
    breakers, opens its circuit after two failures."""
    retention: str = "file_retention"
    """The setting (``delete`` or ``keep``) that says whether what the provider keeps of an
    applied batch is deleted."""

    def emulator(self, faults: Mapping[str, Any]) -> Any:
        """A started emulator with ``faults`` (operation aliases translated)."""
        server_class = _load(self.server)
        config_class = _load(self.config)
        knobs = {**self.defaults, **{k: self._translate(k, v) for k, v in faults.items()}}
        return server_class(config_class(**knobs), host="127.0.0.1", port=0).start()

    def _translate(self, knob: str, value: Any) -> Any:
        """``first_429={"create": 2}`` in this emulator's operation names; ops it lacks dropped."""
        if knob.startswith("first_") and isinstance(value, Mapping):
            return {self.operations[op]: n for op, n in value.items() if op in self.operations}
        return value

    def kernel_settings(self, server: Any) -> dict[str, Any]:
        """Settings that put this provider, pointed at ``server``, behind the pipeline."""
        section = self.section
        return {
            "plugins__provider": self.name,
            f"{section}__{self.url_key}": server.base_url,
            f"{section}__api_key": "test-key",
            **self.prefixed(self.settings),
        }

    def prefixed(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Settings of this plugin's section as ``section__key`` overrides."""
        return {f"{self.section}__{key}": value for key, value in settings.items()}

    def batches(self, server: Any) -> list[LedgerBatch]:
        """Every batch the emulator ever made."""
        return [self.ledger_batch(entry) for entry in server.ledger()["batches"]]

    def remaining(self, server: Any) -> list[str]:
        """What of ours the provider still keeps."""
        return self.leftovers(server.ledger())

    def injected(self, server: Any, fault: str) -> int:
        """How many faults of a kind (``429``, ``500``, ``lost_create``, ``expire``...) were
        injected."""
        return sum(1 for f in server.ledger()["faults"] if f["fault"] == fault)


def _load(target: str) -> Any:
    """Import ``module:attribute``."""
    import importlib

    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _openai_batch(entry: Mapping[str, Any]) -> LedgerBatch:
    """An OpenAI (or Azure) emulator ledger entry."""
    status = str(entry["status"])
    return LedgerBatch(
        str(entry["id"]), NEUTRAL_STATUS.get(status, "running"), tuple(entry["custom_ids"])
    )


def _openai_leftovers(ledger: Mapping[str, Any]) -> list[str]:
    """Files not deleted (input, output and error files)."""
    return [f"file {f['id']}" for f in ledger["files"] if not f["deleted"]]


def _openai_line_errors(retryable: bool) -> dict[str, Any]:
    """Error-file lines: 500 (retried) or 400 (final)."""
    return {"rate_line_error": 0.25, "line_error_status": 500 if retryable else 400}


def _gemini_batch(entry: Mapping[str, Any]) -> LedgerBatch:
    """A Gemini emulator ledger entry (the request ids are the keys)."""
    status = str(entry["state"])
    return LedgerBatch(
        str(entry["name"]), NEUTRAL_STATUS.get(status, "running"), tuple(entry["keys"])
    )


def _gemini_leftovers(ledger: Mapping[str, Any]) -> list[str]:
    """Files and batch jobs not deleted."""
    files = [f"file {f['name']}" for f in ledger["files"] if not f["deleted"]]
    return files + [f"batch {b['name']}" for b in ledger["batches"] if not b["deleted"]]


def _anthropic_batch(entry: Mapping[str, Any]) -> LedgerBatch:
    """An Anthropic emulator ledger entry: an ended batch is cancelled, expired or completed by
    its request counts; request ids are the custom ids without the per-batch tag."""
    status = "running"
    if entry["processing_status"] == "ended":
        counts = entry.get("request_counts") or {}
        status = (
            "cancelled"
            if counts.get("canceled")
            else "expired"
            if counts.get("expired")
            else "completed"
        )
    ids = tuple(str(cid).partition("_")[2] for cid in entry["custom_ids"])
    return LedgerBatch(str(entry["id"]), status, ids)


def _anthropic_leftovers(ledger: Mapping[str, Any]) -> list[str]:
    """Batches not deleted (nothing is uploaded)."""
    return [f"batch {b['id']}" for b in ledger["batches"] if not b["deleted"]]


def _anthropic_line_errors(retryable: bool) -> dict[str, Any]:
    """``errored`` results: overloaded (retried) or an invalid request (final)."""
    kind = "overloaded_error" if retryable else "invalid_request_error"
    return {"rate_line_error": 0.25, "line_error_type": kind}


FAST = {"backoff_base_seconds": 0.01, "backoff_max_seconds": 0.2, "max_retries": 3}
"""Our retry loop, quick: the OpenAI and Gemini plugins."""
NO_RETRIES = {"max_retries": 0, "circuit_failure_threshold": 2, "circuit_reset_seconds": 0.2}

OPENAI = ProviderCase(
    name="openai",
    section="openai",
    url_key="base_url",
    server="plugins.emulator:EmulatorServer",
    config="plugins.emulator:EmulatorConfig",
    operations={
        "create": "batches.create",
        "poll": "batches.retrieve",
        "upload": "files.create",
        "download": "files.content",
        "list": "batches.list",
    },
    line_errors=_openai_line_errors,
    ledger_batch=_openai_batch,
    leftovers=_openai_leftovers,
    defaults={"seed": 1},
    settings=FAST,
    no_retries=NO_RETRIES,
)

AZURE_OPENAI = ProviderCase(
    name="azure-openai",
    section="azure_openai",
    url_key="endpoint",
    server="plugins.emulator:AzureEmulatorServer",
    config="plugins.emulator:EmulatorConfig",
    operations=OPENAI.operations,
    line_errors=_openai_line_errors,
    ledger_batch=_openai_batch,
    leftovers=_openai_leftovers,
    defaults={"seed": 1, "azure_deployments": ("contract-global-batch",)},
    settings={**FAST, "deployment": "contract-global-batch"},
    no_retries=NO_RETRIES,
)

GEMINI = ProviderCase(
    name="gemini",
    section="gemini",
    url_key="base_url",
    server="plugins.emulator_gemini:GeminiEmulatorServer",
    config="plugins.emulator_gemini:GeminiEmulatorConfig",
    operations={
        "create": "batches.create",
        "poll": "batches.get",
        "upload": "files.upload",
        "download": "files.download",
        "list": "batches.list",
    },
    line_errors=_openai_line_errors,
    ledger_batch=_gemini_batch,
    leftovers=_gemini_leftovers,
    defaults={"seed": 1},
    settings={**FAST, "inline_max_bytes": 0},
    no_retries=NO_RETRIES,
)

ANTHROPIC = ProviderCase(
    name="anthropic",
    section="anthropic",
    url_key="base_url",
    server="plugins.emulator_anthropic:AnthropicEmulatorServer",
    config="plugins.emulator_anthropic:AnthropicEmulatorConfig",
    operations={
        "create": "batches.create",
        "poll": "batches.retrieve",
        "download": "batches.results",
        "list": "batches.list",
    },
    line_errors=_anthropic_line_errors,
    ledger_batch=_anthropic_batch,
    leftovers=_anthropic_leftovers,
    defaults={"seed": 1, "retry_after_seconds": 0.01},
    settings={"max_retries": 3, "create_retries": 3},
    no_retries={"max_retries": 0},
    retention="batch_retention",
)

CASES: tuple[ProviderCase, ...] = (OPENAI, AZURE_OPENAI, GEMINI, ANTHROPIC)
"""Every provider plugin the suite accepts."""
