"""How Flask-Login finds the current user: session cookie for pages, Bearer token for the API."""

from __future__ import annotations

from flask import g, request
from flask_login import LoginManager

from hrdnet.auth import services
from hrdnet.auth.models import User
from hrdnet.extensions import db


def init_login(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.login_message = "로그인이 필요한 페이지입니다."
    manager.login_message_category = "info"
    manager.session_protection = "strong"

    @manager.user_loader
    def load_from_session(session_id: str) -> User | None:
        if request.path.startswith("/api/"):
            return None  # the API trusts Bearer tokens only (it is CSRF-exempt)
        user_id, _, session_token = session_id.partition(":")
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        # A rotated session token (password reset, role change) ends every older session.
        return user if user is not None and user.session_token == session_token else None

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
