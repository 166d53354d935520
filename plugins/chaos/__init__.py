"""Chaos and soak testing: scheduler processes killed and disconnected under provider faults."""

from kernel.chaos.audit import Audit, audit
from kernel.chaos.harness import ChaosOptions, ChaosResult, run_chaos

__all__ = ["Audit", "ChaosOptions", "ChaosResult", "audit", "run_chaos"]
