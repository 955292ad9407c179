"""The step graph of a design as cytoscape elements, and the state of each step in an execution.

Nodes are steps (plus one `start` node); edges are `nextStepId` links and conditions.
A condition edge is labelled with its test, e.g. `deviceCount greater 3`; when a step
has conditions, its `nextStepId` edge is labelled `otherwise`.
"""

from __future__ import annotations

import json
from typing import Any

from stepline.wire.execution import WorkflowExecution

from .views import latest_by_step, step_badge

START_NODE = "start"


def node_id(step_id: str) -> str:
    """Return the cytoscape id of a step; the prefix keeps step ids apart from the start node."""
    return f"step:{step_id}"


def _condition_label(condition: dict[str, Any]) -> str:
    value = condition.get("value")
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"{condition.get('name', '')} {condition.get('comparator', '')} {text}".strip()


def design_elements(design: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the nodes and edges of a design's steps for cytoscape."""
    steps: dict[str, Any] = design.get("steps") or {}
    start_node = {"id": START_NODE, "label": "start", "kind": "start", "width": 46, "height": 46}
    elements: list[dict[str, Any]] = [{"data": start_node, "classes": "start"}]
    for step_id, step in steps.items():
        elements.append(
            {
                "data": {
                    "id": node_id(step_id),
                    "stepId": step_id,
                    "stepType": step.get("type", ""),
                    "kind": "step",
                    "label": step_id,
                    # The page script sizes each node from its label before the layout runs.
                    "width": 100,
                    "height": 46,
                }
            }
        )
    start = design.get("startStepId")
    if start in steps:
        elements.append(_edge("start", START_NODE, node_id(start), ""))
    for step_id, step in steps.items():
        conditions = step.get("conditions") or []
        for index, condition in enumerate(conditions):
            target = condition.get("nextStepId")
            if target in steps:
                label = _condition_label(condition)
                elements.append(_edge(f"{step_id}:{index}", node_id(step_id), node_id(target), label))
        following = step.get("nextStepId")
        if following in steps:
            label = "otherwise" if conditions else ""
            elements.append(_edge(f"{step_id}:next", node_id(step_id), node_id(following), label))
    return elements


def _edge(key: str, source: str, target: str, label: str) -> dict[str, Any]:
    """Return an edge between two node ids; a condition's edge gets the class `condition`."""
    classes = "condition" if label and label != "otherwise" else ""
    data = {"id": f"edge:{key}", "source": source, "target": target, "label": label}
    return {"data": data, "classes": classes}


def step_states(execution: WorkflowExecution) -> dict[str, dict[str, str]]:
    """Return, per step id, the CSS class, icon and word of its newest step execution."""
    states = {}
    for step_id, step in latest_by_step(execution.stepExecutions).items():
        badge = step_badge(step)
        states[step_id] = {"css": badge.css, "icon": badge.icon, "text": badge.text, "seq": step.id}
    return states


def graph_state(execution: WorkflowExecution, revision: int) -> dict[str, Any]:
    """Return what the page needs to colour the graph: status, step states and breakpoints.

    `revision` is the execution's version when it was read; the page keeps the newest state.
    """
    return {
        "revision": revision,
        "status": execution.status.value,
        "steps": step_states(execution),
        "breakpoints": list(execution.debugStepIds),
        "currentStepId": execution.currentStepId,
    }
