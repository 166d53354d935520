"""Plugin ``emulator``: ``batchkernel emulator``, one provider's Batch API emulator alone.

``--provider openai`` (the default) serves the OpenAI-compatible Files + Batch API with faults
and timings from the ``[emulator]`` settings section; ``--provider anthropic`` the Anthropic
Message Batches API from ``[emulator_anthropic]``. The emulators are the libraries
:mod:`plugins.emulator` and :mod:`plugins.emulator_anthropic`, imported only when the command runs.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from kernel import hookimpl
from kernel.cli.options import SettingsOption, console, open_kernel


class EmulatedProvider(StrEnum):
    """The providers an emulator exists for."""

    openai = "openai"
    anthropic = "anthropic"


def _section(kernel: Any, name: str) -> dict[str, Any]:
    """A settings section as config keys (lower-case), without ``port``."""
    section = {str(k).lower(): v for k, v in dict(kernel.settings.get(name, {}) or {}).items()}
    section.pop("port", None)
    return section


def _server(provider: EmulatedProvider, kernel: Any, port: int) -> Any:
    """The chosen provider's emulator server, configured from its settings section."""
    if provider is EmulatedProvider.anthropic:
        from plugins.emulator_anthropic import AnthropicEmulatorConfig, AnthropicEmulatorServer

        config = AnthropicEmulatorConfig.from_dict(_section(kernel, "emulator_anthropic"))
        return AnthropicEmulatorServer(config, host="127.0.0.1", port=port)
    from plugins.emulator import EmulatorConfig, EmulatorServer

    return EmulatorServer(
        EmulatorConfig.from_dict(_section(kernel, "emulator")), host="127.0.0.1", port=port
    )


def emulator_command(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8100,
    provider: Annotated[
        EmulatedProvider, typer.Option(help="Which provider's batch API to emulate.")
    ] = EmulatedProvider.openai,
    settings: SettingsOption = None,
) -> None:
    """Run a provider's Batch API emulator alone (faults from its emulator settings section)."""
    import threading

    kernel = open_kernel(settings)
    server = _server(provider, kernel, port).start()
    console.print(f"{provider.value} emulator listening at {server.base_url} (Ctrl-C to stop)")
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
