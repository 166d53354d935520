"""What a message may show of a setting's value: secrets hidden, credentials in URLs masked.

Used wherever a configured value ends up in an error, a log line or ``batchkernel settings``, so a
typo in a token, an API key, an exporter header or a password-carrying URL is reported by its key
and type, never by its content. Which settings are secret is declared with them
(``Setting(secret=True)``); inside a table, entries whose names look secret are masked too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
SECRET_WORDS = (
    "token",
    "secret",
    "password",
    "passwd",
    "api_key",
    "apikey",
    "header",
    "credential",
    "auth",
    "cookie",
)
"""An entry of a table whose name contains one of these holds a secret (``{password = ...}``)."""

_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/?#@\s]*)@")
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&;][^=&;#\s]*(?:" + "|".join(SECRET_WORDS) + r"|pwd|key)[^=&;#\s]*=)[^&;#\s]*",
    re.IGNORECASE,
)
_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "true or false"),
    (int, "a whole number"),
    (float, "a number"),
    (str, "a string"),
    (Mapping, "a table"),
    ((list, tuple), "a list"),
)


def is_secret_key(key: str) -> bool:
    """Whether a table entry named ``key`` (dotted, any case) looks like it holds a secret."""
    last = key.rsplit(".", 1)[-1].lower()
    return any(word in last for word in SECRET_WORDS)


def mask_url(text: str) -> str:
    """``text`` with the password of every URL masked (``redis://user:***@host``); a user part
    without a password (often a token) is masked whole, and so are secret query parameters."""

    def userinfo(match: re.Match[str]) -> str:
        user, colon, _password = match["userinfo"].partition(":")
        return f"{match['scheme']}{user}:{MASK}@" if colon else f"{match['scheme']}{MASK}@"

    return _QUERY_SECRET.sub(rf"\g<name>{MASK}", _URL_USERINFO.sub(userinfo, text))


def kind(value: Any) -> str:
    """The type of ``value`` in plain words: ``a list``, ``a table``, ``a string``..."""
    for types, words in _KINDS:
        if isinstance(value, types):
            return words
    return "nothing" if value is None else f"a {type(value).__name__}"


def redacted(value: Any) -> Any:
    """A copy of ``value`` safe to show: secret-named entries masked, URL credentials masked."""
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, Mapping):
        return {
            key: MASK if is_secret_key(str(key)) else redacted(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redacted(item) for item in value]
    return value


def shown(value: Any, *, secret: bool, limit: int = 80) -> str:
    """How an error message shows a setting's ``value``: a ``secret`` only by its type."""
    if secret:
        return f"{kind(value)}, value hidden" if value not in (None, "") else repr(value)
    text = repr(redacted(value))
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
