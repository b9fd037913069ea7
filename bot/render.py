"""Render guides and messages from the Jinja2 templates in ``bot/templates``.

Two formats from the same templates:
- ``text``: plain text for channels without markup (REST, SMS, the ``ask`` CLI);
- ``html``: the small HTML subset Telegram and the web chat accept
  (``<b>``, ``<i>``, ``<a>``), with every value escaped.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from .config import TEMPLATE_DIR

FORMATS = ("text", "html")


def _money(value: Any) -> str:
    if value is None:
        return ""
    value = float(value)
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


@lru_cache(maxsize=2)
def environment(fmt: str) -> Environment:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    html = fmt == "html"
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=False,
    )
    if html:
        env.filters["h"] = lambda s: Markup("<b>%s</b>") % s
        env.filters["b"] = lambda s: Markup("<b>%s</b>") % s
    else:
        env.filters["h"] = lambda s: f"【{s}】"
        env.filters["b"] = lambda s: str(s)
    env.filters["money"] = _money
    env.globals["escape"] = escape
    return env


def _tidy(text: str) -> str:
    # collapse runs of blank lines left by optional sections
    lines = [ln.rstrip() for ln in str(text).splitlines()]
    out = []
    for ln in lines:
        if not ln and (not out or not out[-1]):
            continue
        out.append(ln)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def render(template: str, fmt: str = "text", **context: Any) -> str:
    return _tidy(environment(fmt).get_template(template).render(**context))


def macro(template: str, name: str, fmt: str = "text", **context: Any) -> str:
    """Render the macro ``name`` of ``template``."""
    module = environment(fmt).get_template(template).make_module()
    return _tidy(getattr(module, name)(**context))


def message(name: str, fmt: str = "text", **context: Any) -> str:
    """Render the macro ``name`` of ``messages.j2``."""
    return macro("messages.j2", name, fmt, **context)
