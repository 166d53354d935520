"""The fork server's children are processes of their own: environment, directory, path, streams,
exit status and signals as a fresh ``python -m`` would have them, nothing of earlier children."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support import forkserver
from tests.support.forkserver import run_cli

PROBE = "tests.support.forkprobe"


def base_env(**extra: str) -> dict[str, str]:
    """This environment without a ``PYTHONPATH``, plus ``extra``."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | extra


def probe(*args: str, env: dict[str, str] | None = None, **options: Any) -> Any:
    """Run the probe forked from the zygote."""
    return run_cli(args, env=env or base_env(), module=PROBE, **options)


def real(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the probe as a real subprocess, for comparison."""
    return subprocess.run(
        [sys.executable, "-m", PROBE, *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def state(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The probe's report of what it saw."""
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_a_child_sees_what_a_fresh_process_would(tmp_path: Path) -> None:
    env = base_env(FORKSERVER_PROBE="1")
    forked, fresh = (
        state(probe("state", env=env, cwd=tmp_path)),
        state(real("state", env=env, cwd=tmp_path)),
    )
    assert forked["pid"] not in (os.getpid(), fresh["pid"]) and forked["ppid"] != os.getpid()
    for key in ("argv", "cwd", "path0", "environ", "fds", "sigint", "sigterm", "sigpipe", "main"):
        assert forked[key] == fresh[key], key
    assert forked["cwd"] == str(tmp_path) and forked["fds"] == [0, 1, 2]


def test_a_variable_of_one_request_is_absent_from_the_next(tmp_path: Path) -> None:
    first = state(probe("state", env=base_env(ONLY_FIRST="yes"), cwd=tmp_path))
    second = state(probe("state", env=base_env(), cwd=tmp_path))
    assert first["environ"]["ONLY_FIRST"] == "yes" and "ONLY_FIRST" not in second["environ"]
    assert second["environ"] == base_env()


def test_the_requests_pythonpath_comes_first_and_only_for_it(tmp_path: Path) -> None:
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "probe_extra_module.py").write_text("")
    env = base_env(PYTHONPATH=str(tmp_path / "extra"))
    assert probe("import", "probe_extra_module", env=env).stdout == "probe_extra_module\n"
    missing = probe("import", "probe_extra_module")
    assert missing.returncode == 1 and "ModuleNotFoundError" in missing.stderr


@pytest.mark.parametrize(
    "given",
    ["line one\nline two\n", b"line one\nline two\n", "file"],
    ids=["text", "bytes", "file"],
)
def test_stdin_is_the_input_given(given: str | bytes, tmp_path: Path) -> None:
    source = tmp_path / "input.txt"
    source.write_text("line one\nline two\n")
    done = probe("cat", input=source if given == "file" else given)
    assert done.returncode == 0 and done.stdout == "line one\nline two\n"


def test_a_missing_directory_raises_as_subprocess_does(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        probe("state", cwd=tmp_path / "missing")


def test_stdin_is_empty_without_input() -> None:
    assert probe("cat").stdout == ""


@pytest.mark.parametrize(
    ("args", "status", "stderr"),
    [
        (("exit", "0"), 0, "to stderr\n"),
        (("exit", "3"), 3, "to stderr\n"),
        (("exit", "300"), 300 & 0xFF, "to stderr\n"),
        (("exit", "a message"), 1, "to stderr\na message\n"),
    ],
)
def test_exit_status_and_both_streams(args: tuple[str, ...], status: int, stderr: str) -> None:
    done = probe(*args)
    assert (done.returncode, done.stdout, done.stderr) == (status, "to stdout\n", stderr)


@pytest.mark.parametrize(
    "args", [("raise", "boom"), ("interrupt",), ("kill", "SIGTERM"), ("exit", "7")]
)
def test_an_ending_is_the_same_as_a_real_process(args: tuple[str, ...], tmp_path: Path) -> None:
    forked, fresh = probe(*args, cwd=tmp_path), real(*args, env=base_env(), cwd=tmp_path)
    assert (forked.returncode, forked.stdout) == (fresh.returncode, fresh.stdout)
    assert forked.stderr.splitlines()[-1:] == fresh.stderr.splitlines()[-1:]


def test_an_uncaught_exception_prints_its_traceback_and_exits_1() -> None:
    done = probe("raise", "boom")
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback") and done.stderr.endswith("ValueError: boom\n")


def test_a_child_killed_by_a_signal_reports_minus_the_signal() -> None:
    assert probe("kill", "SIGKILL").returncode == -signal.SIGKILL
    assert probe("kill", "SIGTERM").returncode == -signal.SIGTERM


def test_a_timeout_kills_the_child() -> None:
    """``TimeoutExpired`` comes once the zygote reported the child's end (it would sleep 600 s)."""
    with pytest.raises(subprocess.TimeoutExpired) as raised:
        probe("sleep", "600", timeout=1)
    assert raised.value.timeout == 1 and isinstance(raised.value.output, bytes)
    for pid in map(int, raised.value.output.split()):  # printed if it started within the second
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_kill_that_may_come_after_the_end_leaves_the_zygote_serving() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        probe("exit", "0", timeout=0)
    assert probe("exit", "5").returncode == 5


def test_the_zygote_filled_no_cache_of_ours() -> None:
    assert json.loads(probe("caches").stdout) == {}


def test_children_run_side_by_side(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    waiting: list[subprocess.CompletedProcess[str]] = []
    waiter = threading.Thread(
        target=lambda: waiting.append(probe("wait-for", str(flag), timeout=60))
    )
    waiter.start()
    assert probe("create", str(flag)).returncode == 0
    waiter.join()
    assert waiting[0].returncode == 0


def test_an_environment_the_imports_read_differently_runs_a_real_process(
    tmp_path: Path,
) -> None:
    server = forkserver._current()
    read = next(key for key, value in server.read.items() if value is None and key != "*")
    for env in (base_env(**{read: "different"}), base_env(PYTHONHASHSEED="123")):
        assert not server.serves(env)
        assert state(probe("state", env=env, cwd=tmp_path))["ppid"] == os.getpid()


def test_the_command_line_runs_as_python_dash_m_kernel(tmp_path: Path) -> None:
    env = base_env(COLUMNS="200", BATCHKERNEL_PLUGINS__AUTOLOAD="false")
    done = run_cli(["--help"], env=env, cwd=tmp_path)
    assert done.returncode == 0 and "Usage" in done.stdout and "run" in done.stdout
    assert done.args == [sys.executable, "-m", "kernel", "--help"]
    wrong = run_cli(["no-such-command"], env=env, cwd=tmp_path)
    assert wrong.returncode == 2 and "No such command" in wrong.stderr
