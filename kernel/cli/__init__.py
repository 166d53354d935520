"""The ``batchkernel`` command line."""
