"""Hooks that plugins call of each other, not the kernel: tasks, the providers' encoding and
reading of requests and results, routing, cache invalidation, health checks and the banner's
facts (``run``, ``doctor``), the merge of status sections (the monitoring snapshot) and the
benchmark's probes (``bench``), with the data they exchange; declared by the processors'
settings module. Typed calls of the first ones: :mod:`plugins.common.calls`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kernel import hookspec

if TYPE_CHECKING:
    from kernel.api import KernelAPI
    from kernel.types import Company, LocalBatch, ResultFiles
    from plugins.common.exchange import LLMResult, ProviderLimits, RequestEncoder, TaskSpec


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One check of ``doctor`` and of ``run`` before it claims work: what was found, the fix, and
    whether a failure stops ``run`` (``blocking``) or is only reported."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    blocking: bool = True


@dataclass(frozen=True, slots=True)
class Probe:
    """A function a benchmark times, ``owner.attribute``; ``sign`` -1 subtracts its cost (it runs
    inside another probed function but belongs to another stage)."""

    owner: Any
    attribute: str
    sign: int = 1


class TaskHookSpec:
    """Tasks: what the model is asked about a session, and the schema of its answer."""

    @hookspec
    def register_tasks(self, kernel: KernelAPI) -> Sequence[TaskSpec] | None:
        """The tasks this plugin defines; a name defined twice is an error."""

    @hookspec
    def task_problems(self, kernel: KernelAPI, task: TaskSpec) -> list[str] | None:
        """What this plugin cannot take in ``task`` (the processors: its name, instructions and
        params; a provider: its schema rules), each a phrase put after the task's name."""


class ExchangeSpec:
    """How a processor's neutral requests reach a provider and its answers come back; each
    provider plugin answers only for its own name."""

    @hookspec(firstresult=True)
    def provider_limits(self, kernel: KernelAPI, provider: str) -> ProviderLimits | None:
        """What one batch may hold at ``provider``; processors never plan above it."""

    @hookspec(firstresult=True)
    def request_encoder(
        self, kernel: KernelAPI, provider: str, model: str
    ) -> RequestEncoder | None:
        """The encoder of neutral requests for ``model`` at ``provider``; ``None``: not mine."""

    @hookspec(firstresult=True)
    def read_results(
        self, kernel: KernelAPI, batch: LocalBatch, files: ResultFiles
    ) -> Iterable[LLMResult] | None:
        """Stream the neutral results of a batch's downloaded files; ``None``: not its batch."""

    @hookspec(firstresult=True)
    def route_companies(
        self, kernel: KernelAPI, companies: Sequence[Company]
    ) -> dict[str, str] | None:
        """The provider for each company's new batches, ``{company id: name}``; left out: none."""


class WorkLeftSpec:
    """What is still to do: ``run --until-idle`` (:mod:`plugins.common.until_idle`) asks after
    each pass."""

    @hookspec(firstresult=True)
    def work_left(self, kernel: KernelAPI) -> dict[str, int] | None:
        """What is still to do, counted by kind (pending, in flight, batches not settled or not
        cleaned); all zero: the drain is done."""


class CompanyEventSpec:
    """Told when companies change, so what is kept about them (a cache) is dropped."""

    @hookspec
    def companies_changed(self, kernel: KernelAPI, company_ids: Sequence[str]) -> None:
        """Companies were added or changed status: drop what depends on them. Must not raise."""


class HealthSpec:
    """What a plugin needs to work, checked before ``run`` claims work and by ``doctor``."""

    @hookspec
    def health_checks(self, kernel: KernelAPI, remote: bool) -> list[HealthCheck] | None:
        """One check per thing this plugin needs, naming the fix. Must not raise."""

    @hookspec
    def describe_setup(self, kernel: KernelAPI) -> dict[str, str] | None:
        """Facts for ``run``'s banner, never a secret; no network calls, must not raise."""


class StatusMergeSpec:
    """How the monitoring snapshot merges a plugin's status section over the live instances."""

    @hookspec(firstresult=True)
    def merge_status(self, kernel: KernelAPI, section: str, parts: Sequence[Any]) -> Any | None:
        """Merge one section of several instances, newest first; ``None``: not mine."""


class BenchmarkSpec:
    """What ``batchkernel bench`` asks the processors, so it never reaches into their modules."""

    @hookspec
    def benchmark_probes(self, kernel: KernelAPI, stage: str) -> list[Probe] | None:
        """The functions of this plugin whose cost belongs to benchmark ``stage``."""


HOOKSPECS = (
    TaskHookSpec,
    ExchangeSpec,
    WorkLeftSpec,
    CompanyEventSpec,
    HealthSpec,
    StatusMergeSpec,
    BenchmarkSpec,
)
