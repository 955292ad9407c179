"""Upload limits from settings."""

from __future__ import annotations

from stepline.engine.deps import Engine

from .multipart import UploadLimits


def upload_limits(engine: Engine) -> UploadLimits:
    settings = engine.settings
    return UploadLimits(
        max_file_bytes=settings.max_file_bytes,
        max_request_bytes=settings.max_request_bytes,
        max_files=settings.max_files,
        max_json_bytes=settings.max_json_part_bytes,
    )
