"""Settings declarations: the typed description of the settings sections the kernel and each plugin own.

The kernel and every plugin describe their keys with :class:`Setting` and :class:`Section` and
return them from the ``declare_settings`` hook. These declarations are the one source of truth:
defaults, types, choices, bounds, which keys are secret and the line of help that ``batchkernel
settings`` and ``docs/settings.md`` show all come from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_TYPE_WORDS: dict[type, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a table (key = value pairs)",
}


@dataclass(frozen=True, slots=True)
class Setting:
    """One key of a section: its type, default, valid values, secrecy and one line of help.

    ``kind`` is ``bool``, ``int``, ``float`` (any number), ``str``, ``list`` or ``dict`` (a table,
    whose own keys are free: the setting's ``check`` judges them). ``ge``/``gt``/``le``/``lt``
    bound numbers, ``choices`` lists the only valid values, ``check`` is any other test, described
    in words by ``rule``. A ``secret`` value is never shown, only its type.
    """

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
    """An environment variable that fills the setting when it is empty, or when no settings file,
    ``BATCHKERNEL_*`` variable or command line sets it (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``:
    the provider SDK's own variables)."""
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
        bounds = " and ".join(_bounds(self.ge, self.gt, self.le, self.lt))
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
        if numeric and not _within(value, self.ge, self.gt, self.le, self.lt):
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


def _has_type(value: Any, kind: type) -> bool:
    """``isinstance`` for settings: a bool is no number, an int is a float."""
    if kind is bool:
        return isinstance(value, bool)
    if kind in (int, float) and isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, int | float)
    if kind is list:
        return isinstance(value, list | tuple)
    return isinstance(value, kind)


def _within(
    value: float, ge: float | None, gt: float | None, le: float | None, lt: float | None
) -> bool:
    """Whether ``value`` respects every bound that is set."""
    return (
        (ge is None or value >= ge)
        and (gt is None or value > gt)
        and (le is None or value <= le)
        and (lt is None or value < lt)
    )


def _bounds(ge: float | None, gt: float | None, le: float | None, lt: float | None) -> list[str]:
    """The bounds in words: ``from 1 to 64``, ``at least 0``, ``above 0``, ``at most 1``."""
    if ge is not None and le is not None:
        return [f"from {_number(ge)} to {_number(le)}"]
    words = []
    if ge is not None:
        words.append(f"at least {_number(ge)}")
    if gt is not None:
        words.append(f"above {_number(gt)}")
    if le is not None:
        words.append(f"at most {_number(le)}")
    if lt is not None:
        words.append(f"below {_number(lt)}")
    return words


def _number(value: float) -> str:
    """``1`` for 1.0, ``0.5`` for 0.5."""
    return str(int(value)) if float(value).is_integer() else str(value)
