"""The monitoring library: read-only queries over the database (:mod:`.queries`) and the snapshot
built from them and from the scheduler instances' rows (:mod:`.snapshot`). Used by the
``status`` command, the ``serve`` plugin and the ``otel`` plugin's observable gauges."""
