"""Settings of the ``routing`` plugin: ``[routing]``, the providers new batches go to and when a
provider is passed over."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kernel import hookimpl
from kernel.catalog import BUILTIN_PLUGINS, third_party_entry_points
from kernel.settingspec import Section, Setting


def provider_names() -> tuple[list[str], list[str]]:
    """The plugins a setting may name as a provider: the built-in providers, and the installed
    third-party plugins (whose role is only known once loaded)."""
    builtin = sorted(name for name, entry in BUILTIN_PLUGINS.items() if entry.role == "provider")
    return builtin, sorted(third_party_entry_points())


def _choices(builtin: list[str], installed: list[str]) -> str:
    """The valid names as an error message lists them."""
    text = f"valid choices: {', '.join(builtin)}"
    return text + (f"; or an installed plugin: {', '.join(installed)}" if installed else "")


def listed_providers(values: Mapping[str, Any]) -> list[str]:
    """The providers ``routing.providers`` lists, primary first (empty when unset)."""
    return [str(name) for name in values.get("providers") or []]


def _problems(values: Mapping[str, Any]) -> Iterable[str]:
    """Every provider named must be a provider plugin, once."""
    builtin, installed = provider_names()
    valid = {*builtin, *installed}
    names = listed_providers(values)
    for name in names:
        if name not in valid:
            yield (
                f"routing.providers names {name!r}, which is not a provider plugin; "
                f"{_choices(builtin, installed)}"
            )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        yield f"routing.providers names {', '.join(repeated)} more than once"
    for name in values.get("max_enqueued_tokens") or {}:
        if str(name) not in valid:
            yield (
                f"routing.max_enqueued_tokens names {name!r}, which is not a provider plugin; "
                f"{_choices(builtin, installed)}"
            )


def _whole_numbers(table: Mapping[str, Any]) -> bool:
    """Every value is a whole number of at least 0."""
    return all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in table.values())


ROUTING = Section(
    "routing",
    "Which providers new batches go to: the first that takes batches now, in order. Batches "
    "already at a provider always finish there.",
    (
        Setting(
            "providers",
            list,
            [],
            'providers in order, primary first, e.g. ["openai", "anthropic"] (empty: '
            "plugins.provider alone); a company may have its own list (companies set-provider)",
        ),
        Setting(
            "max_enqueued_tokens",
            dict,
            {},
            "per provider, the input tokens of its batches planned or in flight at which new "
            "batches go to the next provider, e.g. {openai = 2000000} (0 or unset: no limit)",
            check=_whole_numbers,
            rule="of provider names to whole numbers of at least 0",
        ),
    ),
    validate=_problems,
    names_plugins=listed_providers,
)


@hookimpl
def declare_settings() -> list[Section]:
    """The ``[routing]`` section."""
    return [ROUTING]
