"""Rendering: Jinja2 with autoescaping, and every value made visible but harmless.

Everything the console shows may come from agents, end users or legacy systems. Jinja
escapes it for HTML text and attributes; :func:`visible` (the environment's
``finalize``, so it runs on every ``{{ }}``) also replaces control characters,
bidirectional overrides and other invisible format characters with a marked code
point (``U+202E``), so they can neither reorder nor hide what surrounds them.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup, escape

_SHOWN_AS_IS = {"\n", "\t"}


def _hidden(char: str) -> bool:
    return char not in _SHOWN_AS_IS and unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def visible(value: Any) -> Any:
    """Escaped text with invisible and direction-changing characters shown as codes."""
    if value is None:
        return ""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    if not any(_hidden(c) for c in value):
        return escape(value)
    parts = [
        Markup('<span class="ctl" title="invisible character">U+{:04X}</span>').format(ord(c))
        if _hidden(c)
        else escape(c)
        for c in value
    ]
    return Markup("").join(parts)


def when(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("gateway.console", "templates"),
        autoescape=True,
        finalize=visible,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = when
