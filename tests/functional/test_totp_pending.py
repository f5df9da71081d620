"""Finding 11: between the password and the TOTP code the cookie grants nothing, even to someone who knows
the password AND the app's SECRET_KEY (so can read and forge Flask's signed cookie); TOTP secrets are
encrypted at rest and the one being enrolled never travels in the cookie.
"""

from __future__ import annotations

import json
import re

import pyotp
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from hrdnet.auth import services, sessions
from hrdnet.auth.models import User
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.conftest import PASSWORD, TOTP_SECRET, csrf_token
from tests.support.pages import page, session_cookie

COOKIE = "hrdnet_session"


def read_cookie(app, client) -> dict:
    """What an attacker with SECRET_KEY reads in the session cookie."""
    return app.session_interface.get_signing_serializer(app).loads(session_cookie(client))


def forge_cookie(app, data: dict) -> str:
    return app.session_interface.get_signing_serializer(app).dumps(data)


def strings_in(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings_in(v)]
    return [str(value)]


def enter_password(client, user):
    return client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")}
    )


def test_the_pending_cookie_holds_nothing_that_grants_a_session(app, client, make_user):
    user = make_user("admin")
    assert enter_password(client, user).headers["Location"] == "/login/2fa"
    stolen = read_cookie(app, client)
    assert "_user_id" not in stolen

    # Every value in the cookie, alone or in the old "id:token" form, is tried as a login.
    candidates = strings_in(stolen)
    candidates += [f"{user.id}:{value}" for value in candidates] + [str(user.id)]
    for candidate in candidates:
        attacker = app.test_client()
        # _permanent: Flask-Login's "strong" session protection does nothing for permanent sessions.
        forged = {**stolen, "_user_id": candidate, "_fresh": True, "_permanent": True}
        attacker.set_cookie(COOKIE, forge_cookie(app, forged))
        response = attacker.get("/admin/")
        assert response.status_code == 302, candidate
        assert response.headers["Location"].startswith("/login")
    assert set(stolen) <= {"pending_login", "csrf_token", "_flashes"}  # an opaque key, nothing else
    assert db.session.scalars(select(sessions.UserSession)).all() == []  # no session exists yet


def test_the_secret_being_enrolled_is_never_in_the_cookie(app, client, make_user):
    user = make_user("admin")
    user.totp_secret = None
    db.session.commit()
    assert enter_password(client, user).headers["Location"] == "/login/2fa/setup"
    setup = page(client.get("/login/2fa/setup"))
    secret = re.search(r'<code class="totp-secret">([A-Z2-7]+)</code>', setup).group(1)

    assert secret not in json.dumps(read_cookie(app, client))
    stored = db.session.scalar(select(sessions.PendingLogin.enrolment_secret_encrypted))
    assert secret not in stored  # encrypted at rest while it waits, too

    response = client.post(
        "/login/2fa/setup",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(client, "/login/2fa/setup")},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert db.session.scalars(select(sessions.PendingLogin)).all() == []  # used up


def test_totp_secrets_are_stored_encrypted_with_the_configured_key(app, make_user):
    user = make_user("auditor")
    stored = db.session.execute(
        text("SELECT totp_secret_encrypted FROM users WHERE id = :id"), {"id": user.id}
    ).scalar_one()
    assert TOTP_SECRET not in stored
    assert Fernet(app.config["TOTP_ENCRYPTION_KEYS"][0]).decrypt(stored.encode()).decode() == TOTP_SECRET


def test_a_new_password_ends_a_pending_second_factor_login(app, client, make_user):
    """Whoever passed the password step with the old password gets no further once it changes."""
    user = make_user("admin")
    enter_password(client, user)
    token = csrf_token(client, "/login/2fa")
    with unit_of_work(write_lock=True):
        services.change_password(db.session.get(User, user.id), PASSWORD, "another-passphrase-99")
    response = client.post("/login/2fa", data={"code": pyotp.TOTP(TOTP_SECRET).now(), "csrf_token": token})
    assert response.headers["Location"] == "/login"
    assert client.get("/admin/").status_code == 302
