"""OpenAI-compatible Files + Batch API emulator on loopback (OpenAI's ``/v1`` paths and Azure
OpenAI's ``/openai`` paths), with fault injection for tests."""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(
    __name__,
    {
        "OPERATIONS": "config",
        "AzureEmulatorServer": "server",
        "EmulatorConfig": "config",
        "EmulatorServer": "server",
        "serve_forever": "server",
    },
)

__all__ = [
    "OPERATIONS",
    "AzureEmulatorServer",
    "EmulatorConfig",
    "EmulatorServer",
    "serve_forever",
]
