"""`{{ name }}` templates in step input values, rendered by a sandboxed Jinja environment.

Only plain text, `{{ name }}`, `{{ name.field }}` (to any depth) and string literals such
as `{{ '{{' }}` are allowed. Filters, calls, item access, operators, tags and comments are
rejected when the template is parsed, so rendering runs no code and no loop. The
`{% raw %}...{% endraw %}` block is allowed because it only produces literal text.
A string without `{{` is not a template and is returned unchanged, even if it contains
`{%` or `{#`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, nodes
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .problems import quote_names

TEMPLATE_START = "{{"
CACHE_SIZE = 512

_ALLOWED_HINT = (
    "only plain text, {{ name }} and {{ name.field }} are allowed; "
    "wrap literal '{{', '{%' or '{#' in {% raw %}...{% endraw %}"
)


class TemplateError(ValueError):
    """An invalid or forbidden template, or a name that has no value when rendering."""


class _FieldEnvironment(ImmutableSandboxedEnvironment):
    """A sandbox in which `a.b` only reads key `b` of a mapping, never a Python attribute."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Undefined):
            return obj
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return self.undefined(hint=f"the value has no field {attribute!r}")


def _format_value(value: Any) -> str:
    """Format one substituted value.

    Strings stay as they are, and booleans, lists and objects become JSON text.
    """
    if value is None:
        raise TemplateError("a field used in the template has no value (null)")
    if isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


# NOTE: Jinja rewrites line breaks in the template text to "\n", so a template with
# "\r\n" line endings renders with "\n" ones.
_ENVIRONMENT = _FieldEnvironment(
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
    finalize=_format_value,
)


@dataclass(frozen=True)
class _CompiledTemplate:
    template: Template
    names: frozenset[str]


# Descriptions of the Jinja expression nodes that templates most often contain by mistake.
_EXPRESSION_NAMES = {
    "Filter": "a filter ('|')",
    "Call": "a function or method call",
    "Getitem": "item access ('[...]' or '.0')",
    "Test": "a test ('is ...')",
    "CondExpr": "a conditional expression ('... if ... else ...')",
}


def _expression_root(node: nodes.Node) -> str | None:
    """Return the top-level name of a `name` or `name.field` expression.

    Returns None for a string literal and raises TemplateError for anything else.
    """
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return None
    while isinstance(node, nodes.Getattr):
        if node.attr.startswith("_"):
            raise TemplateError(
                f"field {node.attr!r} is not allowed because it starts with '_': {_ALLOWED_HINT}"
            )
        node = node.node
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return str(node.name)
    kind = type(node).__name__
    description = _EXPRESSION_NAMES.get(kind, f"the {kind} expression")
    raise TemplateError(f"{description} is not allowed: {_ALLOWED_HINT}")


def _check_tree(tree: nodes.Template) -> frozenset[str]:
    """Return the top-level names of a parsed template.

    Raises TemplateError for any construct but text, names, fields and string literals.
    """
    names: set[str] = set()
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            raise TemplateError(
                f"tags ('{{%') are not allowed, found a {type(statement).__name__} tag: {_ALLOWED_HINT}"
            )
        for node in statement.nodes:
            if isinstance(node, nodes.TemplateData):
                continue
            root = _expression_root(node)
            if root is not None:
                names.add(root)
    return frozenset(names)


@lru_cache(maxsize=CACHE_SIZE)
def _compile(text: str) -> _CompiledTemplate:
    try:
        for _line, kind, _value in _ENVIRONMENT.lex(text):
            if kind == "comment_begin":
                raise TemplateError(f"comments ('{{#') are not allowed: {_ALLOWED_HINT}")
        tree = _ENVIRONMENT.parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"invalid template at line {exc.lineno}: {exc.message}; {_ALLOWED_HINT}") from exc

    names = _check_tree(tree)
    return _CompiledTemplate(_ENVIRONMENT.from_string(tree), names)


def is_template(text: str) -> bool:
    """Return whether the text is a template, i.e. contains `{{`."""
    return TEMPLATE_START in text


def template_names(text: str) -> set[str]:
    """Return the top-level names a template refers to (`a` for `{{ a.b }}`).

    Raises TemplateError for an invalid or forbidden template. Text without `{{` has none.
    """
    if not is_template(text):
        return set()
    return set(_compile(text).names)


def render(text: str, values: Mapping[str, Any]) -> str:
    """Substitute the `{{ }}` references of `text` with `values`.

    A name that is missing from `values` or whose value is None raises TemplateError
    naming it; it never renders as an empty string. Text without `{{` is returned as is.
    """
    if not is_template(text):
        return text
    compiled = _compile(text)

    for name in sorted(compiled.names):
        if name not in values:
            raise TemplateError(f"unknown name {name!r} in template; known names: {quote_names(values)}")
        if values[name] is None:
            raise TemplateError(f"{name!r} used in template has no value")

    try:
        return str(compiled.template.render(dict(values)))
    except UndefinedError as exc:
        raise TemplateError(f"template refers to a missing field: {exc.message}") from exc
    except SecurityError as exc:
        raise TemplateError(f"template rejected by the sandbox: {exc}") from exc
