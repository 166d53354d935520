"""Answer one Messages request as the model would: a ``message`` with content and usage.

The content comes from the OpenAI emulator's deterministic transcript analysis. A forced tool
call (``tool_choice: {type: tool, name}``) is answered with a ``tool_use`` block whose input
conforms to the tool's ``input_schema``; ``output_config.format`` (``json_schema``) with a text
block holding conforming JSON. System blocks marked ``cache_control`` are cached: the first
request writes the cache, later ones read it.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from plugins.emulator import model

from . import ids
from .instances import conforming


@dataclass
class PromptCache:
    """Which cached prompt prefixes exist (by hash); shared by every batch of one emulator."""

    seen: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, prefix: str) -> bool:
        """True when ``prefix`` was cached before; caches it otherwise."""
        digest = hashlib.sha256(prefix.encode()).hexdigest()
        with self.lock:
            if digest in self.seen:
                return True
            self.seen.add(digest)
            return False


REFUSAL = "I can't help with that request."


def answer(
    params: Mapping[str, Any],
    rng: random.Random,
    cache: PromptCache,
    *,
    invalid: bool = False,
    refuse: bool = False,
) -> dict[str, Any]:
    """The ``message`` the Messages API returns for valid ``params``; ``invalid`` breaks the
    requested schema (a required property is left out), ``refuse`` answers with a refusal."""
    messages = list(params.get("messages") or [])
    hints = model.analyze(model.transcript_of(messages))
    if refuse:
        content, stop_reason, produced = [{"type": "text", "text": REFUSAL}], "refusal", REFUSAL
    else:
        content, stop_reason, produced = _content(params, hints, rng, invalid)
    limit = int(params["max_tokens"])
    output_tokens = model.completion_tokens(produced)
    if output_tokens > limit:
        output_tokens = limit
        stop_reason = "max_tokens"
        content = [{"type": "text", "text": produced[: limit * 4]}] if limit else []
    return {
        "id": ids.seeded("msg_", rng),
        "type": "message",
        "role": "assistant",
        "model": params["model"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": _usage(params, messages, output_tokens, cache),
    }


def _content(
    params: Mapping[str, Any], hints: Mapping[str, Any], rng: random.Random, invalid: bool
) -> tuple[list[dict[str, Any]], str, str]:
    """Content blocks, stop reason, and the produced text (for token counting)."""
    tool = _forced_tool(params)
    if tool is not None:
        value = _broken(conforming(tool.get("input_schema") or {}, hints), invalid)
        block = {
            "type": "tool_use",
            "id": ids.seeded("toolu_", rng),
            "name": tool["name"],
            "input": value,
        }
        return [block], "tool_use", orjson.dumps(value).decode()
    fmt = (params.get("output_config") or {}).get("format")
    if isinstance(fmt, Mapping) and isinstance(fmt.get("schema"), Mapping):
        text = orjson.dumps(_broken(conforming(fmt["schema"], hints), invalid)).decode()
    else:
        text = orjson.dumps(hints).decode()
    return [{"type": "text", "text": text}], "end_turn", text


def _broken(value: Any, invalid: bool) -> Any:
    """The value, or (``invalid``) the same object without its first property."""
    if invalid and isinstance(value, dict) and value:
        return dict(list(value.items())[1:])
    if invalid:
        return {"unexpected": True}
    return value


def _forced_tool(params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The tool ``tool_choice`` forces (``{type: tool, name}``), or the only tool under ``any``."""
    choice = params.get("tool_choice")
    tools = [t for t in params.get("tools") or [] if isinstance(t, Mapping)]
    if not isinstance(choice, Mapping) or not tools:
        return None
    if choice.get("type") == "tool":
        return next((t for t in tools if t.get("name") == choice.get("name")), None)
    if choice.get("type") == "any":
        return tools[0]
    return None


def _usage(
    params: Mapping[str, Any], messages: list[Any], output_tokens: int, cache: PromptCache
) -> dict[str, Any]:
    """Token counts: ceil(characters / 4) like the OpenAI emulator; cached system blocks split out."""
    system = params.get("system")
    tools = params.get("tools")
    tool_tokens = math.ceil(len(orjson.dumps(tools)) / 4) if tools else 0
    cached_text = ""
    if isinstance(system, str):
        system_tokens = math.ceil(len(system) / 4)
    elif isinstance(system, list):
        texts = [str(block.get("text", "")) for block in system if isinstance(block, Mapping)]
        system_tokens = math.ceil(sum(len(t) for t in texts) / 4)
        marked = [
            i for i, b in enumerate(system) if isinstance(b, Mapping) and b.get("cache_control")
        ]
        if marked:
            cached_text = "".join(texts[: marked[-1] + 1])
    else:
        system_tokens = 0
    total = model.prompt_tokens(messages) + system_tokens + tool_tokens
    created = read = 0
    if cached_text:
        prefix_tokens = min(total, math.ceil(len(cached_text) / 4) + tool_tokens)
        key = orjson.dumps([params.get("model"), tools, cached_text]).decode()
        if cache.hit(key):
            read = prefix_tokens
        else:
            created = prefix_tokens
    return {
        "input_tokens": total - created - read,
        "cache_creation_input_tokens": created,
        "cache_read_input_tokens": read,
        "output_tokens": output_tokens,
        "service_tier": "batch",
    }
