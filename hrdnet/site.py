"""Site-wide pages: home, privacy policy, health check, and each role's home."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from flask import Blueprint, Flask, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import text

from hrdnet import outbox
from hrdnet.access import Role, public, roles, signed_in
from hrdnet.extensions import db

bp = Blueprint("site", __name__)


@bp.get("/")
@public
def home():
    return render_template("site/home.html")


@bp.get("/privacy")
@public
def privacy():
    return render_template("site/privacy.html")


@bp.get("/start")
@signed_in
def role_home():
    """Where a signed-in user's '내 메뉴' link leads."""
    return redirect(url_for(ROLE_HOME[current_user.role]))


ROLE_HOME = {
    Role.LEARNER: "vouchers.dashboard",  # /me, the learner dashboard
    Role.PROVIDER: "portal.home",  # the provider portal (courses.portal.views)
    Role.AUDITOR: "site.auditor_home",
    Role.ADMIN: "admin.dashboard",
}


@bp.get("/audit/")
@roles(Role.AUDITOR)
def auditor_home():
    # The audit console (a domain the shell does not import) fills the page through the registered hook.
    context = current_app.extensions.get(AUDITOR_HOME, dict)()
    return render_template("site/auditor_home.html", **context)


AUDITOR_HOME = "hrdnet_auditor_home_context"


def register_auditor_home(app: Flask, context: Callable[[], dict]) -> None:
    """Let a domain give the auditor home page its main content (a dict for the template)."""
    app.extensions[AUDITOR_HOME] = context


_HEALTH_CHECKS = "hrdnet_health_checks"


def add_health_check(app: Flask, name: str, check: Callable[[], dict]) -> None:
    """Let a domain report on /healthz without the shell importing it (the app factory wires it).

    check() returns {"status": "ok" | "warning" | "error", …}; only "error" makes /healthz answer 503
    (a warning, e.g. a search index not built yet, is worth seeing but the site still serves).
    """
    app.extensions.setdefault(_HEALTH_CHECKS, {})[name] = check


@bp.get("/healthz")
@public
def healthz():
    """Liveness for anyone; the database, outbox and domain checks in detail for admins and the machine itself.

    Outbox counts and index names tell an outsider how busy and how built the site is, so the public answer
    is the overall status only (200 or 503, what a load balancer needs).
    """
    checks = _health_checks()
    ok = all(check["status"] != "error" for check in checks.values())
    body = {"status": "ok" if ok else "error"}
    if _may_see_health_details():
        body["checks"] = checks
    return jsonify(body), 200 if ok else 503


def _may_see_health_details() -> bool:
    """Admins, and requests from this machine that no proxy forwarded (a monitor on the host)."""
    if current_user.is_authenticated and current_user.role == Role.ADMIN:
        return True
    try:
        local = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
    return local and "X-Forwarded-For" not in request.headers


def _health_checks() -> dict:
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = {"status": "ok", "backend": db.engine.dialect.name}
        checks["outbox"] = {"status": "ok", **outbox.counts()}
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        db.session.rollback()
        current_app.logger.warning("health check: database unavailable (%s)", type(exc).__name__)
        checks["database"] = {"status": "error"}
    if checks["database"]["status"] == "ok":
        for name, check in current_app.extensions.get(_HEALTH_CHECKS, {}).items():
            try:
                checks[name] = check()
            except Exception as exc:  # noqa: BLE001
                db.session.rollback()
                current_app.logger.warning("health check %s failed (%s)", name, type(exc).__name__)
                checks[name] = {"status": "error"}
    return checks
