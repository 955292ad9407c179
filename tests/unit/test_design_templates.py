from __future__ import annotations

from typing import Any

import pytest

from stepline.design import TemplateError, render, template_names
from stepline.design import templates as templates_module

RENDERED: list[tuple[str, dict[str, Any], str]] = [
    ("/tmp/day0-{{ mode }}.cfg", {"mode": "active"}, "/tmp/day0-active.cfg"),
    ("{{mode}}", {"mode": "x"}, "x"),
    ("{{ a }}-{{ b }}", {"a": 1, "b": 2.5}, "1-2.5"),
    ("{{ flag }}", {"flag": True}, "true"),
    ("{{ data }}", {"data": {"k": [1, "é"]}}, '{"k": [1, "é"]}'),
    ("{{ items }}", {"items": [1, None]}, "[1, null]"),
    ("{{ device.site.name }}", {"device": {"site": {"name": "par1"}}}, "par1"),
    ("line {{ n }}\n", {"n": 1}, "line 1\n"),
    ("{{ '{{' }} x }}", {}, "{{ x }}"),
    ("{% raw %}{{ .Values.x }}{% endraw %} {{ n }}", {"n": 2}, "{{ .Values.x }} 2"),
    ("{{- n -}} ", {"n": 3}, "3"),
    ("<b>{{ html }}</b>", {"html": "<i>&</i>"}, "<b><i>&</i></b>"),
    ("no template {% here %} {# or here", {}, "no template {% here %} {# or here"),
    ("{{ empty }}", {"empty": ""}, ""),
]


@pytest.mark.parametrize(("text", "values", "expected"), RENDERED)
def test_render(text: str, values: dict[str, Any], expected: str) -> None:
    assert render(text, values) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", set()),
        ("{{ a }} {{ b.c.d }} {{ a }}", {"a", "b"}),
        ("{{ 'x' }}", set()),
        ("{% raw %}{{ hidden }}{% endraw %}{{ shown }}", {"shown"}),
    ],
)
def test_template_names(text: str, expected: set[str]) -> None:
    assert template_names(text) == expected


FORBIDDEN: list[tuple[str, str]] = [
    ("{{ x.__class__ }}", "'__class__'"),
    ("{{ x._private }}", "starts with '_'"),
    ("{% for i in x %}{{ i }}{% endfor %}", "For tag"),
    ("{% if x %}{{ x }}{% endif %}", "If tag"),
    ("{% set y = 1 %}{{ y }}", "Assign tag"),
    ("{{ x|attr('a') }}", "a filter"),
    ("{{ x|upper }}", "a filter"),
    ("{{ range(10) }}", "function or method call"),
    ("{{ x.y() }}", "function or method call"),
    ("{{ x['a'] }}", "item access"),
    ("{{ x.0 }}", "item access"),
    ("{{ x + 1 }}", "Add expression"),
    ("{{ 7 * 7 }}", "Mul expression"),
    ("{{ 42 }}", "Const expression"),
    ("{{ x if x else y }}", "conditional expression"),
    ("{{ x is defined }}", "a test"),
    ("{{ [x] }}", "List expression"),
    ("{# note #}{{ x }}", "comments"),
    ("echo ${#list[@]} {{ x }}", "comments"),
    ("{{ x", "invalid template"),
    ("{{ }}", "invalid template"),
]


@pytest.mark.parametrize(("text", "words"), FORBIDDEN)
def test_template_names_rejects(text: str, words: str) -> None:
    with pytest.raises(TemplateError) as caught:
        template_names(text)

    assert words in str(caught.value)


@pytest.mark.parametrize(("text", "words"), FORBIDDEN)
def test_render_rejects(text: str, words: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(text, {"x": {"a": 1, "y": 2}, "y": 1})

    assert words in str(caught.value)


def test_render_unknown_name() -> None:
    with pytest.raises(TemplateError) as caught:
        render("{{ hots }}", {"host": "a", "port": 22})

    message = str(caught.value)
    assert "unknown name 'hots'" in message
    assert "'host', 'port'" in message


def test_render_name_without_value() -> None:
    with pytest.raises(TemplateError, match="'mode' used in template has no value"):
        render("{{ mode }}", {"mode": None})


@pytest.mark.parametrize(
    "values",
    [{"x": {"a": 1}}, {"x": {"items": 1}}, {"x": "text"}, {"x": 5}],
    ids=["missing key", "dict attribute", "string attribute", "number"],
)
def test_render_missing_field(values: dict[str, Any]) -> None:
    with pytest.raises(TemplateError, match="no field"):
        render("{{ x.upper }}", values)


def test_render_field_without_value() -> None:
    with pytest.raises(TemplateError, match="no value"):
        render("{{ x.a }}", {"x": {"a": None}})


def test_render_nested_missing_field() -> None:
    with pytest.raises(TemplateError, match="no field 'b'"):
        render("{{ x.b.c }}", {"x": {"a": {}}})


def test_render_text_without_braces_unchanged() -> None:
    assert render("{% for %}", {}) == "{% for %}"


def test_compiled_templates_cached() -> None:
    templates_module._compile.cache_clear()

    render("{{ cached }}", {"cached": 1})
    render("{{ cached }}", {"cached": 2})

    info = templates_module._compile.cache_info()
    assert info.hits == 1
    assert info.misses == 1
    assert info.maxsize == templates_module.CACHE_SIZE
