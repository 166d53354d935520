"""The ``fallback`` plugin: rescues the optimized processor with the original, and routes around
it while a performance tracker says the original is the better choice."""

from plugins.fallback.plugin import FallbackPlugin

__all__ = ["FallbackPlugin"]
