"""Plugin ``operations``: ``batchkernel batches list|show|cancel`` and ``batchkernel requests
list|show|retry|cancel``, and the once-a-minute monitoring sample a scheduler writes after its
cycles (the console's charts). The SQL lives in :mod:`plugins.common.operations`."""

from plugins.operations.plugin import OperationsPlugin

__all__ = ["OperationsPlugin"]
