"""Markdown to HTML for the resource library. Raw HTML in the source is escaped, never passed through,
and markdown-it refuses javascript: and similar link targets."""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markupsafe import Markup

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


@cache
def to_html(text: str) -> Markup:
    return Markup(_renderer.render(text))  # noqa: S704 - safe: html is off, so every tag in text is escaped
