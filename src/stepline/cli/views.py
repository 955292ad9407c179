"""Human-readable views of workflows and executions, as the `get` commands print them."""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.text import Text

from .output import console, print_fields, print_table, short_time, styled, text_or_dash


def step_order(design: dict[str, Any]) -> list[str]:
    """Return the step ids in the order an execution meets them first, then the unreachable ones."""
    steps: dict[str, Any] = design.get("steps") or {}
    order: list[str] = []
    queue = deque([design.get("startStepId")])
    while queue:
        step_id = queue.popleft()
        if step_id not in steps or step_id in order:
            continue
        order.append(step_id)
        step = steps[step_id]
        queue.extend(condition.get("nextStepId") for condition in step.get("conditions") or [])
        queue.append(step.get("nextStepId"))
    return order + [step_id for step_id in steps if step_id not in order]


def _parameter_rows(parameters: dict[str, Any]) -> list[list[str]]:
    return [
        [
            name,
            text_or_dash(parameter.get("type")),
            "yes" if parameter.get("required") else "no",
            text_or_dash(parameter.get("defaultValue")),
            text_or_dash(parameter.get("description")),
        ]
        for name, parameter in parameters.items()
    ]


def _next_steps(step: dict[str, Any]) -> str:
    """Describe where a step goes next: `if deviceCount greater 3: largeSite; else smallSite`."""
    branches = [
        f"if {c.get('name')} {c.get('comparator')} {text_or_dash(c.get('value'))}: {c.get('nextStepId')}"
        for c in step.get("conditions") or []
    ]
    fallback = step.get("nextStepId") or "end"
    if branches:
        return "; ".join([*branches, f"else {fallback}"])
    return fallback


def print_workflow(workflow: dict[str, Any]) -> None:
    owner = workflow.get("owner") or {}
    tags = ", ".join(tag.get("name", "") for tag in workflow.get("tags") or [])
    print_fields(
        [
            ("ID", workflow["id"]),
            ("Name", text_or_dash(workflow.get("name"))),
            ("Version", text_or_dash(workflow.get("version"))),
            ("Schema version", text_or_dash(workflow.get("schemaVersion"))),
            ("Description", text_or_dash(workflow.get("description"))),
            ("Owner", f"{owner.get('type', '-')} {owner.get('id') or ''}".strip()),
            ("Read-only", "yes" if workflow.get("readOnly") else "no"),
            ("Tags", tags or "-"),
            ("Folder", "/".join(workflow.get("hierarchy") or []) or "-"),
            ("Created", f"{short_time(workflow.get('createdAt'))} by {workflow.get('creationUser', '-')}"),
            ("Updated", short_time(workflow.get("updatedAt"))),
            ("Attachments", ", ".join(workflow.get("attachments") or {}) or "-"),
        ]
    )
    columns = ["NAME", "TYPE", "REQUIRED", "DEFAULT", "DESCRIPTION"]
    for title, key in (("Inputs", "inputs"), ("Variables", "variables"), ("Outputs", "outputs")):
        if workflow.get(key):
            console.print()
            print_table(columns, _parameter_rows(workflow[key]), title=title)
    steps = workflow.get("steps") or {}
    rows = [
        [
            step_id,
            text_or_dash(steps[step_id].get("type")),
            _next_steps(steps[step_id]),
            text_or_dash(steps[step_id].get("description")),
        ]
        for step_id in step_order(workflow)
    ]
    console.print()
    print_table(
        ["STEP", "TYPE", "NEXT", "DESCRIPTION"], rows, title=f"Steps (start: {workflow.get('startStepId')})"
    )


def print_execution(execution: dict[str, Any]) -> None:
    workflow = execution.get("workflow") or {}
    print_fields(
        [
            ("ID", execution["id"]),
            ("Status", styled(execution.get("status"))),
            ("Workflow", text_or_dash(workflow.get("id"))),
            ("Current step", text_or_dash(execution.get("currentStepId"))),
            (
                "Created",
                f"{short_time(execution.get('creationTime'))} by {execution.get('creationUser', '-')}",
            ),
            ("Ended", short_time(execution.get("endTime"))),
            ("Context", f"{execution.get('contextType')} {text_or_dash(execution.get('context'))}"),
            ("Pause at failure", "yes" if execution.get("pauseAtFailure") else "no"),
            ("Breakpoints", ", ".join(execution.get("debugStepIds") or []) or "-"),
            ("Retained until", short_time(execution.get("retainedTil"))),
            ("Inputs", text_or_dash(execution.get("assignments"))),
            ("Variables", text_or_dash(execution.get("variables"))),
            ("Outputs", text_or_dash(execution.get("outputs"))),
            ("Attachments", ", ".join(execution.get("attachments") or {}) or "-"),
        ]
    )
    rows = []
    for step in execution.get("stepExecutions") or []:
        error = step.get("error") or {}
        rows.append(
            [
                step["id"],
                text_or_dash(step.get("stepSnapshot", {}).get("id")),
                text_or_dash(step.get("stepSnapshot", {}).get("type")),
                step.get("state", "-"),
                styled(step.get("result")),
                str(step.get("attempt", 1)),
                short_time(step.get("startTime")),
                short_time(step.get("endTime")),
                Text(f"{error['code']}: {error.get('message')}") if error else Text("-"),
            ]
        )
    console.print()
    print_table(
        ["#", "STEP", "TYPE", "STATE", "RESULT", "ATTEMPT", "STARTED", "ENDED", "ERROR"], rows, title="Steps"
    )
