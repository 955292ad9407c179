"""The step logger: buffers a step's log lines until the engine writes them.

Lines are masked for secrets, cut at the per-line limit with a visible marker, and a step
keeps at most a configured volume of log, after which one entry states how much was dropped.
"""

from __future__ import annotations

from typing import Any

from stepline.store.ids import now_ms
from stepline.wire.execution import LogLevel

from .masking import Masker


def cut_line(msg: str, max_bytes: int) -> str:
    """Cut `msg` to at most `max_bytes` of UTF-8, with a marker saying how much was cut."""
    data = msg.encode("utf-8", errors="replace")
    if len(data) <= max_bytes:
        return msg
    kept = data[:max_bytes].decode("utf-8", errors="ignore")
    return f"{kept} [line cut: {len(data) - max_bytes} of {len(data)} bytes dropped]"


class StepLog:
    """Log entries of one step execution (or of the execution when `step_seq` is None)."""

    def __init__(
        self,
        tenant_id: str,
        execution_id: str,
        step_seq: int | None,
        masker: Masker,
        *,
        line_max_bytes: int,
        volume_max_bytes: int,
    ) -> None:
        self._base = {"tenant_id": tenant_id, "execution_id": execution_id, "step_seq": step_seq}
        self._masker = masker
        self._line_max = line_max_bytes
        self._volume_max = volume_max_bytes
        self._volume = 0
        self._dropped_bytes = 0
        self._dropped_lines = 0
        self.pending: list[dict[str, Any]] = []

    def write(self, level: LogLevel, msg: str) -> None:
        # NUL cannot be stored in PostgreSQL text, and a lone surrogate is not UTF-8.
        msg = msg.replace("\x00", "\ufffd").encode("utf-8", errors="replace").decode("utf-8")
        msg = cut_line(self._masker.text(msg), self._line_max)
        size = len(msg.encode("utf-8", errors="replace"))
        if self._volume + size > self._volume_max:
            self._dropped_bytes += size
            self._dropped_lines += 1
            return
        self._volume += size
        self.pending.append({**self._base, "time": now_ms(), "level": level.value, "msg": msg})

    def debug(self, msg: str) -> None:
        self.write(LogLevel.DEBUG, msg)

    def info(self, msg: str) -> None:
        self.write(LogLevel.INFO, msg)

    def warn(self, msg: str) -> None:
        self.write(LogLevel.WARN, msg)

    def error(self, msg: str) -> None:
        self.write(LogLevel.ERROR, msg)

    def take(self, *, final: bool = False) -> list[dict[str, Any]]:
        """Return and forget the buffered entries; at the end, add the dropped-volume note."""
        if final and self._dropped_lines:
            note = (
                f"log limit of {self._volume_max} bytes reached: {self._dropped_lines} lines "
                f"({self._dropped_bytes} bytes) dropped"
            )
            self.pending.append({**self._base, "time": now_ms(), "level": LogLevel.WARN.value, "msg": note})
            self._dropped_lines = 0
        entries, self.pending = self.pending, []
        return entries
