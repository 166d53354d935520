"""How ``batchkernel settings`` shows settings: TOML-like text, JSON, or the Markdown reference.

Secret values are masked (``***``) and passwords in URLs hidden, in every form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kernel.settings import ENV_PREFIX, MASK, Layer, LoadedSettings, merged, redacted, sources
from kernel.settingspec import Declarations, Declared

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class Effective:
    """One setting as loaded: its declaration, value and source (the last layer that sets it)."""

    declared: Declared
    value: Any
    source: Layer

    @property
    def origin(self) -> str:
        """How the source is named: the file and its table, the variable, default, command line."""
        return self.source.origin or self.source.kind


def effective(loaded: LoadedSettings) -> Iterator[Effective]:
    """Every declared setting with its effective value and its source."""
    found = sources(loaded.layers, loaded.declarations)
    tree = merged(loaded.layers)
    for item in loaded.declarations:
        value = tree.get(item.section, {}).get(item.setting.key)
        yield Effective(item, value, found[item.dotted])


def displayed(value: Any, *, secret: bool) -> Any:
    """A setting's value as ``batchkernel settings`` shows it: a set secret as ``***``."""
    if secret:
        return MASK if value not in (None, "", [], {}) else value
    return redacted(value)


def toml_value(value: Any) -> str:
    """``value`` in TOML spelling (inline tables and arrays on one line)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        items = ", ".join(f"{_toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + items + "}" if items else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return json.dumps(str(value))


def _toml_key(key: str) -> str:
    """A key bare when TOML allows it, else quoted."""
    return key if BARE_KEY.match(key) else json.dumps(key)


def _shown(item: Effective) -> Any:
    """The value as it may be shown."""
    return displayed(item.value, secret=item.declared.setting.secret)


def as_text(loaded: LoadedSettings) -> str:
    """Every section as TOML, each key with its source as a comment."""
    lines = [
        f"# environment: {loaded.environment}",
        f"# files: {', '.join(str(path) for path in loaded.files)}",
    ]
    section = None
    rows: list[tuple[str, str]] = []
    for item in effective(loaded):
        if item.declared.section != section:
            lines += _aligned(rows)
            rows = []
            section = item.declared.section
            owners = loaded.declarations.sections[section].values()
            plugins = dict.fromkeys(owner for item in owners for owner in item.owners)
            lines += ["", f"[{section}]  # {', '.join(plugins)}"]
        key = _toml_key(item.declared.setting.key)
        value = _shown(item)
        left = f"# {key} is not set" if value is None else f"{key} = {toml_value(value)}"
        rows.append((left, item.origin))
    lines += _aligned(rows)
    return "\n".join(lines)


def _aligned(rows: list[tuple[str, str]]) -> list[str]:
    """``left  # source`` with the comments of one section aligned (long values not padded)."""
    width = min(max((len(left) for left, _ in rows), default=0), 48)
    return [f"{left.ljust(width)}  # {source}" for left, source in rows]


def as_json(loaded: LoadedSettings) -> str:
    """Every setting with its value, source kind, origin and declaring plugins, as JSON."""
    data = {
        "environment": loaded.environment,
        "files": [str(path) for path in loaded.files],
        "settings": {
            item.declared.dotted: {
                "value": _shown(item),
                "source": item.source.kind,
                "origin": item.origin,
                "secret": item.declared.setting.secret,
                "plugins": list(item.declared.owners),
            }
            for item in effective(loaded)
        },
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


def as_reference(declarations: Declarations) -> str:
    """The Markdown reference of every declared setting (``docs/settings.md``)."""
    lines = [
        "# Settings reference",
        "",
        "Generated from the declarations by `batchkernel settings --reference` (built-in plugins "
        "only); do not edit by hand. Every key can be set in a settings file under "
        f"`[default.<section>]` or `[<environment>.<section>]`, or as `{ENV_PREFIX}_<SECTION>__<KEY>`. "
        "`batchkernel settings` shows the effective values and where each comes from.",
    ]
    for section, keys in declarations.sections.items():
        entries = declarations.entries.get(section)
        owners = sorted(
            {
                owner
                for item in [*keys.values(), *([entries] if entries else [])]
                for owner in item.owners
            }
        )
        lines += [
            "",
            f"## [{section}]",
            "",
            declarations.helps.get(section, ""),
            "",
            f"Declared by: {', '.join(owners)}.",
            "",
            "| key | default | valid values | meaning |",
            "|---|---|---|---|",
        ]
        for item in keys.values():
            setting = item.setting
            meaning = setting.help + (" (secret)" if setting.secret else "")
            if len(item.owners) < len(owners):
                meaning += f" [{', '.join(item.owners)}]"
            default = "not set" if setting.default is None else f"`{toml_value(setting.default)}`"
            lines.append(
                f"| `{setting.key}` | {_cell(default)} | {_cell(setting.expected())} "
                f"| {_cell(meaning)} |"
            )
        if entries is not None:
            lines.append(
                f"| any `{entries.setting.key}` | | {_cell(entries.setting.expected())} "
                f"| {_cell(entries.setting.help)} |"
            )
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")
