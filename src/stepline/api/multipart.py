"""A streaming multipart/form-data reader.

File parts go to the blob store while the request arrives, so memory does not grow with
file size. The JSON part is kept in memory up to its own limit. On any error the caller
calls `discard()`, which deletes every blob this request wrote.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import unquote

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from stepline.engine.create import Upload
from stepline.engine.errors import InvalidRequest, TooLarge, UnsupportedMediaType
from stepline.store.blobs import BlobStore, BlobWriter
from stepline.wire.values import file_name_problem, shown_text


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int
    max_request_bytes: int
    max_files: int
    max_json_bytes: int


@dataclass
class MultipartResult:
    json_parts: dict[str, bytes] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)


def boundary_of(content_type: str | None) -> bytes:
    """Return the boundary of a multipart/form-data content type, or raise 415."""
    kind, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType(
            "UNSUPPORTED_MEDIA_TYPE",
            f"Content-Type {content_type or '(none)'!r} is not accepted here; send "
            "multipart/form-data with a boundary parameter",
        )
    return boundary


def _split_params(value: str) -> list[str]:
    """Split a header value on semicolons that are outside quoted strings."""
    items, current, quoted, escaped = [], [], False, False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            current.append(char)
            escaped = True
        elif char == '"':
            quoted = not quoted
            current.append(char)
        elif char == ";" and not quoted:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    items.append("".join(current).strip())
    return items


def parse_disposition(value: str) -> dict[str, str]:
    """Return the parameters of a Content-Disposition header, `filename*` (RFC 5987) decoded."""
    params: dict[str, str] = {}
    for item in _split_params(value)[1:]:
        key, sep, raw = item.partition("=")
        if not sep:
            continue
        key = key.strip().lower()
        raw = raw.strip()
        if key.endswith("*"):
            charset, _, rest = raw.partition("'")
            _, _, encoded = rest.partition("'")
            if charset.lower() not in ("utf-8", "iso-8859-1"):
                raise InvalidRequest(
                    "VALIDATION_FAILED", f"unsupported charset {charset!r} in {key}; use UTF-8 (RFC 5987)"
                )
            try:
                params[key[:-1]] = unquote(encoded, encoding=charset or "utf-8", errors="strict")
            except (LookupError, UnicodeDecodeError) as exc:
                raise InvalidRequest(
                    "VALIDATION_FAILED", f"invalid {key} parameter in Content-Disposition: {exc}"
                ) from exc
            continue
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        # RFC 5987 says the starred form wins when a client sends both.
        params.setdefault(key, raw)
    return params


def check_file_name(name: str) -> str:
    """Return the file name as given, or raise 400 for a name that cannot name an attachment."""
    problem = file_name_problem(name)
    if problem:
        raise InvalidRequest(
            "VALIDATION_FAILED", f"part 'files': the file name {shown_text(name)} {problem}; rename the file"
        )
    return name


class MultipartReader:
    """Reads one multipart body; `json_names` are kept in memory, `file_name` parts stored."""

    def __init__(
        self,
        boundary: bytes,
        blobs: BlobStore,
        limits: UploadLimits,
        *,
        json_names: tuple[str, ...],
        file_name: str = "files",
    ) -> None:
        self._blobs = blobs
        self._limits = limits
        self._json_names = json_names
        self._file_name = file_name
        self._received = 0
        self._headers: dict[str, str] = {}
        self._field = b""
        self._value = b""
        self._part: str | None = None
        self._buffer = bytearray()
        self._writer: BlobWriter | None = None
        self._upload_name = ""
        self._upload_type = ""
        self._written: list[str] = []
        self.result = MultipartResult()
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
            },
        )

    async def read(self, stream: AsyncIterator[bytes]) -> MultipartResult:
        async for chunk in stream:
            self._received += len(chunk)
            if self._received > self._limits.max_request_bytes:
                raise TooLarge(
                    "REQUEST_TOO_LARGE",
                    f"the request is larger than the limit of {self._limits.max_request_bytes} bytes",
                )
            try:
                self._parser.write(chunk)
            except MultipartParseError as exc:
                raise InvalidRequest("VALIDATION_FAILED", f"invalid multipart body: {exc}") from exc
        self._parser.finalize()
        if self._part is not None:
            raise InvalidRequest("VALIDATION_FAILED", "the multipart body ended inside a part")
        return self.result

    def discard(self) -> None:
        """Delete every blob this request wrote."""
        if self._writer is not None:
            self._writer.close()
        self._blobs.delete_many(self._written)
        self._written = []

    # --- parser callbacks -------------------------------------------------------

    def _on_part_begin(self) -> None:
        self._headers = {}
        self._field = b""
        self._value = b""

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        name = self._field.decode("latin-1").strip().lower()
        try:
            value = self._value.decode("utf-8")
        except UnicodeDecodeError:
            value = self._value.decode("latin-1")
        self._headers[name] = value
        self._field = b""
        self._value = b""

    def _on_headers_finished(self) -> None:
        params = parse_disposition(self._headers.get("content-disposition", ""))
        part = params.get("name")
        if part in self._json_names:
            if part in self.result.json_parts:
                raise InvalidRequest("VALIDATION_FAILED", f"part '{part}' appears twice; send it once")
            self._part = part
            self._buffer = bytearray()
        elif part == self._file_name:
            self._start_file(params)
        else:
            expected = ", ".join(f"'{name}'" for name in (*self._json_names, self._file_name))
            raise InvalidRequest(
                "VALIDATION_FAILED", f"unexpected multipart part {part!r}; expected parts: {expected}"
            )

    def _start_file(self, params: dict[str, str]) -> None:
        if "filename" not in params:
            raise InvalidRequest(
                "VALIDATION_FAILED",
                f"part '{self._file_name}' has no filename in its Content-Disposition; add one",
            )
        name = check_file_name(params["filename"])
        if any(upload.name == name for upload in self.result.uploads):
            raise InvalidRequest(
                "DUPLICATE_FILE_NAME",
                f"two files are named {name!r}; file names must be unique within a request",
            )
        if len(self.result.uploads) >= self._limits.max_files:
            raise TooLarge("TOO_MANY_FILES", f"more than {self._limits.max_files} files in one request")
        self._part = self._file_name
        self._upload_name = name
        self._upload_type = self._headers.get("content-type", "application/octet-stream")[:256]
        self._writer = self._blobs.create()
        self._written.append(self._writer.key)

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._writer is not None:
            self._writer.write(data[start:end])
            if self._writer.size > self._limits.max_file_bytes:
                raise TooLarge(
                    "FILE_TOO_LARGE",
                    f"file {self._upload_name!r} is larger than the limit of "
                    f"{self._limits.max_file_bytes} bytes",
                )
        elif self._part is not None:
            self._buffer += data[start:end]
            if len(self._buffer) > self._limits.max_json_bytes:
                raise TooLarge(
                    "PART_TOO_LARGE",
                    f"part '{self._part}' is larger than the limit of {self._limits.max_json_bytes} bytes",
                )

    def _on_part_end(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()
            self.result.uploads.append(
                Upload(self._upload_name, writer.key, writer.size, writer.sha256, self._upload_type)
            )
        elif self._part is not None:
            self.result.json_parts[self._part] = bytes(self._buffer)
        self._part = None
