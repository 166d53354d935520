"""Settings the ``emulator`` command reads: one section per provider's emulator."""

from __future__ import annotations

from kernel import hookimpl
from kernel.settingspec import Section
from plugins.emulator.settings_spec import EMULATOR
from plugins.emulator_anthropic.settings_spec import EMULATOR_ANTHROPIC


@hookimpl
def declare_settings() -> list[Section]:
    """The ``[emulator]`` (OpenAI) and ``[emulator_anthropic]`` sections."""
    return [EMULATOR, EMULATOR_ANTHROPIC]
