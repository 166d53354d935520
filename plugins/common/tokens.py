"""Counting input tokens of chat requests: exact with the offline ``bpe-openai`` tokenizer (the
``tokens`` extra: the o200k and cl100k vocabularies built in, nothing downloaded), else
characters / 4 plus 4 a message.

Exact counts add what the API adds around messages: 3 tokens a message (its role and framing)
and 3 that prime the reply. A strict response schema is counted by the provider on top; these
counts leave it out.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol

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


class Tokenizer(Protocol):
    """The compiled tokenizer of one vocabulary (``bpe-openai``'s Rust backend)."""

    def count(self, text: str) -> int: ...


@cache
def encoding(name: str) -> Tokenizer | None:
    """The tokenizer of vocabulary ``name``, or ``None`` without the ``tokens`` extra."""
    backend = _compiled_backend()
    return None if backend is None else backend.tokenizer_for_encoding(name)


@cache
def _compiled_backend() -> Any | None:
    """``bpe-openai``'s compiled module, loaded without its Python wrapper: importing the wrapper
    parses three vocabularies into Python dictionaries (0.5-1 s of CPU and 65 MB a process) that
    counting never reads; the compiled tokenizers hold their own vocabularies."""
    package = importlib.util.find_spec("bpe_openai")
    if package is None or not package.submodule_search_locations:
        return None
    name = "bpe_openai._bindings"
    for directory in package.submodule_search_locations:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(directory) / f"_bindings{suffix}"
            if path.exists():
                loader = importlib.machinery.ExtensionFileLoader(name, str(path))
                spec = importlib.util.spec_from_file_location(name, path, loader=loader)
                assert spec is not None
                module = importlib.util.module_from_spec(spec)
                loader.exec_module(module)
                return module
    return None


def exact_counts() -> bool:
    """Whether the offline tokenizer is installed (else counts are approximations)."""
    return encoding(DEFAULT_ENCODING) is not None


def count_text(model: str, text: str) -> int:
    """Tokens of ``text`` for ``model`` (characters / 4 without the tokenizer)."""
    found = encoding(encoding_name(model))
    if found is None:
        return math.ceil(len(text) / 4)
    return found.count(text)


def count_chat(model: str, messages: Sequence[tuple[str, str]]) -> int:
    """Input tokens of chat ``messages`` (role, content) as the API counts them."""
    found = encoding(encoding_name(model))
    if found is None:
        return approximate_tokens(sum(len(content) for _, content in messages), len(messages))
    count = found.count
    return REPLY_PRIMING + sum(
        TOKENS_PER_MESSAGE + count(role) + count(content) for role, content in messages
    )
