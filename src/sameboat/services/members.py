"""A member's own profile and preferences."""

from __future__ import annotations

from sameboat.adapters.storage.models import MemberProfile, User
from sameboat.domain.accounts import MemberPreferences, check_languages
from sameboat.services.errors import Forbidden, NotFound
from sameboat.services.unit_of_work import ServiceContext


def update_preferences(
    ctx: ServiceContext, actor: User, languages: list[str], preferences: MemberPreferences
) -> MemberProfile:
    if actor.member_profile is None:
        raise Forbidden("Only members have preferences.")
    languages = check_languages(languages) or ["en"]
    with ctx.uow() as uow:
        profile = uow.session.get(MemberProfile, actor.id)
        if profile is None:
            raise NotFound("We couldn't find your profile.")
        profile.languages = languages
        profile.preferences = preferences.as_dict()
        uow.session.flush()
        return profile
