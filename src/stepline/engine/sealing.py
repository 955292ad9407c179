"""Secrets at rest: values of type `password` are stored sealed with the server's keys.

A sealed value is stored as {"$sealed": "<Fernet token>"} inside the JSON columns. Keys
are Fernet keys, newest first: the newest seals, any of them opens, so a new key can be
put in front and the old one removed once `stepline db reseal` has re-sealed every value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .masking import MASK

SEALED = "$sealed"


class SealError(Exception):
    """A sealed value could not be opened with any configured key."""


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and SEALED in value


class Sealer:
    """Seals and opens secret values with a list of Fernet keys (newest first)."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one secret key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, value: Any) -> Any:
        if value is None or is_sealed(value):
            return value
        token = self._fernet.encrypt(json.dumps(value).encode())
        return {SEALED: token.decode()}

    def open(self, value: Any) -> Any:
        """Return `value` with every sealed part opened, at any depth."""
        if is_sealed(value):
            try:
                return json.loads(self._fernet.decrypt(value[SEALED].encode()))
            except InvalidToken as exc:
                raise SealError("a secret cannot be opened with the configured STEPLINE_SECRET_KEYS") from exc
        if isinstance(value, dict):
            return {key: self.open(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.open(item) for item in value]
        return value

    def reseal(self, value: Any) -> Any:
        """Return `value` with every sealed part sealed again under the newest key."""
        if is_sealed(value):
            return {SEALED: self._fernet.rotate(value[SEALED].encode()).decode()}
        if isinstance(value, dict):
            return {key: self.reseal(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.reseal(item) for item in value]
        return value


def mask_sealed(value: Any) -> Any:
    """Return `value` with every sealed part replaced by MASK, for responses."""
    if is_sealed(value):
        return MASK
    if isinstance(value, dict):
        return {key: mask_sealed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_sealed(item) for item in value]
    return value


def seal_names(sealer: Sealer, values: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """Return `values` with the entries named in `names` sealed."""
    return {key: sealer.seal(value) if key in names else value for key, value in values.items()}


def _seal_parameters(parameters: dict[str, Any], seal: Callable[[Any], Any]) -> None:
    for parameter in parameters.values():
        is_secret = isinstance(parameter, dict) and parameter.get("type") == "password"
        if is_secret and "defaultValue" in parameter:
            parameter["defaultValue"] = seal(parameter["defaultValue"])


def seal_design(document: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    """Seal the default values of password parameters and bindings in a design (in place)."""
    for section in ("inputs", "variables", "outputs"):
        _seal_parameters(document.get(section) or {}, sealer.seal)
    for step in (document.get("steps") or {}).values():
        _seal_parameters(step.get("inBindings") or {}, sealer.seal)
    return document


def load_sealer(keys_setting: str | None, data_dir: Path) -> Sealer:
    """Build the sealer from STEPLINE_SECRET_KEYS, or from (a new) `<data-dir>/secret.key`."""
    if keys_setting:
        return Sealer([key.strip().encode() for key in keys_setting.split(",") if key.strip()])
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
    return Sealer([path.read_bytes().strip()])
