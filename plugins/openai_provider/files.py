"""Streaming file transfers: upload from an open file, download chunk by chunk to a temp name;
and the provider-side file names that tie a file to a submission key or a batch."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import openai
    from openai.types import batch_create_params, file_create_params

CHUNK_SIZE = 1024 * 1024
"""Bytes per downloaded chunk written to disk; a result file is never held in memory whole."""

JSONL_MIME = "application/jsonl"
UPLOAD_PREFIX = "bk-"
_UPLOAD_NAME = re.compile(r"bk-(?P<key>[A-Za-z0-9_.-]{1,64})\.jsonl")
_RESULT_NAME = re.compile(r"(?P<batch>batch_[A-Za-z0-9_-]+?)_(?:output|error)\.jsonl")


def upload_filename(submission_key: str) -> str:
    """The provider-side name of a plan's input file (``.jsonl`` is required by the Batch API)."""
    return f"{UPLOAD_PREFIX}{submission_key}.jsonl"


def key_of_upload(filename: str | None) -> str | None:
    """The submission key in an input file's name (``bk-<key>.jsonl``), or ``None``: not ours."""
    match = _UPLOAD_NAME.fullmatch(filename or "")
    return match["key"] if match else None


def batch_of_result(filename: str | None) -> str | None:
    """The batch id in a result file's name (``<batch id>_output.jsonl`` or ``_error.jsonl``)."""
    match = _RESULT_NAME.fullmatch(filename or "")
    return match["batch"] if match else None


def input_expiry(seconds: int) -> file_create_params.ExpiresAfter | openai.Omit:
    """The input file's ``expires_after``: ``seconds`` after the upload (0: the provider's
    default, 30 days for batch input)."""
    import openai
    from openai.types import file_create_params

    if seconds <= 0:
        return openai.omit
    return file_create_params.ExpiresAfter(anchor="created_at", seconds=seconds)


def output_expiry(seconds: int) -> batch_create_params.OutputExpiresAfter | openai.Omit:
    """The batch's ``output_expires_after``: its result files expire ``seconds`` after they
    are written (0: the provider's default)."""
    import openai
    from openai.types import batch_create_params

    if seconds <= 0:
        return openai.omit
    return batch_create_params.OutputExpiresAfter(anchor="created_at", seconds=seconds)


def upload_file(
    client: openai.OpenAI, path: Path, filename: str, expires_after_seconds: int = 0
) -> Any:
    """Upload ``path`` with ``purpose=batch``, streamed from disk (never read into memory),
    set to expire ``expires_after_seconds`` after the upload."""
    with path.open("rb") as handle:
        return client.files.create(
            file=(filename, handle, JSONL_MIME),
            purpose="batch",
            expires_after=input_expiry(expires_after_seconds),
        )


def write_chunks(chunks: Iterable[bytes], sink: IO[bytes]) -> int:
    """Write every chunk to ``sink`` as it arrives; returns the number of bytes written."""
    total = 0
    for chunk in chunks:
        if chunk:
            sink.write(chunk)
            total += len(chunk)
    return total


def download_file(
    client: openai.OpenAI, file_id: str, target: Path, chunk_size: int | None = None
) -> int:
    """Stream file ``file_id`` to ``target``: write a temp file beside it, rename when complete.

    A failure (or a 404) leaves no partial file behind and raises the SDK or transport error.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    try:
        with (
            client.files.with_streaming_response.content(file_id) as response,
            temp.open("wb") as sink,
        ):
            size = write_chunks(response.iter_bytes(chunk_size or CHUNK_SIZE), sink)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temp, target)
        return size
    finally:
        temp.unlink(missing_ok=True)
