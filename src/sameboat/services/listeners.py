"""Listener applications, profiles, review and the member-facing directory."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from sameboat.adapters.storage.models import ListenerProfile, User
from sameboat.domain.accounts import (
    ListenerStatus,
    Role,
    RuleViolation,
    check_listener_transition,
    check_password,
    normalise_email,
)
from sameboat.domain.listeners import ListenerProfileDraft, clean_listener_profile
from sameboat.domain.taxonomy import Taxonomy
from sameboat.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from sameboat.services.matching import embed_story
from sameboat.services.taxonomy import current_taxonomy
from sameboat.services.unit_of_work import ServiceContext

STAFF_ROLES = (Role.ADMIN.value, Role.SUPERVISOR.value)


@dataclass(frozen=True)
class ListenerView:
    """What members may see of a listener: never an email or legal name."""

    id: str
    display_name: str
    bio: str
    story: str
    tags: list[tuple[str, str]]  # (id, label)
    languages: list[str]
    gender: str | None
    age_range: str | None
    veteran: bool | None
    certified_high_risk: bool
    status: str
    declined_topics: list[str]
    timezone: str

    def as_public_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "display_name": self.display_name,
            "bio": self.bio,
            "story": self.story,
            "tags": [{"id": t, "label": label} for t, label in self.tags],
            "languages": self.languages,
            "gender": self.gender,
            "age_range": self.age_range,
            "veteran": self.veteran,
        }


@dataclass(frozen=True)
class DirectoryFilters:
    tag: str | None = None
    language: str | None = None
    gender: str | None = None
    age_range: str | None = None
    veteran: bool | None = None
    text: str | None = None


def view_of(profile: ListenerProfile, taxonomy: Taxonomy) -> ListenerView:
    return ListenerView(
        id=profile.user_id,
        display_name=profile.display_name,
        bio=profile.bio,
        story=profile.story,
        tags=[(t, taxonomy.label(t) if t in taxonomy else t) for t in profile.tags],
        languages=list(profile.languages),
        gender=profile.gender,
        age_range=profile.age_range,
        veteran=profile.veteran,
        certified_high_risk=profile.certified_high_risk,
        status=profile.status,
        declined_topics=list(profile.declined_topics),
        timezone=profile.timezone,
    )


def _apply_draft(ctx: ServiceContext, profile: ListenerProfile, draft: ListenerProfileDraft) -> None:
    # The bio is part of the story vector (its summary line), so a new bio re-embeds too.
    story_changed = profile.story != draft.story or profile.bio != draft.bio
    profile.display_name = draft.display_name
    profile.bio = draft.bio
    profile.story = draft.story
    profile.tags = draft.tags
    profile.languages = draft.languages
    profile.gender = draft.gender
    profile.age_range = draft.age_range
    profile.veteran = draft.veteran
    profile.declined_topics = draft.declined_topics
    profile.timezone = draft.timezone
    if story_changed or profile.story_embedding is None:
        embed_story(ctx, profile)


def apply_as_listener(ctx: ServiceContext, *, email: str, password: str, draft: ListenerProfileDraft) -> User:
    """A peer applies to listen; an admin approves them before members can see them."""
    email = normalise_email(email)
    check_password(password)
    draft = clean_listener_profile(draft, current_taxonomy(ctx))
    password_hash = ctx.hasher.hash(password)
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        if s.scalar(select(User.id).where(User.email == email)):
            raise Conflict("An account with this email already exists. Try signing in instead.", field="email")
        user = User(
            email=email, password_hash=password_hash, role=Role.LISTENER.value, created_at=now, password_changed_at=now
        )
        s.add(user)
        s.flush()
        profile = ListenerProfile(user_id=user.id, status=ListenerStatus.APPLICANT.value, updated_at=now)
        _apply_draft(ctx, profile, draft)
        s.add(profile)
    return user


def create_profile(
    ctx: ServiceContext,
    user_id: str,
    draft: ListenerProfileDraft,
    *,
    status: ListenerStatus = ListenerStatus.APPLICANT,
    certified_high_risk: bool = False,
) -> None:
    """Attach a profile to an existing listener account (CLI, demo)."""
    draft = clean_listener_profile(draft, current_taxonomy(ctx))
    with ctx.uow() as uow:
        user = uow.session.get(User, user_id)
        if user is None or user.role != Role.LISTENER.value:
            raise InvalidInput("Only listener accounts have a listener profile.", field="user_id")
        profile = ListenerProfile(
            user_id=user_id, status=status.value, certified_high_risk=certified_high_risk, updated_at=ctx.now()
        )
        _apply_draft(ctx, profile, draft)
        uow.session.add(profile)


def _profile(session: Session, listener_id: str) -> ListenerProfile | None:
    return session.get(ListenerProfile, listener_id)


def update_own_profile(ctx: ServiceContext, actor: User, listener_id: str, draft: ListenerProfileDraft) -> ListenerView:
    if actor.role != Role.LISTENER.value or actor.id != listener_id:
        raise Forbidden("You can only edit your own listener profile.")
    taxonomy = current_taxonomy(ctx)
    draft = clean_listener_profile(draft, taxonomy)
    with ctx.uow() as uow:
        profile = _profile(uow.session, listener_id)
        if profile is None:
            raise NotFound("You don't have a listener profile yet.")
        _apply_draft(ctx, profile, draft)
        profile.updated_at = ctx.now()
        uow.session.flush()
        return view_of(profile, taxonomy)


def own_profile(ctx: ServiceContext, actor: User) -> ListenerView | None:
    with ctx.uow() as uow:
        profile = _profile(uow.session, actor.id)
        return view_of(profile, current_taxonomy(ctx)) if profile else None


def set_status(ctx: ServiceContext, listener_id: str, status: str) -> ListenerView:
    try:
        target = ListenerStatus(status)
    except ValueError as exc:
        raise InvalidInput(f"Unknown status {status!r}.", field="status") from exc
    with ctx.uow() as uow:
        profile = _profile(uow.session, listener_id)
        if profile is None:
            raise NotFound("That listener does not exist.")
        check_listener_transition(ListenerStatus(profile.status), target)
        profile.status = target.value
        profile.updated_at = ctx.now()
        uow.session.flush()
        return view_of(profile, current_taxonomy(ctx))


def browse(ctx: ServiceContext, filters: DirectoryFilters) -> list[ListenerView]:
    """Approved listeners only, filtered. Tag filters include the tag's children."""
    taxonomy = current_taxonomy(ctx)
    if filters.tag and filters.tag not in taxonomy:
        raise RuleViolation("tag", "Choose a lived experience from the list.")
    with ctx.uow() as uow:
        query = select(ListenerProfile).where(ListenerProfile.status == ListenerStatus.APPROVED.value)
        if filters.gender:
            query = query.where(ListenerProfile.gender == filters.gender)
        if filters.age_range:
            query = query.where(ListenerProfile.age_range == filters.age_range)
        if filters.veteran is not None:
            query = query.where(ListenerProfile.veteran.is_(filters.veteran))
        profiles = list(uow.session.scalars(query.order_by(ListenerProfile.display_name, ListenerProfile.user_id)))
    # JSON list filters are applied here so the same code runs on SQLite and PostgreSQL.
    if filters.language:
        profiles = [p for p in profiles if filters.language in p.languages]
    if filters.tag:
        profiles = [
            p
            for p in profiles
            if any(t == filters.tag or filters.tag in taxonomy.ancestors(t) for t in p.tags if t in taxonomy)
        ]
    if filters.text:
        needle = filters.text.lower()
        profiles = [p for p in profiles if needle in (p.display_name + " " + p.bio + " " + p.story).lower()]
    return [view_of(p, taxonomy) for p in profiles]


def profile_for_viewer(ctx: ServiceContext, viewer: User, listener_id: str) -> ListenerView:
    """Members see approved listeners; a listener sees their own profile too; staff see everyone."""
    with ctx.uow() as uow:
        profile = _profile(uow.session, listener_id)
        visible = profile is not None and (
            profile.status == ListenerStatus.APPROVED.value or viewer.role in STAFF_ROLES or viewer.id == listener_id
        )
        if not visible:
            raise NotFound("We couldn't find that listener. They may be taking a break.")
        return view_of(profile, current_taxonomy(ctx))


def review_queue(ctx: ServiceContext, status: str | None = None) -> list[tuple[ListenerView, str]]:
    """Listeners for admins to review, with their sign-in email (admins only)."""
    with ctx.uow() as uow:
        query = select(ListenerProfile).options(joinedload(ListenerProfile.user))
        if status:
            query = query.where(ListenerProfile.status == status)
        rows = list(uow.session.scalars(query.order_by(ListenerProfile.updated_at.desc(), ListenerProfile.user_id)))
        taxonomy = current_taxonomy(ctx)
        return [(view_of(p, taxonomy), p.user.email) for p in rows]


def views_by_id(ctx: ServiceContext, listener_ids: list[str]) -> dict[str, ListenerView]:
    """Member-visible views of approved listeners, for match cards."""
    if not listener_ids:
        return {}
    taxonomy = current_taxonomy(ctx)
    with ctx.uow() as uow:
        rows = uow.session.scalars(
            select(ListenerProfile).where(
                ListenerProfile.user_id.in_(listener_ids), ListenerProfile.status == ListenerStatus.APPROVED.value
            )
        )
        return {p.user_id: view_of(p, taxonomy) for p in rows}
