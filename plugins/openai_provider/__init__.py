"""The ``openai`` and ``azure-openai`` provider plugins: OpenAI's Batch API, directly or on an
Azure OpenAI resource, through the official SDK, with our own retries."""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(
    __name__,
    {"OpenAIProvider": "provider", "AzureOpenAIProvider": "provider"},
)

__all__ = ["AzureOpenAIProvider", "OpenAIProvider"]
