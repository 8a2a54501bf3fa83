"""The lived-experience taxonomy: a tree of tags with synonyms.

Pure domain code. The shipped tree lives in ``taxonomy.yaml`` beside this file; admins can add tags at
run time (stored by the storage adapter and merged in with :meth:`Taxonomy.extended`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

TAG_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _words(text: str) -> str:
    """Lowercase words separated by single spaces; curly apostrophes (phone keyboards) count as ' ."""
    return re.sub(r"[^a-z0-9+']+", " ", text.lower().replace("\u2019", "'").replace("\u2018", "'"))


class TaxonomyError(ValueError):
    """The taxonomy data is malformed (duplicate id, unknown parent, bad id)."""


@dataclass(frozen=True)
class Tag:
    id: str
    label: str
    parent: str | None
    synonyms: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Taxonomy:
    tags: Mapping[str, Tag]
    children: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_tags(cls, tags: Iterable[Tag]) -> Taxonomy:
        by_id: dict[str, Tag] = {}
        for tag in tags:
            if not TAG_ID_PATTERN.match(tag.id):
                raise TaxonomyError(f"tag id {tag.id!r} must be lowercase words joined by hyphens")
            if tag.id in by_id:
                raise TaxonomyError(f"tag id {tag.id!r} appears twice")
            by_id[tag.id] = tag
        children: dict[str, list[str]] = {}
        for tag in by_id.values():
            if tag.parent is not None:
                if tag.parent not in by_id:
                    raise TaxonomyError(f"tag {tag.id!r} names unknown parent {tag.parent!r}")
                children.setdefault(tag.parent, []).append(tag.id)
        return cls(tags=by_id, children={k: tuple(v) for k, v in children.items()})

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Taxonomy:
        """Build from the nested YAML shape: ``{"tags": [{"id", "label", "synonyms", "children"}]}``."""
        flat: list[Tag] = []

        def walk(nodes: Iterable[Mapping[str, Any]], parent: str | None) -> None:
            for node in nodes:
                if isinstance(node.get("synonyms"), str):
                    raise TaxonomyError(f"synonyms of {node.get('id')!r} must be a list, not a single string")
                flat.append(
                    Tag(
                        id=node["id"],
                        label=node["label"],
                        parent=parent,
                        synonyms=tuple(node.get("synonyms", ())),
                        description=node.get("description", ""),
                    )
                )
                walk(node.get("children", ()), node["id"])

        walk(data.get("tags", ()), None)
        return cls.from_tags(flat)

    def extended(self, extra: Iterable[Tag]) -> Taxonomy:
        """A new taxonomy with admin-added tags merged in."""
        return Taxonomy.from_tags([*self.tags.values(), *extra])

    def __contains__(self, tag_id: object) -> bool:
        return tag_id in self.tags

    def label(self, tag_id: str) -> str:
        return self.tags[tag_id].label

    def roots(self) -> list[Tag]:
        return [t for t in self.tags.values() if t.parent is None]

    def children_of(self, tag_id: str) -> list[Tag]:
        return [self.tags[c] for c in self.children.get(tag_id, ())]

    def ancestors(self, tag_id: str) -> list[str]:
        """Parent first, root last."""
        out: list[str] = []
        parent = self.tags[tag_id].parent
        while parent is not None:
            out.append(parent)
            parent = self.tags[parent].parent
        return out

    def depth(self, tag_id: str) -> int:
        return len(self.ancestors(tag_id))

    def unknown(self, tag_ids: Iterable[str]) -> list[str]:
        return [t for t in tag_ids if t not in self.tags]

    def similarity(self, a: str, b: str) -> float:
        """1.0 for the same tag; partial credit through the tree; 0.0 for unrelated tags.

        A "loss of a parent" listener is a good, not perfect, match for "grief": one step along the tree
        scores 0.7, siblings 0.5, two steps up 0.45, cousins 0.25 (same top-level area only).
        """
        if a == b:
            return 1.0
        if a not in self.tags or b not in self.tags:
            return 0.0
        up_a = [a, *self.ancestors(a)]
        up_b = [b, *self.ancestors(b)]
        if b in up_a:
            return 0.7 if up_a.index(b) == 1 else 0.45
        if a in up_b:
            return 0.7 if up_b.index(a) == 1 else 0.45
        common = next((x for x in up_a if x in up_b), None)
        if common is None:
            return 0.0
        steps = up_a.index(common) + up_b.index(common)
        return 0.5 if steps == 2 else 0.25

    def best_overlap(self, wanted: Iterable[str], offered: Iterable[str]) -> tuple[float, str | None, str | None]:
        """Best similarity between any wanted and any offered tag, with the pair that gave it."""
        best = (0.0, None, None)
        offered = list(offered)
        for w in wanted:
            for o in offered:
                s = self.similarity(w, o)
                if s > best[0]:
                    best = (s, w, o)
        return best

    def tags_in_text(self, text: str) -> list[str]:
        """Tags whose label or a synonym appears in the text as whole words (most specific first)."""
        lowered = " " + _words(text) + " "
        found: list[str] = []
        for tag in self.tags.values():
            for phrase in (tag.label, *tag.synonyms):
                needle = " " + _words(phrase).strip() + " "
                if needle.strip() and needle in lowered:
                    found.append(tag.id)
                    break
        return sorted(found, key=lambda t: -self.depth(t))


@cache
def shipped_taxonomy() -> Taxonomy:
    """The taxonomy shipped in the package (read once)."""
    text = resources.files(__package__).joinpath("taxonomy.yaml").read_text(encoding="utf-8")
    return Taxonomy.from_mapping(yaml.safe_load(text))
