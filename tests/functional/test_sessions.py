"""Findings 4 and 10: a login is a server-side session that logout, a new password and a role change end.

The attack: save the session cookie, let its owner log out (or change or reset the password), and replay
the saved cookie from another client. Also: API tokens survived a password reset.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_login.utils import encode_cookie
from sqlalchemy import event, select

from hrdnet.audit import AuditEntry
from hrdnet.auth import sessions
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.conftest import PASSWORD, csrf_token
from tests.functional.mail_links import mailed_link, submit_link
from tests.support.pages import error_summary, page, session_cookie

NEW_PASSWORD = "new-secret-passphrase-42"
COOKIE = "hrdnet_session"


def replay(app, cookie_value: str, path: str = "/me"):
    """GET path from a fresh client that only has the saved cookie."""
    attacker = app.test_client()
    attacker.set_cookie(COOKIE, cookie_value)
    return attacker.get(path)


def assert_signed_out(response) -> None:
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def log_out(client):
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "password": new,
            "password_confirm": confirm or new,
            "csrf_token": csrf_token(client, "/account/password"),
        },
    )


def issue_token(client, user, password=PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", json={"email": user.email, "password": password})
    assert response.status_code == 201
    return response.get_json()["token"]


def me_with(client, token):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def learner(client, make_user, login):
    user = make_user("learner")
    login(user)
    assert client.get("/me").status_code == 200
    return user


def test_a_saved_cookie_no_longer_works_after_logout(app, client, learner):
    saved = session_cookie(client)
    assert replay(app, saved).status_code == 200  # the copy works while the session lives

    assert log_out(client).status_code == 302
    assert_signed_out(replay(app, saved))
    assert_signed_out(replay(app, saved, "/account"))


def test_a_forged_remember_me_cookie_does_not_bring_a_logged_out_session_back(app, client, learner):
    """Flask-Login's remember-me cookie (signed with SECRET_KEY) carries the same id the loader checks."""
    with client.session_transaction() as flask_session:
        session_id = flask_session["_user_id"]
    log_out(client)
    attacker = app.test_client()
    with app.test_request_context():
        attacker.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), encode_cookie(session_id))
    assert_signed_out(attacker.get("/me"))


def test_a_password_reset_ends_saved_sessions_and_api_tokens(app, client, learner, mailbox):
    saved = session_cookie(client)
    token = issue_token(client, learner)
    assert me_with(client, token).status_code == 200

    other = app.test_client()
    other.post("/password/forgot", data={"email": learner.email, "csrf_token": csrf_token(other, "/password/forgot")})
    link = mailed_link(mailbox()[-1], "/password/reset")
    assert submit_link(other, link, password=NEW_PASSWORD, password_confirm=NEW_PASSWORD).status_code == 302

    assert_signed_out(replay(app, saved))
    assert_signed_out(client.get("/me"))
    assert me_with(client, token).status_code == 401
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.password_reset"))
    assert '"api_tokens_revoked":1' in entry.data and '"sessions_revoked":1' in entry.data


def test_a_password_change_ends_every_other_session_and_api_token(app, client, learner):
    saved = session_cookie(client)
    other_browser = app.test_client()
    other_browser.post(
        "/login", data={"email": learner.email, "password": PASSWORD, "csrf_token": csrf_token(other_browser, "/login")}
    )
    assert other_browser.get("/me").status_code == 200
    token = issue_token(client, learner)

    response = change_password(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert "비밀번호를 바꿨습니다" in page(client.get("/account"))

    assert client.get("/me").status_code == 200  # this browser goes on, on a fresh session
    assert session_cookie(client) != saved
    assert_signed_out(replay(app, saved))  # ... but its old cookie is dead
    assert_signed_out(other_browser.get("/me"))
    assert me_with(client, token).status_code == 401
    assert issue_token(app.test_client(), learner, NEW_PASSWORD)  # the new password works
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.password_changed"))
    assert entry.subject_id == learner.pseudonym and learner.email not in entry.data


def test_a_password_change_needs_the_current_password(client, learner):
    response = change_password(client, current="임의의-틀린-비밀번호-123")
    assert response.status_code == 400
    assert "현재 비밀번호가 올바르지 않습니다" in error_summary(response)
    assert client.get("/me").status_code == 200
    assert log_out(client).status_code == 302
    assert (
        client.post(
            "/login", data={"email": learner.email, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")}
        ).status_code
        == 302
    )


def test_password_change_attempts_are_rate_limited(client, learner):
    statuses = [change_password(client, current=f"wrong-guess-{n}-xyz").status_code for n in range(11)]
    assert statuses == [400] * 10 + [429]


def test_a_role_change_ends_saved_sessions(app, client, runner, learner, make_ministry):
    make_ministry("MOEL")
    saved = session_cookie(client)
    result = runner.invoke(args=["users", "set-role", learner.email, "--role", "auditor", "--org", "MOEL"])
    assert result.exit_code == 0, result.output
    assert_signed_out(replay(app, saved, "/account"))


def test_a_session_ends_at_its_server_side_expiry(app, client, learner, monkeypatch):
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    saved = session_cookie(client)
    later = utcnow() + timedelta(seconds=lifetime + 1)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)
    assert_signed_out(replay(app, saved))


def test_loading_the_signed_in_user_writes_nothing(app, client, learner):
    """The user loader runs on every request; a GET must not insert, update or delete anything."""
    writes = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        for path in ("/me", "/account", "/account/password", "/"):
            assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert writes == []
