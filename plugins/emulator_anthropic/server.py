"""AnthropicEmulatorServer: the shared loopback server on the Message Batches app; serve_forever
for CLIs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from plugins.emulator.config import ConfigBase
from plugins.emulator.server import AppServer, run_in_foreground

from .api import AnthropicEmulatorApp
from .config import AnthropicEmulatorConfig


class AnthropicEmulatorServer(AppServer):
    """The Message Batches API on loopback, for the real ``anthropic`` SDK (``base_url`` has no
    ``/v1``: the SDK's paths start with it)."""

    CONFIG: ClassVar[type[ConfigBase]] = AnthropicEmulatorConfig
    DIR_PREFIX: ClassVar[str] = "anthropic-emulator-"
    DATA_NAME: ClassVar[str] = "batches"
    app: AnthropicEmulatorApp

    def _build_app(self, config: AnthropicEmulatorConfig, directory: Path) -> AnthropicEmulatorApp:
        """The Message Batches app."""
        return AnthropicEmulatorApp(config, directory)

    @property
    def config(self) -> AnthropicEmulatorConfig:
        """The settings in force."""
        return self.app.config


def serve_forever(
    config: AnthropicEmulatorConfig | Mapping[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int = 8200,
    data_dir: str | Path | None = None,
) -> None:
    """Run the emulator in the foreground until interrupted (Ctrl-C or SIGTERM)."""
    server = AnthropicEmulatorServer(config, host=host, port=port, data_dir=data_dir)
    run_in_foreground(server, "Anthropic Message Batches emulator")
