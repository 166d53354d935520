"""Streaming multipart/form-data parsing: text fields in memory, the file part straight to disk."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from .errors import ApiError

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_PARTS = 16
"""Parts per form: the SDK sends at most four (file, purpose, expires_after[anchor], [seconds])."""
MAX_FIELD_BYTES = 4 * 1024
"""Bytes per text field (a purpose, an expiry); a longer one is a 413."""
MAX_PART_HEADER_BYTES = 8 * 1024
"""Bytes of headers per part; more is a 400."""


@dataclass
class Upload:
    """The parsed form: text fields, and the file part written to `path` (None if absent)."""

    fields: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    filename: str | None = None
    size: int = 0
    too_large: bool = False


class _Collector:
    """Multipart callbacks that route each part to a field buffer or the destination file."""

    def __init__(self, destination: Path, max_file_bytes: int) -> None:
        self.destination = destination
        self.max_file_bytes = max_file_bytes
        self.upload = Upload()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._buffer = bytearray()
        self._sink: BinaryIO | None = None
        self._parts = 0
        self._header_bytes = 0

    def callbacks(self) -> MultipartCallbacks:
        """The callback table for MultipartParser."""
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        """Count the part (too many is a 400) and reset per-part state."""
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise ApiError(400, f"Too many parts in the multipart body (at most {MAX_PARTS}).")
        self._headers = {}
        self._name = ""
        self._buffer = bytearray()
        self._header_bytes = 0

    def _count_header(self, size: int) -> None:
        """Refuse a part whose headers pass MAX_PART_HEADER_BYTES."""
        self._header_bytes += size
        if self._header_bytes > MAX_PART_HEADER_BYTES:
            raise ApiError(400, "A multipart part's headers are too large.")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        """Accumulate a header name."""
        self._count_header(end - start)
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        """Accumulate a header value."""
        self._count_header(end - start)
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        """Store the finished header."""
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name = bytearray()
        self._header_value = bytearray()

    def on_headers_finished(self) -> None:
        """Decide from Content-Disposition whether this part is a field or the file."""
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        if filename is not None and self._name == "file":
            if self._sink is not None:
                raise ApiError(400, "Only one 'file' part is allowed.", param="file")
            self.upload.filename = filename.decode("utf-8", "replace")
            self.upload.path = self.destination
            self._sink = self.destination.open("wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        """Write file bytes to disk (until the size cap) or buffer a small field."""
        chunk = data[start:end]
        if self._sink is not None and self._name == "file":
            self.upload.size += len(chunk)
            if self.upload.size > self.max_file_bytes:
                self.upload.too_large = True
            elif not self.upload.too_large:
                self._sink.write(chunk)
        elif len(self._buffer) + len(chunk) > MAX_FIELD_BYTES:
            raise ApiError(
                413, f"Form field {self._name!r} is too large (at most {MAX_FIELD_BYTES} bytes)."
            )
        else:
            self._buffer += chunk

    def on_part_end(self) -> None:
        """Close the file part, or record the field."""
        if self._sink is not None and self._name == "file":
            self._sink.close()
        elif self._name:
            self.upload.fields[self._name] = self._buffer.decode("utf-8", "replace")

    def close(self) -> None:
        """Make sure the destination file is closed."""
        if self._sink is not None and not self._sink.closed:
            self._sink.close()


def parse_form(
    chunks: Iterable[bytes], content_type: str, destination: Path, max_file_bytes: int
) -> Upload:
    """Parse a multipart body from `chunks`, streaming the `file` part to `destination`."""
    mime, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise ApiError(400, "The request must be multipart/form-data with a boundary.")
    collector = _Collector(destination, max_file_bytes)
    parser = MultipartParser(boundary, collector.callbacks())
    try:
        for chunk in chunks:
            parser.write(chunk)
        parser.finalize()
    except ApiError:
        raise
    except Exception as exc:
        raise ApiError(400, f"Could not parse the multipart body: {exc}") from exc
    finally:
        collector.close()
    return collector.upload
