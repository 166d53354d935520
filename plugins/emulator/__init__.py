"""OpenAI-compatible Files + Batch API emulator on loopback, with fault injection for tests."""

from .config import OPERATIONS, EmulatorConfig
from .server import EmulatorServer, serve_forever

__all__ = ["OPERATIONS", "EmulatorConfig", "EmulatorServer", "serve_forever"]
