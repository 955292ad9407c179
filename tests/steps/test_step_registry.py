"""Step registry: every supported catalog type has a runner, the others fail clearly."""

from __future__ import annotations

import pytest

from stepline.design.catalog import STEP_TYPES
from stepline.steps.base import StepFailure
from stepline.steps.js import JsRunner
from stepline.steps.noop import NoopRunner
from stepline.steps.registry import close_runners, get_runner
from stepline.steps.scp import ScpRunner
from stepline.steps.ssh import SshRunner


@pytest.mark.parametrize(
    ("type_name", "runner_class"),
    [
        ("NOOP", NoopRunner),
        ("JS", JsRunner),
        ("TCA_SSH", SshRunner),
        ("VRO_SSH", SshRunner),
        ("TCA_SCP", ScpRunner),
        ("VRO_SCP", ScpRunner),
    ],
)
def test_registry_returns_runner_of_type(type_name, runner_class):
    assert isinstance(get_runner(type_name), runner_class)


def test_registry_covers_supported_catalog_types():
    supported = {name for name, spec in STEP_TYPES.items() if spec.supported}

    for type_name in supported:
        assert not get_runner(type_name).__class__.__name__.startswith("Unsupported"), type_name


@pytest.mark.parametrize("type_name", ["TCA_EXEC", "K8S", "NETCONF", "REST"])
async def test_registry_unsupported_type_fails_step(type_name, context):
    runner = get_runner(type_name)

    with pytest.raises(StepFailure) as failure:
        await runner.run({}, context)

    assert failure.value.code == "STEP_TYPE_UNSUPPORTED"
    assert type_name in failure.value.message
    assert failure.value.retryable is False


def test_registry_unknown_type_raises_key_error():
    with pytest.raises(KeyError, match="NOPE"):
        get_runner("NOPE")


async def test_noop_returns_no_outputs(context):
    assert await get_runner("NOOP").run({"anything": 1}, context) == {}


async def test_registry_js_runs_and_closes(context):
    try:
        outputs = await get_runner("JS").run({"script": "return {ok: true}"}, context)
    finally:
        await close_runners()

    assert outputs == {"ok": True}
