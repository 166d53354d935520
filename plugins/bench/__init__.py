"""``batchkernel bench``: the original and the optimized processor side by side on identical
copies of one synthetic data set, with a raw SQL floor, per-stage figures and their ratios."""

from kernel.bench.options import BenchOptions, DataSpec
from kernel.bench.runner import Listener, run_bench
from kernel.bench.scale import run_scale

__all__ = ["BenchOptions", "DataSpec", "Listener", "run_bench", "run_scale"]
