"""The ``openai`` provider plugin: OpenAI Batch API through the official SDK, with our own retries."""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(
    __name__,
    {"OpenAIProvider": "provider"},
)

__all__ = ["OpenAIProvider"]
