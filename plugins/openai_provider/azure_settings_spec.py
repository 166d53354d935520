"""Settings of the ``azure-openai`` provider: the ``[azure_openai]`` section."""

from __future__ import annotations

from kernel import hookimpl
from kernel.settingspec import Section
from plugins.openai_provider.settings_spec import AZURE_OPENAI


@hookimpl
def declare_settings() -> list[Section]:
    """The ``[azure_openai]`` section."""
    return [AZURE_OPENAI]
