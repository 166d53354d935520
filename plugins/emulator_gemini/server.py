"""GeminiEmulatorServer: the Gemini batch API on loopback, for the real ``google-genai`` SDK.

It reuses the shared emulator's HTTP plumbing and server lifecycle; only the app differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from plugins.emulator.config import ConfigBase
from plugins.emulator.server import AppServer, run_in_foreground

from .api import GeminiApp
from .config import GeminiEmulatorConfig


class GeminiEmulatorServer(AppServer):
    """Start/stop like every emulator; give the SDK ``base_url`` (``http_options.base_url``: it
    adds the API version itself) and any API key."""

    CONFIG: ClassVar[type[ConfigBase]] = GeminiEmulatorConfig
    DIR_PREFIX: ClassVar[str] = "gemini-emulator-"
    URL_PATH: ClassVar[str] = "/"
    app: GeminiApp

    def _build_app(self, config: GeminiEmulatorConfig, directory: Path) -> GeminiApp:
        """The Gemini app."""
        return GeminiApp(config, directory)

    @property
    def config(self) -> GeminiEmulatorConfig:
        """The settings in force."""
        return self.app.config

    def stop(self) -> None:
        """Stop serving and close unfinished uploads, then clean up as every emulator does."""
        self.app.store.files.close()
        super().stop()


def serve_forever(
    config: GeminiEmulatorConfig | Mapping[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int = 8101,
    data_dir: str | Path | None = None,
) -> None:
    """Run the Gemini emulator in the foreground until interrupted."""
    server = GeminiEmulatorServer(config, host=host, port=port, data_dir=data_dir)
    run_in_foreground(server, "gemini batch emulator")
