"""Helpers for the emulator tests: request lines, JSONL, polling."""

from __future__ import annotations

import time
from typing import Any

import openai
import orjson

GERMAN_SICK = (
    "user: Hallo, ich bin seit Montag krank und habe eine Krankschreibung vom Arzt. "
    "Wann muss ich die Krankmeldung abgeben? Muss ich das auch der Personalabteilung schicken?\n"
    "assistant: Gute Besserung! Bitte reichen Sie die Krankmeldung bis zum dritten Tag ein.\n"
    "user: Danke, das ist hilfreich."
)


def request_line(
    custom_id: str,
    transcript: str = "user: Why is my salary late?",
    model: str = "gpt-4o-mini",
    url: str = "/v1/chat/completions",
) -> dict[str, Any]:
    """One batch input line in the pipeline's shape: [system, user transcript]."""
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": url,
        "body": {
            "model": model,
            "messages": [
                {"role": "system", "content": "Analyse the chat; answer with JSON."},
                {"role": "user", "content": transcript},
            ],
            "response_format": {"type": "json_object"},
        },
    }


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    """Serialize request lines as JSONL."""
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


def parse_jsonl(text: str) -> list[dict[str, Any]]:
    """Parse a downloaded JSONL file."""
    return [orjson.loads(line) for line in text.splitlines() if line.strip()]


def wait_for(
    client: openai.OpenAI, batch_id: str, statuses: set[str], timeout: float = 60.0
) -> Any:
    """Poll a batch until its status is one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        batch = client.batches.retrieve(batch_id)
        if batch.status in statuses or time.monotonic() > deadline:
            return batch
        time.sleep(0.05)


TERMINAL = {"completed", "failed", "expired", "cancelled"}
