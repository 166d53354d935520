"""The session tasks: the HR-session analysis and its narrower variants (plugin ``session-tasks``
registers them).

Their answers go onto the session's columns (``applies="session"``); :data:`SESSION_FIELDS` is the
one list of those columns that every processor, the importer and the benchmark use. The sentiment
and category values are the ones the database's CHECKs on those columns accept.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from plugins.common.exchange import TaskSpec


class Sentiment(enum.StrEnum):
    """The employee's overall sentiment a session analysis chooses (``chat_sessions.sentiment``)."""

    POSITIVE = "POSITIVE"
    NEUTRAL = "NEUTRAL"
    NEGATIVE = "NEGATIVE"


class SessionCategory(enum.StrEnum):
    """The fixed category list a session analysis must choose from (``chat_sessions.category``)."""

    SCHEDULE_HOURS = "SCHEDULE_HOURS"
    LEAVE_VACATION = "LEAVE_VACATION"
    SICK_LEAVE_RECOVERY = "SICK_LEAVE_RECOVERY"
    SALARY_COMPENSATION = "SALARY_COMPENSATION"
    CONTRACT_HOURS = "CONTRACT_HOURS"
    ONBOARDING = "ONBOARDING"
    OFFBOARDING = "OFFBOARDING"
    WORKWEAR_STAFF_PASS = "WORKWEAR_STAFF_PASS"
    TEAM_CONTACTS = "TEAM_CONTACTS"
    PERSONAL_QUESTIONS = "PERSONAL_QUESTIONS"
    ACCESS_LOGIN = "ACCESS_LOGIN"
    SOCIAL_QUESTIONS = "SOCIAL_QUESTIONS"
    UNRECOGNIZED_OTHER = "UNRECOGNIZED_OTHER"


SESSION_FIELDS = (
    "sentiment",
    "category",
    "summary",
    "language",
    "escalated",
    "forwarded_hr",
    "questions",
)
"""The chat_sessions columns a session task's answer fills, in this order everywhere."""

DEFAULT_TASK = "session_analysis"

CATEGORIES = ", ".join(c.value for c in SessionCategory)
SENTIMENTS = ", ".join(s.value for s in Sentiment)

_SESSION_ANALYSIS = f"""You analyse one HR-support chat session between an employee and a support \
assistant. Answer with one JSON object and nothing else, with exactly these keys:
- "sentiment": the employee's overall sentiment, one of {SENTIMENTS};
- "category": the main topic, exactly one of {CATEGORIES};
- "summary": one or two sentences in English summarising the request and its outcome;
- "language": the ISO 639-1 code of the language the employee wrote in (e.g. "en", "de", "fr");
- "escalated": true if the employee asked for or was referred to a manager or a complaint \
procedure, else false;
- "forwarded_hr": true if the conversation was handed over to a human HR colleague, else false;
- "questions": the employee's questions, each rephrased as one short sentence (an empty list if \
none).
Do not invent facts that are not in the transcript."""

_PROPERTIES: dict[str, Mapping[str, Any]] = {
    "sentiment": {"type": "string", "enum": [s.value for s in Sentiment]},
    "category": {"type": "string", "enum": [c.value for c in SessionCategory]},
    "summary": {"type": "string"},
    "language": {"type": "string"},
    "escalated": {"type": "boolean"},
    "forwarded_hr": {"type": "boolean"},
    "questions": {"type": "array", "items": {"type": "string"}},
}


def object_schema(*fields: str) -> dict[str, Any]:
    """A strict-mode object schema with the session fields named, all required."""
    return {
        "type": "object",
        "properties": {name: dict(_PROPERTIES[name]) for name in fields},
        "required": list(fields),
        "additionalProperties": False,
    }


def session_tasks() -> list[TaskSpec]:
    """The built-in tasks whose answers go onto the session's columns."""
    return [
        TaskSpec(
            "session_analysis", _SESSION_ANALYSIS, object_schema(*SESSION_FIELDS), applies="session"
        ),
        TaskSpec(
            "sentiment_analysis",
            "Classify the employee's overall sentiment in this HR-support chat. Answer with JSON "
            f'{{"sentiment": one of {SENTIMENTS}}} and nothing else.',
            object_schema("sentiment"),
            applies="session",
        ),
        TaskSpec(
            "categorization",
            "Classify the main topic of this HR-support chat. Answer with JSON "
            f'{{"category": exactly one of {CATEGORIES}}} and nothing else.',
            object_schema("category"),
            applies="session",
        ),
        TaskSpec(
            "summary",
            "Summarise this HR-support chat in one or two English sentences. Answer with JSON "
            '{"summary": "..."} and nothing else.',
            object_schema("summary"),
            applies="session",
        ),
    ]
