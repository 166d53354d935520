"""Bearer tokens from ``serve.tokens``: who may read, who may act (role ``operator``), which
company a token is limited to, and the name its actions are audited under."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kernel.types import ConfigError

ENTRY_KEYS = ("token", "company", "role", "name")
ROLES = ("read", "operator")
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid token allows: everything (``company`` None) or one company; reading only
    (role ``read``) or acting too (``operator``); ``name`` is who the audit log says acted."""

    company: str | None
    role: str = "read"
    name: str = ""

    @property
    def may_act(self) -> bool:
        """Whether this token may cancel, retry, pause and resume."""
        return self.role == "operator"

    def __repr__(self) -> str:
        """Never show the token; only the scope, role and name."""
        return f"Grant(company={self.company!r}, role={self.role!r}, name={self.name!r})"


@dataclass(frozen=True, slots=True)
class Entry:
    """One configured token and what it grants."""

    token: str
    grant: Grant


class TokenTable:
    """The configured tokens; compared in constant time, never logged."""

    def __init__(self, tokens: list[Entry]) -> None:
        self._tokens = [(item.token.encode(), item.grant) for item in tokens]

    @classmethod
    def from_settings(cls, settings: Any) -> TokenTable:
        """Read ``serve.tokens``: strings, or tables with ``token`` and optional ``company``.

        Fails closed: a table naming ``company`` must name a real company id (a non-empty
        string), unknown keys and repeated tokens are refused. Errors name the entry's
        position, never its secret.
        """
        raw = (settings.get("serve") or {}).get("tokens") or []
        tokens: list[Entry] = []
        for index, item in enumerate(raw):
            tokens.append(_entry(index, item))
        if not tokens:
            raise ConfigError(
                "serve.tokens is empty: set at least one bearer token, e.g. "
                'BATCHKERNEL_SERVE__TOKENS=\'@json [{"token": "<long random secret>"}]\''
            )
        seen: dict[str, int] = {}
        for index, entry in enumerate(tokens):
            token = entry.token
            if token in seen:
                raise ConfigError(
                    f"serve.tokens[{index}] repeats the token of serve.tokens[{seen[token]}]: "
                    "give every entry its own secret"
                )
            seen[token] = index
        return cls(tokens)

    def check(self, authorization: str | None) -> Grant | None:
        """The grant of an ``Authorization: Bearer`` (or Basic, password = token) header."""
        presented = _presented_token(authorization)
        if presented is None:
            return None
        found: Grant | None = None
        for token, grant in self._tokens:
            if hmac.compare_digest(token, presented) and found is None:
                found = grant
        return found


def _entry(index: int, item: Any) -> Entry:
    """One ``serve.tokens`` entry; a clear error otherwise."""
    where = f"serve.tokens[{index}]"
    role, name = "read", f"token {index}"
    if isinstance(item, str):
        token, company = item, None
    elif isinstance(item, Mapping):
        unknown = sorted(str(key) for key in item if key not in ENTRY_KEYS)
        if unknown:
            raise ConfigError(
                f"{where} has unknown key(s) {', '.join(unknown)}; valid keys: "
                + ", ".join(ENTRY_KEYS)
            )
        role = item.get("role", "read")
        if role not in ROLES:
            raise ConfigError(
                f"{where}: 'role' must be one of {', '.join(ROLES)} (default read); "
                "operator tokens may also act (cancel, retry, pause, resume)"
            )
        if "name" in item:
            name = item["name"]
            if not isinstance(name, str) or not name.strip() or len(name) > 100:
                raise ConfigError(
                    f"{where}: 'name' must be a short label (1 to 100 characters) for the audit log"
                )
        given = item.get("token")
        if not isinstance(given, str):
            raise ConfigError(f"{where} needs 'token', a string")
        token = given
        company = None
        if "company" in item:
            company = item["company"]
            if not isinstance(company, str) or not company.strip() or "\x00" in company:
                raise ConfigError(
                    f"{where}: 'company' must be a company id (a non-empty string), not "
                    f"{_kind(company)}; leave 'company' out for a token that sees every company"
                )
    else:
        raise ConfigError(
            f"{where} must be a string or a table with 'token' and optional 'company', "
            "'role' and 'name'"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"{where} is shorter than {MIN_TOKEN_CHARS} characters")
    return Entry(token, Grant(company, str(role), name.strip()))


def _kind(value: Any) -> str:
    """What a bad ``company`` value is, in words (the value itself is not repeated)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return "an empty or blank string" if "\x00" not in value else "a string with a NUL"
    return f"a {type(value).__name__}"


def _presented_token(authorization: str | None) -> bytes | None:
    """The token in a Bearer header, or the password of a Basic one (for browsers)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value.encode()
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2].encode() or None
    return None
