"""The ``sameboat`` command: serve, demo, db upgrade, user create, eval."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from pydantic import ValidationError

from sameboat.settings import Settings


def _settings(**overrides: object) -> Settings:
    """Settings from the environment; a bad setting stops the command with a readable message."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(str(err["msg"]).removeprefix("Value error, ") for err in exc.errors())
        raise click.ClickException(f"Sameboat will not start: {problems}") from None


@click.group()
@click.version_option(package_name="sameboat")
def main() -> None:
    """Sameboat: peer support with people who have been in the same boat."""


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1, or SAMEBOAT_HOST).")
@click.option("--port", default=None, type=int, help="Port to listen on (default 8000, or SAMEBOAT_PORT).")
@click.option("--no-upgrade", is_flag=True, help="Don't apply database migrations before serving.")
def serve(host: str | None, port: int | None, no_upgrade: bool) -> None:
    """Serve Sameboat (migrating the database first)."""
    settings = _settings(host=host, port=port)
    if not no_upgrade:
        from sameboat.adapters.storage.database import upgrade

        upgrade(settings.database_url)
    _run_server(settings)


def _run_server(settings: Settings) -> None:
    import uvicorn

    from sameboat.web.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        # Chat frames are small; per-message deflate costs CPU and ~35 KB per socket (docs/realtime.md).
        ws_per_message_deflate=False,
        log_level="info",
        proxy_headers=False,
        ws_max_size=64 * 1024,
    )


@main.command()
@click.option(
    "--database",
    "database_path",
    default="var/demo.sqlite3",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="SQLite file to create (replaced if it exists).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Create the demo database and exit.")
def demo(database_path: str, host: str, port: int, no_serve: bool) -> None:
    """Create a fresh demo database on SQLite and serve it."""
    from sameboat.demo.seed import DEMO_PASSWORD, seed_demo

    path = Path(database_path)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    settings = _settings(database_url=url, host=host, port=port, base_url=f"http://{host}:{port}")
    summary = seed_demo(settings)
    click.echo("")
    click.echo(f"Sameboat demo is ready at http://{host}:{port}")
    click.echo(f"  database: {path} ({summary.listeners} approved listeners, {summary.members} members)")
    click.echo(f"  every demo account's password: {DEMO_PASSWORD}")
    for role, email in summary.accounts:
        click.echo(f"  {role:<14} {email}")
    click.echo(f"  access code for new members: {summary.access_code}")
    click.echo("")
    if not no_serve:
        _run_server(settings)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations to the database in SAMEBOAT_DATABASE_URL."""
    from sameboat.adapters.storage.database import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    click.echo(f"Database is at {revision}.")


@main.group()
def user() -> None:
    """Accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.option(
    "--role", required=True, type=click.Choice(["member", "listener", "supervisor", "admin", "sponsor_admin"])
)
@click.option("--sponsor-id", default=None, help="Required for sponsor_admin.")
@click.option("--pseudonym", default=None, help="Members only: the name listeners see.")
@click.option("--access-code", default=None, help="Members only.")
@click.password_option(envvar="SAMEBOAT_NEW_USER_PASSWORD")
def user_create(
    email: str, role: str, sponsor_id: str | None, pseudonym: str | None, access_code: str | None, password: str
) -> None:
    """Create an account (listeners then fill in their profile in the app)."""
    from sameboat.adapters.storage.database import upgrade
    from sameboat.bootstrap import bootstrap
    from sameboat.domain.accounts import RuleViolation
    from sameboat.services import accounts
    from sameboat.services.errors import ServiceError

    settings = _settings()
    upgrade(settings.database_url)
    runtime = bootstrap(settings)
    try:
        if role == "member":
            created = accounts.sign_up_member(
                runtime.services,
                email=email,
                password=password,
                pseudonym=pseudonym or email.split("@")[0],
                access_code=access_code,
            )
        else:
            created = accounts.create_user(
                runtime.services, email=email, password=password, role=role, sponsor_id=sponsor_id
            )
    except (ServiceError, RuleViolation) as exc:
        click.echo(f"Error: {getattr(exc, 'detail', None) or exc}", err=True)
        sys.exit(2)
    finally:
        runtime.close()
    click.echo(f"Created {role} {created.email} (id {created.id}).")


def _register_groups() -> None:
    from sameboat.eval.cli import eval_group
    from sameboat.eval.safety_cli import safety_command
    from sameboat.simulation.cli import simulate_group

    eval_group.add_command(safety_command, "safety")
    main.add_command(eval_group, "eval")
    main.add_command(simulate_group, "simulate")


_register_groups()

if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
