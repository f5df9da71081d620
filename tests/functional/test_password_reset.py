"""Forgotten password: the same answer for every address, a one-time link, and every old session ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hrdnet.auth.models import EmailToken, User
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.conftest import PASSWORD, csrf_token
from tests.functional.mail_links import mailed_link, split_link, submit_link
from tests.support.pages import (
    error_message,
    error_summary,
    field_errors,
    page,
    without_csrf,
)
from tests.support.signup import sign_up

NEW_PASSWORD = "new-secret-passphrase-42"
LINK_GONE = "링크가 만료되었거나 이미 사용되었습니다"


def ask_for_reset(client, email, **kwargs):
    return client.post(
        "/password/forgot", data={"email": email, "csrf_token": csrf_token(client, "/password/forgot")}, **kwargs
    )


def choose_password(client, link, password=NEW_PASSWORD, confirm=None):
    return submit_link(client, link, password=password, password_confirm=confirm or password)


def log_in(client, email, password):
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client, "/login")}
    )


@pytest.fixture
def reset_link(client, make_user, mailbox):
    """A learner and the reset link mailed to them."""
    user = make_user("learner")
    ask_for_reset(client, user.email)
    (message,) = mailbox()
    return user, mailed_link(message, "/password/reset")


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(client, make_user, mailbox):
    user = make_user("learner")
    known = ask_for_reset(client, user.email)
    unknown = ask_for_reset(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"] == "/check-mail?reason=reset"
    assert without_csrf(page(known)) == without_csrf(page(unknown))

    shown = [client.get(r.headers["Location"]) for r in (known, unknown)]
    assert shown[0].status_code == shown[1].status_code == 200
    assert without_csrf(page(shown[0])) == without_csrf(page(shown[1]))
    assert "가입된 계정이 있다면 비밀번호 재설정 링크를 보냈습니다" in page(shown[0])

    messages = mailbox()
    assert [m["To"] for m in messages] == [user.email]
    assert "비밀번호 재설정" in messages[0]["Subject"]
    assert "30분" in messages[0].get_content()


def test_forgot_password_with_a_malformed_address_is_explained(client, mailbox):
    response = ask_for_reset(client, "not-an-email")
    assert response.status_code == 400
    assert field_errors(response, "email") == ["올바른 이메일 주소를 입력해 주세요."]
    assert mailbox() == []


def test_reset_replaces_the_password(client, reset_link):
    user, link = reset_link
    form = client.get(link)
    assert form.status_code == 200
    assert "새 비밀번호 설정" in page(form)

    response = choose_password(client, link)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "비밀번호를 바꿨습니다" in page(client.get("/login"))

    assert log_in(client, user.email, PASSWORD).status_code == 401
    assert log_in(client, user.email, NEW_PASSWORD).status_code == 302
    assert client.get("/me").status_code == 200


def test_reset_link_works_only_once(client, reset_link):
    user, link = reset_link
    assert choose_password(client, link).status_code == 302

    _, token = split_link(link)
    again = client.get(f"/password/reset/{token}")  # the old path form of the link checks it (reads only)
    assert again.status_code == 400
    assert LINK_GONE in error_message(again)
    reused = choose_password(client, link, password="yet-another-passphrase-7")
    assert reused.status_code == 400
    assert LINK_GONE in error_message(reused)
    assert log_in(client, user.email, NEW_PASSWORD).status_code == 302


def test_reset_signs_out_every_session_started_before_it(app, client, reset_link):
    user, link = reset_link
    other_browser = app.test_client()
    assert log_in(other_browser, user.email, PASSWORD).status_code == 302
    assert other_browser.get("/me").status_code == 200

    choose_password(client, link)

    after = other_browser.get("/me")
    assert after.status_code == 302
    assert after.headers["Location"].startswith("/login")


def test_expired_reset_link_is_refused(client, reset_link):
    user, link = reset_link
    token = db.session.scalar(select(EmailToken).where(EmailToken.purpose == "reset"))
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    _, token = split_link(link)
    for response in (client.get(f"/password/reset/{token}"), choose_password(client, link)):
        assert response.status_code == 400
        assert LINK_GONE in error_message(response)
    assert log_in(client, user.email, PASSWORD).status_code == 302  # password unchanged


@pytest.mark.parametrize(
    ("password", "confirm", "field", "message"),
    [
        (
            "aaaaaaaaaaaa",
            None,
            "password",
            "같은 문자를 반복한 비밀번호는 쓸 수 없습니다. 서로 다른 문자를 4개 이상 넣어 주세요.",
        ),
        ("short-1", None, "password", "비밀번호는 10자 이상 128자 이하로 입력해 주세요."),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "password_confirm", "비밀번호가 서로 다릅니다."),
    ],
    ids=["one-repeated-character", "too-short", "mismatch"],
)
def test_weak_or_mismatched_new_password_is_refused_and_the_link_stays_usable(
    client, reset_link, password, confirm, field, message
):
    user, link = reset_link
    response = choose_password(client, link, password, confirm)
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert "입력 내용을 확인해 주세요" in error_summary(response)
    assert log_in(client, user.email, PASSWORD).status_code == 302  # unchanged
    assert choose_password(client, link).status_code == 302  # the link was not used up


def test_a_verification_link_cannot_reset_a_password(client, mailbox):
    sign_up(client, "new@example.com")
    _, token = split_link(mailed_link(mailbox()[0], "/verify"))
    for response in (client.get(f"/password/reset/{token}"), choose_password(client, f"/password/reset#t={token}")):
        assert response.status_code == 400
        assert LINK_GONE in error_message(response)


def test_reset_link_also_confirms_an_unverified_address(client, mailbox):
    sign_up(client, "new@example.com")
    assert log_in(client, "new@example.com", PASSWORD).status_code == 403
    ask_for_reset(client, "new@example.com")
    reset = next(m for m in mailbox() if "비밀번호 재설정" in m["Subject"])
    choose_password(client, mailed_link(reset, "/password/reset"))
    assert log_in(client, "new@example.com", NEW_PASSWORD).status_code == 302
    assert db.session.scalar(select(User).where(User.email == "new@example.com")).email_verified_at is not None
