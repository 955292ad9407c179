"""The engine's services from outside: the database, the blob store, settings and keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from stepline.config import Settings
from stepline.steps.base import FileInput, StepFailure, StepLimits
from stepline.store.blobs import BlobStore
from stepline.store.db import Database

from .sealing import Sealer, load_sealer


@dataclass
class Engine:
    """The shared services of API handlers, workers and control operations."""

    db: Database
    blobs: BlobStore
    settings: Settings
    sealer: Sealer = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.sealer is None:
            self.sealer = load_sealer(self.settings.secret_keys, self.settings.data_dir)

    @property
    def step_limits(self) -> StepLimits:
        return StepLimits(
            js_memory_bytes=self.settings.js_memory_bytes,
            js_time_seconds=self.settings.js_time_seconds,
            js_file_max_bytes=self.settings.js_file_max_bytes,
        )


class BlobFileReader:
    """Gives steps the content of their file inputs from the blob store."""

    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs

    def open(self, file: FileInput) -> AsyncIterator[bytes]:
        return self._blobs.open(file.blob_key)

    async def read_bytes(self, file: FileInput, limit: int) -> bytes:
        if file.size > limit:
            raise StepFailure(
                "FILE_TOO_LARGE",
                f"file '{file.name}' is {file.size} bytes, over the limit of {limit} bytes for this step",
                retryable=False,
            )
        return await self._blobs.read_bytes(file.blob_key, limit)
