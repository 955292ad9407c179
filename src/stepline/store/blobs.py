"""The blob store: file contents in a local folder under random keys.

Keys never derive from file names, so a name such as `../x` cannot escape the folder.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

CHUNK_SIZE = 256 * 1024


class BlobWriter:
    """Receives one blob's bytes in order; `size` and `sha256` describe what was written."""

    def __init__(self, store: BlobStore, key: str) -> None:
        self.key = key
        self.size = 0
        self._digest = hashlib.sha256()
        self._path = store.path(key)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self._path, "wb")

    def write(self, data: bytes) -> None:
        # Plain writes: each chunk goes to the page cache, which costs less than a thread hop.
        self._file.write(data)
        self._digest.update(data)
        self.size += len(data)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


class BlobStore:
    """Blobs under `root/ab/<key>`, where `ab` is the key's first two characters."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def new_key() -> str:
        return secrets.token_hex(16)

    def path(self, key: str) -> Path:
        if len(key) != 32 or any(ch not in "0123456789abcdef" for ch in key):
            raise ValueError(f"invalid blob key {key!r}")
        return self.root / key[:2] / key

    def create(self) -> BlobWriter:
        """Start a new blob under a fresh random key."""
        return BlobWriter(self, self.new_key())

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """Yield the blob's content in chunks of CHUNK_SIZE bytes."""
        path = self.path(key)
        async with await anyio.open_file(path, "rb") as handle:
            while chunk := await handle.read(CHUNK_SIZE):
                yield chunk

    async def read_bytes(self, key: str, limit: int) -> bytes:
        """Return the whole blob; raise ValueError when it is longer than `limit` bytes."""
        path = self.path(key)
        size = (await anyio.Path(path).stat()).st_size
        if size > limit:
            raise ValueError(f"blob is {size} bytes, over the limit of {limit} bytes")
        return await anyio.Path(path).read_bytes()

    def delete(self, key: str) -> None:
        """Delete a blob; a blob that is already gone is not an error."""
        try:
            os.unlink(self.path(key))
        except FileNotFoundError:
            pass

    def delete_many(self, keys: list[str]) -> None:
        for key in keys:
            self.delete(key)
