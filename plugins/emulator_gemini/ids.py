"""Resource names as the Gemini API spells them: ``batches/<id>``, ``files/<id>``."""

from __future__ import annotations

import secrets
import string

_LOWER_ALNUM = string.ascii_lowercase + string.digits


def batch_id() -> str:
    """A batch id: 32 lowercase alphanumerics."""
    return "".join(secrets.choice(_LOWER_ALNUM) for _ in range(32))


def file_id() -> str:
    """An uploaded file's id: 12 lowercase alphanumerics."""
    return "".join(secrets.choice(_LOWER_ALNUM) for _ in range(12))


def upload_id() -> str:
    """An opaque resumable-upload session id."""
    return secrets.token_urlsafe(24)


def response_id() -> str:
    """A GenerateContentResponse.responseId."""
    return secrets.token_urlsafe(16)
