"""Library for command plugins (not a plugin): the ``batchkernel`` entry point and its logging,
the shared options, opening a kernel, one-line errors and database readiness checks."""
