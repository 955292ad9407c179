"""Upload limits of the caller's tenant."""

from __future__ import annotations

from fastapi import Request

from stepline.engine.tenancy import TenantConfig

from .multipart import UploadLimits


def upload_limits(request: Request) -> UploadLimits:
    """Return the upload limits of the tenant that the route's role check loaded."""
    tenant: TenantConfig = request.state.tenant
    return UploadLimits(
        max_file_bytes=tenant.max_file_bytes,
        max_request_bytes=tenant.max_request_bytes,
        max_files=tenant.max_files,
        max_json_bytes=request.app.state.engine.settings.max_json_part_bytes,
    )
