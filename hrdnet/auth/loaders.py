"""How Flask-Login finds the current user: session cookie for pages, Bearer token for the API."""

from __future__ import annotations

from flask import g, request
from flask_login import LoginManager

from hrdnet.auth import services, sessions
from hrdnet.auth.models import User


def init_login(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.login_message = "로그인이 필요한 페이지입니다."
    manager.login_message_category = "info"
    manager.session_protection = "strong"

    # Flask-Login's remember-me cookie is never set (login_user is not called with remember=True); if one
    # is forged it still only carries a session key, which the loader below checks like any other.
    @manager.user_loader
    def load_from_session(session_key: str) -> User | None:
        if request.path.startswith("/api/"):
            return None  # the API trusts Bearer tokens only (it is CSRF-exempt)
        # Only a live server-side session counts: logout, a new password or a role change revoke it.
        user = sessions.user_for_session(session_key)
        if user is not None:
            user.session_key = session_key
        return user

    @manager.request_loader
    def load_from_bearer_token(req) -> User | None:
        header = req.headers.get("Authorization", "")
        if not req.path.startswith("/api/") or not header.startswith("Bearer "):
            return None
        found = services.user_for_api_token(header.removeprefix("Bearer ").strip())
        if found is None:
            return None
        user, token = found
        g.api_token_id = token.id
        return user
