"""The Files API: resumable upload sessions, File resources and their content on disk.

Upload (as ``client.files.upload`` does it): ``POST /upload/{version}/files`` with
``X-Goog-Upload-Protocol: resumable`` and ``X-Goog-Upload-Command: start`` answers an
``x-goog-upload-url``; the SDK then POSTs the bytes there in chunks with ``X-Goog-Upload-Command:
upload`` (the last one ``upload, finalize``) and ``X-Goog-Upload-Offset``; every answer carries
``x-goog-upload-status`` (``active``, then ``final`` with ``{"file": File}``). Content lives in the
shared emulator's :class:`FileTable`; names are ``files/<id>``, result files ``files/batch-<id>``.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from plugins.emulator.files import FileTable

from . import ids
from .errors import GoogleError, invalid, not_found
from .timefmt import int64, rfc3339

FILE_TTL_SECONDS = 48 * 3600
PUBLIC_BASE = "https://generativelanguage.googleapis.com/v1"


@dataclass
class GeminiFile:
    """One File resource; its bytes are the FileTable record ``record_id``."""

    name: str
    record_id: str
    display_name: str
    mime_type: str
    size: int
    sha256: str
    created: float
    source: str
    deleted: bool = False

    @property
    def id(self) -> str:
        """The id after ``files/``."""
        return self.name.removeprefix("files/")

    def to_api(self) -> dict[str, Any]:
        """The File resource as the API returns it."""
        out: dict[str, Any] = {
            "name": self.name,
            "displayName": self.display_name,
            "mimeType": self.mime_type,
            "sizeBytes": int64(self.size),
            "createTime": rfc3339(self.created),
            "updateTime": rfc3339(self.created),
            "expirationTime": rfc3339(self.created + FILE_TTL_SECONDS),
            "sha256Hash": self.sha256,
            "uri": f"{PUBLIC_BASE}/{self.name}",
            "state": "ACTIVE",
            "source": self.source,
        }
        if self.source == "GENERATED":
            out["downloadUri"] = f"{PUBLIC_BASE}/{self.name}:download?alt=media"
        return out

    def to_ledger(self) -> dict[str, Any]:
        """The ledger view: the resource plus whether it was deleted."""
        return {**self.to_api(), "deleted": self.deleted}


@dataclass
class UploadSession:
    """A resumable upload in progress."""

    path: Path
    handle: IO[bytes]
    size: int
    mime_type: str
    display_name: str
    name: str
    received: int = 0
    digest: Any = field(default_factory=hashlib.sha256)


class GeminiFiles:
    """Files and upload sessions; callers hold the store lock."""

    def __init__(self, directory: Path, max_file_bytes: int) -> None:
        self.table = FileTable(directory)
        self.max_file_bytes = max_file_bytes
        self._files: dict[str, GeminiFile] = {}
        self._uploads: dict[str, UploadSession] = {}

    def start_upload(self, size: int, mime_type: str, metadata: dict[str, Any]) -> str:
        """Open an upload session; returns its id. The File fields may come in lowerCamelCase
        or, as the SDK sends them, snake_case (proto JSON accepts both)."""
        if size > self.max_file_bytes:
            raise invalid(f"File size {size} exceeds the limit of {self.max_file_bytes} bytes.")
        name = str(metadata.get("name") or f"files/{ids.file_id()}")
        if not name.startswith("files/"):
            name = f"files/{name}"
        if name in self._files and not self._files[name].deleted:
            raise GoogleError("ALREADY_EXISTS", f"File {name} already exists.", http_status=409)
        upload = ids.upload_id()
        path = self.table.scratch_path(f"upload-{upload[:8]}")
        self._uploads[upload] = UploadSession(
            path=path,
            handle=path.open("wb"),
            size=size,
            mime_type=str(
                metadata.get("mimeType")
                or metadata.get("mime_type")
                or mime_type
                or "application/octet-stream"
            ),
            display_name=str(metadata.get("displayName") or metadata.get("display_name") or ""),
            name=name,
        )
        return upload

    def receive(self, upload: str, offset: int, data: bytes, finalize: bool) -> GeminiFile | None:
        """Append one chunk; on finalize register the File (returned)."""
        session = self._uploads.get(upload)
        if session is None:
            raise GoogleError("NOT_FOUND", "No such upload session.", http_status=404)
        if offset != session.received:
            raise invalid(
                f"Upload offset {offset} does not match the {session.received} bytes received."
            )
        if session.received + len(data) > session.size:
            raise invalid("More bytes were sent than the upload declared.")
        session.handle.write(data)
        session.digest.update(data)
        session.received += len(data)
        if not finalize:
            return None
        del self._uploads[upload]
        session.handle.close()
        if session.received != session.size:
            session.path.unlink(missing_ok=True)
            raise invalid(
                f"The upload declared {session.size} bytes but {session.received} arrived."
            )
        return self.adopt(
            session.path,
            session.name,
            session.display_name,
            session.mime_type,
            "UPLOADED",
            created=0.0,
            sha256=base64.b64encode(session.digest.hexdigest().encode()).decode(),
        )

    def adopt(
        self,
        source: Path,
        name: str,
        display_name: str,
        mime_type: str,
        kind: str,
        created: float,
        sha256: str = "",
    ) -> GeminiFile:
        """Move a finished file into the table under ``name``."""
        when = created or time.time()
        record = self.table.adopt(source, display_name or name, kind.lower(), int(when), None)
        if not sha256:
            digest = hashlib.sha256(record.path.read_bytes()).hexdigest()
            sha256 = base64.b64encode(digest.encode()).decode()
        item = GeminiFile(
            name=name,
            record_id=record.id,
            display_name=display_name,
            mime_type=mime_type,
            size=record.bytes,
            sha256=sha256,
            created=when,
            source=kind,
        )
        self._files[name] = item
        return item

    def get(self, name: str) -> GeminiFile:
        """A live file, or 404."""
        item = self._files.get(name)
        if item is None or item.deleted:
            raise GoogleError(
                "PERMISSION_DENIED",
                f"You do not have permission to access the File {item.id if item else name} "
                "or it may not exist.",
            )
        return item

    def path(self, name: str) -> Path:
        """Where a live file's bytes are."""
        record = self.table.get(self.get(name).record_id)
        if record is None:
            raise not_found("File", name)
        return record.path

    def open(self, name: str) -> tuple[IO[bytes], int]:
        """An open handle on a file's content and its size; the caller closes it."""
        path = self.path(name)
        return path.open("rb"), path.stat().st_size

    def delete(self, name: str) -> None:
        """Delete a file and its bytes."""
        item = self.get(name)
        item.deleted = True
        self.table.delete(item.record_id)

    def live(self) -> list[GeminiFile]:
        """Live files, newest first."""
        return [f for f in reversed(self._files.values()) if not f.deleted]

    def all(self) -> list[GeminiFile]:
        """Every file ever made."""
        return list(self._files.values())

    def close(self) -> None:
        """Close the handles of unfinished uploads."""
        for session in self._uploads.values():
            session.handle.close()
