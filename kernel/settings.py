"""Settings: the declared defaults, ``settings.toml`` files, ``BATCHKERNEL_*`` variables, the legacy
flags and the command line, merged into one dynaconf object and checked against the declarations.

Every key comes from a declaration (:mod:`kernel.settingspec`) made by the kernel or a plugin
through the ``declare_settings`` hook; defaults come only from there. Loading stops with a
:class:`kernel.types.ConfigError` that names each bad setting: an unknown section, key,
environment or ``BATCHKERNEL_*`` variable (with the closest valid name), a value of the wrong
type or out of bounds (with the valid values), an unknown plugin name. A message never shows a
secret: values of keys declared ``secret`` are shown by their type only and passwords in URLs are
masked (:mod:`kernel.redact`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dynaconf import Dynaconf

from kernel.declarations import Declarations, Declared, collect_declarations
from kernel.redact import shown
from kernel.settingsources import (
    ENV_PREFIX,
    Layer,
    SettingsFile,
    environment_problem,
    merged,
    override_layer,
    read_file,
    sources,
    variable_layers,
)
from kernel.types import ConfigError

SEED_FLAGS = {
    "ENABLE_BATCH_OPTIMIZATION": "processing.enable_batch_optimization",
    "ENABLE_BATCH_OPERATIONS": "processing.enable_batch_operations",
    "ENABLE_PARALLEL_PROCESSING": "processing.enable_parallel_processing",
    "FALLBACK_ON_ERRORS": "processing.fallback_on_errors",
}
TRACE_VARIABLE = f"{ENV_PREFIX}_TRACE_PLUGINS"
DEFAULT_ENVIRONMENT = "development"
PLUGIN_NAME_KEYS = ("processor", "provider", "cache", "exporters", "enabled", "disabled")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class Effective:
    """One setting as loaded: its declaration, value and source."""

    declared: Declared
    value: Any
    source: Layer


@dataclass(frozen=True, slots=True)
class LoadedSettings:
    """Loaded and checked settings, with where each value came from."""

    settings: Dynaconf
    environment: str
    files: tuple[Path, ...]
    declarations: Declarations
    layers: tuple[Layer, ...]

    def effective(self) -> Iterator[Effective]:
        """Every declared setting with its effective value and its source."""
        found = sources(self.layers, self.declarations)
        tree = merged(self.layers)
        for item in self.declarations:
            value = tree.get(item.section, {}).get(item.setting.key)
            yield Effective(item, value, found[item.dotted])


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
    _stop(problems)

    layers = [Layer("default", "", declarations.defaults())]
    for parsed in files:
        layers += parsed.layers(chosen)
    layers += variables
    layers += _flag_layers()
    layers += _fallback_layers([*layers, command_line], declarations)
    layers.append(command_line)
    tree = merged(layers)
    problems = _value_problems(tree, layers, declarations)
    _stop(problems or _plugin_problems(tree, declarations))
    settings = Dynaconf(
        envvar_prefix=None,
        environments=False,
        load_dotenv=False,
        merge_enabled=False,
        settings_files=[],
        **{section.upper(): values for section, values in tree.items()},
    )
    return LoadedSettings(settings, chosen, tuple(paths), declarations, tuple(layers))


def shipped_settings() -> Dynaconf:
    """The declared defaults under the shipped file alone: no user file, no variables (what the
    command line lists commands from when the user's settings cannot be loaded)."""
    declarations = collect_declarations()
    parsed, _ = read_file(default_settings_file(), declarations)
    layers = [Layer("default", "", declarations.defaults()), *parsed.layers(DEFAULT_ENVIRONMENT)]
    return Dynaconf(
        envvar_prefix=None,
        environments=False,
        load_dotenv=False,
        merge_enabled=False,
        settings_files=[],
        **{section.upper(): values for section, values in merged(layers).items()},
    )


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


def _flag_layers() -> list[Layer]:
    """The legacy boolean flags and ``BATCHKERNEL_TRACE_PLUGINS``, which win over the files."""
    layers = []
    for variable, key in SEED_FLAGS.items():
        if variable in os.environ:
            section, name = key.split(".")
            value = _parse_flag(variable, os.environ[variable])
            layers.append(Layer("environment", variable, {section: {name: value}}))
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


def _stop(problems: list[str]) -> None:
    """Raise one error listing every problem, if there is any."""
    if len(problems) == 1:
        raise ConfigError(f"invalid settings: {problems[0]}")
    if problems:
        raise ConfigError("invalid settings:\n  " + "\n  ".join(problems))


def _parse_flag(name: str, raw: str) -> bool:
    """Read one of the legacy boolean environment flags, refusing anything ambiguous."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"environment variable {name}={raw!r} is not a boolean; use true or false")
