"""The ``original`` processor: the original system's per-company query pattern, made correct.

It is the baseline the optimized processor is measured against and the ``trylast`` default
every other processor falls back to.
"""

from plugins.original.processor import OriginalProcessor

__all__ = ["OriginalProcessor"]
