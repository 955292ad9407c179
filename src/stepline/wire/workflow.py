"""The workflow design as TCA sends it (schemaVersion 3.0), and its stored form."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictBool

from .common import ResponseModel, StrictModel

OwnerType = Literal["USER", "VNF", "CNF", "NS"]


class Owner(StrictModel):
    id: str | None = None
    subId: str | None = None
    type: OwnerType = "USER"


class Tag(StrictModel):
    name: str
    autoCreated: bool = False


class Parameter(StrictModel):
    """A workflow input, output or variable."""

    type: str
    format: str | None = None
    description: str | None = None
    defaultValue: Any = None
    required: bool | None = None


class InBinding(StrictModel):
    """The source of a step input's value: a workflow input or variable, or a default."""

    type: str
    format: str | None = None
    description: str | None = None
    defaultValue: Any = None
    exportName: str | None = None


class OutBinding(StrictModel):
    """A copy of a step output (`name`) into the workflow variable or output of the key."""

    name: str
    type: str | None = None
    format: str | None = None


class Condition(StrictModel):
    name: str
    comparator: str
    value: Any = None
    nextStepId: str


class RetryPolicy(StrictModel):
    """Automatic retries of a failed step; intervals are ISO 8601 durations."""

    maxAttempts: int = Field(ge=1, le=100)
    initialInterval: str = "PT1S"
    backoffCoefficient: float = Field(default=2.0, ge=1.0, le=100.0)
    maxInterval: str | None = None


class Step(StrictModel):
    type: str
    description: str | None = None
    nextStepId: str | None = None
    conditions: list[Condition] = Field(default_factory=list)
    inBindings: dict[str, InBinding] = Field(default_factory=dict)
    outBindings: dict[str, OutBinding] = Field(default_factory=dict)
    timeout: str | None = None
    retry: RetryPolicy | None = None


class AttachmentRef(StrictModel):
    id: str
    reference: StrictBool = False


class WorkflowBody(StrictModel):
    """A design as a client sends it to create or replace a workflow."""

    name: str = Field(min_length=1, max_length=256)
    version: str = Field(min_length=1, max_length=64)
    schemaVersion: str
    description: str | None = None
    owner: Owner | None = None
    readOnly: bool = False
    hierarchy: list[str] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)
    inputs: dict[str, Parameter] = Field(default_factory=dict)
    outputs: dict[str, Parameter] = Field(default_factory=dict)
    variables: dict[str, Parameter] = Field(default_factory=dict)
    attachments: dict[str, AttachmentRef] = Field(default_factory=dict)
    startStepId: str | None = None
    steps: dict[str, Step] = Field(default_factory=dict)


class Workflow(ResponseModel):
    """A stored workflow as the API returns it."""

    id: str
    name: str
    version: str
    schemaVersion: str
    description: str | None = None
    owner: dict[str, Any] | None = None
    readOnly: bool = False
    hierarchy: list[str] = Field(default_factory=list)
    tags: list[dict[str, Any]] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    variables: dict[str, Any] = Field(default_factory=dict)
    attachments: dict[str, Any] = Field(default_factory=dict)
    startStepId: str | None = None
    steps: dict[str, Any] = Field(default_factory=dict)
    createdAt: str
    creationUser: str
    creationTenantId: str
    updatedAt: str
