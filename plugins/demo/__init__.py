"""``batchkernel demo``: synthetic data, the emulator and the whole pipeline, on embedded defaults."""

from kernel.demo.run import run_demo

__all__ = ["run_demo"]
