"""The resource library: short articles and exercises written by the team, shipped as Markdown files.

Each file in ``sameboat/content/resources`` starts with a small YAML front matter (title, slug, kind,
minutes, summary, taxonomy tags, and ``crisis: true`` when the page must show the deployment's crisis
resources). The files are read once; turning the Markdown into HTML is the web layer's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources as package_files

import yaml

from sameboat.domain.taxonomy import Taxonomy, shipped_taxonomy

KINDS = ("article", "exercise")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MAX = 80
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)


class LibraryError(ValueError):
    """A resource file is malformed (caught by the tests, never at a member's request)."""


@dataclass(frozen=True)
class Resource:
    slug: str
    title: str
    kind: str  # article | exercise
    minutes: int
    summary: str
    tags: tuple[str, ...]
    body: str  # Markdown
    crisis: bool = False

    def card(self) -> dict[str, object]:
        """What a chat link card needs (no body)."""
        return {"slug": self.slug, "title": self.title, "kind": self.kind, "minutes": self.minutes}


def parse_resource(text: str, source: str, taxonomy: Taxonomy) -> Resource:
    match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if match is None:
        raise LibraryError(f"{source}: needs a front matter between '---' lines")
    meta = yaml.safe_load(match.group(1)) or {}
    missing = {"title", "slug", "kind", "minutes", "summary", "tags"} - set(meta)
    if missing:
        raise LibraryError(f"{source}: front matter lacks {sorted(missing)}")
    slug = str(meta["slug"])
    if not SLUG_PATTERN.match(slug) or len(slug) > SLUG_MAX:
        raise LibraryError(f"{source}: slug {slug!r} must be lowercase words joined by hyphens")
    if meta["kind"] not in KINDS:
        raise LibraryError(f"{source}: kind must be one of {KINDS}")
    if not isinstance(meta["minutes"], int) or not 1 <= meta["minutes"] <= 60:
        raise LibraryError(f"{source}: minutes must be a whole number from 1 to 60")
    tags = tuple(meta["tags"] or ())
    if not tags or taxonomy.unknown(tags):
        raise LibraryError(f"{source}: tags must be taxonomy ids; unknown: {taxonomy.unknown(tags)}")
    body = match.group(2).strip()
    if not body:
        raise LibraryError(f"{source}: has no text")
    return Resource(
        slug=slug,
        title=str(meta["title"]),
        kind=str(meta["kind"]),
        minutes=int(meta["minutes"]),
        summary=str(meta["summary"]),
        tags=tags,
        body=body,
        crisis=bool(meta.get("crisis", False)),
    )


@dataclass(frozen=True)
class Library:
    resources: tuple[Resource, ...]

    def get(self, slug: str) -> Resource | None:
        return next((r for r in self.resources if r.slug == slug), None)

    def about(self, tag: str, taxonomy: Taxonomy) -> list[Resource]:
        """Resources tagged with the topic or anything under it (picking "Health" finds "Anxiety")."""
        return [r for r in self.resources if any(t == tag or tag in taxonomy.ancestors(t) for t in r.tags)]

    def topics(self) -> list[str]:
        """Every tag some resource uses, in first-seen order."""
        return list(dict.fromkeys(t for r in self.resources for t in r.tags))


@cache
def shipped_library() -> Library:
    folder = package_files.files("sameboat").joinpath("content", "resources")
    taxonomy = shipped_taxonomy()
    items = [
        parse_resource(entry.read_text(encoding="utf-8"), entry.name, taxonomy)
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".md")
    ]
    slugs = [r.slug for r in items]
    if len(set(slugs)) != len(slugs):
        raise LibraryError("two resources share a slug")
    return Library(tuple(sorted(items, key=lambda r: r.title.lower())))
