"""A third-party plugin that finds a misconfiguration only when a batch is submitted (as a
provider wrapper that checks a licence late would), while ``BATCHKERNEL_TEST_LATE_CONFIG_ERROR``
is set; otherwise it stays out of the way."""

import os
from typing import Any

from kernel import hookimpl
from kernel.types import ConfigError


class LateConfig:
    """Refuses every submission with a :class:`ConfigError` when the test asks for it."""

    @hookimpl(tryfirst=True)
    def submit_batch(self, kernel: Any, plan: Any) -> None:
        """Raise before anything reaches the provider; ``None`` (not mine) otherwise."""
        if os.environ.get("BATCHKERNEL_TEST_LATE_CONFIG_ERROR"):
            raise ConfigError("fake.licence is missing: set BATCHKERNEL_FAKE__LICENSE_KEY")
        return None
