"""Commands come from plugins: built-ins, a third-party plugin's through its entry point, a start
that imports no provider SDK, telemetry, emulator or HTTP server, and settings that fail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from kernel import hookimpl
from kernel.manager import build_plugin_manager
from kernel.settings import load_settings
from kernel.types import PluginLoadError
from plugins.cli.main import add_plugin_commands, build_app, core_app, settings_file_in
from plugins.core_commands.run import run

FAKE_DIST = Path(__file__).parent / "data" / "fake-plugin"
HEAVY = ("openai", "opentelemetry", "plugins.emulator", "hypercorn", "starlette", "httpx2")
LIGHT = ("plugins.emulator", "plugins.emulator.config", "plugins.emulator.settings_spec")
"""The emulator's lazy package and its settings declaration are read at every start (its
``[emulator]`` keys must be known); its server, model and stores are not."""
PLUGIN_COMMANDS = {
    "bench",
    "chaos",
    "companies",
    "costs",
    "db",
    "demo",
    "emulator",
    "import",
    "plugins",
    "run",
    "serve",
    "settings",
    "status",
}


def clean_env(*, fake: bool = True, **extra: str) -> dict[str, str]:
    """This environment without batchkernel settings (``fake``: the fake third-party
    distribution installed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHKERNEL_")}
    path = [str(FAKE_DIST) if fake else "", env.get("PYTHONPATH", "")]
    return env | {"PYTHONPATH": os.pathsep.join(p for p in path if p)} | extra


def console_script() -> str:
    """The installed ``batchkernel`` console script of this environment."""
    found = shutil.which("batchkernel", path=str(Path(sys.executable).parent))
    assert found, "the batchkernel console script is not installed in this environment"
    return found


def command_names(app: typer.Typer) -> set[str]:
    """The top-level commands and groups of ``app``."""
    group = typer.main.get_command(app)
    return set(group.commands)  # type: ignore[attr-defined]


def test_the_kernel_itself_has_no_command() -> None:
    assert command_names(core_app()) == set()


def test_built_in_plugins_add_every_command() -> None:
    assert command_names(build_app([])) >= PLUGIN_COMMANDS


def test_a_disabled_command_plugin_takes_its_command_with_it(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[default.plugins]\ndisabled = ["bench", "chaos"]\n')
    names = command_names(build_app(["--settings", str(settings), "--help"]))
    assert "bench" not in names and "chaos" not in names and "demo" in names


def test_settings_file_is_read_ahead_of_parsing() -> None:
    assert settings_file_in(["run", "--settings", "a.toml"]) == Path("a.toml")
    assert settings_file_in(["--settings=b.toml", "plugins"]) == Path("b.toml")
    assert settings_file_in(["run", "--settings"]) is None


class Clashing:
    """A plugin that adds a command a built-in plugin already added."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        cli.command("run")(lambda: None)


def test_a_command_name_taken_twice_is_refused() -> None:
    settings = load_settings({"plugins.autoload": False})
    pm, _ = build_plugin_manager(settings, extra=[("clashing", Clashing())])
    app = core_app()
    with pytest.raises(PluginLoadError, match="'run'"):
        add_plugin_commands(app, pm, strict=True)
    app = core_app()
    add_plugin_commands(app, pm, strict=False)
    runs = [info for info in app.registered_commands if info.name == "run"]
    assert len(runs) == 1 and runs[0].callback is run


def test_a_third_party_command_through_its_entry_point(tmp_path: Path) -> None:
    env = clean_env(BATCHKERNEL_PLUGINS__PROCESSOR="original")
    helped = subprocess.run(
        [console_script(), "--help"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert helped.returncode == 0, helped.stderr
    assert "fake-hello" in helped.stdout
    hello = subprocess.run(
        [console_script(), "fake-hello", "world"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert hello.returncode == 0, hello.stderr
    assert hello.stdout.strip() == "hello world; processor original"
    off = subprocess.run(
        [console_script(), "fake-hello", "world"],
        env=env | {"BATCHKERNEL_PLUGINS__AUTOLOAD": "false"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert off.returncode == 2 and "No such command 'fake-hello'" in off.stderr


def test_help_works_with_broken_settings_and_the_command_says_why(tmp_path: Path) -> None:
    env = clean_env(fake=False, BATCHKERNEL_BATCH__MAX_ATTEMPTS="many")
    helped = subprocess.run(
        [console_script(), "--help"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert helped.returncode == 0, helped.stderr
    assert {"status", "serve", "bench", "import"} <= set(helped.stdout.split())
    failed = subprocess.run(
        [console_script(), "status"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert failed.returncode == 2
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and "batch.max_attempts" in lines[0], failed.stderr


MODULES_AFTER = """
import json, sys
from plugins.cli.main import main
try:
    main({args!r})
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["plugins"], ["status", "--help"]])
@pytest.mark.parametrize("telemetry", ["none", "console"])
def test_start_imports_no_sdk_telemetry_emulator_or_server(
    args: list[str], telemetry: str, tmp_path: Path
) -> None:
    env = clean_env(
        BATCHKERNEL_DATABASE__URL=f"sqlite:///{tmp_path / 'unused.db'}",
        BATCHKERNEL_TELEMETRY__EXPORTER=telemetry,
    )
    done = subprocess.run(
        [sys.executable, "-c", MODULES_AFTER.format(args=args)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    modules = json.loads(done.stderr.strip().splitlines()[-1])
    assert "kernel.manager" in modules, "the plugin manager was built"
    loaded = [
        m
        for m in modules
        if m not in LIGHT and any(m == name or m.startswith(name + ".") for name in HEAVY)
    ]
    assert loaded == [], f"batchkernel {' '.join(args)} imported {loaded[:5]}"
    assert not (tmp_path / "unused.db").exists()


def test_the_help_of_every_plugin_command_renders() -> None:
    runner = CliRunner()
    app = build_app([])
    for name in sorted(PLUGIN_COMMANDS):
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage" in result.output


@pytest.mark.parametrize("ending", ["returns", "exits 1", "raises"])
def test_a_command_s_kernels_are_closed_when_it_ends(tmp_path: Path, ending: str) -> None:
    """A command (a plugin's too) that never closes what ``open_kernel`` gave it leaves no
    connection open: every kernel it opened is closed when it ends, however it ends."""
    from plugins.cli.options import open_kernel

    opened = []
    app = core_app()

    @app.command("leaky")
    def leaky() -> None:
        for _ in range(2):
            opened.append(open_kernel(None, f"sqlite:///{tmp_path / 'x.db'}"))
        if ending == "exits 1":
            raise typer.Exit(code=1)
        if ending == "raises":
            raise RuntimeError("boom")

    result = CliRunner().invoke(app, ["leaky"])
    assert result.exit_code == {"returns": 0, "exits 1": 1, "raises": 1}[ending]
    assert len(opened) == 2 and all(kernel.closed for kernel in opened)
    later = open_kernel(None, f"sqlite:///{tmp_path / 'x.db'}")
    assert not later.closed  # outside a command the caller closes it
    later.close()
