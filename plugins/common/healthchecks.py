"""Every plugin's ``health_checks``, asked by ``run`` before it claims work and by ``doctor``."""

from __future__ import annotations

from kernel.api import KernelAPI
from plugins.common.hookspecs import HealthCheck


def health_checks(kernel: KernelAPI, *, remote: bool = True) -> list[HealthCheck]:
    """Every plugin's checks; a plugin whose check raises fails one blocking check."""
    found: list[HealthCheck] = []
    for impl in reversed(kernel.pm.hook.health_checks.get_hookimpls()):
        try:
            answer = impl.function(kernel=kernel, remote=remote)
            checks = answer if isinstance(answer, list) else []
            found += [check for check in checks if isinstance(check, HealthCheck)]
        except Exception as exc:
            found.append(
                HealthCheck(
                    f"plugin {impl.plugin_name}",
                    False,
                    f"its checks failed: {type(exc).__name__}: {exc}",
                    "see `batchkernel --debug doctor`",
                )
            )
            kernel.log.debug("health checks of %s failed", impl.plugin_name, exc_info=True)
    return found
