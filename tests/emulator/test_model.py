"""The deterministic stand-in model: keyword rules, JSON reply, token formula."""

from __future__ import annotations

import math

import orjson
import pytest

from plugins.common.tokens import count_chat
from plugins.emulator import model
from tests.emulator.emulator_helpers import GERMAN_SICK


def test_german_sick_leave() -> None:
    result = model.analyze(GERMAN_SICK)
    assert result == {
        "sentiment": "POSITIVE",
        "category": "SICK_LEAVE_RECOVERY",
        "summary": "Hallo, ich bin seit Montag krank und habe eine Krankschreibung vom Arzt.",
        "language": "de",
        "escalated": False,
        "forwarded_hr": True,
        "questions": [
            "Wann muss ich die Krankmeldung abgeben?",
            "Muss ich das auch der Personalabteilung schicken?",
        ],
    }


@pytest.mark.parametrize(
    ("transcript", "expected"),
    [
        (
            "user: My payslip is wrong again, this is unacceptable. I want to talk to a manager!",
            {
                "language": "en",
                "category": "SALARY_COMPENSATION",
                "sentiment": "NEGATIVE",
                "escalated": True,
            },
        ),
        (
            "user: Bonjour, je voudrais poser des congés en août. Comment faire?",
            {"language": "fr", "category": "LEAVE_VACATION", "sentiment": "NEUTRAL"},
        ),
        (
            "user: Hola, olvidé mi contraseña y no puedo entrar. ¿Me pueden ayudar?",
            {"language": "es", "category": "ACCESS_LOGIN"},
        ),
        (
            "user: Hoi, wanneer krijg ik mijn loonstrook? Bedankt!",
            {"language": "nl", "category": "SALARY_COMPENSATION", "sentiment": "POSITIVE"},
        ),
        (
            "user: Ciao, quando è la festa di Natale? Grazie",
            {"language": "it", "category": "SOCIAL_QUESTIONS"},
        ),
        (
            "user: Olá, não recebi o meu crachá. Obrigado",
            {"language": "pt", "category": "WORKWEAR_STAFF_PASS"},
        ),
        (
            "user: Hej, jag vill säga upp mig. När är min sista dag? Tack",
            {"language": "sv", "category": "OFFBOARDING"},
        ),
        (
            "user: Dzień dobry, czy mogę zmienić grafik? Jestem chory.",
            {"language": "pl"},
        ),
        (
            "user: I have a question about the weather.\nassistant: Sure. Ask HR.",
            {"category": "UNRECOGNIZED_OTHER", "forwarded_hr": True, "escalated": False},
        ),
    ],
)
def test_keyword_rules(transcript: str, expected: dict) -> None:
    result = model.analyze(transcript)
    assert {key: result[key] for key in expected} == expected
    assert result["category"] in model.CATEGORIES


def test_summary_and_questions_are_bounded() -> None:
    long_line = "user: " + "word " * 100 + "? " + " ".join(f"q{i}?" for i in range(9))
    result = model.analyze(long_line)
    assert len(result["summary"]) <= model.SUMMARY_MAX
    assert len(result["questions"]) == model.MAX_QUESTIONS


def test_reply_is_deterministic_json_and_tokens_follow_formula() -> None:
    messages = [
        {"role": "system", "content": "Analyse."},
        {"role": "user", "content": GERMAN_SICK},
    ]
    content = model.reply(messages)
    assert content == model.reply([dict(m) for m in messages])
    assert list(orjson.loads(content)) == [
        "sentiment",
        "category",
        "summary",
        "language",
        "escalated",
        "forwarded_hr",
        "questions",
    ]
    chars = len("Analyse.") + len(GERMAN_SICK)
    assert model.approximate_prompt_tokens([dict(m) for m in messages]) == math.ceil(chars / 4) + 8
    pairs = [(str(m["role"]), str(m["content"])) for m in messages]
    assert model.prompt_tokens([dict(m) for m in messages]) == count_chat("gpt-4o-mini", pairs)
    assert model.completion_tokens(content) == math.ceil(len(content) / 4)
