"""What every page shares: security headers, navigation per role, template filters."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, request, url_for
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from hrdnet.access import ROLE_LABELS, Role
from hrdnet.privacy import mask_birth_date, mask_email, mask_name, mask_phone
from hrdnet.timeutil import format_kst, format_won

# The site loads nothing from other origins; Stripe.js is the single exception (content_security_policy).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


# (label, endpoint) per audience; None = everyone.
NAV = {
    None: [("훈련과정 찾기", "search.courses"), ("분야별 찾기", "courses.browse_index")],
    Role.LEARNER: [
        ("내 학습", "vouchers.dashboard"),
        ("내 카드", "vouchers.my_card"),
        ("내 수강 신청", "vouchers.my_enrolments"),
        ("관심 과정", "vouchers.my_favourites"),
        ("저장한 검색", "search.saved_searches"),
        ("알림", "vouchers.my_notifications"),
    ],
    Role.PROVIDER: [("훈련기관", "portal.home")],
    Role.AUDITOR: [
        ("감사", "site.auditor_home"),
        ("승인 대기", "portal.queue"),
        ("출석 정정", "provider_runs.correction_queue"),
        ("지출 현황", "audit.spend_dashboard"),
        ("위험 신호", "audit.flags"),
    ],
    Role.ADMIN: [
        ("관리", "admin.dashboard"),
        ("훈련기관 확인", "vetting.pending"),
        ("계정", "admin.users"),
        ("작업 대기열", "admin.outbox_items"),
        ("가져오기 기록", "courses.admin_imports"),
        ("과정 병합·분리", "courses.admin_courses"),
        ("카드 신청 심사", "vouchers.admin_applications"),
        ("본인 연결 심사", "vouchers.admin_identity_links"),
        ("중도탈락 사유 확인", "vouchers.admin_exemptions"),
        ("감사 콘솔", "audit.spend_dashboard"),
    ],
}


def nav_items() -> list[NavItem]:
    entries = list(NAV[None])
    if current_user.is_authenticated:
        entries += NAV.get(Role(current_user.role), [])
        entries.append(("내 계정", "auth.account"))
    return [NavItem(label, url_for(endpoint), request.endpoint == endpoint) for label, endpoint in entries]


def content_security_policy(config) -> str:
    """The site's CSP. With PAYMENT_BACKEND=stripe, STRIPE_JS_URL's origin is the one other origin allowed
    (script, frame, connect): Stripe.js, or localstripe's stand-in in development. Real Stripe.js also talks
    to api.stripe.com and shows 3-D Secure from hooks.stripe.com (Stripe's documented CSP), added only when
    STRIPE_JS_URL is Stripe's own."""
    if config.get("PAYMENT_BACKEND") != "stripe":
        return CONTENT_SECURITY_POLICY
    parts = urlsplit(config.get("STRIPE_JS_URL") or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return CONTENT_SECURITY_POLICY
    origin = f"{parts.scheme}://{parts.netloc}"
    connect, frame = [origin], [origin]
    if origin == "https://js.stripe.com":
        connect.append("https://api.stripe.com")
        frame.append("https://hooks.stripe.com")
    return CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {origin}") + (
        f"; frame-src {' '.join(frame)}; connect-src 'self' {' '.join(connect)}"
    )


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(current_app.config))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    # Production is served over HTTPS only (behind a TLS proxy, TRUSTED_PROXY_COUNT makes is_secure true).
    if request.is_secure or current_app.config["HRDNET_ENV"] == "production":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if current_user.is_authenticated:
        headers.setdefault("Cache-Control", "no-store")  # personal pages stay out of shared caches
    return response


def trust_proxies(app: Flask) -> None:
    """Read the client's address and scheme from the TRUSTED_PROXY_COUNT proxies in front (none by default).

    Without it, behind a proxy every client shares the proxy's address (one rate-limit bucket for everyone)
    and no request looks secure. Trusting headers that no proxy of ours set would let a client choose its own
    address, so the count must match the deployment exactly.
    """
    hops = app.config["TRUSTED_PROXY_COUNT"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def init_web(app: Flask) -> None:
    trust_proxies(app)
    app.after_request(_security_headers)
    app.jinja_env.filters.update(
        won=format_won,
        kst=format_kst,
        kst_date=lambda v: format_kst(v, False),
        mask_name=mask_name,
        mask_email=mask_email,
        mask_phone=mask_phone,
        mask_birth_date=mask_birth_date,
    )

    @app.context_processor
    def _layout_context():
        # Mail templates are also rendered outside requests (command line, worker): no user, no menu there.
        # `data_as_of` (the footer's data freshness) comes from the catalog's own context processor
        # (courses.views), so that this shell does not import the catalog.
        return {"nav_items": nav_items() if has_request_context() else [], "Role": Role, "role_labels": ROLE_LABELS}
