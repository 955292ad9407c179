"""Masking of secret values in anything the engine stores or returns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MASK = "******"


class Masker:
    """Replaces every occurrence of known secret values with MASK."""

    def __init__(self, secrets: Iterable[Any]) -> None:
        # Sorted by decreasing length, so a secret that contains another is replaced whole.
        texts = {str(value) for value in secrets if value not in (None, "")}
        self._secrets = sorted(texts, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def text(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def value(self, value: Any) -> Any:
        """Return `value` with secrets masked in every string it contains."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(key): self.value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value
