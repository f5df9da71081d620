"""Signing a learner up through the real form, as a browser does (CSRF token included)."""

from __future__ import annotations

from tests.conftest import PASSWORD, csrf_token

# A complete, valid sign-up form; tests override the fields they are about.
SIGNUP_FORM = {
    "name": "김하늘",
    "phone": "010-1234-5678",
    "birth_date": "1990-05-17",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
    "agree_privacy": "y",
}


def sign_up(client, email: str, **fields):
    """POST /signup with SIGNUP_FORM for `email`; a field given as None is left out of the form."""
    data = {**SIGNUP_FORM, "email": email, **fields}
    data = {key: value for key, value in data.items() if value is not None}
    return client.post("/signup", data={**data, "csrf_token": csrf_token(client, "/signup")})
