"""The ``optimized`` processor: set-based, streaming, constant queries per cycle.

One query finds the pending work of every company, claims are one transaction per page whatever
the number of companies or batches, messages stream straight into the batch files, and results are
applied through staging tables (COPY on PostgreSQL) with conditional ``UPDATE ... FROM``.
"""

from plugins.optimized.processor import OptimizedProcessor

__all__ = ["OptimizedProcessor"]
