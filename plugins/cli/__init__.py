"""Library for command plugins (not a plugin): the shared options, opening a kernel, one-line
errors and database readiness checks."""
