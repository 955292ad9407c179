"""The step runners by type name, as the engine looks them up."""

from __future__ import annotations

from typing import Any

from stepline.design.catalog import STEP_TYPES

from .base import StepContext, StepFailure, StepRunner
from .js import JsRunner
from .noop import NoopRunner
from .scp import ScpRunner
from .ssh import SshRunner


class UnsupportedRunner:
    """Fails every step of a catalog type that this server cannot run."""

    def __init__(self, type_name: str) -> None:
        self._type_name = type_name

    async def run(self, inputs: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        raise StepFailure(
            "STEP_TYPE_UNSUPPORTED",
            f"step type {self._type_name} is not supported by this server",
            retryable=False,
        )


_JS_RUNNER = JsRunner()
_SSH_RUNNER = SshRunner()
_SCP_RUNNER = ScpRunner()

_RUNNERS: dict[str, StepRunner] = {
    "NOOP": NoopRunner(),
    "JS": _JS_RUNNER,
    "TCA_SSH": _SSH_RUNNER,
    "VRO_SSH": _SSH_RUNNER,
    "TCA_SCP": _SCP_RUNNER,
    "VRO_SCP": _SCP_RUNNER,
}


def get_runner(type_name: str) -> StepRunner:
    """Return the runner of a step type.

    A type of the catalog that this server cannot run gets a runner that fails the step
    with STEP_TYPE_UNSUPPORTED. Raises KeyError for a name that is not in the catalog.
    """
    runner = _RUNNERS.get(type_name)
    if runner is not None:
        return runner
    if type_name in STEP_TYPES:
        return UnsupportedRunner(type_name)
    raise KeyError(f"unknown step type {type_name!r}")


async def close_runners() -> None:
    """End the JavaScript sandbox processes of the running event loop, at shutdown."""
    await _JS_RUNNER.aclose()
