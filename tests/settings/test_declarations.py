"""The declarations themselves: every default valid, light to read, merged across plugins, and
the only source of the keys the documentation names."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kernel.settings import default_settings_file, load_settings
from kernel.settingspec import Declarations, Section, Setting, collect_declarations
from kernel.types import PluginLoadError

ROOT = Path(__file__).resolve().parents[2]
DECLARATIONS = collect_declarations()
HEAVY = ("openai", "opentelemetry", "plugins.emulator.server", "sqlalchemy", "diskcache", "redis")


@pytest.mark.parametrize("item", list(DECLARATIONS), ids=lambda item: item.dotted)
def test_every_default_is_valid_and_documented(item: object) -> None:
    setting = item.setting  # type: ignore[attr-defined]
    assert setting.accepts(setting.default), f"{item}: default {setting.default!r} is refused"
    assert setting.help and "\n" not in setting.help


@pytest.mark.parametrize("environment", sorted(tomllib.loads(default_settings_file().read_text())))
def test_every_shipped_environment_loads(environment: str) -> None:
    assert load_settings(environment=environment).plugins.processor == "optimized"


def test_the_shipped_file_only_holds_what_an_environment_changes() -> None:
    shipped = tomllib.loads(default_settings_file().read_text())
    assert shipped.pop("default") == {} and shipped.pop("development") == {}
    assert shipped == {
        "production": {"database": {"url": shipped["production"]["database"]["url"]}}
    }


def test_reading_every_declaration_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from kernel.settings import load_settings\n"
        "load_settings()\n"
        f"print([name for name in {HEAVY!r} if name in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout


def test_a_plugin_may_add_keys_to_a_section_of_the_kernel() -> None:
    batch = DECLARATIONS.sections["batch"]
    assert batch["workdir"].owners == ("kernel",)
    assert batch["max_requests_per_batch"].owners == ("original", "optimized")
    assert batch["company_weights"].owners == ("budget",)


def test_a_key_declared_twice_must_be_declared_alike() -> None:
    declarations = Declarations()
    shared = Setting("ttl", float, 1.0, "how long")
    declarations.add("one", Section("s", "help", (shared,)))
    declarations.add("two", Section("s", "", (shared,)))
    assert declarations.sections["s"]["ttl"].owners == ("one", "two")
    with pytest.raises(PluginLoadError, match=r"one, two and three declare the setting s\.ttl"):
        declarations.add("three", Section("s", "", (Setting("ttl", int, 1, "how long"),)))


def test_a_section_cannot_declare_a_key_twice() -> None:
    with pytest.raises(ValueError, match="declares a twice"):
        Section("s", "", (Setting("a", int, 1, "x"), Setting("a", int, 2, "y")))


@pytest.mark.parametrize(
    ("setting", "value", "accepted"),
    [
        (Setting("n", int, 1, "h", ge=1), True, False),
        (Setting("n", float, 1, "h"), 2, True),
        (Setting("n", float, 1, "h", gt=0, le=1), 0, False),
        (Setting("s", str, "a", "h", non_empty=True), "", False),
        (Setting("s", str, None, "h", optional=True), None, True),
        (Setting("s", str, "a", "h", choices=("a", "b")), "c", False),
        (Setting("l", list, [], "h"), ("x",), True),
    ],
)
def test_accepts(setting: Setting, value: object, accepted: bool) -> None:
    assert setting.accepts(value) is accepted


def test_expected_reads_as_plain_words() -> None:
    assert Setting("n", int, 1, "h", ge=1, le=64).expected() == "a whole number from 1 to 64"
    assert Setting("f", float, 1, "h", gt=0, le=1).expected() == "a number above 0 and at most 1"
    assert Setting("s", str, "", "h", choices=("", "grpc")).expected() == 'one of: "" (empty), grpc'


DOTTED = re.compile(r"`([a-z_]+)\.([a-z_]+)[`.]")


@pytest.mark.parametrize(
    "path",
    [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))],
    ids=lambda path: path.name,
)
def test_every_setting_the_documentation_names_is_declared(path: Path) -> None:
    unknown = sorted(
        f"{section}.{key}"
        for section, key in DOTTED.findall(path.read_text())
        if section in DECLARATIONS.sections
        and DECLARATIONS.find(section, key) is None
        and not (ROOT / section / key).is_dir()  # a module path such as plugins.emulator
    )
    assert not unknown, f"{path.name} names settings nothing declares: {unknown}"
