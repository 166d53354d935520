"""Hooks that plugins call of each other, not the kernel: health checks and the banner's facts
(``run``, ``doctor``), the merge of status sections (the monitoring snapshot) and the benchmark's
probes (``bench``), with the data they exchange; declared by the processors' settings module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kernel import hookspec

if TYPE_CHECKING:
    from kernel.api import KernelAPI


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


HOOKSPECS = (HealthSpec, StatusMergeSpec, BenchmarkSpec)
