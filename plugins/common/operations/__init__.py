"""The operator library behind ``batches``, ``requests``, ``companies pause|resume`` and the
console's API: filtered, paginated listings (:mod:`.listing`), one batch's or one request's
detail (:mod:`.details`), the actions (:mod:`.actions`) and their audit trail (:mod:`.audit`).
Every read is one set-based statement over a bounded page; every action is one conditional
``UPDATE`` and its audit row in the same transaction."""
