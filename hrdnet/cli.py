"""The `hrdnet` command: Flask's CLI on create_app, plus the commands in interfaces.md."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup

from hrdnet.access import Role


def _create_app() -> Flask:
    from hrdnet import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main() -> None:
    """hrdnet: the cross-ministry training catalog and Lifelong Learning Card accounts."""


users = click.Group("users", help="Manage accounts.")
audit_cli = click.Group("audit", help="The hash-chained audit log.")


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--org", "org_code", default=None, help="provider id (provider) or ministry code (auditor)")
@click.option("--name", default=None, help="display name (defaults to the part of EMAIL before @)")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def create_user_command(email: str, role: str, org_code: str | None, name: str | None, password_stdin: bool):
    """Create a verified account (without --password-stdin the person gets an invitation link)."""
    from hrdnet.auth import services
    from hrdnet.auth.forms import PASSWORD_MAX, PASSWORD_MIN
    from hrdnet.db import unit_of_work
    from hrdnet.errors import DomainError

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password is not None and not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise click.ClickException(f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters")
    try:
        with unit_of_work(write_lock=True):
            user = services.create_user(
                email=email, role=role, name=name or email.split("@")[0], org_code=org_code, password=password
            )
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created user {user.id} ({role})")


@users.command("set-role")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--org", "org_code", default=None, help="provider id (provider) or ministry code (auditor)")
def set_role_command(email: str, role: str, org_code: str | None):
    """Change an account's role (signs the person out everywhere; audited)."""
    from hrdnet.auth import services
    from hrdnet.db import unit_of_work
    from hrdnet.errors import DomainError

    try:
        with unit_of_work(write_lock=True):
            user = services.find_user_by_email(email)
            if user is None:
                raise click.ClickException("no such account")
            services.change_role(user, role, org_code=org_code, changed_by=None)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"user {user.id} is now {role}")


@users.command("rotate-totp-key")
def rotate_totp_key_command():
    """Re-encrypt every stored TOTP secret with the first TOTP_ENCRYPTION_KEYS key (after adding a new one)."""
    from sqlalchemy import select

    from hrdnet.auth import totp_keys
    from hrdnet.auth.models import User
    from hrdnet.db import unit_of_work
    from hrdnet.extensions import db

    with unit_of_work(write_lock=True):  # all or nothing: a secret no key opens stops the whole run
        users_with_totp = db.session.scalars(
            select(User).where(User.totp_secret_encrypted.is_not(None)).order_by(User.id)
        ).all()
        with click.progressbar(users_with_totp, label="TOTP 비밀키 다시 암호화", file=sys.stderr) as bar:
            for user in bar:
                try:
                    user.totp_secret_encrypted = totp_keys.reencrypt(user.totp_secret_encrypted)
                except totp_keys.UnreadableSecret:
                    raise click.ClickException(
                        f"user {user.id}: no TOTP_ENCRYPTION_KEYS key decrypts the stored secret; nothing was changed"
                    ) from None
    click.echo(f"re-encrypted {len(users_with_totp)} TOTP secret(s) with the first key")


@audit_cli.command("verify")
@click.option("--expect-head", default=None, help="fail unless the chain ends at this hash (kept elsewhere)")
def audit_verify_command(expect_head: str | None):
    """Verify the audit log; exit 0 with the entry count when intact."""
    from hrdnet import audit

    verdict = audit.verify()
    if not verdict.ok:
        click.echo(
            f"audit log BROKEN at entry {verdict.bad_id}: {verdict.reason} "
            f"({verdict.count} entries verified before it)",
            err=True,
        )
        sys.exit(1)
    if expect_head and expect_head != verdict.head_hash:
        click.echo(
            f"audit log ends at {verdict.head_hash}, expected {expect_head}: entries were removed "
            "from the end or the log was replaced",
            err=True,
        )
        sys.exit(1)
    click.echo(f"audit log intact: {verdict.count} entries, head {verdict.head_hash}")


@click.command("worker")
@click.option("--once", is_flag=True, help="one pass, then exit")
@click.option("--interval", type=float, default=None, help="seconds between passes when idle")
def worker_command(once: bool, interval: float | None):
    """Deliver the outbox and run scheduled jobs until stopped (Ctrl-C stops it cleanly)."""
    from hrdnet import worker

    if once:
        click.echo(f"delivered {worker.run_once()} outbox item(s)")
        return
    worker.run_forever(interval or current_app.config["WORKER_INTERVAL_SECONDS"])


def register_commands(app: Flask) -> None:
    for command in (users, audit_cli, worker_command):
        app.cli.add_command(command)


if __name__ == "__main__":
    main()
