"""Error answers: Korean pages for people, `{"error": {...}}` under /api/, and the security headers."""

from __future__ import annotations

import pytest

from hrdnet.access import public
from tests.conftest import csrf_token
from tests.support.pages import (
    error_message,
    page,
)

SECRET_DETAIL = "내부 정보 hong@example.com"


@pytest.fixture
def crashing_app(app, client):
    """The app with a page and an API route that fail unexpectedly (added before its first request)."""

    def crash():
        raise RuntimeError(SECRET_DETAIL)

    app.add_url_rule("/test-crash", "test_crash", public(crash))
    app.add_url_rule("/api/v1/test-crash", "test_api_crash", public(crash))
    app.add_url_rule("/test-undeclared", "test_undeclared", lambda: "should never be served")
    client.allow_server_errors = True  # this test expects a 500
    return app


def test_unknown_page_is_a_korean_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    text = page(response)
    assert '<html lang="ko">' in text
    assert "페이지를 찾을 수 없습니다" in text
    assert error_message(response) == "주소가 바뀌었거나 삭제된 페이지입니다."


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/unknown")
    assert response.status_code == 404
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] == "not_found"
    assert error["message"] == "주소가 바뀌었거나 삭제된 페이지입니다."


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("learner", "/admin/"),
        ("learner", "/admin/users"),
        ("provider", "/audit/"),
        ("auditor", "/me"),
        ("admin", "/provider/"),
    ],
)
def test_pages_of_other_roles_are_a_korean_403(client, login_as, role, path):
    login_as(role)
    response = client.get(path)
    assert response.status_code == 403
    assert "접근 권한이 없습니다" in page(response)
    assert error_message(response) == "이 페이지를 볼 수 있는 권한이 없습니다."


def test_an_unexpected_error_is_a_korean_500_page_without_details(crashing_app, client):
    response = client.get("/test-crash")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "일시적인 오류가 발생했습니다" in page(response)
    assert SECRET_DETAIL not in page(response)


def test_an_unexpected_api_error_is_a_json_500_without_details(crashing_app, client):
    response = client.get("/api/v1/test-crash")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": {
            "code": "server_error",
            "message": ("잠시 후 다시 시도해 주세요. 문제가 계속되면 관리자에게 알려 주세요."),
        }
    }


def test_a_route_without_an_access_declaration_is_closed(crashing_app, client, login_as):
    login_as("admin")
    response = client.get("/test-undeclared")
    assert response.status_code == 403
    assert "should never be served" not in page(response)


def test_wrong_method_is_a_korean_405_naming_the_allowed_ones(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "허용되지 않는 요청입니다" in page(response)
    assert "POST" in response.headers["Allow"]


def test_wrong_method_on_the_api_is_a_json_405(client):
    response = client.get("/api/v1/auth/token")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_a_form_without_csrf_token_is_a_korean_400(client):
    response = client.post("/password/forgot", data={"email": "someone@example.com"})
    assert response.status_code == 400
    assert error_message(response) == "보안 토큰이 만료되었거나 없습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요."


@pytest.mark.parametrize("path", ["/", "/login", "/no-such-page", "/api/v1/unknown", "/api/v1/openapi.json"])
def test_security_headers_are_on_every_answer(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_signed_in_pages_are_not_cached(client, login_as):
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    login_as("learner")
    assert client.get("/me").headers["Cache-Control"] == "no-store"


def test_forms_carry_a_csrf_token(client):
    for path in ("/login", "/signup", "/password/forgot", "/verify/resend"):
        assert csrf_token(client, path)
