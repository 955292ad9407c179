"""Designs shared by the design tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"

_BASE_DESIGN: dict[str, Any] = {
    "name": "Base",
    "version": "1",
    "schemaVersion": "3.0",
    "inputs": {
        "host": {"type": "string", "required": True},
        "user": {"type": "string"},
        "secret": {"type": "password"},
        "config": {"type": "file"},
        "count": {"type": "integer"},
    },
    "variables": {"result": {"type": "string"}, "total": {"type": "integer"}},
    "outputs": {"summary": {"type": "string"}},
    "startStepId": "run",
    "steps": {
        "run": {
            "type": "TCA_SSH",
            "inBindings": {
                "host": {"type": "string", "exportName": "host"},
                "username": {"type": "string", "exportName": "user"},
                "password": {"type": "password", "exportName": "secret"},
                "script": {"type": "string", "defaultValue": "echo {{ host }}"},
            },
            "outBindings": {"result": {"name": "output", "type": "string"}},
            "nextStepId": "check",
            "timeout": "PT1M",
            "retry": {"maxAttempts": 3, "initialInterval": "PT1S", "maxInterval": "PT10S"},
        },
        "check": {
            "type": "NOOP",
            "conditions": [{"name": "result", "comparator": "equals", "value": "ok", "nextStepId": "done"}],
            "nextStepId": "run",
        },
        "done": {
            "type": "JS",
            "inBindings": {
                "script": {"type": "string", "defaultValue": "return {s: 'x'};"},
                "anything": {"type": "integer", "exportName": "count"},
            },
            "outBindings": {"summary": {"name": "s", "type": "string"}},
        },
    },
}


def base_design() -> dict[str, Any]:
    """Return a fresh copy of a small valid design with a cycle (run -> check -> run)."""
    return copy.deepcopy(_BASE_DESIGN)


def example_design() -> dict[str, Any]:
    """Return the day-0 configuration push example design."""
    with (DATA / "design-config-push.json").open(encoding="utf-8") as file:
        data: dict[str, Any] = json.load(file)
    return data
