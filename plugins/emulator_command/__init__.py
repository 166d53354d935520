"""Plugin ``emulator``: ``batchkernel emulator``, the OpenAI-compatible Batch API emulator alone.

Faults and timings come from the ``[emulator]`` settings section (any ``EmulatorConfig`` key).
The emulator itself is the library :mod:`plugins.emulator` (also ``python -m plugins.emulator``,
every setting a flag), imported only when the command runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kernel import hookimpl
from kernel.cli.errors import listen_error
from kernel.cli.options import SettingsOption, console, open_kernel


def emulator_command(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8100,
    settings: SettingsOption = None,
) -> None:
    """Run the OpenAI-compatible Batch API emulator alone (faults from the emulator settings)."""
    import threading

    from plugins.emulator import EmulatorConfig, EmulatorServer

    kernel = open_kernel(settings)
    section = dict(kernel.settings.get("emulator", {}) or {})
    section.pop("port", None)
    config = EmulatorConfig.from_dict({str(k).lower(): v for k, v in section.items()})
    try:
        server = EmulatorServer(config, host="127.0.0.1", port=port).start()
    except OSError as exc:
        raise listen_error(exc, "127.0.0.1", port) from exc
    console.print(f"emulator listening at {server.base_url} (Ctrl-C to stop)")
    forever = threading.Event()
    try:
        while not forever.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


class EmulatorCommand:
    """Adds ``batchkernel emulator``."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """The ``emulator`` command."""
        cli.command("emulator")(emulator_command)
