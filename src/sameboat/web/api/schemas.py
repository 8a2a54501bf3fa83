"""Request and response bodies. Limits here give field-level 422s before any service is called."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Gender = Literal["woman", "man", "non-binary"]
AgeRange = Literal["18-29", "30-44", "45-59", "60+"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenRequest(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    role: str
    expires_in_days: int


class PreferencesBody(Strict):
    listener_gender: Gender | None = None
    listener_age_range: AgeRange | None = None
    listener_veteran: bool | None = None


class MemberSignUp(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    pseudonym: str = Field(min_length=1, max_length=64)
    access_code: str | None = Field(default=None, max_length=40)
    languages: list[str] = Field(default_factory=lambda: ["en"], max_length=10)
    preferences: PreferencesBody = Field(default_factory=PreferencesBody)


class MemberPreferencesUpdate(Strict):
    languages: list[str] = Field(min_length=1, max_length=10)
    preferences: PreferencesBody = Field(default_factory=PreferencesBody)


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class ListenerProfileBody(Strict):
    display_name: str = Field(min_length=1, max_length=60)
    bio: str = Field(default="", max_length=400)
    story: str = Field(min_length=1, max_length=4000)
    tags: list[str] = Field(min_length=1, max_length=8)
    languages: list[str] = Field(min_length=1, max_length=10)
    gender: Gender | None = None
    age_range: AgeRange | None = None
    veteran: bool | None = None
    declined_topics: list[str] = Field(default_factory=list, max_length=30)
    timezone: str = Field(default="UTC", max_length=64)


class ListenerApplication(ListenerProfileBody):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class ListenerStatusChange(Strict):
    status: Literal["applicant", "approved", "paused", "suspended"]


class SponsorCreate(Strict):
    name: str = Field(min_length=1, max_length=120)
    country: str = Field(default="US", min_length=2, max_length=2)
    minutes_budget: int | None = Field(default=None, ge=0, le=10_000_000)
    features: list[str] = Field(default_factory=lambda: ["chat"], max_length=10)


class AccessCodeCreate(Strict):
    code: str | None = Field(default=None, max_length=40)
    label: str = Field(default="", max_length=120)
    expires_at: datetime | None = None
    seat_limit: int | None = Field(default=None, ge=1, le=10_000_000)


class TagCreate(Strict):
    id: str = Field(min_length=2, max_length=60)
    label: str = Field(min_length=2, max_length=80)
    parent: str | None = Field(default=None, max_length=60)
    synonyms: list[str] = Field(default_factory=list, max_length=30)


class UserCreate(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    role: str = Field(min_length=1, max_length=20)
    sponsor_id: str | None = Field(default=None, max_length=64)


class MatchQuery(Strict):
    text: str = Field(default="", max_length=20_000)
    tags: list[str] = Field(default_factory=list, max_length=8)
    timing: Literal["now", "later"] = "later"
    listener_gender: Gender | None = None
    listener_age_range: AgeRange | None = None
    listener_veteran: bool | None = None
