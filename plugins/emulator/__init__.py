"""OpenAI-compatible Files + Batch API emulator on loopback, with fault injection for tests."""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(
    __name__,
    {
        "OPERATIONS": "config",
        "EmulatorConfig": "config",
        "EmulatorServer": "server",
        "serve_forever": "server",
    },
)

__all__ = ["OPERATIONS", "EmulatorConfig", "EmulatorServer", "serve_forever"]
