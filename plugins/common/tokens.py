"""Counting input tokens of chat requests: exact with the offline ``bpe-openai`` tokenizer (the
``tokens`` extra: the o200k and cl100k vocabularies built in, nothing downloaded), else
characters / 4 plus 4 a message.

Exact counts add what the API adds around messages: 3 tokens a message (its role and framing)
and 3 that prime the reply. A strict response schema is counted by the provider on top; these
counts leave it out.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from functools import cache
from typing import Any

TOKENS_PER_MESSAGE = 3
REPLY_PRIMING = 3
DEFAULT_ENCODING = "o200k_base"
ENCODINGS = (
    ("gpt-4o", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
)
"""Model name prefixes and their vocabularies, most specific first (``gpt-4o`` before ``gpt-4``);
models not listed (newer ones) use ``o200k_base``."""


def approximate_tokens(text_chars: int, message_count: int = 2) -> int:
    """Estimated input tokens: 4 characters a token plus 4 per chat message."""
    return math.ceil(text_chars / 4) + 4 * message_count


def encoding_name(model: str) -> str:
    """The vocabulary ``model`` uses (a fine-tuned ``ft:BASE:...`` model: its base's)."""
    base = model.removeprefix("ft:").split(":", 1)[0].lower()
    return next((name for prefix, name in ENCODINGS if base.startswith(prefix)), DEFAULT_ENCODING)


@cache
def encoding(name: str) -> Any | None:
    """The tokenizer of vocabulary ``name``, or ``None`` without the ``tokens`` extra."""
    # The package loads its vocabularies with importlib.resources' deprecated open_binary:
    # its warning is about the package, not about anything a user can change.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message="open_binary")
        try:
            import bpe_openai
        except ImportError:
            return None
        return bpe_openai.get_encoding(name)


def exact_counts() -> bool:
    """Whether the offline tokenizer is installed (else counts are approximations)."""
    return encoding(DEFAULT_ENCODING) is not None


def count_text(model: str, text: str) -> int:
    """Tokens of ``text`` for ``model`` (characters / 4 without the tokenizer)."""
    found = encoding(encoding_name(model))
    if found is None:
        return math.ceil(len(text) / 4)
    return len(found.encode_ordinary(text))


def count_chat(model: str, messages: Sequence[tuple[str, str]]) -> int:
    """Input tokens of chat ``messages`` (role, content) as the API counts them."""
    found = encoding(encoding_name(model))
    if found is None:
        return approximate_tokens(sum(len(content) for _, content in messages), len(messages))
    encode = found.encode_ordinary
    return REPLY_PRIMING + sum(
        TOKENS_PER_MESSAGE + len(encode(role)) + len(encode(content)) for role, content in messages
    )
