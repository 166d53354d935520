"""A third-party plugin with its own settings section, ``[fake]``, declared through its entry point
(``mode = "loud"`` registers the plugin without naming it in ``plugins.*``)."""

from collections.abc import Iterable, Mapping
from typing import Any

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.settingspec import Section, Setting


def _loud_needs_level(values: Mapping[str, Any]) -> Iterable[str]:
    """Speaking loudly needs a level of at least 4."""
    if values["mode"] == "loud" and values["level"] < 4:
        yield f"fake.mode = loud needs fake.level of at least 4 (got {values['level']})"


FAKE = Section(
    "fake",
    "A third-party plugin's own section.",
    (
        Setting("greeting", str, "hello", "what the plugin says", non_empty=True),
        Setting("level", int, 3, "how loud", ge=1, le=5),
        Setting("mode", str, "quiet", "how it speaks", choices=("quiet", "loud")),
        Setting("license_key", str, "", "the plugin's licence key", secret=True),
    ),
    validate=_loud_needs_level,
    enables=lambda values: values["mode"] == "loud",
)


class Configured:
    """Declares ``[fake]`` and reads it on every metric."""

    def __init__(self) -> None:
        self.greetings: list[str] = []

    @hookimpl
    def declare_settings(self) -> list[Section]:
        """The ``[fake]`` section."""
        return [FAKE]

    @hookimpl
    def record_metric(self, kernel: KernelAPI, metric: Any) -> None:
        """Remember the configured greeting."""
        self.greetings.append(str(kernel.settings.fake.greeting))
