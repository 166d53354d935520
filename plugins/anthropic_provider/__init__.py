"""Plugin ``anthropic``: the Anthropic Message Batches provider (official ``anthropic`` SDK)."""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {"AnthropicProvider": "provider"})

__all__ = ["AnthropicProvider"]
