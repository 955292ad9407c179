"""The workflow design as a domain model: parsing, validation, bindings, templates, conditions.

Pure functions without I/O; this package imports only `stepline.wire`.
"""

from .assignments import check_assignments, secret_names
from .bindings import BindingError, apply_out_bindings, resolve_inputs
from .catalog import STEP_TYPES, VALUE_TYPES, InputSpec, StepTypeSpec
from .conditions import COMPARATORS, ConditionError, compare, next_step_id
from .convert import convert_v1
from .durations import parse_duration
from .parse import parse_design
from .problems import DesignError, Problem, json_pointer
from .templates import TemplateError, render, template_names
from .validate import validate_design
from .value_types import CONTEXT_VARIABLES, coerce

__all__ = [
    "COMPARATORS",
    "CONTEXT_VARIABLES",
    "STEP_TYPES",
    "VALUE_TYPES",
    "BindingError",
    "ConditionError",
    "DesignError",
    "InputSpec",
    "Problem",
    "StepTypeSpec",
    "TemplateError",
    "apply_out_bindings",
    "check_assignments",
    "coerce",
    "compare",
    "convert_v1",
    "json_pointer",
    "next_step_id",
    "parse_design",
    "parse_duration",
    "render",
    "resolve_inputs",
    "secret_names",
    "template_names",
    "validate_design",
]
