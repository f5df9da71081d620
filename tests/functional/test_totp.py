"""Admins and auditors sign in with password and a TOTP code; learners and providers with the password."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from hrdnet.audit import AuditEntry
from hrdnet.auth import sessions
from hrdnet.auth.models import User
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.conftest import PASSWORD, TOTP_SECRET, csrf_token
from tests.support.pages import (
    error_summary,
    page,
)

STAFF_HOME = {"admin": "/admin/", "auditor": "/audit/"}
FIVE_MINUTES = 5 * 60  # how long the password step waits for the code
BAD_CODE = "인증 코드가 올바르지 않거나 이미 사용되었습니다"


def enter_password(client, user):
    return client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")}
    )


def enter_code(client, code, path="/login/2fa"):
    return client.post(path, data={"code": code, "csrf_token": csrf_token(client, path)})


def log_out(client):
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def a_wrong_code(secret=TOTP_SECRET) -> str:
    totp = pyotp.TOTP(secret)
    step = totp.timecode(utcnow())
    valid = {totp.generate_otp(s) for s in range(step - 2, step + 3)}
    return next(code for code in ("000000", "111111", "222222") if code not in valid)


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_password_alone_does_not_sign_staff_in(client, make_user, role):
    user = make_user(role)
    response = enter_password(client, user)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/2fa"
    assert "인증 앱" in page(client.get("/login/2fa"))

    home = client.get(STAFF_HOME[role])
    assert home.status_code == 302
    assert home.headers["Location"].startswith("/login")
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_a_correct_code_signs_staff_in(client, make_user, role):
    user = make_user(role)
    enter_password(client, user)
    response = enter_code(client, pyotp.TOTP(TOTP_SECRET).now())
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get(STAFF_HOME[role]).status_code == 200
    login = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.login"))
    assert login.subject_id == user.pseudonym
    assert '"method":"password+totp"' in login.data


def test_the_code_step_keeps_the_next_page(client, make_user):
    user = make_user("admin")
    client.post(
        "/login?next=/admin/users",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": "/admin/users",
            "csrf_token": csrf_token(client, "/login?next=/admin/users"),
        },
    )
    assert enter_code(client, pyotp.TOTP(TOTP_SECRET).now()).headers["Location"] == "/admin/users"


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_a_wrong_code_is_refused_in_korean(client, make_user, role):
    user = make_user(role)
    enter_password(client, user)
    response = enter_code(client, a_wrong_code())
    assert response.status_code == 401
    assert BAD_CODE in error_summary(response)
    assert client.get(STAFF_HOME[role]).status_code == 302


def test_a_malformed_code_is_explained(client, make_user):
    enter_password(client, make_user("admin"))
    response = enter_code(client, "12ab")
    assert response.status_code == 400
    assert "인증 앱에 표시된 6자리 숫자를 입력해 주세요." in error_summary(response)


def test_a_used_code_cannot_be_replayed(client, make_user):
    user = make_user("admin")
    code = pyotp.TOTP(TOTP_SECRET).now()
    enter_password(client, user)
    assert enter_code(client, code).status_code == 302
    assert log_out(client).status_code == 302

    enter_password(client, user)
    replay = enter_code(client, code)
    assert replay.status_code == 401
    assert BAD_CODE in error_summary(replay)
    assert client.get("/admin/").status_code == 302


def test_admin_without_totp_enrols_on_first_login(client, make_user):
    user = make_user("admin")
    user.totp_secret = None
    db.session.commit()

    response = enter_password(client, user)
    assert response.headers["Location"] == "/login/2fa/setup"
    setup = page(client.get("/login/2fa/setup"))
    assert "<svg" in setup
    secret = re.search(r'<code class="totp-secret">([A-Z2-7]+)</code>', setup).group(1)
    assert len(secret) >= 16
    assert client.get("/admin/").status_code == 302

    wrong = enter_code(client, a_wrong_code(secret), "/login/2fa/setup")
    assert wrong.status_code == 401
    assert BAD_CODE in error_summary(wrong)
    assert db.session.get(User, user.id).totp_secret is None

    enrolled = enter_code(client, pyotp.TOTP(secret).now(), "/login/2fa/setup")
    assert enrolled.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert db.session.get(User, user.id).totp_secret == secret
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.totp_enrolled")) is not None


def test_the_enrolment_secret_stays_the_same_while_the_page_is_reloaded(client, make_user):
    user = make_user("auditor")
    user.totp_secret = None
    db.session.commit()
    enter_password(client, user)
    secrets_shown = {
        re.search(r'<code class="totp-secret">([A-Z2-7]+)</code>', page(client.get("/login/2fa/setup"))).group(1)
        for _ in range(2)
    }
    assert len(secrets_shown) == 1


@pytest.fixture
def clock(monkeypatch):
    """Move the clock the pending-login store reads forward, without touching the rest of the process."""
    start = utcnow()

    def advance(seconds: float):
        monkeypatch.setattr(sessions, "utcnow", lambda: start + timedelta(seconds=seconds))

    return advance


def test_pending_second_step_expires(client, make_user, clock):
    user = make_user("admin")
    enter_password(client, user)
    clock(FIVE_MINUTES + 1)

    shown = client.get("/login/2fa")
    assert shown.status_code == 302
    assert shown.headers["Location"] == "/login"
    assert "로그인 시간이 지났습니다" in page(client.get("/login"))


def test_a_late_code_does_not_sign_in(client, make_user, clock):
    user = make_user("admin")
    enter_password(client, user)
    token = csrf_token(client, "/login/2fa")
    clock(FIVE_MINUTES + 1)
    response = client.post("/login/2fa", data={"code": pyotp.TOTP(TOTP_SECRET).now(), "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get("/admin/").status_code == 302


def test_a_code_just_within_the_time_limit_still_works(client, make_user, clock):
    user = make_user("admin")
    enter_password(client, user)
    token = csrf_token(client, "/login/2fa")
    clock(FIVE_MINUTES - 5)
    response = client.post("/login/2fa", data={"code": pyotp.TOTP(TOTP_SECRET).now(), "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/admin/").status_code == 200


def test_the_code_page_without_a_password_step_sends_you_to_login(client):
    response = client.get("/login/2fa")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get("/login/2fa/setup").headers["Location"] == "/login"


@pytest.mark.parametrize(("role", "home"), [("learner", "/me"), ("provider", "/provider/")])
def test_learners_and_providers_are_never_asked_for_a_code(client, make_user, role, home):
    user = make_user(role)
    assert user.totp_secret is None
    response = enter_password(client, user)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get(home).status_code == 200
