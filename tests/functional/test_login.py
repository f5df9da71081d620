"""Signing in and out with e-mail and password: answers, limits, redirects, cookies and the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hrdnet.audit import AuditEntry
from hrdnet.auth import sessions, throttle
from hrdnet.extensions import db
from tests.conftest import PASSWORD, csrf_token
from tests.support.pages import (
    error_message,
    error_summary,
    page,
)

WRONG = "임의의-틀린-비밀번호-123"
BAD_CREDENTIALS = "이메일 또는 비밀번호가 올바르지 않습니다."


def post_login(client, email, password, next_path=None, **kwargs):
    path = "/login" if next_path is None else f"/login?next={next_path}"
    data = {"email": email, "password": password, "csrf_token": csrf_token(client, path)}
    if next_path is not None:
        data["next"] = next_path
    return client.post(path, data=data, **kwargs)


def log_out(client):
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_learner_signs_in_and_sees_the_learner_menu(client, make_user):
    user = make_user("learner")
    assert "내 학습" not in page(client.get("/"))

    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    with client.session_transaction() as session:
        key = session["_user_id"]  # an opaque key of a server-side session, not the user's id
    assert sessions.user_for_session(key).id == user.id
    assert str(user.id) not in key.split(":")
    home = page(client.get("/"))
    assert "내 학습" in home
    assert "홍길동님" in home  # the header greets the user by their own name, unmasked to themselves
    assert client.get("/me").status_code == 200


def test_another_browser_is_not_signed_in(app, client, login_as):
    login_as("learner")
    assert client.get("/me").status_code == 200
    other_browser = app.test_client()
    assert other_browser.get("/me").status_code == 302
    assert "내 학습" not in page(other_browser.get("/"))


def test_wrong_password_is_refused_with_a_korean_message(client, make_user):
    user = make_user("learner")
    response = post_login(client, user.email, WRONG)
    assert response.status_code == 401
    assert BAD_CREDENTIALS in error_summary(response)
    assert client.get("/me").status_code == 302


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, make_user):
    user = make_user("learner")
    wrong_password = post_login(client, user.email, WRONG)
    unknown_email = post_login(client, "nobody@example.com", WRONG)
    assert unknown_email.status_code == wrong_password.status_code == 401
    assert error_summary(unknown_email) == error_summary(wrong_password)
    assert BAD_CREDENTIALS in error_summary(unknown_email)


def test_rapid_failed_logins_are_rate_limited_in_korean(client, make_user):
    user = make_user("learner")
    statuses = []
    for attempt in range(20):
        response = post_login(client, f"guess{attempt}@example.com", WRONG)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert "시도 횟수가 너무 많습니다" in error_message(response)
    assert set(statuses) == {401, 429}
    first_limited = statuses.index(429)
    assert first_limited <= 10  # reached within 11 attempts ("10 per minute")
    assert set(statuses[first_limited:]) == {429}
    # While limited, even the right password gets no further.
    assert post_login(client, user.email, PASSWORD).status_code == 429


def test_failed_logins_for_one_email_are_slowed_down_across_addresses(client, make_user, clock):
    clock.drive(throttle)  # the delay must not run out between two slow requests (argon2 on a loaded machine)
    user = make_user("learner")
    statuses = [
        post_login(client, user.email, WRONG, environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code
        for n in range(1, 23)
    ]
    assert statuses[:5] == [401] * 5  # five free failures per account, then a delay (test_login_throttle.py)
    assert set(statuses[5:]) == {429}


def test_successful_logins_do_not_count_towards_the_limit(client, make_user):
    user = make_user("learner")
    for _ in range(15):
        assert post_login(client, user.email, PASSWORD).status_code == 302
        assert client.get("/me").status_code == 200
        assert log_out(client).status_code == 302
        assert client.get("/me").status_code == 302


def test_logout_ends_the_session(client, login_as):
    login_as("learner")
    assert client.get("/me").status_code == 200

    response = log_out(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "로그아웃했습니다." in page(client.get("/"))
    after = client.get("/me")
    assert after.status_code == 302
    assert after.headers["Location"].startswith("/login")


def test_logout_by_get_is_not_allowed(client, login_as):
    login_as("learner")
    response = client.get("/logout")
    assert response.status_code == 405
    assert "허용되지 않는 요청입니다" in page(response)
    assert client.get("/me").status_code == 200  # still signed in


def test_logout_without_csrf_token_keeps_the_session(client, login_as):
    login_as("learner")
    response = client.post("/logout")
    assert response.status_code == 400
    assert "보안 토큰이 만료되었거나 없습니다" in error_message(response)
    assert client.get("/me").status_code == 200


@pytest.mark.parametrize(
    ("next_path", "target"),
    [
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/account", "/account"),
    ],
)
def test_login_only_follows_local_next_paths(client, make_user, next_path, target):
    user = make_user("learner")
    response = post_login(client, user.email, PASSWORD, next_path=next_path)
    assert response.status_code == 302
    assert response.headers["Location"] == target


def test_a_protected_page_sends_you_back_after_login(client, make_user):
    user = make_user("learner")
    bounced = client.get("/account")
    assert bounced.status_code == 302
    login_page = bounced.headers["Location"]
    assert login_page == "/login?next=/account"
    response = client.post(
        login_page,
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": "/account",
            "csrf_token": csrf_token(client, login_page),
        },
    )
    assert response.headers["Location"] == "/account"
    assert client.get("/account").status_code == 200


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    user = make_user("learner")
    response = post_login(client, user.email, PASSWORD)
    cookies = [value for name, value in response.headers.items() if name == "Set-Cookie"]
    session_cookie = next(c for c in cookies if c.startswith("hrdnet_session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie


def test_login_is_audited_by_pseudonym_only(client, make_user):
    user = make_user("learner", email="audited.person@example.com")
    post_login(client, user.email, WRONG)
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login")).all() == []

    post_login(client, user.email, PASSWORD)
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login")).all()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.subject_type == "user"
    assert entry.subject_id == user.pseudonym
    assert entry.actor == user.pseudonym
    stored = " ".join(str(getattr(entry, c)) for c in ("actor", "subject_type", "subject_id", "data"))
    for personal in (user.email, "audited.person", user.name):
        assert personal not in stored


def test_a_late_response_to_a_stale_cookie_does_not_bring_a_shown_message_back(client, login_as):
    """A browser still loading the previous page's images sends the cookie it had when it asked; if those
    responses set the session cookie again (Flask refreshes a permanent session's cookie on every request by
    default), a message already shown comes back on the next page (found by the learner journey in Chromium)."""
    login_as("learner")  # no identity yet: the card form sends the learner to identity with a message
    assert client.get("/me/card/apply").headers["Location"] == "/me/identity"
    stale = client.get_cookie("hrdnet_session").value  # still holds the message
    assert "먼저 본인인증을 해 주세요" in page(client.get("/me/identity"))  # shown: gone from the session
    current = client.get_cookie("hrdnet_session").value

    # The late request carries the stale cookie; the browser keeps its current one unless the answer sets one.
    client.set_cookie("hrdnet_session", stale)
    late = client.get("/static/css/site.css")
    late.close()
    assert late.status_code == 200
    assert not [value for name, value in late.headers.items() if name == "Set-Cookie"]
    client.set_cookie("hrdnet_session", current)
    assert "먼저 본인인증을 해 주세요" not in page(client.get("/me/identity"))
