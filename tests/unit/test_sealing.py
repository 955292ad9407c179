"""Sealing of secrets and key rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from stepline.engine.masking import MASK
from stepline.engine.sealing import Sealer, SealError, is_sealed, mask_sealed, seal_design


def test_seal_and_open_round_trip() -> None:
    sealer = Sealer([Fernet.generate_key()])

    sealed = sealer.seal("s3cret")

    assert is_sealed(sealed)
    assert "s3cret" not in str(sealed)
    assert sealer.open({"a": [sealed]}) == {"a": ["s3cret"]}


def test_rotation_keeps_old_values_readable() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed = Sealer([old]).seal({"k": 1})
    rotated = Sealer([new, old])

    resealed = rotated.reseal(sealed)

    assert rotated.open(sealed) == {"k": 1}
    assert Sealer([new]).open(resealed) == {"k": 1}
    with pytest.raises(SealError):
        Sealer([new]).open(sealed)


def test_design_defaults_are_sealed_and_masked() -> None:
    sealer = Sealer([Fernet.generate_key()])
    design = {
        "inputs": {
            "pw": {"type": "password", "defaultValue": "p"},
            "name": {"type": "string", "defaultValue": "n"},
        },
        "steps": {"s": {"type": "NOOP", "inBindings": {"k": {"type": "password", "defaultValue": "q"}}}},
    }

    sealed = seal_design(design, sealer)

    assert is_sealed(sealed["inputs"]["pw"]["defaultValue"])
    assert sealed["inputs"]["name"]["defaultValue"] == "n"
    assert is_sealed(sealed["steps"]["s"]["inBindings"]["k"]["defaultValue"])
    assert mask_sealed(sealed)["inputs"]["pw"]["defaultValue"] == MASK
    assert sealer.open(sealed)["steps"]["s"]["inBindings"]["k"]["defaultValue"] == "q"
