"""System prompts per processing type and the fields each type must return."""

from __future__ import annotations

from kernel.types import Sentiment, SessionCategory

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

SYSTEM_PROMPTS: dict[str, str] = {
    "session_analysis": _SESSION_ANALYSIS,
    "sentiment_analysis": (
        "Classify the employee's overall sentiment in this HR-support chat. Answer with JSON "
        f'{{"sentiment": one of {SENTIMENTS}}} and nothing else.'
    ),
    "categorization": (
        "Classify the main topic of this HR-support chat. Answer with JSON "
        f'{{"category": exactly one of {CATEGORIES}}} and nothing else.'
    ),
    "summary": (
        "Summarise this HR-support chat in one or two English sentences. Answer with JSON "
        '{"summary": "..."} and nothing else.'
    ),
}

REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "session_analysis": (
        "sentiment",
        "category",
        "summary",
        "language",
        "escalated",
        "forwarded_hr",
        "questions",
    ),
    "sentiment_analysis": ("sentiment",),
    "categorization": ("category",),
    "summary": ("summary",),
}


def system_prompt(processing_type: str) -> str:
    """The system prompt for a processing type; unknown types are a configuration error."""
    try:
        return SYSTEM_PROMPTS[processing_type]
    except KeyError:
        raise ValueError(
            f"unknown processing type {processing_type!r}; valid: {', '.join(SYSTEM_PROMPTS)}"
        ) from None
