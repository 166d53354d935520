"""Identifier formats that mimic OpenAI's (file-, batch_, batch_req_, req_, chatcmpl-)."""

from __future__ import annotations

import random
import secrets
import string

_ALNUM = string.ascii_letters + string.digits


def file_id() -> str:
    """`file-` followed by 22 alphanumerics."""
    return "file-" + "".join(secrets.choice(_ALNUM) for _ in range(22))


def batch_id() -> str:
    """`batch_` followed by 32 hex digits."""
    return "batch_" + secrets.token_hex(16)


def request_id() -> str:
    """`req_` followed by 32 hex digits, for the x-request-id header."""
    return "req_" + secrets.token_hex(16)


def hex_id(prefix: str, rng: random.Random, bits: int = 128) -> str:
    """A reproducible id drawn from a seeded RNG (output line ids)."""
    return f"{prefix}{rng.getrandbits(bits):0{bits // 4}x}"
