"""The user prompt of a session: its transcript, and its size known before it is built.

Both processors and the importer use it, so the size stored at import time is exactly the size of
the text later written into the batch file.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

_CONTROL = {i: " " for i in range(32) if i not in (9, 10)}


def transcript_line(role: str, content: str) -> str:
    """One message as "role: content", control characters other than tab and newline blanked."""
    return f"{role}: {content.translate(_CONTROL)}"


def transcript(messages: Iterable[tuple[str, str]]) -> str:
    """The whole transcript, one message per line, in order."""
    return "\n".join(transcript_line(role, content) for role, content in messages)


def transcript_size(messages: Iterable[tuple[str, str]]) -> tuple[int, int]:
    """(characters, bytes once JSON-encoded without quotes) of the transcript."""
    text = transcript(messages)
    return len(text), len(orjson.dumps(text)) - 2
