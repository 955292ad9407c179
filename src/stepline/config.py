"""Server settings, read from `STEPLINE_` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings of one Stepline process (API, worker or both)."""

    model_config = SettingsConfigDict(env_prefix="STEPLINE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("./stepline-data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data directory."
    )
    blob_dir: Path | None = Field(
        default=None, description="Blob folder; default: `blobs` in the data directory."
    )
    bootstrap_token: str | None = None

    # Engine timings.
    lease_seconds: float = 30.0
    purge_interval_seconds: float = 300.0
    # How long a cancelled step may take to stop before the worker records the abort anyway.
    abort_grace_seconds: float = 5.0
    # How long after an abort request any worker may take the execution to record the abort.
    abort_timeout_seconds: float = 10.0
    poll_interval_seconds: float = 0.5
    worker_concurrency: int = 8
    step_limit: int = 10_000
    default_step_timeout_seconds: float = 3600.0

    # Upload limits (bytes and counts).
    max_file_bytes: int = 2 * 1024**3
    max_request_bytes: int = 4 * 1024**3
    max_files: int = 100
    max_json_part_bytes: int = 4 * 1024**2
    # Request bodies other than multipart (designs, create requests, changes).
    max_json_body_bytes: int = 16 * 1024**2

    # Logs.
    log_line_max_bytes: int = 64 * 1024
    step_log_max_bytes: int = 16 * 1024**2

    # JS sandbox.
    js_memory_bytes: int = 64 * 1024**2
    js_time_seconds: float = 10.0
    js_file_max_bytes: int = 16 * 1024**2

    retention_days: int = 30

    # Secrets at rest: Fernet keys, newest first, comma-separated. Default: a key file in the
    # data directory, made at the first start.
    secret_keys: str | None = None

    # OIDC: set issuer, audience and JWKS URL to accept JWTs besides API tokens.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_algorithms: str = "RS256,ES256"
    oidc_tenant_claim: str = "tenant"
    oidc_roles_claim: str = "roles"

    def resolved_database_url(self) -> str:
        """Return the configured database URL, or the SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'stepline.db').resolve()}"

    def resolved_blob_dir(self) -> Path:
        """Return the blob folder, by default `blobs` under the data directory."""
        return self.blob_dir if self.blob_dir is not None else self.data_dir / "blobs"
