"""Where settings come from, and the names nothing declares.

Settings are layered, lowest first: the declared defaults; each settings file's ``[default]``
table, then its table of the chosen environment (the shipped file first, then the user's); the
``BATCHKERNEL_<SECTION>__<KEY>`` environment variables; then the command line. Each layer is read
here as a tree of sections, so every key's source is known, and every section, key, environment
or variable that no plugin declares is reported with the closest valid name.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dynaconf.utils.parse_conf import parse_conf_data

from kernel.declarations import Declarations

ENV_PREFIX = "BATCHKERNEL"
SPECIAL_VARIABLES = frozenset(
    {
        f"{ENV_PREFIX}_ENV",
        f"{ENV_PREFIX}_SETTINGS_FILE",
        f"{ENV_PREFIX}_TRACE_PLUGINS",
        f"{ENV_PREFIX}_CRASH_AT",
        f"{ENV_PREFIX}_CHAOS_SEED",
    }
)
"""Variables the program reads that are not settings (environment, file, tracing, fault tests)."""
SPECIAL_PREFIXES = (f"{ENV_PREFIX}_TEST_",)
"""Families of variables the test suite and CI read."""
DEFAULT = "default"
COMMAND_LINE = "command line"

Spelling = Callable[[str, str | None], str]
"""How a message spells a setting (or, with no key, a section) for the user to type it."""


@dataclass(frozen=True, slots=True)
class Layer:
    """One place settings come from: ``kind`` is default, file, environment or command line;
    ``origin`` names the file and table or the variable; ``tree`` is ``{section: {key: value}}``."""

    kind: str
    origin: str
    tree: Mapping[str, Any]

    @property
    def label(self) -> str:
        """How ``batchkernel settings`` names this source."""
        return self.origin or self.kind

    @property
    def where(self) -> str:
        """This source in a sentence: ``in FILE [default]``, ``by VARIABLE``, ``on the command line``."""
        if self.kind == "file":
            return f"in {self.origin}"
        if self.kind == "environment":
            return f"by {self.origin}"
        return "on the command line" if self.kind == COMMAND_LINE else "by default"

    def sets(self, section: str, key: str) -> bool:
        """Whether this layer gives ``section.key`` (or part of it) a value."""
        body = self.tree.get(section)
        return isinstance(body, Mapping) and key in body


@dataclass(frozen=True, slots=True)
class SettingsFile:
    """One parsed settings file: its environment tables, each a tree of sections."""

    path: Path
    environments: Mapping[str, Mapping[str, Any]]

    def layers(self, environment: str) -> list[Layer]:
        """The file's ``[default]`` table, then the chosen environment's (when it has them)."""
        names = [DEFAULT] if environment == DEFAULT else [DEFAULT, environment]
        return [
            Layer("file", f"{self.path} [{name}]", _lower(self.environments[name]))
            for name in names
            if name in self.environments
        ]


def read_file(path: Path, declarations: Declarations) -> tuple[SettingsFile, list[str]]:
    """Parse a settings file; problems: top-level entries that are no environment table, and
    sections and keys that nothing declares."""
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        return SettingsFile(path, {}), [f"settings file {path} is not valid TOML: {exc}"]
    problems: list[str] = []
    environments: dict[str, Mapping[str, Any]] = {}
    for name, body in raw.items():
        problem = _not_an_environment(path, name, body, declarations)
        if problem:
            problems.append(problem)
            continue
        environments[name.lower()] = anchor_paths(body, path.parent, declarations)
        problems += tree_problems(body, f"{path} [{name}]", declarations, _table_spelling(name))
    return SettingsFile(path, environments), problems


def _not_an_environment(path: Path, name: str, body: Any, declarations: Declarations) -> str | None:
    """Why a top-level entry of a settings file is no environment table, if it is not one."""
    section = name.lower()
    if section in declarations.sections:
        return (
            f"settings file {path}: [{name}] is not an environment; write [default.{name}] "
            f"(every environment) or [production.{name}] (one environment)"
        )
    if isinstance(body, Mapping) and all(isinstance(value, Mapping) for value in body.values()):
        return None
    close = _closest(section, declarations.sections)
    hint = f"; did you mean [default.{close}]?" if close else ""
    what = f"[{name}]" if isinstance(body, Mapping) else f"the top-level key {name}"
    return (
        f"settings file {path}: {what} is not an environment table of sections; put settings "
        f"under [default.<section>] or [<environment>.<section>]{hint}"
    )


def tree_problems(
    tree: Mapping[str, Any],
    where: str,
    declarations: Declarations,
    spell: Spelling | None = None,
) -> list[str]:
    """Sections and keys of ``tree`` (``{section: {key: value}}``) that nothing declares."""
    spell = spell or _dotted
    problems = []
    for name, body in tree.items():
        section = str(name).lower()
        if section not in declarations.sections:
            problems.append(unknown_section(str(name), where, declarations, spell))
        elif not isinstance(body, Mapping):
            problems.append(
                f"{section} ({where}) must be a table of settings, e.g. "
                f"{spell(section, 'some_key')} = value"
            )
        elif section not in declarations.entries:
            problems += [
                unknown_key(section, str(key), where, declarations, spell)
                for key in body
                if declarations.find(section, str(key)) is None
            ]
    return problems


def anchor_paths(body: Mapping[str, Any], base: Path, declarations: Declarations) -> dict[str, Any]:
    """An environment table with the relative file paths of user-named entries (those their
    section's rule lists in ``relative_paths``) made relative to ``base``, the file's folder."""
    out = dict(body)
    for name, section in body.items():
        entry_rule = declarations.entries.get(str(name).lower())
        rule = entry_rule.setting if entry_rule is not None else None
        if rule is None or not rule.relative_paths or not isinstance(section, Mapping):
            continue
        entries = dict(section)
        for entry, value in section.items():
            if not isinstance(value, Mapping):
                continue
            value = dict(value)
            for key in rule.relative_paths:
                path = value.get(key)
                if isinstance(path, str) and path.strip() and not path.lstrip().startswith("{"):
                    value[key] = str(base / Path(path.strip()).expanduser())
            entries[entry] = value
        out[name] = entries
    return out


def unknown_section(name: str, where: str, declarations: Declarations, spell: Spelling) -> str:
    """An unknown section, the closest section (or the section of a key of that name)."""
    section = name.lower()
    owners = [item for item in declarations if item.setting.key == section]
    close = _closest(section, declarations.sections)
    if owners:
        hint = f"; did you mean {spell(owners[0].section, section)}?"
    elif close:
        hint = f"; did you mean {spell(close, None)}?"
    else:
        hint = f"; sections: {', '.join(declarations.sections)}"
    return f"unknown settings section {name} ({where}){hint}{_unreadable(declarations)}"


def unknown_key(
    section: str, key: str, where: str, declarations: Declarations, spell: Spelling
) -> str:
    """An unknown key of a known section, with the closest key of it (or of another section)."""
    keys = declarations.sections[section]
    elsewhere = [item for item in declarations if item.setting.key == key.lower()]
    close = _closest(key.lower(), keys)
    if elsewhere:
        hint = f"; did you mean {spell(elsewhere[0].section, elsewhere[0].setting.key)}?"
    elif close:
        hint = f"; did you mean {spell(section, close)}?"
    else:
        hint = f"; `batchkernel settings` lists the keys of [{section}]"
    return f"unknown setting {section}.{key} ({where}){hint}"


def variable_layers(
    environ: Mapping[str, str], declarations: Declarations
) -> tuple[list[Layer], list[str]]:
    """One layer per ``BATCHKERNEL_<SECTION>__<KEY>`` variable, and the variables that name no
    setting (the special variables and the ``BATCHKERNEL_TEST_*`` family excepted)."""
    layers, problems = [], []
    for name in sorted(environ):
        if not name.startswith(f"{ENV_PREFIX}_") or is_special(name):
            continue
        parts = name.removeprefix(f"{ENV_PREFIX}_").split("__")
        section = parts[0].lower()
        if section not in declarations.sections or not all(parts):
            problems.append(_unknown_variable(name, declarations))
            continue
        try:
            value = parse_conf_data(environ[name], tomlfy=True)
        except Exception:
            problems.append(
                f"{name} cannot be read: a value is TOML (5, true, text, [1, 2]) or @json and JSON"
            )
            continue
        tree = _lower(_nest(parts, value))
        found = tree_problems(tree, name, declarations, _variable)
        if found:
            problems += found
        else:
            layers.append(Layer("environment", name, tree))
    return layers, problems


def is_special(name: str) -> bool:
    """Whether ``name`` is a variable the program reads that is not a setting."""
    return name in SPECIAL_VARIABLES or name.startswith(SPECIAL_PREFIXES)


def override_layer(
    overrides: Mapping[str, Any], declarations: Declarations
) -> tuple[Layer, list[str]]:
    """The command line's dotted keys (``database.url``) as one layer, and the unknown ones."""
    tree: dict[str, Any] = {}
    for key, value in overrides.items():
        _merge_into(tree, _lower(_nest(str(key).split("."), value)))
    return Layer(COMMAND_LINE, "", tree), tree_problems(tree, COMMAND_LINE, declarations)


def merged(layers: Sequence[Layer]) -> dict[str, Any]:
    """The layers applied in order: tables merge key by key, anything else is replaced."""
    result: dict[str, Any] = {}
    for layer in layers:
        _merge_into(result, layer.tree)
    return result


def sources(layers: Sequence[Layer], declarations: Declarations) -> dict[str, Layer]:
    """Each declared key's source: the last layer that sets it."""
    found: dict[str, Layer] = {}
    for item in declarations:
        for layer in layers:
            if layer.sets(item.section, item.setting.key):
                found[item.dotted] = layer
    return found


def environment_problem(name: str, files: Sequence[SettingsFile], given_by: str) -> str | None:
    """Why ``name`` is no environment of the settings files, with the closest one."""
    known = {DEFAULT} | {env for file in files for env in file.environments}
    if name.lower() in known:
        return None
    close = _closest(name.lower(), known)
    hint = f"did you mean {close}? " if close else ""
    return (
        f"{given_by}={name} names no environment of the settings files; {hint}"
        f"environments: {', '.join(sorted(known))}"
    )


def _unknown_variable(name: str, declarations: Declarations) -> str:
    """A ``BATCHKERNEL_*`` variable that is neither special nor a setting, with the closest name."""
    candidates = [*SPECIAL_VARIABLES, *(item.variable for item in declarations)]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    hint = (
        f"; did you mean {close[0]}?"
        if close
        else f"; settings are {ENV_PREFIX}_<SECTION>__<KEY> (`batchkernel settings` lists them)"
    )
    return (
        f"unknown environment variable {name}: it names no setting{hint}{_unreadable(declarations)}"
    )


def _unreadable(declarations: Declarations) -> str:
    """A note naming plugins whose settings could not be read (their sections look unknown)."""
    if not declarations.failed:
        return ""
    return f" (the settings of plugin {', '.join(declarations.failed)} could not be read)"


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word``: one it abbreviates (``prod``), else the closest by
    difflib, if any is close."""
    names = sorted(candidates)
    prefixed = [name for name in names if len(word) >= 3 and name.startswith(word)]
    if len(prefixed) == 1:
        return prefixed[0]
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return close[0] if close else None


def _dotted(section: str, key: str | None) -> str:
    """A setting as a dotted name: ``batch.max_attempts`` (``[batch]`` for a section)."""
    return f"{section}.{key}" if key else f"[{section}]"


def _variable(section: str, key: str | None) -> str:
    """A setting as its environment variable."""
    suffix = f"__{key.upper()}" if key else ""
    return f"{ENV_PREFIX}_{section.upper()}{suffix}"


def _table_spelling(environment: str) -> Spelling:
    """Settings as a file's tables spell them: ``[default.batch] max_attempts``."""

    def spell(section: str, key: str | None) -> str:
        return f"[{environment}.{section}] {key}" if key else f"[{environment}.{section}]"

    return spell


def _nest(path: Sequence[str], value: Any) -> dict[str, Any]:
    """``{a: {b: value}}`` for the path ``[a, b]``."""
    tree: dict[str, Any] = {path[-1]: value}
    for part in reversed(path[:-1]):
        tree = {part: tree}
    return tree


def _merge_into(target: dict[str, Any], tree: Mapping[str, Any]) -> None:
    """Merge ``tree`` into ``target``: tables key by key, other values replaced."""
    for key, value in tree.items():
        current = target.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            _merge_into(current, value)
        else:
            target[key] = _plain(value)


def _plain(value: Any) -> Any:
    """A deep copy as plain dicts and lists, so later merges never touch a layer."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _lower(tree: Mapping[str, Any]) -> dict[str, Any]:
    """Section and key names lower-cased (deeper names, such as company ids, kept)."""
    return {
        str(section).lower(): (
            {str(key).lower(): value for key, value in body.items()}
            if isinstance(body, Mapping)
            else body
        )
        for section, body in tree.items()
    }
