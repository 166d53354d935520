"""Identifier formats that mimic Anthropic's (msgbatch_01…, msg_01…, toolu_01…, req_01…)."""

from __future__ import annotations

import random
import secrets
import string

_BASE62 = string.ascii_letters + string.digits


def batch_id() -> str:
    """``msgbatch_01`` followed by 22 base-62 characters."""
    return "msgbatch_01" + "".join(secrets.choice(_BASE62) for _ in range(22))


def seeded(prefix: str, rng: random.Random) -> str:
    """``<prefix>01`` and 22 base-62 characters drawn from a seeded RNG (reproducible results)."""
    return prefix + "01" + "".join(rng.choice(_BASE62) for _ in range(22))
