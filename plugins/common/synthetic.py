"""Synthetic multilingual HR-support chat sessions, deterministic for a given seed.

Used by the demo, the benchmark and tests: realistic enough that the emulator's rule-based model
finds languages, categories, sentiments, questions and escalations in them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

TOPICS: dict[str, dict[str, list[str]]] = {
    "en": {
        "LEAVE_VACATION": [
            "How many vacation days do I have left this year?",
            "Can I carry over my holiday to next year?",
        ],
        "SICK_LEAVE_RECOVERY": [
            "I am sick today, how do I report sick leave?",
            "Do I need a doctor's note after three days of illness?",
        ],
        "SALARY_COMPENSATION": [
            "When is the salary paid this month?",
            "My payslip shows the wrong overtime pay, can you check?",
        ],
        "SCHEDULE_HOURS": [
            "Can I swap my shift on Friday?",
            "Where can I see my work schedule for next week?",
        ],
        "ACCESS_LOGIN": [
            "I cannot log in to the portal, my password expired.",
            "How do I reset my login for the HR app?",
        ],
        "ONBOARDING": [
            "It is my first week, where do I get my laptop?",
            "Who is my buddy for onboarding?",
        ],
    },
    "de": {
        "LEAVE_VACATION": [
            "Wie viele Urlaubstage habe ich noch?",
            "Kann ich meinen Urlaub ins nächste Jahr übertragen?",
        ],
        "SICK_LEAVE_RECOVERY": [
            "Ich bin krank, wie melde ich mich krank?",
            "Brauche ich eine Krankmeldung vom Arzt?",
        ],
        "SALARY_COMPENSATION": [
            "Wann wird das Gehalt überwiesen?",
            "Meine Lohnabrechnung ist falsch, können Sie das prüfen?",
        ],
        "SCHEDULE_HOURS": [
            "Kann ich meine Schicht am Freitag tauschen?",
            "Wo sehe ich meinen Dienstplan?",
        ],
    },
    "fr": {
        "LEAVE_VACATION": [
            "Combien de jours de congé me reste-t-il ?",
            "Puis-je reporter mes vacances ?",
        ],
        "SICK_LEAVE_RECOVERY": [
            "Je suis malade, comment déclarer un arrêt maladie ?",
            "Faut-il un certificat médical ?",
        ],
        "SALARY_COMPENSATION": [
            "Quand le salaire est-il versé ?",
            "Ma fiche de paie est fausse, pouvez-vous vérifier ?",
        ],
    },
    "es": {
        "LEAVE_VACATION": [
            "¿Cuántos días de vacaciones me quedan?",
            "¿Puedo pasar mis vacaciones al año que viene?",
        ],
        "SALARY_COMPENSATION": [
            "¿Cuándo se paga el salario este mes?",
            "Mi nómina está mal, ¿lo pueden revisar?",
        ],
    },
    "nl": {
        "LEAVE_VACATION": [
            "Hoeveel vakantiedagen heb ik nog?",
            "Kan ik mijn verlof meenemen naar volgend jaar?",
        ],
        "SICK_LEAVE_RECOVERY": [
            "Ik ben ziek, hoe meld ik me ziek?",
            "Heb ik een briefje van de dokter nodig?",
        ],
    },
}
ANSWERS = {
    "en": [
        "Let me check that for you.",
        "You can find it in the HR portal under My Data.",
        "Thank you, that is all.",
    ],
    "de": [
        "Ich schaue das für Sie nach.",
        "Das finden Sie im HR-Portal unter Meine Daten.",
        "Danke, das war alles.",
    ],
    "fr": ["Je vérifie pour vous.", "Vous le trouverez dans le portail RH.", "Merci, c'est tout."],
    "es": [
        "Lo compruebo para usted.",
        "Lo encontrará en el portal de RR. HH.",
        "Gracias, eso es todo.",
    ],
    "nl": ["Ik zoek het voor u uit.", "U vindt het in het HR-portaal.", "Bedankt, dat was alles."],
}
MOODS = {
    "en": [
        "This is frustrating, nobody answers me!",
        "Great, thanks a lot for the quick help!",
        "I want to talk to my manager about this.",
    ],
    "de": [
        "Das ist ärgerlich, niemand antwortet mir!",
        "Super, vielen Dank für die schnelle Hilfe!",
    ],
    "fr": [
        "C'est frustrant, personne ne me répond !",
        "Super, merci beaucoup pour l'aide rapide !",
    ],
    "es": ["Es frustrante, nadie me responde.", "¡Genial, muchas gracias por la ayuda!"],
    "nl": ["Dit is frustrerend, niemand antwoordt!", "Super, hartelijk dank voor de snelle hulp!"],
}


def sessions(
    companies: int,
    count: int,
    *,
    seed: int = 7,
    messages: int | None = None,
    message_chars: int = 0,
) -> Iterator[dict[str, object]]:
    """Yield ``count`` session records spread over ``companies`` companies (import line shape)."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    languages = list(TOPICS)
    for index in range(count):
        company = index % companies
        language = languages[rng.randrange(len(languages))] if rng.random() < 0.5 else "en"
        category = rng.choice(list(TOPICS[language]))
        question = rng.choice(TOPICS[language][category])
        turns = messages if messages is not None else rng.randint(4, 10)
        lines: list[dict[str, str]] = []
        for turn in range(turns):
            if turn % 2 == 0:
                text = (
                    question
                    if turn == 0
                    else rng.choice(MOODS[language] + TOPICS[language][category])
                )
                role = "user"
            else:
                text = rng.choice(ANSWERS[language])
                role = "assistant"
            if message_chars and len(text) < message_chars:
                text = (text + " ") * (message_chars // (len(text) + 1)) + text
                text = text[:message_chars]
            lines.append({"role": role, "content": text})
        yield {
            "company": f"company-{company:04d}",
            "company_name": f"Company {company}",
            "session_id": f"session-{index:07d}",
            "start_time": (start + timedelta(minutes=index)).isoformat(),
            "messages": lines,
        }


def write_jsonl(path: Path, companies: int, count: int, **options: object) -> Path:
    """Write synthetic sessions as an import file."""
    with path.open("wb") as handle:
        for record in sessions(companies, count, **options):  # type: ignore[arg-type]
            handle.write(orjson.dumps(record) + b"\n")
    return path
