"""Plugin ``emulator``: ``batchkernel emulator [--provider NAME]``, a provider's batch API emulator alone.

Faults and timings come from the ``[emulator]`` settings section (any ``EmulatorConfig`` key; the
Anthropic emulator reads its own ``[emulator_anthropic]`` section). The emulators are libraries
(:mod:`plugins.emulator`, also ``python -m plugins.emulator`` with every setting a flag;
:mod:`plugins.emulator_gemini`; :mod:`plugins.emulator_anthropic`), imported only when chosen.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kernel import hookimpl
from plugins.cli.options import SettingsOption, console, open_kernel

EMULATORS: dict[str, str] = {
    "openai": "plugins.emulator:EmulatorServer",
    "azure-openai": "plugins.emulator:AzureEmulatorServer",
    "gemini": "plugins.emulator_gemini:GeminiEmulatorServer",
    "anthropic": "plugins.emulator_anthropic:AnthropicEmulatorServer",
}
"""Emulator servers by provider name: ``module:class``, imported only when chosen."""
OWN_SECTIONS: dict[str, str] = {"anthropic": "emulator_anthropic"}
"""Emulators configured by a settings section of their own (every key), not ``[emulator]``."""


def _server_class(provider: str) -> Any:
    """The emulator server class of a provider, or a usage error naming the choices."""
    import importlib

    target = EMULATORS.get(provider)
    if target is None:
        raise typer.BadParameter(
            f"no emulator for provider {provider!r}; choose one of: {', '.join(EMULATORS)}",
            param_hint="--provider",
        )
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _changed_settings(settings: Any) -> dict[str, Any]:
    """The ``[emulator]`` keys set away from their defaults, so each provider's emulator keeps
    its own defaults (Gemini's operations, window and ordering differ from OpenAI's)."""
    from plugins.emulator import EmulatorConfig

    defaults = EmulatorConfig().to_dict()
    section = {str(k).lower(): v for k, v in dict(settings.get("emulator", {}) or {}).items()}
    section.pop("port", None)
    return {
        key: value
        for key, value in section.items()
        if key not in defaults or _plain(value) != _plain(defaults[key])
    }


def _emulator_settings(provider: str, settings: Any) -> dict[str, Any]:
    """The config of ``provider``'s emulator: its own section when it has one, else the
    ``[emulator]`` keys changed from their defaults."""
    name = OWN_SECTIONS.get(provider)
    if name is None:
        return _changed_settings(settings)
    section = {str(k).lower(): v for k, v in dict(settings.get(name, {}) or {}).items()}
    section.pop("port", None)
    return section


def _plain(value: Any) -> Any:
    """Settings values compared as plain JSON-like data (tuples as lists, boxes as dicts)."""
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def emulator_command(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8100,
    provider: Annotated[
        str,
        typer.Option(
            help="Which provider's batch API to emulate (openai, azure-openai, gemini, anthropic)."
        ),
    ] = "openai",
    settings: SettingsOption = None,
) -> None:
    """Run a provider's batch API emulator alone (faults from the emulator settings)."""
    import threading

    server_class = _server_class(provider)
    kernel = open_kernel(settings)
    config = _emulator_settings(provider, kernel.settings)
    from plugins.cli.errors import listen_error

    try:
        server = server_class(config, port=port).start()
    except OSError as exc:
        raise listen_error(exc, "127.0.0.1", port) from exc
    console().print(f"emulator listening at {server.base_url} (Ctrl-C to stop)")
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
