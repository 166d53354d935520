"""The product's database schema, a library of the processors: its tables (:mod:`.models`), the
statuses of tenants and requests (:mod:`.statuses`), the rows the hooks exchange (:mod:`.rows`),
shared queries (:mod:`.queries`) and the Alembic revisions that build it (``migrations/``,
declared through ``migration_locations``)."""
