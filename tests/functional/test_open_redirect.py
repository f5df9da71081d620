"""Finding 3: `next` after login is read as a browser reads it, and only same-site paths are followed.

The red team's payloads: `/\\t/evil.example` ended in `Location: //evil.example` (a browser drops the tab),
and `/\\n/x` was a 500 after the session had already been set.
"""

from __future__ import annotations

import pyotp
import pytest

from tests.conftest import PASSWORD, TOTP_SECRET, csrf_token

HOME = "/"
# (what the attacker puts in next, where the login must send the browser)
PAYLOADS = [
    ("/\t/evil.example", HOME),
    ("/\n/x", HOME),
    ("/\r\n/evil.example", HOME),
    ("\\/evil.example", HOME),
    ("/\\evil.example", HOME),
    ("/\\\\evil.example", HOME),
    ("//evil.example", HOME),
    ("///evil.example", HOME),
    (" //evil.example", HOME),
    ("\x00//evil.example", HOME),
    ("https://evil.example", HOME),
    ("HTTPS:evil.example", HOME),
    ("javascript:alert(1)", HOME),
    ("\tjavascript:alert(1)", HOME),
    ("evil.example", HOME),
    ("/%09/evil.example", "/%09/evil.example"),  # an encoded tab stays a path on this site
    ("/me/card?x=1", "/me/card?x=1"),
    (" /account\t", "/account"),
    ("/courses?q=데이터 분석", "/courses?q=%EB%8D%B0%EC%9D%B4%ED%84%B0%20%EB%B6%84%EC%84%9D"),
]
IDS = [repr(p) for p, _ in PAYLOADS]


def _assert_same_site(location: str, expected: str) -> None:
    assert location == expected
    assert location.startswith("/") and not location.startswith("//")
    assert not any(ord(c) < 0x21 or c == "\\" for c in location)


@pytest.mark.parametrize(("next_value", "expected"), PAYLOADS, ids=IDS)
def test_password_login_follows_only_same_site_next(client, make_user, next_value, expected):
    user = make_user("learner")
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": next_value,
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert response.status_code == 302
    _assert_same_site(response.headers["Location"], expected)
    assert client.get("/me").status_code == 200  # and the login itself worked


@pytest.mark.parametrize(("next_value", "expected"), PAYLOADS, ids=IDS)
def test_second_factor_login_follows_only_same_site_next(client, make_user, next_value, expected):
    user = make_user("admin")
    first = client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": next_value,
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert first.headers["Location"] == "/login/2fa"
    response = client.post(
        "/login/2fa", data={"code": pyotp.TOTP(TOTP_SECRET).now(), "csrf_token": csrf_token(client, "/login/2fa")}
    )
    assert response.status_code == 302
    _assert_same_site(response.headers["Location"], expected)
    assert client.get("/admin/").status_code == 200


def test_a_refused_next_from_the_query_string_goes_home(client, make_user):
    """The login page copies ?next= into its form; the value is judged the same way when posted back."""
    user = make_user("learner")
    page = client.get("/login?next=/%09/x")
    assert page.status_code == 200
    response = client.post(
        "/login?next=//evil.example",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": "/\t/evil.example",
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    _assert_same_site(response.headers["Location"], HOME)
