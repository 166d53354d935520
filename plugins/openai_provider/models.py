"""What a model accepts: the capability table (``openai.models``, model-name prefixes; the
longest prefix that matches wins). Reasoning models take ``max_completion_tokens`` (Responses:
``max_output_tokens``), no ``temperature`` and an optional reasoning effort; the others take
``max_tokens`` and ``temperature``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SHIPPED: dict[str, dict[str, Any]] = {
    "o1": {"reasoning": True},
    "o3": {"reasoning": True},
    "o4": {"reasoning": True},
    "gpt-5": {"reasoning": True},
    "gpt-5-chat": {"reasoning": False},
    "gpt-4": {"reasoning": False},
    "gpt-3.5": {"reasoning": False},
}
"""The shipped table; settings may add prefixes or change these."""
EFFORTS = ("minimal", "low", "medium", "high")


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    """How to ask one model: whether it reasons (and so which parameters it takes)."""

    reasoning: bool = False


def valid_table(table: Mapping[str, Any]) -> bool:
    """Each prefix maps to a table whose only key is ``reasoning`` (true or false)."""
    return all(
        isinstance(prefix, str)
        and prefix
        and isinstance(entry, Mapping)
        and set(entry) <= {"reasoning"}
        and isinstance(entry.get("reasoning", False), bool)
        for prefix, entry in table.items()
    )


def capabilities(model: str, table: Mapping[str, Any]) -> ModelCapabilities:
    """The capabilities of ``model``: the entry of the longest prefix of its name in ``table``
    (none matches: a model that does not reason)."""
    name = model.lower()
    best = ""
    for prefix in table:
        if name.startswith(str(prefix).lower()) and len(str(prefix)) > len(best):
            best = str(prefix)
    entry = table.get(best) if best else None
    return ModelCapabilities(reasoning=bool((entry or {}).get("reasoning", False)))
