"""Settings, account rules and the permission table: pure, no database."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from sameboat.domain.accounts import (
    AccessCodeState,
    ListenerStatus,
    MemberPreferences,
    Role,
    RuleViolation,
    check_access_code_usable,
    check_listener_transition,
    check_pseudonym,
    normalise_access_code,
    normalise_email,
)
from sameboat.domain.permissions import PERMISSIONS, is_allowed, permissions_for
from sameboat.domain.safety.resources import crisis_resources_for
from sameboat.settings import DEFAULT_SECRET, Settings

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def test_production_refuses_default_or_short_secret() -> None:
    with pytest.raises(ValidationError, match="SAMEBOAT_SECRET_KEY"):
        Settings(environment="production", secret_key=DEFAULT_SECRET)
    with pytest.raises(ValidationError):
        Settings(environment="production", secret_key="too-short")
    assert Settings(environment="production", secret_key="x" * 40).environment == "production"
    assert Settings().secret_key == DEFAULT_SECRET  # development may use the default


def test_serve_refuses_to_start_in_production_with_default_secret(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {
        "SAMEBOAT_ENVIRONMENT": "production",
        "SAMEBOAT_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "sameboat.cli", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "SAMEBOAT_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.sqlite3").exists()


def test_settings_read_prefixed_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAMEBOAT_DATABASE_URL", "postgresql://db/sameboat")
    monkeypatch.setenv("SAMEBOAT_OPEN_SIGNUP", "true")
    settings = Settings()
    assert settings.database_url == "postgresql://db/sameboat" and settings.open_signup and not settings.is_sqlite


@pytest.mark.parametrize("raw, expected", [(" A@B.org ", "a@b.org"), ("x@Example.ORG", "x@example.org")])
def test_email_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize("bad", ["", "no-at-sign", "@x.org", "x@", "a" * 250 + "@x.org"])
def test_bad_emails(bad: str) -> None:
    with pytest.raises(RuleViolation):
        normalise_email(bad)


def test_pseudonyms() -> None:
    assert check_pseudonym("  Quiet   Harbor ") == "Quiet Harbor"
    assert check_pseudonym("José-María") == "José-María"
    for bad in ["ab", "x" * 40, "<script>", "   "]:
        with pytest.raises(RuleViolation):
            check_pseudonym(bad)


def test_access_code_rules() -> None:
    assert normalise_access_code(" riverbend-2026 ") == "RIVERBEND-2026"
    with pytest.raises(RuleViolation):
        normalise_access_code("no spaces allowed")
    check_access_code_usable(AccessCodeState("C", NOW + timedelta(days=1), 2, 1), NOW)
    with pytest.raises(RuleViolation, match="expired"):
        check_access_code_usable(AccessCodeState("C", NOW, None, 0), NOW)
    with pytest.raises(RuleViolation, match="taken"):
        check_access_code_usable(AccessCodeState("C", None, 2, 2), NOW)
    with pytest.raises(RuleViolation, match="no longer active"):
        check_access_code_usable(AccessCodeState("C", None, None, 0, sponsor_active=False), NOW)


def test_listener_status_machine() -> None:
    check_listener_transition(ListenerStatus.APPLICANT, ListenerStatus.APPROVED)
    check_listener_transition(ListenerStatus.APPROVED, ListenerStatus.PAUSED)
    check_listener_transition(ListenerStatus.PAUSED, ListenerStatus.APPROVED)
    with pytest.raises(RuleViolation):
        check_listener_transition(ListenerStatus.SUSPENDED, ListenerStatus.APPROVED)
    with pytest.raises(RuleViolation):
        check_listener_transition(ListenerStatus.APPLICANT, ListenerStatus.PAUSED)


def test_preferences_validate() -> None:
    assert MemberPreferences(listener_gender="woman").as_dict() == {"listener_gender": "woman"}
    with pytest.raises(RuleViolation):
        MemberPreferences(listener_age_range="ancient")


def test_permission_table_is_sane() -> None:
    assert all(roles for roles in PERMISSIONS.values())
    assert is_allowed("admin", "sponsors.manage") and not is_allowed(Role.MEMBER, "sponsors.manage")
    assert not is_allowed(Role.LISTENER, "support.request")
    assert "account.manage" in permissions_for(Role.SPONSOR_ADMIN)
    with pytest.raises(KeyError):
        is_allowed(Role.ADMIN, "no.such.permission")
    with pytest.raises(ValueError):
        is_allowed("wizard", "account.manage")


def test_crisis_resources_are_data_per_country() -> None:
    us = crisis_resources_for("US")
    assert us.emergency == "911" and any("741741" in r.how and "HOME" in r.how for r in us.resources)
    assert any(r.phone == "988" and r.sms == "988" for r in us.resources)
    assert crisis_resources_for("GB").emergency == "999"
    assert "116 123" in crisis_resources_for("IE").headline
    assert crisis_resources_for("AU").emergency == "000"
    assert crisis_resources_for("CA").resources[0].phone == "988"
    assert crisis_resources_for("ZZ").country == "US"  # unknown country falls back to the default
