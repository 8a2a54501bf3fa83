"""The `sameboat` command as an operator runs it, against SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select

from sameboat.adapters.storage.models import User
from tests.factories import make_sponsor


def sameboat(database_url: str, *args: str, password: str = "operator password 1") -> subprocess.CompletedProcess:
    env = {**os.environ, "SAMEBOAT_DATABASE_URL": database_url, "SAMEBOAT_NEW_USER_PASSWORD": password}
    return subprocess.run(
        [sys.executable, "-m", "sameboat.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_db_upgrade_and_user_create(database_url: str, services) -> None:  # type: ignore[no-untyped-def]
    assert sameboat(database_url, "db", "upgrade").returncode == 0
    created = sameboat(database_url, "user", "create", "--email", "Ops@Example.org", "--role", "admin")
    assert created.returncode == 0, created.stderr
    assert "Created admin ops@example.org" in created.stdout
    duplicate = sameboat(database_url, "user", "create", "--email", "ops@example.org", "--role", "supervisor")
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr
    weak = sameboat(database_url, "user", "create", "--email", "weak@example.org", "--role", "admin", password="x")
    assert weak.returncode == 2 and "at least 10 characters" in weak.stderr
    unknown_role = sameboat(database_url, "user", "create", "--email", "w@example.org", "--role", "wizard")
    assert unknown_role.returncode == 2 and "wizard" in unknown_role.stderr
    _, code = make_sponsor(services)
    member = sameboat(
        database_url,
        "user",
        "create",
        "--email",
        "m@example.org",
        "--role",
        "member",
        "--pseudonym",
        "Night Owl",
        "--access-code",
        code.code,
    )
    assert member.returncode == 0, member.stderr
    with services.uow() as uow:
        emails = set(uow.session.scalars(select(User.email)))
    assert {"ops@example.org", "m@example.org"} <= emails and "weak@example.org" not in emails
