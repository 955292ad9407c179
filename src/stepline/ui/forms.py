"""Form fields generated from a design's parameters, and the typed values of submitted text.

A page sends every field as text. The server converts it with the design's own lossless
`coerce` (so "42" becomes 42 for an integer input) and leaves every other rule to the
services that the API uses. A blank field means "no value", so the design's default
applies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stepline.design import Problem, coerce, json_pointer
from stepline.engine.masking import MASK

# The HTML control of each parameter type; types not listed get a text field.
CONTROLS = {
    "string": "text",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "password": "password",
    "file": "file",
    "object": "json",
    "array": "json",
}


@dataclass(frozen=True)
class Field:
    """One form control for a design parameter (an input or a variable)."""

    name: str
    type: str
    control: str
    required: bool
    description: str
    # The text the control starts with; never set for password controls.
    value: str
    # Shown for a password parameter that has a default or a current value.
    placeholder: str = ""

    @property
    def dom_id(self) -> str:
        return "field-" + "".join(char if char.isalnum() else "-" for char in self.name)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def parameter_fields(parameters: dict[str, Any], values: dict[str, Any] | None = None) -> list[Field]:
    """Return one field per parameter, filled with `values` or else the parameter's default.

    Password fields start empty whatever the value: a placeholder shows whether a value or
    a default is kept when the field stays blank.
    """
    fields = []
    for name, parameter in parameters.items():
        declared_type = str(parameter.get("type", "string"))
        control = CONTROLS.get(declared_type, "text")
        current = (values or {}).get(name, parameter.get("defaultValue"))
        placeholder = ""
        text = _text(current)
        if control == "password":
            text = ""
            if values is not None and name in values:
                placeholder = "unchanged (leave blank to keep)"
            elif parameter.get("defaultValue") is not None:
                placeholder = "default from the design"
        elif current == MASK:
            text = ""
        fields.append(
            Field(
                name=name,
                type=declared_type,
                control=control,
                required=bool(parameter.get("required")),
                description=str(parameter.get("description") or ""),
                value=text,
                placeholder=placeholder,
            )
        )
    return fields


def typed_values(
    texts: dict[str, str], parameters: dict[str, Any], kind: str
) -> tuple[dict[str, Any], list[Problem]]:
    """Convert submitted texts to the declared types of `parameters`.

    Blank texts are left out. Names that `parameters` does not declare are passed on
    unchanged, so the service that checks them reports them. Problems point at
    `/<kind>/<name>`, as the services' own problems do.
    """
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, text in texts.items():
        if text == "":
            continue
        declared = parameters.get(name)
        if declared is None:
            values[name] = text
            continue
        try:
            values[name] = coerce(text, declared.get("type"))
        except ValueError as exc:
            problems.append(Problem(json_pointer(kind, name), str(exc)))
    return values, problems


def prefixed_texts(form: dict[str, Any], prefix: str) -> dict[str, str]:
    """Return the text fields named `<prefix><name>` as {name: text}."""
    return {
        key[len(prefix) :]: value
        for key, value in form.items()
        if key.startswith(prefix) and isinstance(value, str)
    }
