"""Per-tenant settings, with the server's settings as defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepline.config import Settings


@dataclass(frozen=True)
class TenantConfig:
    retention_days: int
    max_file_bytes: int
    max_request_bytes: int
    max_files: int
    allowed_hosts: tuple[str, ...]
    max_concurrent_executions: int | None

    def as_wire(self) -> dict[str, Any]:
        return {
            "retentionDays": self.retention_days,
            "maxFileBytes": self.max_file_bytes,
            "maxRequestBytes": self.max_request_bytes,
            "maxFiles": self.max_files,
            "allowedHosts": list(self.allowed_hosts),
            "maxConcurrentExecutions": self.max_concurrent_executions,
        }


def tenant_config(settings: Settings, stored: dict[str, Any] | None) -> TenantConfig:
    """Merge a tenant's stored settings over the server defaults."""
    values = stored or {}

    def pick(key: str, default: Any) -> Any:
        value = values.get(key)
        return default if value is None else value

    return TenantConfig(
        retention_days=int(pick("retentionDays", settings.retention_days)),
        max_file_bytes=int(pick("maxFileBytes", settings.max_file_bytes)),
        max_request_bytes=int(pick("maxRequestBytes", settings.max_request_bytes)),
        max_files=int(pick("maxFiles", settings.max_files)),
        allowed_hosts=tuple(pick("allowedHosts", ["*"])),
        max_concurrent_executions=values.get("maxConcurrentExecutions"),
    )
