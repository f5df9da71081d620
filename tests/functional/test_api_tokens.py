"""API tokens: issued for credentials (and a TOTP code for staff), stored hashed, revocable, documented."""

from __future__ import annotations

import hashlib
import re

import pyotp
import pytest
from sqlalchemy import select, text

from hrdnet.audit import AuditEntry
from hrdnet.auth.models import ApiToken
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.conftest import PASSWORD, TOTP_SECRET, csrf_token
from tests.support.pages import (
    page,
)

TOKEN_URL = "/api/v1/auth/token"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def issue(client, user, **extra):
    return client.post(TOKEN_URL, json={"email": user.email, "password": PASSWORD, **extra})


def a_wrong_code() -> str:
    totp = pyotp.TOTP(TOTP_SECRET)
    step = totp.timecode(utcnow())
    valid = {totp.generate_otp(s) for s in range(step - 2, step + 3)}
    return next(code for code in ("000000", "111111", "222222") if code not in valid)


def api_error(response) -> dict:
    assert response.is_json, response.get_data(as_text=True)[:200]
    return response.get_json()["error"]


def test_learner_gets_a_token_for_their_credentials(client, make_user):
    user = make_user("learner")
    response = issue(client, user, name="내 스크립트")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"token", "token_id"}
    assert body["token"].startswith("hrd_")

    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.get_json() == {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": "learner",
        "provider_id": None,
        "ministry_id": None,
    }
    assert db.session.get(ApiToken, body["token_id"]).name == "내 스크립트"


def test_only_a_hash_of_the_token_is_stored(client, make_user):
    token = issue(client, make_user("learner")).get_json()["token"]
    rows = db.session.execute(text("SELECT * FROM api_tokens")).all()
    assert len(rows) == 1
    assert all(token not in str(value) for value in rows[0])
    record = db.session.scalar(select(ApiToken))
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_wrong_password_gets_a_json_401(client, make_user):
    user = make_user("learner")
    response = client.post(TOKEN_URL, json={"email": user.email, "password": "wrong-password-123"})
    assert response.status_code == 401
    error = api_error(response)
    assert error["code"] == "invalid_credentials"
    assert error["message"] == "이메일 또는 비밀번호가 올바르지 않습니다."
    assert db.session.scalar(select(ApiToken)) is None


def test_unverified_learner_gets_no_token(client, make_user):
    user = make_user("learner")
    user.email_verified_at = None
    db.session.commit()
    response = issue(client, user)
    assert response.status_code == 403
    assert api_error(response)["code"] == "email_not_verified"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "not-an-email", "password": "x"},
        {"email": "a@example.com"},
        {"email": "a@example.com", "password": "x", "otp": "12"},
        {"email": "a@example.com", "password": "x" * 129},
        [1, 2],
    ],
    ids=["empty", "bad-email", "no-password", "short-otp", "long-password", "not-an-object"],
)
def test_malformed_body_gets_a_422_validation_error(client, body):
    response = client.post(TOKEN_URL, json=body)
    assert response.status_code == 422
    error = api_error(response)
    assert error["code"] == "validation_error"
    assert error["message"] == "입력 내용을 확인해 주세요."
    assert error["details"]["json"]


def test_body_that_is_not_json_gets_a_json_400(client):
    response = client.post(TOKEN_URL, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert api_error(response)["code"] == "bad_request"


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_staff_need_a_totp_code_for_a_token(client, make_user, role):
    user = make_user(role)
    without = issue(client, user)
    assert without.status_code == 401
    assert api_error(without)["code"] == "otp_required"

    wrong = issue(client, user, otp=a_wrong_code())
    assert wrong.status_code == 401
    assert api_error(wrong)["code"] == "invalid_otp"
    assert db.session.scalar(select(ApiToken)) is None

    with_code = issue(client, user, otp=pyotp.TOTP(TOTP_SECRET).now())
    assert with_code.status_code == 201
    me = client.get("/api/v1/me", headers=bearer(with_code.get_json()["token"]))
    assert me.get_json()["role"] == role


def test_deleting_the_token_revokes_it(client, make_user):
    user = make_user("learner")
    first = issue(client, user).get_json()["token"]
    second = issue(client, user).get_json()["token"]

    response = client.delete(TOKEN_URL, headers=bearer(first))
    assert response.status_code == 204
    refused = client.get("/api/v1/me", headers=bearer(first))
    assert refused.status_code == 401
    assert api_error(refused)["code"] == "unauthorized"
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200  # only that one token
    assert client.delete(TOKEN_URL, headers=bearer(first)).status_code == 401


def test_requests_without_a_token_are_refused(client):
    for headers in ({}, bearer("hrd_made-up"), {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert api_error(response)["code"] == "unauthorized"


def test_the_session_cookie_alone_does_not_authenticate_the_api(client, login_as):
    login_as("learner")
    assert client.get("/account").status_code == 200  # signed in on the site
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert api_error(response)["code"] == "unauthorized"
    assert client.delete(TOKEN_URL).status_code == 401


def test_token_requests_are_rate_limited(client, make_user):
    user = make_user("learner")
    # Each guess names another account, so only the per-address flood guard is at work here.
    statuses = [
        client.post(TOKEN_URL, json={"email": f"guess{n}@example.com", "password": "wrong-password-123"}).status_code
        for n in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    limited = client.post(TOKEN_URL, json={"email": user.email, "password": PASSWORD})
    assert api_error(limited)["code"] == "too_many_requests"


# -- the account page --------------------------------------------------------------------------------


def test_account_page_creates_shows_once_and_revokes_a_token(client, login_as):
    user = login_as("learner")
    account = page(client.get("/account"))
    assert "아직 만든 토큰이 없습니다" in account

    created = client.post("/account/tokens", data={"name": "연동 서버", "csrf_token": csrf_token(client, "/account")})
    assert created.status_code == 201
    token = re.search(r'<code class="token-value">([^<]+)</code>', page(created)).group(1)
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["email"] == user.email

    listing = page(client.get("/account"))
    assert "연동 서버" in listing
    assert token[:12] in listing and token not in listing  # only the prefix is ever shown again
    assert "사용 가능" in listing

    record = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    revoked = client.post(f"/account/tokens/{record.id}/revoke", data={"csrf_token": csrf_token(client, "/account")})
    assert revoked.status_code == 302
    assert "토큰을 폐기했습니다." in page(client.get("/account"))
    assert "폐기됨" in page(client.get("/account"))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_account_page_refuses_a_token_without_a_name(client, login_as):
    login_as("learner")
    response = client.post("/account/tokens", data={"name": "  ", "csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 302
    assert "토큰 이름을 입력해 주세요." in page(client.get("/account"))
    assert db.session.scalar(select(ApiToken)) is None


def test_nobody_can_revoke_someone_elses_token(client, make_user, login_as):
    owner = make_user("learner")
    token = issue(client, owner).get_json()
    login_as("learner")
    response = client.post(
        f"/account/tokens/{token['token_id']}/revoke", data={"csrf_token": csrf_token(client, "/account")}
    )
    assert response.status_code == 302
    assert "이미 폐기되었거나 없는 토큰입니다." in page(client.get("/account"))
    assert client.get("/api/v1/me", headers=bearer(token["token"])).status_code == 200


def test_issuing_a_token_is_audited(client, make_user):
    user = make_user("learner")
    token_id = issue(client, user).get_json()["token_id"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.api_token_created"))
    assert entry.subject_id == user.pseudonym
    assert f'"token_id":{token_id}' in entry.data
    assert user.email not in entry.data


# -- documentation -----------------------------------------------------------------------------------


def test_openapi_document_lists_the_auth_endpoints(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert {"/api/v1/auth/token", "/api/v1/me"} <= set(spec["paths"])
    assert set(spec["paths"]["/api/v1/auth/token"]) >= {"post", "delete"}
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert spec["paths"]["/api/v1/me"]["get"]["security"] == [{"bearerAuth": []}]


def test_api_docs_page_renders_the_endpoints(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    text_ = page(response)
    assert "<code>/api/v1/auth/token</code>" in text_
    assert "<code>/api/v1/me</code>" in text_
    assert "인증 필요: Bearer 토큰" in text_
