"""The ``openai`` provider plugin: OpenAI Batch API through the official SDK, with our own retries."""

from plugins.openai_provider.provider import OpenAIProvider

__all__ = ["OpenAIProvider"]
