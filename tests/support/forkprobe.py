"""A stand-in command for the fork server's own tests: ``python -m tests.support.forkprobe ACTION
[ARG]`` reports what the process sees or ends the way the action says."""

from __future__ import annotations

import functools
import importlib
import json
import os
import signal
import sys
import time

OURS = ("kernel", "plugins")


def state() -> dict[str, object]:
    """What a test compares between a forked child and a real one."""
    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "argv": sys.argv[1:],
        "cwd": os.getcwd(),
        "path0": sys.path[0],
        "environ": dict(os.environ),
        "fds": open_descriptors(),
        "sigint": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
        "sigterm": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
        "sigpipe": signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN,
        "main": sys.modules["__main__"].__file__,
    }


def open_descriptors() -> list[int]:
    """The descriptors open in this process (the one that listed them is closed by then)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            os.fstat(int(name))
        except OSError:
            continue
        found.append(int(name))
    return sorted(found)


def filled_caches() -> dict[str, int]:
    """The ``functools`` caches the kernel's and the plugins' modules define that hold something."""
    filled = {}
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] in OURS:
            for attribute, value in vars(module).items():
                if (
                    isinstance(value, functools._lru_cache_wrapper)
                    and value.__module__.partition(".")[0] in OURS
                    and value.cache_info().currsize
                ):
                    filled[f"{name}.{attribute}"] = value.cache_info().currsize
    return filled


def main(action: str, arg: str = "") -> None:
    """Do ``action``."""
    if action == "state":
        print(json.dumps(state()))
    elif action == "caches":
        print(json.dumps(filled_caches()))
    elif action == "cat":
        sys.stdout.write(sys.stdin.read())
    elif action == "exit":
        print("to stdout")
        print("to stderr", file=sys.stderr)
        sys.exit(int(arg) if arg.lstrip("-").isdigit() else arg)
    elif action == "raise":
        raise ValueError(arg)
    elif action == "interrupt":
        raise KeyboardInterrupt
    elif action == "kill":
        os.kill(os.getpid(), signal.Signals[arg])
    elif action == "sleep":
        print(os.getpid(), flush=True)
        time.sleep(float(arg))
    elif action == "import":
        print(importlib.import_module(arg).__name__)
    elif action == "wait-for":
        while not os.path.exists(arg):
            time.sleep(0.01)
    elif action == "create":
        open(arg, "w").close()


if __name__ == "__main__":
    main(*sys.argv[1:])
