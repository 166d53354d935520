"""A deterministic stand-in for the chat model: keyword rules over a "role: content" transcript."""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

import orjson

from plugins.common.session_tasks import SessionCategory
from plugins.common.tokens import (
    REPLY_PRIMING,
    TOKENS_PER_MESSAGE,
    count_chat,
    encoding,
    encoding_name,
    exact_counts,
)

CATEGORIES: tuple[str, ...] = tuple(category.value for category in SessionCategory)
LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "nl", "it", "pt", "sv", "pl")
SUMMARY_MAX = 200
MAX_QUESTIONS = 5

# Keyword syntax: "word" matches the whole token, "stem*" a token prefix, "two words" a substring.
_STOP_WORDS: dict[str, str] = {
    "en": "the and is are i you my to of it not have what can do this that with for please how "
    "when will would was am me your there thanks hello",
    "de": "der die das und ist ich nicht ein eine einen mit mein meine meinen sie wie wann kann bin "
    "habe auch für auf wir zu noch bitte muss soll vom beim dem den des seit hallo guten",
    "fr": "le la les et est je ne pas une un mon ma mes vous pour avec que qui des du suis comment "
    "quand merci bonjour ai mais où",
    "es": "el la los las y es yo no una un mi mis usted para con que por del estoy cómo cuándo "
    "gracias hola pero tengo puedo",
    "nl": "de het een en is ik niet mijn je jij u voor met van dat wat hoe wanneer bedankt dank "
    "hallo ben heb kan graag ook nog zijn moet",
    "it": "il lo la gli le e è io non una un mio mia per con che di sono come quando grazie ciao "
    "buongiorno ho posso",
    "pt": "o a os as e é eu não uma um meu minha para com que do da estou como quando obrigado "
    "obrigada olá você tenho posso",
    "sv": "och är jag inte en ett min mitt du för med att det som hur när tack hej har kan vad",
    "pl": "i w na jest nie się to że z mój moja jak kiedy dziękuję dzień dobry czy mam jestem "
    "proszę do",
}
_SENTIMENT: dict[str, tuple[str, ...]] = {
    "POSITIVE": (
        "thank*",
        "great",
        "good",
        "happy",
        "glad",
        "perfect",
        "excellent",
        "helpful",
        "awesome",
        "appreciat*",
        "danke*",
        "super",
        "gut",
        "toll",
        "prima",
        "perfekt",
        "hilfreich",
        "zufrieden",
        "merci",
        "parfait",
        "génial",
        "gracias",
        "genial",
        "perfecto",
        "bedankt",
        "fijn",
        "geweldig",
        "grazie",
        "ottimo",
        "perfetto",
        "obrigad*",
        "ótimo",
        "perfeito",
        "tack",
        "utmärkt",
        "dziękuję",
        "dzięki",
        "świetnie",
    ),
    "NEGATIVE": (
        "bad",
        "terrible",
        "awful",
        "angry",
        "frustrat*",
        "annoy*",
        "disappoint*",
        "unacceptable",
        "wrong",
        "broken",
        "complain*",
        "hate",
        "upset",
        "worst",
        "schlecht*",
        "ärger*",
        "enttäusch*",
        "unzufrieden",
        "furchtbar",
        "inakzeptabel",
        "mauvais",
        "fâché*",
        "déçu*",
        "inacceptable",
        "malo",
        "enfadad*",
        "decepcionad*",
        "inaceptable",
        "slecht",
        "boos",
        "teleurgesteld",
        "onacceptabel",
        "arrabbiat*",
        "delus*",
        "inaccettabile",
        "chatead*",
        "inaceitável",
        "dålig*",
        "besviken",
        "zły",
        "rozczarowan*",
        "niedopuszczaln*",
    ),
}
_CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "SICK_LEAVE_RECOVERY": (
        "sick*",
        "ill",
        "illness",
        "doctor*",
        "fever",
        "flu",
        "recover*",
        "injur*",
        "krank*",
        "arzt",
        "ärzt*",
        "genesung",
        "attest",
        "arbeitsunfähig*",
        "malade",
        "maladie",
        "médecin",
        "enferm*",
        "médic*",
        "baja médica",
        "ziek*",
        "dokter",
        "herstel*",
        "malat*",
        "doente",
        "doença",
        "sjuk*",
        "läkare",
        "chor*",
        "lekarz*",
        "zwolnienie lekarskie",
    ),
    "LEAVE_VACATION": (
        "vacation*",
        "holiday*",
        "annual leave",
        "time off",
        "day off",
        "days off",
        "pto",
        "urlaub*",
        "ferien",
        "congé*",
        "vacances",
        "vacacion*",
        "días libres",
        "vakantie*",
        "verlof",
        "vrije dag",
        "vacanz*",
        "férias",
        "ferie",
        "semester",
        "ledighet",
        "urlop*",
    ),
    "SCHEDULE_HOURS": (
        "schedule*",
        "shift*",
        "roster*",
        "rota",
        "dienstplan*",
        "schicht*",
        "planning",
        "horaire*",
        "horario*",
        "turno*",
        "rooster*",
        "orari*",
        "horário*",
        "arbetsschema",
        "grafik*",
        "zmian*",
    ),
    "SALARY_COMPENSATION": (
        "salary",
        "salaries",
        "pay",
        "paid",
        "payslip*",
        "paycheck*",
        "payroll",
        "wage*",
        "bonus*",
        "gehalt*",
        "lohn*",
        "salaire*",
        "fiche de paie",
        "paie",
        "salario*",
        "nómina*",
        "sueldo*",
        "salaris*",
        "loon*",
        "loonstrook*",
        "stipendi*",
        "busta paga",
        "salário*",
        "lön*",
        "wynagrodzeni*",
        "pensj*",
        "wypłat*",
    ),
    "CONTRACT_HOURS": (
        "contract*",
        "part-time",
        "full-time",
        "hours per week",
        "vertrag*",
        "arbeitsvertrag*",
        "teilzeit",
        "vollzeit",
        "wochenstunden",
        "contrat*",
        "temps partiel",
        "contrato*",
        "jornada",
        "uren per week",
        "contratt*",
        "kontrakt*",
        "anställningsavtal*",
        "umow*",
        "etat*",
    ),
    "ONBOARDING": (
        "onboarding",
        "first day",
        "new employee",
        "new hire",
        "start date",
        "induction",
        "einarbeitung",
        "erster tag",
        "ersten tag",
        "neuer mitarbeiter",
        "intégration",
        "premier jour",
        "incorporación",
        "primer día",
        "inwerk*",
        "eerste dag",
        "inserimento",
        "primo giorno",
        "integração",
        "primeiro dia",
        "introduktion",
        "första dag",
        "wdrożeni*",
        "pierwszy dzień",
    ),
    "OFFBOARDING": (
        "resign*",
        "quit",
        "notice period",
        "last day",
        "terminat*",
        "kündig*",
        "letzter tag",
        "letzten tag",
        "austritt",
        "démission*",
        "dernier jour",
        "renuncia*",
        "dimisión",
        "último día",
        "ontslag*",
        "opzeg*",
        "laatste dag",
        "dimission*",
        "licenzia*",
        "demissão",
        "uppsägning*",
        "säga upp",
        "wypowiedzeni*",
        "rezygnacj*",
        "ostatni dzień",
    ),
    "WORKWEAR_STAFF_PASS": (
        "uniform*",
        "workwear",
        "badge*",
        "staff pass",
        "id card",
        "arbeitskleidung",
        "dienstkleidung",
        "mitarbeiterausweis*",
        "ausweis*",
        "tenue",
        "vêtements de travail",
        "ropa de trabajo",
        "werkkleding",
        "personeelspas*",
        "divisa",
        "tesserino",
        "crachá",
        "arbetskläder",
        "passerkort*",
        "odzież robocza",
        "identyfikator*",
        "przepustk*",
    ),
    "TEAM_CONTACTS": (
        "colleague*",
        "team lead*",
        "teamleader",
        "contact person",
        "phone number",
        "who is my",
        "kolleg*",
        "ansprechpartner*",
        "teamleiter*",
        "collègue*",
        "compañer*",
        "collega*",
        "contactpersoon",
        "colega*",
        "kollega*",
        "współpracowni*",
    ),
    "PERSONAL_QUESTIONS": (
        "address change",
        "change my address",
        "bank account",
        "personal data",
        "name change",
        "tax*",
        "adressänderung",
        "bankverbindung",
        "persönliche daten",
        "steuer*",
        "données personnelles",
        "datos personales",
        "persoonsgegevens",
        "dati personali",
        "dados pessoais",
        "personuppgifter",
        "dane osobowe",
    ),
    "ACCESS_LOGIN": (
        "login",
        "log in",
        "password*",
        "locked out",
        "account",
        "passwort*",
        "kennwort*",
        "anmeld*",
        "einloggen",
        "mot de passe",
        "connexion",
        "contraseña*",
        "wachtwoord*",
        "inlog*",
        "accesso",
        "senha*",
        "lösenord*",
        "logga in",
        "hasł*",
        "logowani*",
    ),
    "SOCIAL_QUESTIONS": (
        "party",
        "parties",
        "christmas",
        "team event",
        "birthday",
        "feier*",
        "weihnachtsfeier",
        "betriebsausflug",
        "fête",
        "soirée",
        "fiesta",
        "feest*",
        "kerst*",
        "borrel",
        "festa",
        "fest",
        "julfest",
        "impreza*",
        "wigili*",
    ),
}
_ESCALATION: tuple[str, ...] = (
    "escalat*",
    "manager*",
    "complaint*",
    "complain*",
    "supervisor*",
    "unacceptable",
    "lawyer",
    "speak to a human",
    "real person",
    "beschwerde*",
    "vorgesetzt*",
    "eskalier*",
    "plainte*",
    "réclamation*",
    "queja*",
    "reclamaci*",
    "klacht*",
    "leidinggevende",
    "reclam*",
    "lamentel*",
    "klagomål",
    "chef",
    "skarg*",
    "kierownik*",
)
_HR: tuple[str, ...] = (
    "hr",
    "human resources",
    "hr department",
    "personalabteilung",
    "personalbüro",
    "rh",
    "ressources humaines",
    "recursos humanos",
    "risorse umane",
    "p&o",
    "personeelszaken",
    "personalavdelning*",
    "dział kadr",
    "kadr*",
)
_USER_ROLES = frozenset(
    [
        "user",
        "customer",
        "employee",
        "human",
        "client",
        "visitor",
        "guest",
        "member",
        "staff",
        "worker",
        "mitarbeiter",
        "benutzer",
        "utilisateur",
        "usuario",
        "gebruiker",
        "medewerker",
        "utente",
    ]
)
_OTHER_ROLES = frozenset(
    ["assistant", "bot", "agent", "ai", "system", "support", "chatbot", "model"]
)

_WORD_RE = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")
_ROLE_RE = re.compile(r"^\s*([^\W\d_][\w .-]{0,24}?)\s*:\s?(.*)$")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")
_QUESTION_RE = re.compile(r"[^.!?\n]*\?")

Hit = tuple[str, str]


def _build_index() -> tuple[dict[str, list[Hit]], dict[str, list[Hit]], list[tuple[str, Hit]]]:
    """Compile every keyword list into exact-token, token-prefix and phrase lookups."""
    exact: dict[str, list[Hit]] = {}
    stems: dict[str, list[Hit]] = {}
    phrases: list[tuple[str, Hit]] = []

    def add(words: Iterable[str], hit: Hit) -> None:
        for word in words:
            if " " in word or "&" in word:
                phrases.append((word, hit))
            elif word.endswith("*"):
                stems.setdefault(word[:-1], []).append(hit)
            else:
                exact.setdefault(word, []).append(hit)

    for lang, stop_words in _STOP_WORDS.items():
        add(stop_words.split(), ("lang", lang))
    for label, words in _SENTIMENT.items():
        add(words, ("sentiment", label))
    for label, words in _CATEGORY_WORDS.items():
        add(words, ("category", label))
    add(_ESCALATION, ("escalated", "yes"))
    add(_HR, ("hr", "yes"))
    return exact, stems, phrases


_EXACT, _STEMS, _PHRASES = _build_index()
_STEM_LENGTHS = sorted({len(stem) for stem in _STEMS})
_PREFIX = min(_STEM_LENGTHS)
_STEM_HEADS = frozenset(stem[:_PREFIX] for stem in _STEMS)
_PHRASE_HITS: dict[str, list[Hit]] = {}
for _phrase, _hit in _PHRASES:
    _PHRASE_HITS.setdefault(_phrase, []).append(_hit)
_PHRASE_RE = re.compile("|".join(re.escape(p) for p in sorted(_PHRASE_HITS, key=len, reverse=True)))


_TOKEN_CACHE: dict[str, tuple[Hit, ...]] = {}
_TOKEN_CACHE_MAX = 200_000


def _token_hits(token: str) -> tuple[Hit, ...]:
    """Keyword hits of one token (exact and prefix), memoized: vocabularies repeat."""
    hits = _TOKEN_CACHE.get(token)
    if hits is not None:
        return hits
    found = list(_EXACT.get(token, ()))
    if token[:_PREFIX] in _STEM_HEADS:
        for length in _STEM_LENGTHS:
            if length > len(token):
                break
            found.extend(_STEMS.get(token[:length], ()))
    hits = tuple(found)
    if len(_TOKEN_CACHE) < _TOKEN_CACHE_MAX:
        _TOKEN_CACHE[token] = hits
    return hits


def _hits(text: str) -> Counter[Hit]:
    """Count keyword hits of every kind in lower-cased text."""
    counts: Counter[Hit] = Counter()
    cache = _TOKEN_CACHE
    for token in _WORD_RE.findall(text):
        hits = cache.get(token)
        if hits is None:
            hits = _token_hits(token)
        for hit in hits:
            counts[hit] += 1
    for phrase in _PHRASE_RE.findall(text):
        for hit in _PHRASE_HITS[phrase]:
            counts[hit] += 1
    return counts


def parse_transcript(transcript: str) -> list[tuple[str, str]]:
    """Split "role: content" lines into (role, content) messages; other lines continue the last."""
    messages: list[tuple[str, str]] = []
    for line in transcript.splitlines():
        match = _ROLE_RE.match(line)
        role = match.group(1).strip().lower() if match else ""
        if match and (role in _USER_ROLES or role in _OTHER_ROLES):
            messages.append((role, match.group(2).strip()))
        elif messages:
            messages[-1] = (messages[-1][0], f"{messages[-1][1]} {line.strip()}".strip())
        elif line.strip():
            messages.append(("user", line.strip()))
    return messages


def _best(counts: Counter[Hit], kind: str, order: tuple[str, ...]) -> str | None:
    """The label of `kind` with most hits, ties broken by `order`; None without hits."""
    best: str | None = None
    best_count = 0
    for label in order:
        count = counts.get((kind, label), 0)
        if count > best_count:
            best, best_count = label, count
    return best


def _summary(first_user_line: str) -> str:
    """First sentence of the first user line, capped at SUMMARY_MAX characters."""
    text = " ".join(first_user_line.split())
    if not text:
        return "No user message."
    sentences = _SENTENCE_END_RE.split(text)
    summary = sentences[0]
    if len(summary) < 10 and len(sentences) > 1:
        summary = f"{summary} {sentences[1]}"
    if len(summary) > SUMMARY_MAX:
        summary = summary[: SUMMARY_MAX - 3].rstrip() + "..."
    return summary


def _questions(user_text: str) -> list[str]:
    """The user's sentences that end in '?', in order, without repeats, at most MAX_QUESTIONS."""
    out: list[str] = []
    for raw in _QUESTION_RE.findall(user_text):
        question = " ".join(raw.split())
        if len(question) > 1 and question not in out:
            out.append(question)
            if len(out) == MAX_QUESTIONS:
                break
    return out


@functools.lru_cache(maxsize=4096)
def _analyze_json(transcript: str) -> str:
    """Cached JSON of analyze(); identical transcripts are common in retried batches."""
    return orjson.dumps(analyze(transcript)).decode()


def analyze(transcript: str) -> dict[str, Any]:
    """Derive the session analysis (sentiment, category, summary, ...) from a transcript."""
    messages = parse_transcript(transcript)
    user_lines = [content for role, content in messages if role in _USER_ROLES]
    if not user_lines:
        user_lines = [content for _, content in messages]
    user_text = "\n".join(user_lines)
    other_text = "\n".join(content for role, content in messages if role not in _USER_ROLES)
    user_counts = _hits(user_text.lower())
    all_counts = user_counts + _hits(other_text.lower()) if other_text else user_counts
    positive = user_counts.get(("sentiment", "POSITIVE"), 0)
    negative = user_counts.get(("sentiment", "NEGATIVE"), 0)
    sentiment = (
        "POSITIVE" if positive > negative else "NEGATIVE" if negative > positive else "NEUTRAL"
    )
    category = (
        _best(user_counts, "category", CATEGORIES)
        or _best(all_counts, "category", CATEGORIES)
        or "UNRECOGNIZED_OTHER"
    )
    return {
        "sentiment": sentiment,
        "category": category,
        "summary": _summary(user_lines[0] if user_lines else ""),
        "language": _best(all_counts, "lang", LANGUAGES) or "en",
        "escalated": user_counts.get(("escalated", "yes"), 0) > 0,
        "forwarded_hr": all_counts.get(("hr", "yes"), 0) > 0,
        "questions": _questions(user_text),
    }


def content_text(content: Any) -> str:
    """Text of a message content: a string, or the text parts of a content-part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("text")
        )
    return ""


def approximate_prompt_tokens(messages: list[Any]) -> int:
    """ceil(characters of all message contents / 4) + 4 per message: cheap, for estimates."""
    chars = sum(len(content_text(m.get("content"))) for m in messages if isinstance(m, dict))
    return math.ceil(chars / 4) + 4 * len(messages)


def prompt_tokens(messages: list[Any], model_name: str = "gpt-4o-mini") -> int:
    """Input tokens of chat messages as the API counts them: exact with the offline tokenizer
    (when installed; each message counted once and remembered, as lines repeat their system
    prompt and retried batches their transcripts), else ceil(characters / 4) + 4 per message."""
    pairs = [
        (str(m.get("role") or ""), content_text(m.get("content")))
        for m in messages
        if isinstance(m, dict)
    ]
    if not exact_counts():
        return count_chat(model_name, pairs)
    vocabulary = encoding_name(model_name)
    return REPLY_PRIMING + sum(_message_tokens(vocabulary, role, text) for role, text in pairs)


@functools.lru_cache(maxsize=200_000)
def _message_tokens(vocabulary: str, role: str, text: str) -> int:
    """Tokens of one message in ``vocabulary`` (its framing, role and content)."""
    tokenizer = encoding(vocabulary)
    assert tokenizer is not None, "only called when exact counts are available"
    return TOKENS_PER_MESSAGE + tokenizer.count(role) + tokenizer.count(text)


def completion_tokens(content: str) -> int:
    """ceil(len(content) / 4)."""
    return math.ceil(len(content) / 4)


def transcript_of(messages: list[Any]) -> str:
    """The transcript: the last user message's text, or every message's text if none is a user."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return "\n".join(content_text(m.get("content")) for m in messages if isinstance(m, dict))


def reply(messages: list[Any]) -> str:
    """The assistant's message content: the analysis serialized as JSON."""
    return _analyze_json(transcript_of(messages))
