"""``serve`` writes the once-a-minute metrics sample too, so charts keep their history while no
scheduler runs; a background thread tries every few seconds (the writer keeps it to once a
minute, and to one row a minute across every process)."""

from __future__ import annotations

import logging
import threading

from plugins.common.monitoring.samples import SampleWriter

log = logging.getLogger("batchkernel.serve")
EVERY_SECONDS = 15.0


class BackgroundSampler:
    """A daemon thread calling ``writer.maybe_write()`` until stopped."""

    def __init__(self, writer: SampleWriter, every: float = EVERY_SECONDS) -> None:
        self.writer = writer
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="batchkernel-samples", daemon=True)

    def start(self) -> None:
        """Start sampling."""
        self._thread.start()

    def _run(self) -> None:
        """Write a sample when a new minute begins; a failure is logged and tried again later."""
        while True:
            try:
                self.writer.maybe_write()
            except Exception as exc:
                log.warning("metrics sample not written: %s", exc)
            if self._stop.wait(self.every):
                return

    def stop(self) -> None:
        """Stop the thread and close the writer's connection."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self.writer.close()
