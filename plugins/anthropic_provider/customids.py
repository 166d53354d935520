"""Custom ids on the wire: the local request id behind a tag derived from the submission key.

Anthropic batches carry no metadata, and a batch's custom ids are visible only in its results.
Every request of a batch is therefore sent as ``<tag>_<request id>``, the tag being ten base-62
characters of the SHA-256 of the plan's submission key: the first result line of an ended batch
tells whose batch it is (see :mod:`plugins.anthropic_provider.lookup`).
"""

from __future__ import annotations

import hashlib
import re
import string

WIRE_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
TAG_LENGTH = 10
MAX_LOCAL_LENGTH = 64 - TAG_LENGTH - 1
"""The longest request id that still fits the provider's 64 characters once tagged."""
LOCAL_PATTERN = rf"^[A-Za-z0-9_-]{{1,{MAX_LOCAL_LENGTH}}}$"
_BASE62 = string.digits + string.ascii_letters


def tag_of(submission_key: str) -> str:
    """The batch tag of a submission key (stable, ten base-62 characters)."""
    number = int.from_bytes(hashlib.sha256(submission_key.encode()).digest()[:8], "big")
    out = []
    for _ in range(TAG_LENGTH):
        number, digit = divmod(number, 62)
        out.append(_BASE62[digit])
    return "".join(out)


def wire_id(tag: str, request_id: str) -> str:
    """The custom id sent for ``request_id``; a request id that cannot fit is a ValueError."""
    wire = f"{tag}_{request_id}"
    if not WIRE_PATTERN.match(wire):
        raise ValueError(
            f"request id {request_id!r} cannot be an Anthropic custom id: it needs 1 to "
            f"{MAX_LOCAL_LENGTH} letters, digits, '_' or '-'"
        )
    return wire


def split(wire: str) -> tuple[str, str] | None:
    """(tag, request id) of a wire custom id, or None when it is not one of ours."""
    if len(wire) <= TAG_LENGTH + 1 or wire[TAG_LENGTH] != "_":
        return None
    return wire[:TAG_LENGTH], wire[TAG_LENGTH + 1 :]
