"""SQLAlchemy Core tables. Every row carries `tenant_id`; every query filters on it.

Times are epoch milliseconds (BIGINT) so that SQLite and PostgreSQL compare them alike.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from stepline.wire.execution import ExecutionStatus, LogLevel, StepResult, StepState

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = JSON().with_variant(JSONB(), "postgresql")


def _enum_check(column: str, values: list[str]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


STATUS_VALUES = [status.value for status in ExecutionStatus]
STATE_VALUES = [state.value for state in StepState]
RESULT_VALUES = [result.value for result in StepResult]
LEVEL_VALUES = [level.value for level in LogLevel]

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("settings", Json, nullable=False),
    # A copy of settings.maxConcurrentExecutions that the claim statement can read.
    Column("max_concurrent", Integer),
    Column("created_at", BigInteger, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("name", String(256), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("roles", Json, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger),
    Column("revoked_at", BigInteger),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

workflows = Table(
    "workflows",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("id", String(40), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("version", String(64), nullable=False),
    Column("owner_type", String(8), nullable=False),
    Column("read_only", Boolean, nullable=False),
    Column("tags", Json, nullable=False),
    Column("design", Json, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("creation_user", String(256), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    Index("ix_workflows_list", "tenant_id", "created_at", "id"),
)

executions = Table(
    "executions",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("id", String(40), primary_key=True),
    Column("workflow_id", String(40), nullable=False),
    # id, createdAt, creationUser, creationTenantId of the workflow at creation time.
    Column("workflow_ref", Json, nullable=False),
    Column("snapshot", Json, nullable=False),
    Column("status", String(16), nullable=False),
    Column("context_type", String(8), nullable=False),
    Column("context", Json, nullable=False),
    Column("assignments", Json, nullable=False),
    Column("variables", Json, nullable=False),
    Column("outputs", Json, nullable=False),
    Column("pause_at_failure", Boolean, nullable=False),
    Column("debug_step_ids", Json, nullable=False),
    Column("current_step_id", String(128)),
    # Sequence number of the current step execution; NULL before the first step is entered.
    Column("current_seq", Integer),
    Column("step_count", Integer, nullable=False, server_default=text("0")),
    Column("aborted", Boolean, nullable=False),
    Column("abort_requested", Boolean, nullable=False, server_default=text("false")),
    Column("creation_user", String(256), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("end_time", BigInteger),
    Column("retained_til", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("next_run_at", BigInteger),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", BigInteger),
    Column("idempotency_key", String(256)),
    CheckConstraint(_enum_check("status", STATUS_VALUES), name="status"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    Index("ix_executions_list", "tenant_id", "creation_time", "id"),
    Index("ix_executions_workflow", "tenant_id", "workflow_id"),
    Index("ix_executions_retention", "retained_til"),
    Index(
        "ix_executions_runnable",
        "next_run_at",
        postgresql_where=text("status IN ('QUEUED', 'RUNNING')"),
        sqlite_where=text("status IN ('QUEUED', 'RUNNING')"),
    ),
    Index(
        "ix_executions_idempotency",
        "tenant_id",
        "idempotency_key",
        unique=True,
        postgresql_where=text("idempotency_key IS NOT NULL"),
        sqlite_where=text("idempotency_key IS NOT NULL"),
    ),
)

step_executions = Table(
    "step_executions",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("execution_id", String(40), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("step_id", String(128), nullable=False),
    Column("snapshot", Json, nullable=False),
    Column("state", String(32), nullable=False),
    Column("result", String(16)),
    Column("error", Json),
    Column("attempt", Integer, nullable=False),
    Column("start_time", BigInteger),
    Column("end_time", BigInteger),
    Column("aborted", Boolean, nullable=False),
    Column("inputs", Json, nullable=False),
    Column("outputs", Json, nullable=False),
    CheckConstraint(_enum_check("state", STATE_VALUES), name="state"),
    CheckConstraint(f"result IS NULL OR {_enum_check('result', RESULT_VALUES)}", name="result"),
    ForeignKeyConstraint(
        ["tenant_id", "execution_id"],
        ["executions.tenant_id", "executions.id"],
        ondelete="CASCADE",
    ),
)

log_entries = Table(
    "log_entries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("execution_id", String(40), nullable=False),
    # NULL for entries of the execution itself (queued, completed, ...).
    Column("step_seq", Integer),
    Column("time", BigInteger, nullable=False),
    Column("level", String(8), nullable=False),
    Column("msg", Text, nullable=False),
    CheckConstraint(_enum_check("level", LEVEL_VALUES), name="level"),
    ForeignKeyConstraint(
        ["tenant_id", "execution_id"],
        ["executions.tenant_id", "executions.id"],
        ondelete="CASCADE",
    ),
    Index("ix_log_entries_execution", "tenant_id", "execution_id", "step_seq", "id"),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    # "execution" or "workflow".
    Column("owner_kind", String(16), nullable=False),
    Column("owner_id", String(40), nullable=False),
    Column("name", Text, nullable=False),
    Column("blob_key", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_type", String(256), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Set when a step first receives the file; a consumed attachment can no longer be removed.
    Column("consumed_at", BigInteger),
    # True for an execution attachment that refers to a workflow attachment and shares its
    # blob. A blob is deleted only once no row refers to it.
    Column("reference", Boolean, nullable=False, server_default=text("false")),
    CheckConstraint("owner_kind IN ('execution', 'workflow')", name="owner_kind"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    Index("ix_attachments_owner", "tenant_id", "owner_kind", "owner_id", "name", unique=True),
    Index("ix_attachments_blob", "blob_key"),
)
