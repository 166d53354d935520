"""Every known plugin's settings declarations, gathered through the ``declare_settings`` hook.

The kernel asks itself (:mod:`kernel.core_settings`), every built-in plugin (through the light
module its catalog entry names) and every installed third-party plugin (through its entry point),
enabled or not: a key that belongs to a plugin that is not enabled is known and checked, never
reported as unknown. Declarations of one section by several plugins are merged.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy

from kernel import PROJECT
from kernel.catalog import BUILTIN_PLUGINS, import_target, instantiate, third_party_entry_points
from kernel.hookspecs import SettingsSpec
from kernel.settingspec import Section, Setting, Validator
from kernel.types import PluginLoadError

log = logging.getLogger("batchkernel.settings")

KERNEL = "kernel"
KERNEL_SETTINGS = "kernel.core_settings"


@dataclass(frozen=True, slots=True)
class Declared:
    """One declared key with the section it belongs to and the plugins that declare it."""

    section: str
    setting: Setting
    owners: tuple[str, ...]

    @property
    def dotted(self) -> str:
        """``section.key``."""
        return f"{self.section}.{self.setting.key}"

    @property
    def variable(self) -> str:
        """The environment variable that sets it: ``BATCHKERNEL_SECTION__KEY``."""
        return f"BATCHKERNEL_{self.section.upper()}__{self.setting.key.upper()}"


@dataclass(slots=True)
class Declarations:
    """The merged declarations of every known plugin, by section and key."""

    sections: dict[str, dict[str, Declared]] = field(default_factory=dict)
    helps: dict[str, str] = field(default_factory=dict)
    validators: list[tuple[str, Validator]] = field(default_factory=list)
    entries: dict[str, Declared] = field(default_factory=dict)
    """Sections of user-named entries, with the rule each entry follows."""
    plugins: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Third-party plugins whose declarations could not be read, with the reason."""

    def find(self, section: str, key: str) -> Declared | None:
        """The declaration of ``section.key``, if any (names are case-insensitive)."""
        return self.sections.get(section.lower(), {}).get(key.lower())

    def __iter__(self) -> Iterator[Declared]:
        """Every declared key, section by section in declaration order."""
        for keys in self.sections.values():
            yield from keys.values()

    def defaults(self) -> dict[str, dict[str, Any]]:
        """A fresh tree of every default: ``{section: {key: default}}``."""
        return {
            name: {key: copy.deepcopy(item.setting.default) for key, item in keys.items()}
            for name, keys in self.sections.items()
        }

    def add(self, owner: str, section: Section) -> None:
        """Merge one plugin's declaration of ``section``; a key declared twice must agree."""
        conflict = self.conflict(owner, section)
        if conflict:
            raise PluginLoadError(conflict)
        name = section.name.lower()
        keys = self.sections.setdefault(name, {})
        if section.help and not self.helps.get(name):
            self.helps[name] = section.help
        for setting in section.settings:
            known = keys.get(setting.key.lower())
            owners = known.owners if known else ()
            if owner not in owners:
                keys[setting.key.lower()] = Declared(name, setting, (*owners, owner))
        if section.entries is not None:
            self.entries[name] = Declared(name, section.entries, (owner,))
        if section.validate is not None and all(
            section.validate is not fn for _, fn in self.validators
        ):
            self.validators.append((name, section.validate))

    def conflict(self, owner: str, section: Section) -> str | None:
        """Why ``section`` cannot be merged: a key another plugin declares differently."""
        name = section.name.lower()
        for setting in section.settings:
            known = self.find(name, setting.key)
            if known is not None and known.setting != setting:
                return (
                    f"plugins {', '.join(known.owners)} and {owner} declare the setting "
                    f"{name}.{setting.key.lower()} differently; one of them must change its name"
                )
        return None


def collect_declarations(*, third_party: bool = True) -> Declarations:
    """Ask the kernel, every built-in and (unless ``third_party`` is false) every installed
    third-party plugin for its settings sections, through the ``declare_settings`` hook."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(SettingsSpec)
    names_of: dict[int, list[str]] = {}
    declarations = Declarations()

    def register(name: str, plugin: Any) -> None:
        if name != KERNEL:
            declarations.plugins.append(name)
        if id(plugin) in names_of:
            names_of[id(plugin)].append(name)
            return
        names_of[id(plugin)] = [name]
        pm.register(plugin, name=name)

    register(KERNEL, import_target(KERNEL_SETTINGS))
    for name, entry in BUILTIN_PLUGINS.items():
        if entry.settings:
            register(name, import_target(entry.settings))
        else:
            declarations.plugins.append(name)
    if third_party:
        for name, ep in third_party_entry_points().items():
            try:
                register(name, instantiate(ep.load()))
            except Exception as exc:
                declarations.plugins.append(name)
                declarations.failed[name] = f"{type(exc).__name__}: {exc}"
                log.debug("settings of plugin %s are unknown", name, exc_info=True)
    for impl in pm.hook.declare_settings.get_hookimpls():
        builtin = impl.plugin_name == KERNEL or impl.plugin_name in BUILTIN_PLUGINS
        try:
            sections = _checked(impl.plugin_name, impl.function())
            conflicts = [declarations.conflict(impl.plugin_name, section) for section in sections]
            if any(conflicts):
                raise PluginLoadError(next(c for c in conflicts if c))
        except Exception as exc:
            if builtin:
                raise
            declarations.failed[impl.plugin_name] = f"{type(exc).__name__}: {exc}"
            continue
        for owner in names_of[id(impl.plugin)]:
            for section in sections:
                declarations.add(owner, section)
    return declarations


def _checked(owner: str, answer: Any) -> Sequence[Section]:
    """A plugin's answer, refused unless it is a sequence of :class:`Section`."""
    if not isinstance(answer, Sequence) or not all(isinstance(s, Section) for s in answer):
        raise PluginLoadError(
            f"plugin {owner}: declare_settings must return a list of Section, "
            f"got {type(answer).__name__}"
        )
    return answer
