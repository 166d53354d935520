"""Settings: the declared defaults, ``settings.toml`` files, ``BATCHKERNEL_*`` variables, the legacy
flags and the command line, layered (each value's source kept), merged and checked.

Loading stops with a :class:`kernel.types.ConfigError` naming each bad setting: an unknown
section, key, environment or variable (with the closest valid name), a wrong type or bound, an
unknown plugin. A message never shows a secret: secret keys by type only, URL passwords masked.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dynaconf import Dynaconf
from dynaconf.nodes import DataDict
from dynaconf.utils.parse_conf import parse_conf_data

from kernel.settingspec import Declarations, collect_declarations, kind
from kernel.types import ConfigError

ENV_PREFIX = "BATCHKERNEL"
SPECIAL_VARIABLES = frozenset(
    f"{ENV_PREFIX}_{name}"
    for name in ("ENV", "SETTINGS_FILE", "TRACE_PLUGINS", "CRASH_AT", "CHAOS_SEED")
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
        return [
            Layer("file", f"{self.path} [{name}]", _lower(self.environments[name]))
            for name in dict.fromkeys((DEFAULT, environment))
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
        special = name in SPECIAL_VARIABLES or name.startswith(SPECIAL_PREFIXES)
        if not name.startswith(f"{ENV_PREFIX}_") or special:
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


MASK = "***"
SECRET_WORDS: tuple[str, ...] = ("token", "secret", "password", "passwd", "api_key", "apikey")
SECRET_WORDS += ("header", "credential", "auth", "cookie")
"""An entry of a table whose name contains one of these holds a secret (``{password = ...}``)."""

_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/?#@\s]*)@")
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&;][^=&;#\s]*(?:" + "|".join(SECRET_WORDS) + r"|pwd|key)[^=&;#\s]*=)[^&;#\s]*",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """Whether a table entry named ``key`` (dotted, any case) looks like it holds a secret."""
    last = key.rsplit(".", 1)[-1].lower()
    return any(word in last for word in SECRET_WORDS)


def mask_url(text: str) -> str:
    """``text`` with URL passwords (``redis://user:***@host``), password-less user parts (often a
    token) and secret query parameters masked."""

    def userinfo(match: re.Match[str]) -> str:
        user, colon, _password = match["userinfo"].partition(":")
        return f"{match['scheme']}{user}:{MASK}@" if colon else f"{match['scheme']}{MASK}@"

    return _QUERY_SECRET.sub(rf"\g<name>{MASK}", _URL_USERINFO.sub(userinfo, text))


def redacted(value: Any) -> Any:
    """A copy of ``value`` safe to show: secret-named entries masked, URL credentials masked."""
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, Mapping):
        return {
            key: MASK if is_secret_key(str(key)) else redacted(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redacted(item) for item in value]
    return value


def shown(value: Any, *, secret: bool, limit: int = 80) -> str:
    """How an error message shows a setting's ``value``: a ``secret`` only by its type."""
    if secret:
        return f"{kind(value)}, value hidden" if value not in (None, "") else repr(value)
    text = repr(redacted(value))
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


TRACE_VARIABLE = f"{ENV_PREFIX}_TRACE_PLUGINS"
DEFAULT_ENVIRONMENT = "development"
PLUGIN_NAME_KEYS = ("processor", "provider", "cache", "exporters", "enabled", "disabled")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class LoadedSettings:
    """Loaded and checked settings, with where each value came from."""

    settings: Dynaconf
    environment: str
    files: tuple[Path, ...]
    declarations: Declarations
    layers: tuple[Layer, ...]


def default_settings_file() -> Path:
    """The shipped environments: ``settings.toml`` beside the package, or at the repository root."""
    packaged = Path(__file__).with_name("settings.toml")
    return (
        packaged if packaged.exists() else Path(__file__).resolve().parent.parent / "settings.toml"
    )


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    settings_file: str | os.PathLike[str] | None = None,
    environment: str | None = None,
) -> Dynaconf:
    """Load, merge and check settings; see :func:`read_settings`."""
    return read_settings(overrides, settings_file=settings_file, environment=environment).settings


def read_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    settings_file: str | os.PathLike[str] | None = None,
    environment: str | None = None,
) -> LoadedSettings:
    """Load, merge and check settings, keeping each value's source.

    Precedence, lowest first: the declared defaults; the shipped file, then the user's
    (``settings_file``, else ``BATCHKERNEL_SETTINGS_FILE``, else ``./settings.toml`` when it is not
    the shipped one), each its ``[default]`` table then the environment's (``environment``, else
    ``BATCHKERNEL_ENV``, else development); ``BATCHKERNEL_<SECTION>__<KEY>`` variables; the legacy
    flags and ``BATCHKERNEL_TRACE_PLUGINS``; the fallback variable of a key nothing else sets
    (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``);
    then ``overrides`` (dotted keys: the command line, and tests).
    """
    declarations = collect_declarations()
    paths = _settings_files(settings_file)
    problems: list[str] = []
    files: list[SettingsFile] = []
    for path in paths:
        parsed, found = read_file(path, declarations)
        files.append(parsed)
        problems += found
    given_by = "environment" if environment else f"{ENV_PREFIX}_ENV"
    chosen = environment or os.environ.get(f"{ENV_PREFIX}_ENV") or DEFAULT_ENVIRONMENT
    wrong_environment = environment_problem(chosen, files, given_by)
    if wrong_environment:
        problems.append(wrong_environment)
    chosen = chosen.lower()
    variables, found = variable_layers(os.environ, declarations)
    problems += found
    command_line, found = override_layer(overrides or {}, declarations)
    problems += found
    ConfigError.raise_for(problems, "invalid settings", "invalid settings")

    layers = [Layer("default", "", declarations.defaults())]
    for parsed in files:
        layers += parsed.layers(chosen)
    layers += variables
    layers += _flag_layers(declarations)
    layers += _fallback_layers([*layers, command_line], declarations)
    layers.append(command_line)
    tree = merged(layers)
    problems = _value_problems(tree, layers, declarations)
    problems = problems or _plugin_problems(tree, declarations)
    ConfigError.raise_for(problems, "invalid settings", "invalid settings")
    return LoadedSettings(_dynaconf(tree), chosen, tuple(paths), declarations, tuple(layers))


def shipped_settings() -> Dynaconf:
    """The declared defaults under the shipped file alone: no user file, no variables (what the
    command line lists commands from when the user's settings cannot be loaded)."""
    declarations = collect_declarations()
    parsed, _ = read_file(default_settings_file(), declarations)
    layers = [Layer("default", "", declarations.defaults()), *parsed.layers(DEFAULT_ENVIRONMENT)]
    return _dynaconf(merged(layers))


def _dynaconf(tree: Mapping[str, Any]) -> Dynaconf:
    """Merged, checked settings as the object plugins read (``settings.batch.max_attempts``).

    The values go into the store as they are: Dynaconf's own setters would run its converters on
    every string (``@int 5``, ``@format {env[HOME]}``) after the checks, turning a checked value
    into another one. Only ``BATCHKERNEL_*`` variables are converted, when they are read.
    """
    settings = _empty_dynaconf().dynaconf_clone()
    for section, values in tree.items():
        settings.store[section.upper()] = DataDict(values, box_settings=settings)
    return settings


@functools.cache
def _empty_dynaconf() -> Dynaconf:
    """A Dynaconf object with no values and no loaders, set up once: setting one up costs
    milliseconds (its own defaults), copying this one a twentieth of that."""
    settings = Dynaconf(
        envvar_prefix=None,
        environments=False,
        load_dotenv=False,
        merge_enabled=False,
        settings_files=[],
        core_loaders=[],
        loaders=[],
    )
    settings.store  # noqa: B018 - the first read sets the object up
    return settings


def _settings_files(settings_file: str | os.PathLike[str] | None) -> list[Path]:
    """The shipped file, then the user's if there is one."""
    files = [default_settings_file()]
    user_file = settings_file or os.environ.get(f"{ENV_PREFIX}_SETTINGS_FILE")
    if user_file is None and Path("settings.toml").exists():
        local = Path("settings.toml").resolve()
        if local != default_settings_file().resolve():
            user_file = str(local)
    if user_file is not None:
        if not Path(user_file).exists():
            raise ConfigError(f"settings file {user_file} does not exist")
        files.append(Path(user_file).resolve())
    return files


def _flag_layers(declarations: Declarations) -> list[Layer]:
    """The declared legacy boolean flags (``flag_env``) and ``BATCHKERNEL_TRACE_PLUGINS``, which
    win over the files."""
    layers = []
    for item in declarations:
        variable = item.setting.flag_env
        if variable and variable in os.environ:
            value = _parse_flag(variable, os.environ[variable])
            layers.append(Layer("environment", variable, {item.section: {item.setting.key: value}}))
    if os.environ.get(TRACE_VARIABLE, "").lower() in _TRUE:
        layers.append(Layer("environment", TRACE_VARIABLE, {"plugins": {"trace": True}}))
    return layers


def _fallback_layers(layers: list[Layer], declarations: Declarations) -> list[Layer]:
    """Declared fallback variables (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``) for keys that are
    empty or that nothing but the declared default sets (as the provider's SDK reads them)."""
    tree = merged(layers)
    found = []
    for item in declarations:
        variable = item.setting.fallback_env
        if not variable or not os.environ.get(variable):
            continue
        section, key = item.section, item.setting.key
        chosen = any(layer.kind != "default" and layer.sets(section, key) for layer in layers)
        if not tree[section].get(key) or not chosen:
            value = os.environ[variable]
            found.append(Layer("environment", variable, {section: {key: value}}))
    return found


def _value_problems(
    tree: Mapping[str, Any], layers: list[Layer], declarations: Declarations
) -> list[str]:
    """Values of the wrong type or out of bounds, then the sections' own cross-field checks."""
    found = sources(layers, declarations)
    problems: list[str] = []
    bad_sections: set[str] = set()
    for item in declarations:
        value = tree[item.section].get(item.setting.key)
        if not item.setting.accepts(value):
            bad_sections.add(item.section)
            problems.append(
                f"{item.dotted} must be {item.setting.expected()} "
                f"(got {shown(value, secret=item.setting.secret)}), set {found[item.dotted].where}"
            )
    for section, declared in declarations.entries.items():
        rule = declared.setting
        for name, value in (tree.get(section) or {}).items():
            if not rule.accepts(value):
                bad_sections.add(section)
                problems.append(
                    f"{section}.{name} must be {rule.expected()} (got {shown(value, secret=False)})"
                )
    for section, validate in declarations.validators:
        if section in bad_sections:
            continue
        try:
            problems += [str(problem) for problem in validate(tree[section])]
        except Exception as exc:
            problems.append(f"the [{section}] settings could not be checked: {type(exc).__name__}")
    return problems


def _plugin_problems(tree: Mapping[str, Any], declarations: Declarations) -> list[str]:
    """Plugin names in ``plugins.*`` that no built-in or installed plugin has."""
    known = set(declarations.plugins)
    problems = []
    for key in PLUGIN_NAME_KEYS:
        value = tree["plugins"][key]
        names = value if isinstance(value, list) else [value]
        for name in names:
            if str(name) in known or (key == "cache" and name == "none"):
                continue
            close = difflib.get_close_matches(str(name), sorted(known), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                f"plugins.{key} names an unknown plugin {name!r}; {hint}"
                f"known plugins: {', '.join(sorted(known))} (see `batchkernel plugins`)"
            )
    return problems


def _parse_flag(name: str, raw: str) -> bool:
    """Read one of the legacy boolean environment flags, refusing anything ambiguous."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"environment variable {name}={raw!r} is not a boolean; use true or false")
