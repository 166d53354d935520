"""The ``gemini`` provider plugin: Google Gemini batch mode through the official google-genai SDK."""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {"GeminiProvider": "provider"})

__all__ = ["GeminiProvider"]
