"""Matching as a use case: listener snapshots from storage, story embeddings, ranking for a member."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sameboat.adapters.embedding import vector_from_bytes, vector_to_bytes
from sameboat.adapters.storage.models import (
    Block,
    Conversation,
    Favourite,
    Feedback,
    ListenerPresence,
    ListenerProfile,
    MemberProfile,
    Offer,
    User,
)
from sameboat.domain.accounts import ListenerStatus
from sameboat.domain.matching import (
    ConversationMode,
    ListenerSnapshot,
    MatchRequest,
    MatchResult,
    Preferences,
    TagPrototypes,
    TextEmbedder,
    Timing,
    needs_reembedding,
    rank_listeners,
    story_embedding_version,
)
from sameboat.domain.matching import ListenerStatus as MatchStatus
from sameboat.domain.matching import embed_story as story_vector
from sameboat.domain.matching.labels import tag_phrases
from sameboat.domain.taxonomy import Taxonomy
from sameboat.services.presence import HEARTBEAT_STALE_AFTER
from sameboat.services.taxonomy import current_taxonomy
from sameboat.services.unit_of_work import ServiceContext

log = logging.getLogger(__name__)
RECENT_WINDOW = timedelta(hours=24)


def embed_story(ctx: ServiceContext, profile: ListenerProfile) -> None:
    """Store the story's vector and what made it (called in the saving transaction).

    The one-line bio is the story's summary and the story its body, embedded in two parts exactly as
    the evaluation embeds its pool listeners (``sameboat.domain.matching.stories``).
    """
    if ctx.embedder is None:
        return
    vector = story_vector(ctx.embedder, profile.bio, profile.story)
    if vector is None:
        return
    profile.story_embedding = vector_to_bytes(vector)
    profile.embedding_model = story_embedding_version(ctx.embedder.model_version)


def reembed_stale_stories(ctx: ServiceContext, batch: int = 50) -> int:
    """Re-embed stories saved with another model (or none). Run in the background; returns how many."""
    if ctx.embedder is None:
        return 0
    done = 0
    version = story_embedding_version(ctx.embedder.model_version)
    after = ""
    while True:
        with ctx.uow() as uow:
            stale = list(
                uow.session.scalars(
                    select(ListenerProfile)
                    .where((ListenerProfile.embedding_model.is_(None)) | (ListenerProfile.embedding_model != version))
                    # Keyset paging: a profile with nothing to embed stays stale and must not be fetched again.
                    .where(ListenerProfile.user_id > after)
                    .order_by(ListenerProfile.user_id)
                    .limit(batch)
                )
            )
            for profile in stale:
                if needs_reembedding(profile.embedding_model, version):
                    embed_story(ctx, profile)
            if stale:
                after = stale[-1].user_id
        done += len(stale)
        if len(stale) < batch:
            return done


@dataclass
class _PrototypeCache:
    """One embedder's tag prototypes, and its phrase vectors so a taxonomy change embeds only new phrases."""

    embedder: TextEmbedder
    version: str
    phrases: dict[str, np.ndarray] = field(default_factory=dict)
    signature: tuple[tuple[str, tuple[str, ...]], ...] = ()
    prototypes: TagPrototypes | None = None


_prototype_lock = threading.Lock()
_prototype_caches: list[_PrototypeCache] = []


def tag_prototypes(ctx: ServiceContext, taxonomy: Taxonomy) -> TagPrototypes | None:
    """The taxonomy's embedded words for the engine, built once per taxonomy and model (2–4 s on one core)."""
    embedder = ctx.embedder
    if embedder is None:
        return None
    version = embedder.model_version
    signature = tuple(tag_phrases(taxonomy).items())
    with _prototype_lock:
        cache = next((c for c in _prototype_caches if c.embedder is embedder and c.version == version), None)
        if cache is None:
            cache = _PrototypeCache(embedder=embedder, version=version)
            _prototype_caches.insert(0, cache)
            del _prototype_caches[4:]  # one embedder per process in the app; a few in tests
        if cache.prototypes is None or cache.signature != signature:

            def embed_phrase(phrase: str) -> np.ndarray:
                vector = cache.phrases.get(phrase)
                if vector is None:
                    vector = cache.phrases[phrase] = embedder.embed(phrase)
                return vector

            cache.prototypes = TagPrototypes.build(taxonomy, embedder, embed_phrase)
            cache.signature = signature
        return cache.prototypes


def prepare_matching(ctx: ServiceContext) -> None:
    """Background work at start-up: re-embed stale stories, then build the tag prototypes."""
    reembed_stale_stories(ctx)
    tag_prototypes(ctx, current_taxonomy(ctx))


def _ratings(session: Session) -> dict[str, tuple[int, float]]:
    rows = session.execute(
        select(Feedback.listener_id, func.count(), func.avg(Feedback.felt_heard)).group_by(Feedback.listener_id)
    )
    return {listener_id: (int(count), float(mean)) for listener_id, count, mean in rows}


def listener_snapshots(ctx: ServiceContext, session: Session, now: datetime) -> list[ListenerSnapshot]:
    """What matching needs to know about every listener members may see, as of now."""
    profiles = list(
        session.scalars(
            select(ListenerProfile).where(
                ListenerProfile.status.in_([ListenerStatus.APPROVED.value, ListenerStatus.PAUSED.value])
            )
        )
    )
    presence = {p.listener_id: p for p in session.scalars(select(ListenerPresence))}
    active = dict(
        session.execute(
            select(Conversation.listener_id, func.count())
            .where(Conversation.status == "active")
            .group_by(Conversation.listener_id)
        ).all()
    )
    recent = dict(
        session.execute(
            select(Offer.listener_id, func.count())
            .where(Offer.created_at >= now - RECENT_WINDOW)
            .group_by(Offer.listener_id)
        ).all()
    )
    blocked_by_listener: dict[str, set[str]] = {}
    for blocker, blocked in session.execute(select(Block.blocker_id, Block.blocked_id)):
        blocked_by_listener.setdefault(blocker, set()).add(blocked)
    ratings = _ratings(session)
    current_model = story_embedding_version(ctx.embedder.model_version) if ctx.embedder else None
    snapshots = []
    for p in profiles:
        row = presence.get(p.user_id)
        online = (
            row is not None
            and row.state == "online"
            and row.last_heartbeat_at is not None
            and now - row.last_heartbeat_at <= HEARTBEAT_STALE_AFTER
            and (row.break_until is None or row.break_until <= now)
        )
        busy = int(active.get(p.user_id, 0))
        count, mean = ratings.get(p.user_id, (0, 0.0))
        vector = vector_from_bytes(p.story_embedding) if p.embedding_model == current_model else None
        snapshots.append(
            ListenerSnapshot(
                id=p.user_id,
                display_name=p.display_name,
                story_vector=vector,
                tags=tuple(p.tags),
                languages=frozenset(p.languages),
                gender=p.gender,
                age_range=p.age_range,
                veteran=bool(p.veteran),
                declined_topics=frozenset(p.declined_topics),
                status=MatchStatus(p.status),
                active_conversations=busy,
                max_concurrent=p.max_concurrent,
                available_now=online and busy < p.max_concurrent,
                rating_count=count,
                rating_mean=mean,
                recent_assignments=int(recent.get(p.user_id, 0)),
                blocked_member_ids=frozenset(blocked_by_listener.get(p.user_id, ())),
            )
        )
    return snapshots


def preferences_of(profile: MemberProfile | None, overrides: dict[str, object] | None = None) -> Preferences:
    prefs = dict(profile.preferences if profile else {})
    prefs.update({k: v for k, v in (overrides or {}).items() if v not in (None, "")})
    return Preferences(
        languages=frozenset(profile.languages if profile else ()),
        listener_genders=frozenset([str(prefs["listener_gender"])]) if prefs.get("listener_gender") else frozenset(),
        listener_age_ranges=(
            frozenset([str(prefs["listener_age_range"])]) if prefs.get("listener_age_range") else frozenset()
        ),
        veteran=True if prefs.get("listener_veteran") else None,
    )


def match_for_member(
    ctx: ServiceContext,
    member: User,
    text: str,
    tags: list[str],
    *,
    timing: Timing = Timing.NOW,
    refine: dict[str, object] | None = None,
    limit: int = 5,
    mode: str = "chat",
) -> MatchResult:
    """Rank listeners for what a member wrote. Never raises for ordinary bad input."""
    now = ctx.now()
    taxonomy = current_taxonomy(ctx)
    with ctx.uow() as uow:
        s = uow.session
        profile = s.get(MemberProfile, member.id)
        blocked = set(s.scalars(select(Block.blocked_id).where(Block.blocker_id == member.id)))
        favourites = set(s.scalars(select(Favourite.listener_id).where(Favourite.member_id == member.id)))
        snapshots = listener_snapshots(ctx, s, now)
    request = MatchRequest(
        text=text,
        member_id=member.id,
        tags=tuple(t for t in tags if t in taxonomy),
        preferences=preferences_of(profile, refine),
        timing=timing,
        mode=ConversationMode.VOICE if mode == "voice" else ConversationMode.CHAT,
        blocked_listener_ids=frozenset(blocked),
        favourite_listener_ids=frozenset(favourites),
    )
    vector = ctx.embedder.embed(text) if ctx.embedder is not None and text.strip() else None
    prototypes = tag_prototypes(ctx, taxonomy) if vector is not None and not request.tags else None
    return rank_listeners(request, vector, snapshots, taxonomy, now=now, limit=limit, tag_prototypes=prototypes)
