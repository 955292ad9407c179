"""Masking of secret values in step outputs and log lines."""

from __future__ import annotations

from stepline.engine.masking import MASK, Masker
from stepline.engine.steplog import StepLog


def test_secret_in_key_and_value_is_masked() -> None:
    masker = Masker(["s3cret"])

    masked = masker.value({"s3cret": ["x s3cret y", {"k": "s3cret"}], "n": 1})

    assert masked == {MASK: [f"x {MASK} y", {"k": MASK}], "n": 1}


def test_longest_secret_is_replaced_first() -> None:
    masker = Masker(["abc", "abcdef"])

    assert masker.text("abcdef abc") == f"{MASK} {MASK}"


def test_log_line_loses_nul_and_secret() -> None:
    log = StepLog("t", "e", 0, Masker(["pw"]), line_max_bytes=100, volume_max_bytes=1000)

    log.info("a\x00b pw")

    assert log.take()[0]["msg"] == f"a\ufffdb {MASK}"
