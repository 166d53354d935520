"""Streaming file transfers: upload from an open file, download chunk by chunk to a temp name."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import openai

CHUNK_SIZE = 1024 * 1024
"""Bytes per downloaded chunk written to disk; a result file is never held in memory whole."""

JSONL_MIME = "application/jsonl"


def upload_filename(submission_key: str) -> str:
    """The provider-side name of a plan's input file (``.jsonl`` is required by the Batch API)."""
    return f"bk-{submission_key}.jsonl"


def upload_file(client: openai.OpenAI, path: Path, filename: str) -> Any:
    """Upload ``path`` with ``purpose=batch``, streamed from disk (never read into memory)."""
    with path.open("rb") as handle:
        return client.files.create(file=(filename, handle, JSONL_MIME), purpose="batch")


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
