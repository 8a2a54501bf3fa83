"""The shipped taxonomy plus the tags admins have added."""

from __future__ import annotations

from sqlalchemy import select

from sameboat.adapters.storage.models import TaxonomyTag
from sameboat.domain.accounts import RuleViolation
from sameboat.domain.taxonomy import TAG_ID_PATTERN, Tag, Taxonomy, TaxonomyError, shipped_taxonomy
from sameboat.services.errors import Conflict, InvalidInput
from sameboat.services.unit_of_work import ServiceContext


def current_taxonomy(ctx: ServiceContext) -> Taxonomy:
    with ctx.uow() as uow:
        extra = [
            Tag(id=t.id, label=t.label, parent=t.parent, synonyms=tuple(t.synonyms))
            for t in uow.session.scalars(select(TaxonomyTag).order_by(TaxonomyTag.created_at))
        ]
    return shipped_taxonomy().extended(extra) if extra else shipped_taxonomy()


def add_tag(
    ctx: ServiceContext, *, tag_id: str, label: str, parent: str | None, synonyms: list[str], created_by: str | None
) -> TaxonomyTag:
    tag_id = tag_id.strip().lower()
    label = " ".join(label.split())
    if not TAG_ID_PATTERN.match(tag_id) or len(tag_id) > 60:
        raise InvalidInput("Use lowercase words joined by hyphens for the id, like 'long-covid'.", field="id")
    if not 2 <= len(label) <= 80:
        raise InvalidInput("Give the tag a label of 2 to 80 characters.", field="label")
    synonyms = [" ".join(s.split()) for s in synonyms if s.strip()][:30]
    taxonomy = current_taxonomy(ctx)
    if tag_id in taxonomy:
        raise Conflict("A tag with this id already exists.", field="id")
    parent = parent or None
    if parent is not None and parent not in taxonomy:
        raise InvalidInput("Choose an existing parent tag, or none.", field="parent")
    try:
        taxonomy.extended([Tag(id=tag_id, label=label, parent=parent, synonyms=tuple(synonyms))])
    except TaxonomyError as exc:
        raise RuleViolation("id", str(exc)) from exc
    with ctx.uow() as uow:
        row = TaxonomyTag(
            id=tag_id, label=label, parent=parent, synonyms=synonyms, created_by=created_by, created_at=ctx.now()
        )
        uow.session.add(row)
    return row
