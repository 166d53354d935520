"""File objects kept on disk under the server's data directory, and their API view."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import ids

BATCH_INPUT_TTL = 30 * 86_400
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")


@dataclass
class FileRecord:
    """One stored file: metadata in memory, content on disk at `path`."""

    id: str
    filename: str
    purpose: str
    bytes: int
    created_at: int
    expires_at: int | None
    path: Path
    deleted: bool = False

    def to_api(self) -> dict[str, Any]:
        """The OpenAI FileObject, every field present."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": self.expires_at,
            "status_details": None,
        }

    def to_ledger(self) -> dict[str, Any]:
        """The ledger view: API fields plus whether the file was deleted."""
        return {**self.to_api(), "deleted": self.deleted}


class FileTable:
    """Files by id in creation order; callers hold the store lock."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, FileRecord] = {}

    def scratch_path(self, stem: str) -> Path:
        """A fresh path in the data directory for content still being written."""
        return self.directory / f".tmp-{stem}-{ids.request_id()}"

    def adopt(
        self, source: Path, filename: str, purpose: str, created_at: int, expires_at: int | None
    ) -> FileRecord:
        """Move a finished file into the table under a new id."""
        file_id = ids.file_id()
        path = self.directory / file_id
        os.replace(source, path)
        record = FileRecord(
            id=file_id,
            filename=filename,
            purpose=purpose,
            bytes=path.stat().st_size,
            created_at=created_at,
            expires_at=expires_at,
            path=path,
        )
        self._files[file_id] = record
        return record

    def get(self, file_id: str) -> FileRecord | None:
        """A live (not deleted) file, or None."""
        record = self._files.get(file_id)
        return None if record is None or record.deleted else record

    def delete(self, file_id: str) -> FileRecord | None:
        """Mark a file deleted and remove its content; None if unknown."""
        record = self.get(file_id)
        if record is None:
            return None
        record.deleted = True
        record.path.unlink(missing_ok=True)
        return record

    def live(self) -> list[FileRecord]:
        """Live files, oldest first."""
        return [f for f in self._files.values() if not f.deleted]

    def all(self) -> list[FileRecord]:
        """Every file ever created, including deleted ones."""
        return list(self._files.values())
