"""Workflow executions: the create and change requests, and the execution as returned."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from .common import Link, ResponseModel, StrictModel
from .workflow import AttachmentRef, Step

ContextType = Literal["NONE", "VNF", "CNF", "NS"]


class ExecutionStatus(StrEnum):
    """Overall status of an execution (a Stepline extension; TCA has none)."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"


ENDED_STATUSES = frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.ABORTED})


class StepState(StrEnum):
    """TCA's step execution states."""

    WAITING_BEFORE_EXECUTION = "waitingBeforeExecution"
    EXECUTABLE = "executable"
    EXECUTING = "executing"
    EXECUTED = "executed"
    WAITING_AFTER_EXECUTION = "waitingAfterExecution"
    READY_TO_COMPUTE_NEXT_STEP = "readyToComputeNextStep"
    RETRY = "retry"
    FINISHED = "finished"


class StepResult(StrEnum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    SKIPPED = "SKIPPED"
    ABORTED = "ABORTED"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


class WorkflowExecutionCreateRequest(StrictModel):
    """TCA's `workflowExecutionCreateRequest`."""

    workflowId: str = Field(min_length=1)
    contextType: ContextType
    context: dict[str, Any] = Field(default_factory=dict)
    assignments: dict[str, Any] = Field(default_factory=dict)
    attachments: dict[str, AttachmentRef] = Field(default_factory=dict)
    pauseAtFailure: bool = False
    retainedTil: str | None = None
    debugStepIds: list[str] = Field(default_factory=list)


class LogEntry(ResponseModel):
    msg: str
    time: str
    level: str


class StepError(ResponseModel):
    code: str
    message: str


class StepExecution(ResponseModel):
    id: str
    stepSnapshot: dict[str, Any]
    state: StepState
    startTime: str | None = None
    endTime: str | None = None
    aborted: bool = False
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    logs: list[LogEntry] = Field(default_factory=list)
    result: StepResult | None = None
    error: StepError | None = None
    attempt: int = 1
    logsTruncated: bool | None = None


class WorkflowReference(ResponseModel):
    id: str
    createdAt: str
    creationUser: str
    creationTenantId: str


class ExecutionLinks(ResponseModel):
    self: Link


class WorkflowExecution(ResponseModel):
    """TCA's `workflowExecution`, with Stepline's extension fields."""

    id: str
    status: ExecutionStatus
    pauseAtFailure: bool
    retainedTil: str
    debugStepIds: list[str]
    contextType: str
    context: dict[str, Any]
    workflow: WorkflowReference
    creationTime: str
    aborted: bool
    endTime: str | None
    creationUser: str
    currentStepId: str | None
    assignments: dict[str, Any]
    attachments: dict[str, AttachmentRef]
    variables: dict[str, Any]
    outputs: dict[str, Any]
    stepExecutions: list[StepExecution]
    logs: list[LogEntry]
    links: ExecutionLinks
    logsTruncated: bool | None = None


class WorkflowExecutionChange(StrictModel):
    """TCA's `workflowExecutionChange` (PATCH), with Stepline's value corrections."""

    pauseAtFailure: bool | None = None
    debugStepIds: list[str] | None = None
    retainedTil: str | None = None
    steps: dict[str, Step] | None = None
    startStepId: str | None = None
    assignments: dict[str, Any] | None = None
    variables: dict[str, Any] | None = None


class ResumeRequest(StrictModel):
    assignments: dict[str, Any] | None = None
    variables: dict[str, Any] | None = None


class RetryRequest(StrictModel):
    assignments: dict[str, Any] | None = None
    variables: dict[str, Any] | None = None
    steps: dict[str, Step] | None = None
