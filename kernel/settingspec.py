"""Settings declarations: the sections and keys the kernel and each plugin own (``Setting``,
``Section``, returned by ``declare_settings``) and their collection from every known plugin.

The one source of defaults, types, choices, bounds, secrecy and help (``batchkernel settings``,
``docs/settings.md``); a plugin that is not enabled still declares, so its keys are never unknown.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import ge, gt, le, lt
from typing import Any

import pluggy

from kernel import PluginManager
from kernel.catalog import BUILTIN_PLUGINS, import_target, instantiate, third_party_entry_points
from kernel.hookspecs import DeclarationSpec
from kernel.types import PluginLoadError

log = logging.getLogger("batchkernel.settings")
KERNEL = "kernel"
KERNEL_SETTINGS = "kernel.core_settings"
_TYPE_WORDS: dict[type, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a table",
}


@dataclass(frozen=True, slots=True)
class Setting:
    """One key: ``kind`` (bool, int, float, str, list or dict), default, help, the valid values
    (``choices``, bounds, ``check`` described by ``rule``); a ``secret`` is shown by type only."""

    key: str
    kind: type
    default: Any
    help: str
    choices: tuple[Any, ...] = ()
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    non_empty: bool = False
    optional: bool = False
    secret: bool = False
    check: Callable[[Any], bool] | None = None
    rule: str = ""
    fallback_env: str = ""
    """A variable (the provider SDK's, ``OPENAI_API_KEY``) that fills the setting when it is empty
    or set by nothing but its default."""
    flag_env: str = ""
    """A legacy boolean variable (``ENABLE_BATCH_OPERATIONS``) that sets the setting and wins over
    the files and ``BATCHKERNEL_*`` variables; a value other than true or false is an error."""
    relative_paths: tuple[str, ...] = ()
    """Keys of a table value that hold file paths: a relative one is read relative to the
    settings file that sets it (``schema = "schemas/topics.json"``)."""

    def expected(self) -> str:
        """What the setting accepts, in plain words: ``a whole number from 1 to 64``."""
        if self.choices:
            listed = "one of: " + ", ".join(_choice(choice) for choice in self.choices)
            return f"{listed} or nothing" if self.optional else listed
        words = [_TYPE_WORDS[self.kind]]
        if self.non_empty:
            words[0] = words[0].replace("a ", "a non-empty ", 1)
        if self.kind is dict:
            words.append("(key = value pairs)")
        bounds = " and ".join(_bounds(self))
        if bounds:
            words.append(f"of {bounds}" if bounds.startswith("at ") else bounds)
        if self.rule:
            words.append(self.rule)
        text = " ".join(words)
        return f"{text}, or nothing" if self.optional else text

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is valid for this setting."""
        if value is None:
            return self.optional
        if self.choices:
            return value in self.choices
        if not _has_type(value, self.kind):
            return False
        if self.non_empty and len(value) == 0:
            return False
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if numeric and not all(test(value, bound) for bound, test, _ in _bounds_of(self)):
            return False
        try:
            return self.check is None or bool(self.check(value))
        except (TypeError, ValueError, AttributeError):
            return False


Validator = Callable[[Mapping[str, Any]], Iterable[str]]
"""A cross-field check of one section: given its effective values, the problems found, each a
message that names the dotted keys involved (and never shows a secret value)."""


@dataclass(frozen=True, slots=True)
class Section:
    """A settings section (``[default.<name>]`` in a file, ``BATCHKERNEL_<NAME>__<KEY>``).

    Several plugins may declare the same section: their keys are merged (a key declared twice must
    be declared identically), so a plugin can add keys to a section the kernel owns.
    """

    name: str
    help: str
    settings: tuple[Setting, ...]
    validate: Validator | None = None
    entries: Setting | None = None
    """For a section of entries the user names (``[default.tasks.topics]``): the rule every
    entry's value follows. Its keys are then free, and each is checked by this setting."""
    enables: Callable[[Mapping[str, Any]], bool] | None = None
    """Given the section's values, whether they ask for the declaring plugin to be registered
    (``telemetry.exporter = "otlp"`` registers ``otel``)."""
    names_plugins: Callable[[Mapping[str, Any]], Sequence[str]] | None = None
    """Given the section's values, the plugins they name, registered and selected as if a
    ``plugins.*`` key named them (``routing.providers`` names providers)."""

    def __post_init__(self) -> None:
        keys = [setting.key for setting in self.settings]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"section {self.name!r} declares {', '.join(duplicates)} twice")


def _choice(value: Any) -> str:
    """A choice as a user types it: strings bare, the rest in TOML spelling."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if value != "" else '"" (empty)'


def kind(value: Any) -> str:
    """The type of ``value`` in plain words: ``a list``, ``a table``, ``a string``..."""
    found = (words for type_, words in _TYPE_WORDS.items() if _has_type(value, type_))
    return next(found, "nothing" if value is None else f"a {type(value).__name__}")


def _has_type(value: Any, kind: type) -> bool:
    """``isinstance`` for settings: a bool is no number, an int is a float."""
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, int | float)
    if kind is list:
        return isinstance(value, list | tuple)
    return isinstance(value, kind)


def _bounds_of(setting: Setting) -> list[tuple[float, Callable[[float, float], bool], str]]:
    """The bounds ``setting`` sets: each with its test and its words."""
    tests: tuple[Callable[[float, float], bool], ...] = (ge, gt, le, lt)
    limits = (setting.ge, setting.gt, setting.le, setting.lt)
    words = ("at least", "above", "at most", "below")
    found = zip(limits, tests, words, strict=True)
    return [(limit, test, text) for limit, test, text in found if limit is not None]


def _bounds(setting: Setting) -> list[str]:
    """The bounds in words: ``from 1 to 64``, ``at least 0``, ``above 0``, ``at most 1``."""
    if setting.ge is not None and setting.le is not None:
        return [f"from {_number(setting.ge)} to {_number(setting.le)}"]
    return [f"{words} {_number(bound)}" for bound, _, words in _bounds_of(setting)]


def _number(value: float) -> str:
    """``1`` for 1.0, ``0.5`` for 0.5."""
    return str(int(value)) if float(value).is_integer() else str(value)


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
    migrations: list[str] = field(default_factory=list)
    """Folders of the plugins' Alembic revisions (``migration_locations``)."""
    hookspecs: list[type] = field(default_factory=list)
    """Specifications of the hooks plugins call of each other (``declare_hookspecs``)."""
    enablers: list[tuple[str, str, Callable[[Mapping[str, Any]], bool]]] = field(
        default_factory=list
    )
    """``(plugin, section, enables)``: sections whose values can ask for their plugin."""
    namers: list[tuple[str, Callable[[Mapping[str, Any]], Sequence[str]]]] = field(
        default_factory=list
    )
    """``(section, names_plugins)``: sections whose values name plugins to select."""

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
        if section.enables is not None:
            self.enablers.append((owner, name, section.enables))
        if section.names_plugins is not None:
            self.namers.append((name, section.names_plugins))
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
    third-party plugin for its settings sections, its migrations' folders and its hook specs.

    Asked once per set of installed plugins and shared (every kernel asks twice as it starts):
    treat the answer as read-only."""
    installed = tuple(third_party_entry_points().items()) if third_party else ()
    return _declarations(installed)


@functools.lru_cache(maxsize=8)
def _declarations(installed: tuple[tuple[str, Any], ...]) -> Declarations:
    """The declarations of the kernel, the built-ins and the ``installed`` entry points."""
    pm = PluginManager()
    pm.add_hookspecs(DeclarationSpec)
    names_of: dict[int, list[str]] = {}
    declarations = Declarations()

    def register(name: str, plugin: Any) -> None:
        """Register ``plugin`` once; a module several plugins name declares for each of them."""
        if id(plugin) not in names_of:
            pm.register(plugin, name=name)
        names_of.setdefault(id(plugin), []).append(name)

    register(KERNEL, import_target(KERNEL_SETTINGS))
    declarations.plugins += BUILTIN_PLUGINS
    for name, entry in BUILTIN_PLUGINS.items():
        if entry.settings:
            register(name, import_target(entry.settings))
    for name, ep in installed:
        declarations.plugins.append(name)
        try:
            register(name, instantiate(ep.load()))
        except Exception as exc:
            declarations.failed[name] = f"{type(exc).__name__}: {exc}"
            log.debug("settings of plugin %s are unknown", name, exc_info=True)
    for impl in pm.hook.declare_settings.get_hookimpls():
        builtin = impl.plugin_name == KERNEL or impl.plugin_name in BUILTIN_PLUGINS
        try:
            sections = _checked(impl.plugin_name, impl.function())
            for section in sections:
                conflict = declarations.conflict(impl.plugin_name, section)
                if conflict:
                    raise PluginLoadError(conflict)
        except Exception as exc:
            if builtin:
                raise
            declarations.failed[impl.plugin_name] = f"{type(exc).__name__}: {exc}"
            continue
        for owner in names_of[id(impl.plugin)]:
            for section in sections:
                declarations.add(owner, section)
    declarations.migrations += [
        str(path) for path in _lists(pm, "migration_locations", str, declarations)
    ]
    declarations.hookspecs += _lists(pm, "declare_hookspecs", type, declarations)
    return declarations


def _lists(
    pm: pluggy.PluginManager, hook: str, kind: type, declarations: Declarations
) -> list[Any]:
    """Every answer of a declaration hook that returns a list of ``kind``; a built-in's bad answer
    raises, a third-party plugin's is noted in ``declarations.failed``."""
    found: list[Any] = []
    for impl in getattr(pm.hook, hook).get_hookimpls():
        try:
            answer = impl.function()
            wrong = isinstance(answer, str) or not isinstance(answer, Sequence)
            if wrong or not all(isinstance(item, kind) for item in answer):
                raise PluginLoadError(
                    f"plugin {impl.plugin_name}: {hook} must return a list of {kind.__name__}"
                )
            found += answer
        except Exception as exc:
            if impl.plugin_name == KERNEL or impl.plugin_name in BUILTIN_PLUGINS:
                raise
            declarations.failed[impl.plugin_name] = f"{type(exc).__name__}: {exc}"
    return found


def _checked(owner: str, answer: Any) -> Sequence[Section]:
    """A plugin's answer, refused unless it is a sequence of :class:`Section`."""
    if not isinstance(answer, Sequence) or not all(isinstance(s, Section) for s in answer):
        raise PluginLoadError(
            f"plugin {owner}: declare_settings must return a list of Section, "
            f"got {type(answer).__name__}"
        )
    return answer
