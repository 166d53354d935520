"""Counting input tokens: characters / 4 plus 4 a message (the documented approximation)."""

from __future__ import annotations

import math


def approximate_tokens(text_chars: int, message_count: int = 2) -> int:
    """Estimated input tokens: 4 characters a token plus 4 per chat message."""
    return math.ceil(text_chars / 4) + 4 * message_count
