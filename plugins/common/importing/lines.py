"""One import line: parsed, every field normalised and then checked against its column."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from plugins.common.importing import columns
from plugins.common.schema.models import ChatSession, Company, Message
from plugins.common.text import transcript_size

COMPANY_ID = Company.__table__.c.id
COMPANY_NAME = Company.__table__.c.name
SESSION_ID = ChatSession.__table__.c.external_id
MESSAGE_COUNT = ChatSession.__table__.c.message_count
TRANSCRIPT_CHARS = ChatSession.__table__.c.transcript_chars
TRANSCRIPT_BYTES = ChatSession.__table__.c.transcript_bytes
ROLE = Message.__table__.c.role
CONTENT = Message.__table__.c.content

MessageLine = tuple[str, str, datetime | None]


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A checked import line, ready to store: identifiers trimmed, text without NUL, times in UTC."""

    line: int
    company: str
    company_name: str
    session_id: str
    start_time: datetime
    messages: tuple[MessageLine, ...]
    transcript_chars: int
    transcript_bytes: int
    tasks: tuple[str, ...] = ()
    """The tasks the line asks for (``"tasks"``); empty: ``processing.default_tasks``."""

    @property
    def key(self) -> tuple[str, str]:
        """The session's identity: company and session id."""
        return self.company, self.session_id


def _message(index: int, message: Any) -> MessageLine:
    """One checked message: role, content, UTC timestamp or None."""
    if not isinstance(message, dict):
        raise ValueError(f"messages[{index}] is not an object")
    role = columns.identifier(message.get("role"), ROLE, f"messages[{index}].role")
    content = columns.text(message.get("content"), CONTENT, f"messages[{index}].content")
    sent = message.get("timestamp")
    if isinstance(sent, str):
        sent = columns.normalise(sent).strip()
    return (
        role,
        content,
        columns.timestamp(sent, f"messages[{index}].timestamp") if sent else None,
    )


def _session_id(value: Any) -> Any:
    """Session ids may be written as JSON integers (not booleans)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _tasks(value: Any) -> tuple[str, ...]:
    """The line's ``"tasks"``: a list of task names (absent: none named)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError('field "tasks" must be a list of task names, e.g. ["session_analysis"]')
    return tuple(dict.fromkeys(v.strip() for v in value))


def parse_line(number: int, raw: bytes) -> SessionRecord:
    """Check one line; raises ValueError with the reason a person can act on."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    company = columns.identifier(data.get("company"), COMPANY_ID, "company")
    session_id = columns.identifier(_session_id(data.get("session_id")), SESSION_ID, "session_id")
    if "start_time" not in data:
        raise ValueError("field 'start_time' is missing")
    start = columns.timestamp(data["start_time"], "start_time")
    raw_messages = data.get("messages")
    if not isinstance(raw_messages, list):
        raise ValueError("field 'messages' must be a list")
    messages = tuple(_message(index, message) for index, message in enumerate(raw_messages))
    columns.integer(len(messages), MESSAGE_COUNT, "the number of messages")
    name = data.get("company_name")
    name = columns.text(name, COMPANY_NAME, "company_name", strip=True) if name is not None else ""
    chars, size = transcript_size((role, content) for role, content, _ in messages)
    return SessionRecord(
        number,
        company,
        name or company,
        session_id,
        start,
        messages,
        columns.integer(chars, TRANSCRIPT_CHARS, "the transcript's length in characters"),
        columns.integer(size, TRANSCRIPT_BYTES, "the transcript's size in bytes"),
        _tasks(data.get("tasks")),
    )
