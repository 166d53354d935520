"""Bearer tokens from ``serve.tokens``: who may read, and which company a token is limited to."""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from typing import Any

from kernel.types import ConfigError


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid token allows: everything (``company`` None) or one company."""

    company: str | None

    def __repr__(self) -> str:
        """Never show the token; only the scope."""
        return f"Grant(company={self.company!r})"


class TokenTable:
    """The configured tokens; compared in constant time, never logged."""

    def __init__(self, tokens: list[tuple[str, str | None]]) -> None:
        self._tokens = [(token.encode(), company) for token, company in tokens]

    @classmethod
    def from_settings(cls, settings: Any) -> TokenTable:
        """Read ``serve.tokens``: strings, or tables with ``token`` and optional ``company``."""
        raw = (settings.get("serve") or {}).get("tokens") or []
        tokens: list[tuple[str, str | None]] = []
        for index, item in enumerate(raw):
            if isinstance(item, str):
                token, company = item, None
            elif isinstance(item, dict) and isinstance(item.get("token"), str):
                token = item["token"]
                company = str(item["company"]) if item.get("company") else None
            else:
                raise ConfigError(
                    f"serve.tokens[{index}] must be a string or a table with 'token' and an "
                    "optional 'company'"
                )
            if len(token) < 16:
                raise ConfigError(f"serve.tokens[{index}] is shorter than 16 characters")
            tokens.append((token, company))
        if not tokens:
            raise ConfigError(
                "serve.tokens is empty: set at least one bearer token, e.g. "
                'BATCHKERNEL_SERVE__TOKENS=\'@json [{"token": "<long random secret>"}]\''
            )
        return cls(tokens)

    def check(self, authorization: str | None) -> Grant | None:
        """The grant of an ``Authorization: Bearer`` (or Basic, password = token) header."""
        presented = _presented_token(authorization)
        if presented is None:
            return None
        found: Grant | None = None
        for token, company in self._tokens:
            if hmac.compare_digest(token, presented) and found is None:
                found = Grant(company)
        return found


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
