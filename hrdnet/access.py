"""Deny by default: every route must say who may reach it.

Views declare their audience with @public or @roles(...). A before_request hook looks the declaration up
for the matched endpoint and refuses anything undeclared, so a route someone forgot to guard is closed
rather than open; tests/hrdnet/test_route_guards.py also fails the build when one exists.

Put the decorator directly under the route decorator; wrappers made with functools.wraps keep the mark.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user

log = logging.getLogger(__name__)

ACCESS_ATTR = "hrdnet_access"
PUBLIC_ENDPOINTS = "hrdnet_public_endpoints"


class Role(StrEnum):
    LEARNER = "learner"
    PROVIDER = "provider"
    AUDITOR = "auditor"
    ADMIN = "admin"


ALL_ROLES = frozenset(Role)
ROLE_LABELS = {Role.LEARNER: "훈련생", Role.PROVIDER: "훈련기관", Role.AUDITOR: "부처 감사", Role.ADMIN: "관리자"}


class _Public:
    def __repr__(self) -> str:
        return "PUBLIC"


PUBLIC = _Public()


def public(view: Callable) -> Callable:
    """Anyone, signed in or not, may reach this view."""
    setattr(view, ACCESS_ATTR, PUBLIC)
    return view


def roles(*allowed: Role | str) -> Callable[[Callable], Callable]:
    """Only signed-in users with one of these roles may reach this view."""
    if not allowed:
        raise ValueError("roles() needs at least one role; use @public for open views")
    names = frozenset(Role(r) for r in allowed)

    def mark(view: Callable) -> Callable:
        setattr(view, ACCESS_ATTR, names)
        return view

    return mark


def signed_in(view: Callable) -> Callable:
    """Any signed-in user, whatever the role."""
    return roles(*ALL_ROLES)(view)


def current_learner_id() -> int | None:
    """The signed-in user's id when they are a learner (pages that show a learner their own figures), else None."""
    if current_user.is_authenticated and current_user.role == Role.LEARNER:
        return current_user.id
    return None


def access_of_view(view: Callable):
    """The audience a view function declares: PUBLIC, a frozenset of roles, or None (undeclared)."""
    return getattr(view, ACCESS_ATTR, None)


def declare_public(app: Flask, *endpoints: str) -> None:
    """Mark endpoints whose views we do not write (static files, the OpenAPI document) as public."""
    missing = [e for e in endpoints if e not in app.view_functions]
    if missing:
        raise LookupError(f"no such endpoints: {missing}")
    app.extensions.setdefault(PUBLIC_ENDPOINTS, set()).update(endpoints)


def access_of(app: Flask, endpoint: str):
    """The declared audience of an endpoint: PUBLIC, a frozenset of roles, or None (undeclared)."""
    if endpoint in app.extensions.get(PUBLIC_ENDPOINTS, ()):
        return PUBLIC
    return getattr(app.view_functions.get(endpoint), ACCESS_ATTR, None)


def undeclared_endpoints(app: Flask) -> list[str]:
    """Endpoints that neither @public nor @roles covers; must be empty."""
    return sorted(rule.endpoint for rule in app.url_map.iter_rules() if access_of(app, rule.endpoint) is None)


def enforce_access():
    """before_request: apply the declaration of the matched endpoint (deny when there is none)."""
    if request.endpoint is None:  # no route matched: let routing answer 404/405
        return None
    access = access_of(current_app, request.endpoint)
    if access is PUBLIC:
        return None
    if access is None:
        log.error("route %s has no access declaration; denied", request.endpoint)
        abort(403)
    if not current_user.is_authenticated:
        if request.path.startswith("/api/"):
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.role not in access:
        abort(403)
    return None
