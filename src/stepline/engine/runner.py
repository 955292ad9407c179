"""Runs the steps of one claimed execution until it pauses, ends or is handed back.

Each step takes two transactions: one marks it `executing`, one records its outcome
together with the next step execution. Both lock the execution row first and check that
this worker still holds the lease, so a late result never overwrites another writer's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from stepline.design.bindings import BindingError
from stepline.design.durations import parse_duration
from stepline.steps.base import StepContext, StepFailure
from stepline.steps.registry import get_runner
from stepline.store import executions as store
from stepline.store import logs as log_store
from stepline.store.attachments import list_attachments, mark_consumed
from stepline.store.ids import now_ms
from stepline.store.leases import RUNNABLE, lease_state, lock_execution, renew_lease
from stepline.store.tenants import get_tenant
from stepline.wire.execution import StepState as State
from stepline.wire.values import json_problem
from stepline.wire.workflow import Step, WorkflowBody

from . import decisions
from .deps import BlobFileReader, Engine
from .inputs import StepInputs, prepare_inputs
from .masking import Masker
from .steplog import StepLog
from .tenancy import tenant_config
from .transitions import Decision, Outcome, abort_decision, check_execution, check_step

logger = logging.getLogger("stepline.engine")

# How often a running step's log is written and the abort flag read.
TICK_SECONDS = 0.5


class LeaseLost(Exception):
    """Another writer changed the execution; this worker's view of it is stale."""


class AbortedBeforeStart(Exception):
    """An abort was recorded instead of starting the step."""


class ExecutionRunner:
    """Drives one execution for the worker that claimed it."""

    def __init__(self, engine: Engine, lease_token: str, row: dict[str, Any]) -> None:
        self.engine = engine
        # The token of this runner's claim; every write checks it is still the lease owner.
        self.worker_id = lease_token
        self.row = row
        self.workflow = WorkflowBody.model_validate(engine.sealer.open(row["snapshot"]))
        self.masker = decisions.masker_for(self.workflow, engine.sealer.open(row))
        self._attachments: dict[str, dict[str, Any]] | None = None
        self._hosts: tuple[str, ...] | None = None
        self._ids = {"tenant_id": row["tenant_id"], "execution_id": row["id"], "lease": lease_token}

    async def run(self) -> None:
        """Run steps while this worker may; return when the execution is handed back."""
        try:
            while await self._advance():
                pass
        except LeaseLost:
            logger.warning("lease_lost: result discarded", extra=self._ids)

    async def _advance(self) -> bool:
        seq = self.row["current_seq"]
        async with self.engine.db.read() as conn:
            step_row = await store.get_step_execution(conn, self.row["tenant_id"], self.row["id"], seq)
        if step_row is None:
            await self._hand_back()
            return False
        state = State(step_row["state"])
        if self.row["abort_requested"]:
            # The commit reads the flag and records the abort instead of this outcome.
            return await self._finish(step_row, Outcome(False, code="ABORTED"), self._new_log(seq))
        if state is State.EXECUTING:
            # The lease of the worker that ran this step expired: that worker is gone.
            outcome = Outcome(
                False,
                code="WORKER_LOST",
                message="the worker running this step stopped before recording its result",
            )
            return await self._finish(step_row, outcome, self._new_log(seq))
        if state not in (State.EXECUTABLE, State.RETRY):
            await self._hand_back()
            return False
        return await self._run_step(step_row)

    async def _run_step(self, step_row: dict[str, Any]) -> bool:
        frozen = self.engine.sealer.open(step_row["snapshot"])
        step = Step.model_validate({k: v for k, v in frozen.items() if k != "id"})
        log = self._new_log(step_row["seq"])
        attachments = await self._load_attachments()
        try:
            prepared = prepare_inputs(self.workflow, step, self._values(), attachments, self.masker)
        except BindingError as exc:
            prepared = None
            failure = Outcome(False, code="BINDING_FAILED", message=str(exc), retryable=False)
        try:
            await self._mark_executing(step_row, prepared or StepInputs({}, {}), log)
        except AbortedBeforeStart:
            return False
        if prepared is None:
            return await self._finish(step_row, failure, log)
        outcome = await self._execute(step, step_row, prepared, log)
        return await self._finish(step_row, outcome, log)

    # --- running the step -------------------------------------------------------

    async def _execute(
        self, step: Step, step_row: dict[str, Any], prepared: StepInputs, log: StepLog
    ) -> Outcome:
        ctx = StepContext(
            tenant_id=self.row["tenant_id"],
            execution_id=self.row["id"],
            step_id=step_row["step_id"],
            log=log,
            files=BlobFileReader(self.engine.blobs),
            limits=self.engine.step_limits,
            allowed_hosts=await self._allowed_hosts(),
        )
        timeout = (
            parse_duration(step.timeout)
            if step.timeout
            else self.engine.settings.default_step_timeout_seconds
        )
        task = asyncio.create_task(get_runner(step.type).run(prepared.values, ctx))
        try:
            return await self._supervise(task, timeout, log)
        finally:
            if not task.done():
                await self._cancel(task)

    async def _supervise(
        self, task: asyncio.Task[dict[str, Any]], limit_seconds: float, log: StepLog
    ) -> Outcome:
        """Wait for the step while flushing its log, renewing the lease and watching for aborts."""
        deadline = time.monotonic() + limit_seconds
        renew_every = self.engine.settings.lease_seconds / 3
        next_renewal = time.monotonic() + renew_every
        while True:
            wait = min(TICK_SECONDS, max(0.0, deadline - time.monotonic()))
            done, _ = await asyncio.wait({task}, timeout=wait)
            if done:
                return _outcome_of(task, self.masker, self._ids)
            if time.monotonic() >= deadline:
                message = f"the step did not end within {limit_seconds:g} s"
                return Outcome(False, code="STEP_TIMEOUT", message=message)
            if await self._tick(log):
                return Outcome(False, code="ABORTED", message="aborted by request", retryable=False)
            if time.monotonic() >= next_renewal:
                await self._renew()
                next_renewal = time.monotonic() + renew_every

    async def _cancel(self, task: asyncio.Task[Any]) -> None:
        task.cancel()
        grace = self.engine.settings.abort_grace_seconds
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            logger.error(
                "step_cancel_timed_out: the step ignored cancellation for %.1f s", grace, extra=self._ids
            )

    # --- transactions -----------------------------------------------------------

    async def _mark_executing(self, step_row: dict[str, Any], prepared: StepInputs, log: StepLog) -> None:
        retrying = step_row["state"] == State.RETRY.value
        attempt = step_row["attempt"] + (1 if retrying else 0)
        if retrying:
            log.info(f"attempt {attempt} of {decisions.max_attempts(step_row)} started")
        step_values = {
            "state": State.EXECUTING.value,
            "attempt": attempt,
            "start_time": step_row["start_time"] or now_ms(),
            "inputs": prepared.masked,
        }
        decision = Decision(step_values, {"status": "RUNNING"}, keep_running=True, consumed=prepared.files)
        written = await self._commit(step_row, lambda _row: decision, log)
        if written is not decision:
            raise AbortedBeforeStart()
        step_row.update(step_values)

    async def _finish(self, step_row: dict[str, Any], outcome: Outcome, log: StepLog) -> bool:
        planned = None
        step = decisions.frozen_step(self.engine, step_row)
        if outcome.success and decisions.uses_match(step):
            # Regular expressions may run up to their time limit each: off the event loop,
            # and before the transaction, so that neither the server nor the database waits.
            planned = await asyncio.to_thread(
                decisions.plan_next, self.engine, step, self.workflow, self.row, outcome
            )

        def decide(row: dict[str, Any]) -> Decision:
            return decisions.after_step(
                row, step_row, self.workflow, outcome, self.masker, now_ms(), self.engine, log, planned
            )

        decision = await self._commit(step_row, decide, log, final_log=True)
        return decision.keep_running

    async def _commit(
        self,
        step_row: dict[str, Any],
        decide: Callable[[dict[str, Any]], Decision],
        log: StepLog,
        *,
        final_log: bool = False,
    ) -> Decision:
        """Lock the row, decide from its current values, and write the decision."""
        async with self.engine.db.write() as conn:
            row = await self._lock_own_row(conn)
            # An abort that arrived while the step ran wins over the step's own outcome.
            decision = abort_decision(row, step_row, now_ms()) if row["abort_requested"] else decide(row)
            if "state" in decision.step:
                check_step(step_row["state"], decision.step["state"])
            if "status" in decision.execution:
                check_execution(row["status"], decision.execution["status"])
            values = dict(decision.execution)
            if values.get("lease_owner", self.worker_id) is not None:
                # Each commit extends the lease, so a long run of quick steps keeps it.
                values["lease_expires_at"] = now_ms() + int(self.engine.settings.lease_seconds * 1000)
            ok = await store.update_guarded(
                conn,
                row["tenant_id"],
                row["id"],
                version=row["version"],
                lease_owner=self.worker_id,
                values=values,
            )
            if not ok:
                raise LeaseLost()
            if decision.step:
                await store.update_step_execution(
                    conn, row["tenant_id"], row["id"], step_row["seq"], decision.step
                )
            if decision.next_step is not None:
                await store.insert_step_execution(conn, decision.next_step)
            entries = log.take(final=final_log) + self._execution_logs(decision)
            await log_store.insert_logs(conn, entries)
            if decision.consumed:
                await mark_consumed(conn, row["tenant_id"], row["id"], decision.consumed)
        self.row = {**row, **decision.execution, "version": row["version"] + 1}
        return decision

    async def _lock_own_row(self, conn: AsyncConnection) -> dict[str, Any]:
        row = await lock_execution(conn, self.row["tenant_id"], self.row["id"], with_snapshot=False)
        if row is None or row["lease_owner"] != self.worker_id or row["status"] not in RUNNABLE:
            raise LeaseLost()
        # The snapshot cannot change while this worker holds the lease: PATCH changes steps
        # only of paused or failed executions, which no worker holds.
        row["snapshot"] = self.row["snapshot"]
        return row

    async def _renew(self) -> None:
        expires = now_ms() + int(self.engine.settings.lease_seconds * 1000)
        async with self.engine.db.write() as conn:
            renewed = await renew_lease(conn, self.row["tenant_id"], self.row["id"], self.worker_id, expires)
        if not renewed:
            raise LeaseLost()

    async def _tick(self, log: StepLog) -> bool:
        """Write the buffered log lines; return True when an abort was requested."""
        entries = log.take()
        async with self.engine.db.write() if entries else self.engine.db.read() as conn:
            await log_store.insert_logs(conn, entries)
            state = await lease_state(conn, self.row["tenant_id"], self.row["id"])
        if state is None or state[0] != self.worker_id:
            raise LeaseLost()
        return state[1]

    async def _hand_back(self) -> None:
        """Give up the lease without other changes (nothing runnable for this worker)."""
        async with self.engine.db.write() as conn:
            row = await lock_execution(conn, self.row["tenant_id"], self.row["id"])
            if row is not None and row["lease_owner"] == self.worker_id:
                await store.update_guarded(
                    conn,
                    row["tenant_id"],
                    row["id"],
                    version=row["version"],
                    lease_owner=self.worker_id,
                    values={"lease_owner": None, "lease_expires_at": None},
                )

    # --- helpers ----------------------------------------------------------------

    def _new_log(self, seq: int) -> StepLog:
        settings = self.engine.settings
        return StepLog(
            self.row["tenant_id"],
            self.row["id"],
            seq,
            self.masker,
            line_max_bytes=settings.log_line_max_bytes,
            volume_max_bytes=settings.step_log_max_bytes,
        )

    def _execution_logs(self, decision: Decision) -> list[dict[str, Any]]:
        now = now_ms()
        return [
            {
                "tenant_id": self.row["tenant_id"],
                "execution_id": self.row["id"],
                "step_seq": None,
                "time": now,
                "level": level,
                "msg": self.masker.text(msg),
            }
            for level, msg in decision.logs
        ]

    def _values(self) -> dict[str, Any]:
        opened: dict[str, Any] = self.engine.sealer.open({**self.row["assignments"], **self.row["variables"]})
        return opened

    async def _allowed_hosts(self) -> tuple[str, ...]:
        if self._hosts is None:
            async with self.engine.db.read() as conn:
                tenant = await get_tenant(conn, self.row["tenant_id"])
            self._hosts = tenant_config(
                self.engine.settings, tenant["settings"] if tenant else None
            ).allowed_hosts
        return self._hosts

    async def _load_attachments(self) -> dict[str, dict[str, Any]]:
        if self._attachments is None:
            async with self.engine.db.read() as conn:
                rows = await list_attachments(conn, self.row["tenant_id"], "execution", self.row["id"])
            self._attachments = {row["name"]: row for row in rows}
        return self._attachments


def _outcome_of(task: asyncio.Task[dict[str, Any]], masker: Masker, ids: dict[str, str]) -> Outcome:
    try:
        outputs = task.result()
    except StepFailure as exc:
        return Outcome(
            False, outputs=exc.outputs, code=exc.code, message=exc.message, retryable=exc.retryable
        )
    except Exception as exc:
        logger.exception("step_crashed", extra=ids)
        return Outcome(False, code="STEP_ERROR", message=masker.text(f"{type(exc).__name__}: {exc}"))
    if not isinstance(outputs, dict):
        return Outcome(False, code="STEP_ERROR", message="the step returned no output object")
    problem = json_problem(outputs)
    if problem:
        message = f"the step's output {problem}"
        return Outcome(False, code="STEP_OUTPUT_INVALID", message=message, retryable=False)
    return Outcome(True, outputs=outputs)
