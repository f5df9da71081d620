"""TOTP secrets at rest: production refuses to start without real keys, `hrdnet users rotate-totp-key`
re-encrypts with the first key, and the migration encrypts secrets stored in plaintext before it."""

from __future__ import annotations

import pyotp
import pytest
from cryptography.fernet import Fernet
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from hrdnet import create_app
from hrdnet.config import DEV_TOTP_ENCRYPTION_KEY, ConfigError
from hrdnet.extensions import db
from tests.conftest import PASSWORD, TOTP_SECRET, csrf_token


def _production(production, totp_keys: str | None):
    """The production environment of test_config (every other check passes) with these TOTP keys."""
    if totp_keys is None:
        production.delenv("TOTP_ENCRYPTION_KEYS", raising=False)
    else:
        production.setenv("TOTP_ENCRYPTION_KEYS", totp_keys)


@pytest.mark.parametrize(
    "keys",
    [None, "", DEV_TOTP_ENCRYPTION_KEY, "not-a-fernet-key", f"{Fernet.generate_key().decode()},short"],
    ids=["unset", "empty", "dev", "bad", "bad-second"],
)
def test_production_refuses_to_start_without_real_totp_keys(production, keys):
    _production(production, keys)
    with pytest.raises(ConfigError, match="TOTP_ENCRYPTION_KEYS"):
        create_app()


def test_production_starts_with_real_totp_keys(production):
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    _production(production, f"{new}, {old}")
    assert create_app().config["TOTP_ENCRYPTION_KEYS"] == [new, old]


def _stored(user_id: int) -> str:
    return db.session.execute(
        text("SELECT totp_secret_encrypted FROM users WHERE id = :id"), {"id": user_id}
    ).scalar_one()


def test_rotate_totp_key_re_encrypts_every_secret_with_the_first_key(app, client, runner, make_user):
    old_key = app.config["TOTP_ENCRYPTION_KEYS"][0]
    staff = [make_user("admin"), make_user("auditor")]
    make_user("learner")  # no secret: untouched
    new_key = Fernet.generate_key().decode()
    app.config["TOTP_ENCRYPTION_KEYS"] = [new_key, old_key]

    result = runner.invoke(args=["users", "rotate-totp-key"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 2 TOTP secret(s)" in result.output
    for user in staff:
        assert Fernet(new_key).decrypt(_stored(user.id).encode()).decode() == TOTP_SECRET

    app.config["TOTP_ENCRYPTION_KEYS"] = [new_key]  # the old key is gone; staff still sign in
    client.post(
        "/login", data={"email": staff[0].email, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")}
    )
    response = client.post(
        "/login/2fa", data={"code": pyotp.TOTP(TOTP_SECRET).now(), "csrf_token": csrf_token(client, "/login/2fa")}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_rotate_totp_key_stops_and_changes_nothing_when_a_secret_cannot_be_read(app, runner, make_user):
    user = make_user("admin")
    before = _stored(user.id)
    app.config["TOTP_ENCRYPTION_KEYS"] = [Fernet.generate_key().decode()]  # the key that encrypted it is missing
    result = runner.invoke(args=["users", "rotate-totp-key"])
    assert result.exit_code != 0
    assert f"user {user.id}" in result.output
    assert _stored(user.id) == before


@pytest.mark.both_dbs
def test_the_migration_encrypts_plaintext_secrets_and_downgrade_restores_them(empty_app):
    upgrade(revision="0eb3819c8446")
    db.session.execute(
        text(
            "INSERT INTO users (email, name, password_hash, role, totp_secret, session_token, pseudonym, active, "
            "created_at) VALUES ('boss@example.com', '관리자', 'x', 'admin', :secret, 'abc', 'p1', true, "
            "'2026-12-01 00:00:00')"
        ),
        {"secret": TOTP_SECRET},
    )
    db.session.commit()

    upgrade(revision="5e55101a0002")
    stored = db.session.execute(text("SELECT totp_secret_encrypted FROM users")).scalar_one()
    assert TOTP_SECRET not in stored
    assert Fernet(empty_app.config["TOTP_ENCRYPTION_KEYS"][0]).decrypt(stored.encode()).decode() == TOTP_SECRET
    db.session.commit()

    downgrade(revision="0eb3819c8446")
    row = db.session.execute(text("SELECT totp_secret, session_token FROM users")).one()
    assert row.totp_secret == TOTP_SECRET
    assert len(row.session_token) == 32
    db.session.commit()
