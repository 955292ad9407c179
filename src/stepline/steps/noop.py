"""The NOOP step: runs nothing, so that a design has a place for `conditions`."""

from __future__ import annotations

from typing import Any

from .base import StepContext


class NoopRunner:
    """Returns no outputs."""

    async def run(self, inputs: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        return {}
