"""The step types a design may use: their inputs and outputs, as data.

The runners live in `stepline.steps`; this catalog is what validation checks designs
against, and what `GET /stepTypes` publishes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Parameter and binding types of TCA designs.
VALUE_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "password", "file"})


@dataclass(frozen=True)
class InputSpec:
    """One input of a step type: the binding types it accepts and whether it is required."""

    types: frozenset[str]
    required: bool = False
    description: str = ""
    secret: bool = False


@dataclass(frozen=True)
class StepTypeSpec:
    """A step type: its inputs, its outputs and whether this server can run it."""

    name: str
    description: str
    inputs: dict[str, InputSpec] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    # JS passes every input other than `script` to the script, so any name is accepted.
    open_inputs: bool = False
    supported: bool = True


_TEXT = frozenset({"string"})
_TEXT_OR_SECRET = frozenset({"string", "password"})
_TEXT_OR_FILE = frozenset({"string", "file"})
_PORT = frozenset({"integer", "number", "string"})
_BOOL = frozenset({"boolean", "string"})

_SSH_CONNECTION = {
    "host": InputSpec(_TEXT, required=True, description="Host name or address"),
    "port": InputSpec(_PORT, description="SSH port, default 22"),
    "username": InputSpec(_TEXT, required=True, description="Login user"),
    "password": InputSpec(_TEXT_OR_SECRET, description="Password (or use privateKey)", secret=True),
    "privateKey": InputSpec(
        frozenset({"string", "password", "file"}),
        description="Private key in OpenSSH or PEM format",
        secret=True,
    ),
    "passphrase": InputSpec(_TEXT_OR_SECRET, description="Passphrase of the private key", secret=True),
    "hostKey": InputSpec(_TEXT, description="Pinned host public key, e.g. 'ssh-ed25519 AAAA...'"),
    "strictHostKeyChecking": InputSpec(
        _BOOL, description="Reject unknown host keys (default true); false accepts any key"
    ),
}

_UNSUPPORTED = "not supported yet by this server"

STEP_TYPES: dict[str, StepTypeSpec] = {
    spec.name: spec
    for spec in [
        StepTypeSpec("NOOP", "Runs nothing; a place for conditions."),
        StepTypeSpec(
            "JS",
            "JavaScript in a sandbox process with time and memory limits and no I/O.",
            inputs={"script": InputSpec(_TEXT_OR_FILE, required=True, description="Script body")},
            outputs={"*": "the properties of the object the script returns"},
            open_inputs=True,
        ),
        *[
            StepTypeSpec(
                name,
                "A command or script over SSH.",
                inputs={
                    **_SSH_CONNECTION,
                    "script": InputSpec(
                        _TEXT_OR_FILE, required=True, description="Command text or script file"
                    ),
                },
                outputs={"output": "string", "stderr": "string", "exitCode": "integer"},
            )
            for name in ("TCA_SSH", "VRO_SSH")
        ],
        *[
            StepTypeSpec(
                name,
                "Copies a file attachment to a remote path over SFTP.",
                inputs={
                    **_SSH_CONNECTION,
                    "source": InputSpec(frozenset({"file"}), required=True, description="File"),
                    "destination": InputSpec(_TEXT, required=True, description="Remote path"),
                },
                outputs={"bytes": "integer", "destination": "string"},
            )
            for name in ("TCA_SCP", "VRO_SCP")
        ],
        *[
            StepTypeSpec(name, _UNSUPPORTED, supported=False, open_inputs=True)
            for name in ("TCA_EXEC", "VRO_EXEC", "VRO_CUSTOM", "K8S", "NETCONF", "REST")
        ],
    ]
}
