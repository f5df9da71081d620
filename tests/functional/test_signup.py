"""A learner signs up, confirms the address from the e-mail, and signs in; bad input never gets a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hrdnet.auth.models import EmailToken, User
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.conftest import PASSWORD, csrf_token
from tests.functional.mail_links import mailed_link, split_link, submit_link
from tests.support.pages import (
    error_message,
    field_errors,
    page,
)
from tests.support.signup import SIGNUP_FORM
from tests.support.signup import sign_up as signup_as

EMAIL = "learner@example.com"


def _years_before(day, years):
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def valid_signup(**overrides) -> dict:
    data = {**SIGNUP_FORM, "email": EMAIL, **overrides}
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def sign_up(client):
    def post(**overrides):
        return signup_as(client, overrides.pop("email", EMAIL), **overrides)

    return post


def users_with(email: str) -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.email == email))


def log_in(client, email=EMAIL, password=PASSWORD):
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client, "/login")}
    )


def verification_link(mailbox, to=EMAIL) -> str:
    messages = [m for m in mailbox() if m["To"] == to]
    assert len(messages) == 1
    return mailed_link(messages[0], "/verify")


# -- the happy path ----------------------------------------------------------------------------------


def test_signup_page_shows_the_form(client):
    response = client.get("/signup")
    assert response.status_code == 200
    text = page(response)
    assert "회원가입 (훈련생)" in text
    for field in (
        "email",
        "name",
        "phone",
        "birth_date",
        "password",
        "password_confirm",
        "agree_privacy",
        "csrf_token",
    ):
        assert f'name="{field}"' in text


def test_learner_signs_up_confirms_the_address_and_signs_in(client, sign_up, mailbox):
    response = sign_up()
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/check-mail")
    assert "인증 메일" in page(client.get(response.headers["Location"]))

    messages = mailbox()
    assert [m["To"] for m in messages] == [EMAIL]
    assert "이메일 주소를 인증해 주세요" in messages[0]["Subject"]
    link = mailed_link(messages[0], "/verify")

    # Opening the link (or a mail scanner pre-fetching it) only shows a button.
    for _ in range(2):
        shown = client.get(link)
        assert shown.status_code == 200
        assert "이메일 인증 완료" in page(shown)
    assert db.session.scalar(select(User).where(User.email == EMAIL)).email_verified_at is None

    confirmed = submit_link(client, link)
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"] == "/login"
    assert "이메일 인증을 마쳤습니다" in page(client.get("/login"))
    assert db.session.scalar(select(User).where(User.email == EMAIL)).email_verified_at is not None

    assert log_in(client).status_code == 302
    assert client.get("/me").status_code == 200


def test_login_before_confirming_the_address_is_refused(client, sign_up):
    sign_up()
    response = log_in(client)
    assert response.status_code == 403
    assert "이메일 인증을 마쳐야 로그인할 수 있습니다" in page(response)
    assert client.get("/me").status_code == 302  # not signed in


def test_password_is_stored_as_an_argon2id_hash(sign_up):
    sign_up()
    user = db.session.scalar(select(User).where(User.email == EMAIL))
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_signup_stores_the_email_lowercased_and_the_phone_normalised(sign_up):
    sign_up(email="  Mixed.Case@Example.COM ", phone="01098765432")
    user = db.session.scalar(select(User).where(User.email == "mixed.case@example.com"))
    assert user is not None
    assert user.phone == "010-9876-5432"


def test_someone_turning_14_today_may_sign_up(sign_up, today):
    response = sign_up(birth_date=_years_before(today, 14).isoformat())
    assert response.status_code == 302


# -- bad input ---------------------------------------------------------------------------------------


def test_empty_form_reports_every_required_field(client, mailbox):
    response = client.post("/signup", data={"csrf_token": csrf_token(client, "/signup")})
    assert response.status_code == 400
    for field in ("email", "name", "phone", "birth_date", "password", "password_confirm"):
        assert field_errors(response, field) == ["필수 입력 항목입니다."], field
    assert field_errors(response, "agree_privacy") == ["개인정보 수집·이용에 동의해야 가입할 수 있습니다."]
    assert "입력 내용을 확인해 주세요" in page(response)
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert mailbox() == []


def _tomorrow(today):
    return (today + timedelta(days=1)).isoformat()


def _turning_14_tomorrow(today):
    return (_years_before(today, 14) + timedelta(days=1)).isoformat()


# A value may be a function of the test's `today` (dates relative to the day the test runs on).
BAD_INPUT = [
    pytest.param(
        {"email": "a" * 288 + "@example.com"}, "email", "이메일은 254자 이하로 입력해 주세요.", id="300-char-email"
    ),
    pytest.param({"email": "not-an-email"}, "email", "올바른 이메일 주소를 입력해 주세요.", id="malformed-email"),
    pytest.param({"name": "가" * 51}, "name", "이름은 50자 이하로 입력해 주세요.", id="51-char-name"),
    pytest.param({"name": "   "}, "name", "필수 입력 항목입니다.", id="blank-name"),
    pytest.param({"birth_date": "2020-13-45"}, "birth_date", "올바르지 않은 날짜 값입니다.", id="month-13"),
    pytest.param({"birth_date": "abc"}, "birth_date", "올바르지 않은 날짜 값입니다.", id="not-a-date"),
    pytest.param(
        {"birth_date": _tomorrow},
        "birth_date",
        "생년월일이 오늘보다 늦을 수 없습니다.",
        id="born-tomorrow",
    ),
    pytest.param(
        {"birth_date": _turning_14_tomorrow},
        "birth_date",
        "만 14세 미만은 법정대리인 동의가 필요해 온라인으로 가입할 수 없습니다.",
        id="turns-14-tomorrow",
    ),
    pytest.param({"birth_date": "1899-12-31"}, "birth_date", "생년월일을 다시 확인해 주세요.", id="before-1900"),
    pytest.param(
        {"phone": "12345"}, "phone", "휴대전화 번호를 010-1234-5678 형식으로 입력해 주세요.", id="short-phone"
    ),
    pytest.param(
        {"phone": "02-123-4567"}, "phone", "휴대전화 번호를 010-1234-5678 형식으로 입력해 주세요.", id="landline"
    ),
    pytest.param(
        {"password": "short-pw1", "password_confirm": "short-pw1"},
        "password",
        "비밀번호는 10자 이상 128자 이하로 입력해 주세요.",
        id="9-char-password",
    ),
    pytest.param(
        {"password": "x1-" * 43, "password_confirm": "x1-" * 43},
        "password",
        "비밀번호는 10자 이상 128자 이하로 입력해 주세요.",
        id="129-char-password",
    ),
    pytest.param(
        {"password": "aaaaaaaaaaaa", "password_confirm": "aaaaaaaaaaaa"},
        "password",
        "같은 문자를 반복한 비밀번호는 쓸 수 없습니다. 서로 다른 문자를 4개 이상 넣어 주세요.",
        id="trivial-password",
    ),
    pytest.param(
        {"password_confirm": PASSWORD + "!"}, "password_confirm", "비밀번호가 서로 다릅니다.", id="password-mismatch"
    ),
    pytest.param(
        {"agree_privacy": None},
        "agree_privacy",
        "개인정보 수집·이용에 동의해야 가입할 수 있습니다.",
        id="no-privacy-consent",
    ),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUT)
def test_bad_signup_input_is_explained_in_korean(sign_up, mailbox, today, overrides, field, message):
    response = sign_up(**{name: value(today) if callable(value) else value for name, value in overrides.items()})
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert mailbox() == []


@pytest.mark.parametrize(
    ("first", "second"), [("foo@example.com", "foo@example.com"), ("foo@example.com", "Foo@Example.com")]
)
def test_an_email_can_sign_up_only_once(sign_up, mailbox, first, second):
    new = sign_up(email=first)
    assert new.status_code == 302
    again = sign_up(email=second)
    assert again.status_code == 302  # the same answer: sign-up does not reveal who has an account
    assert again.headers["Location"] == new.headers["Location"]
    assert users_with("foo@example.com") == 1
    subjects = [m["Subject"] for m in mailbox()]
    assert len(subjects) == 2 and "가입 시도" in subjects[1]  # the owner hears about it instead


def test_signup_without_csrf_token_is_refused_in_korean(client):
    response = client.post("/signup", data=valid_signup())
    assert response.status_code == 400
    assert "보안 토큰이 만료되었거나 없습니다" in page(response)
    assert users_with(EMAIL) == 0


# -- the one-time link -------------------------------------------------------------------------------


def test_verification_link_works_only_once(client, sign_up, mailbox):
    sign_up()
    link = verification_link(mailbox)
    assert submit_link(client, link).status_code == 302

    _, token = split_link(link)
    for response in (client.get(f"/verify/{token}"), submit_link(client, link)):
        assert response.status_code == 400
        assert "링크가 만료되었거나 이미 사용되었습니다" in error_message(response)


def test_expired_verification_link_is_refused(client, sign_up, mailbox):
    sign_up()
    link = verification_link(mailbox)
    token = db.session.scalar(select(EmailToken).where(EmailToken.purpose == "verify"))
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    _, token = split_link(link)
    for response in (client.get(f"/verify/{token}"), submit_link(client, link)):
        assert response.status_code == 400
        assert "링크가 만료되었거나 이미 사용되었습니다" in error_message(response)
    assert db.session.scalar(select(User).where(User.email == EMAIL)).email_verified_at is None
    assert log_in(client).status_code == 403


def test_made_up_verification_link_is_refused(client):
    response = client.get("/verify/not-a-real-token")
    assert response.status_code == 400
    assert "링크가 만료되었거나 이미 사용되었습니다" in error_message(response)
