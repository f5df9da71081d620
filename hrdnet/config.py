"""Configuration from environment variables, with safe development defaults.

Every setting is read here and nowhere else, so the README's table of variables and this file are the
whole truth about configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

# Secrets that must never reach production: the development default and obvious placeholders.
DEV_SECRET_KEY = "dev-only-not-secret"
_WEAK_SECRETS = {"", DEV_SECRET_KEY, "changeme", "secret", "dev"}


class ConfigError(RuntimeError):
    """The configuration cannot run safely (raised at start-up, never during a request)."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(instance_path: str, environ: dict[str, str] | None = None) -> dict:
    """Build the app configuration from environment variables (defaults suit development)."""
    env = os.environ if environ is None else environ
    instance = Path(instance_path)
    mode = env.get("HRDNET_ENV", "development")
    production = mode == "production"
    return {
        "HRDNET_ENV": mode,
        "SECRET_KEY": env.get("SECRET_KEY", "" if production else DEV_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL") or f"sqlite:///{instance / 'hrdnet.sqlite3'}",
        "SEARCH_INDEX_DIR": env.get("SEARCH_INDEX_DIR") or str(instance / "search-index"),
        # Links in e-mails are built from this, never from the request's Host header (which an attacker
        # controls: a reset link pointing at their host would leak the token).
        "SITE_URL": env.get("SITE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "MAIL_BACKEND": env.get("MAIL_BACKEND", "file"),
        "MAIL_DIR": env.get("MAIL_DIR") or str(instance / "mail"),
        "MAIL_FROM": env.get("MAIL_FROM", "hrdnet <no-reply@hrdnet.invalid>"),
        "SMTP_HOST": env.get("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(env.get("SMTP_PORT", "25")),
        "SMTP_USERNAME": env.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(env.get("SMTP_STARTTLS"), False),
        "PAYMENT_BACKEND": env.get("PAYMENT_BACKEND", "local"),
        # Stripe (PAYMENT_BACKEND=stripe; docs/payments.md). For development and tests the API base and the
        # Stripe.js address point at localstripe on 127.0.0.1 (bin/localstripe). KRW is zero-decimal.
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/"),
        "STRIPE_JS_URL": env.get("STRIPE_JS_URL", "https://js.stripe.com/v3/"),
        "STRIPE_TIMEOUT_SECONDS": float(env.get("STRIPE_TIMEOUT_SECONDS", "20")),
        "STRIPE_WEBHOOK_TOLERANCE_SECONDS": int(env.get("STRIPE_WEBHOOK_TOLERANCE_SECONDS", "300")),
        # Identity verification (본인인증): "local" is the development stand-in (vouchers/identity.py).
        "IDENTITY_BACKEND": env.get("IDENTITY_BACKEND", "local"),
        # Keys the pseudonymous person key (HMAC of the verification service's CI); never change it once
        # cards exist, or people would no longer match their cards.
        "IDENTITY_KEY_SECRET": env.get("IDENTITY_KEY_SECRET", "" if production else DEV_SECRET_KEY),
        # HRD-Net/고용24 OpenAPI (keys are issued to registered organisations; the site also works from files).
        "HRDNET_API_KEY": env.get("HRDNET_API_KEY", ""),
        "HRDNET_API_BASE": env.get("HRDNET_API_BASE",
                                   "https://www.work24.go.kr/cm/openApi/call/hr/callOpenApiSvcInfo310L01.do"),
        # Rate-limit counters; use Redis (redis://127.0.0.1:6379) when several processes serve the site.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "__Host-hrdnet" if production else "hrdnet_session",
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": int(env.get("SESSION_LIFETIME_SECONDS", str(8 * 3600))),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "EMAIL_TOKEN_HOURS": int(env.get("EMAIL_TOKEN_HOURS", "24")),
        "RESET_TOKEN_MINUTES": int(env.get("RESET_TOKEN_MINUTES", "30")),
        "OUTBOX_MAX_ATTEMPTS": int(env.get("OUTBOX_MAX_ATTEMPTS", "8")),
        "WORKER_INTERVAL_SECONDS": float(env.get("WORKER_INTERVAL_SECONDS", "1.0")),
        # Request bodies (hrdnet/request_size.py): larger ones are refused with 413 before they are read.
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(1024 * 1024))),
        "WEBHOOK_MAX_CONTENT_LENGTH": int(env.get("WEBHOOK_MAX_CONTENT_LENGTH", str(64 * 1024))),
        "API_TITLE": "hrdnet API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }


def check_production_safety(config: dict) -> None:
    """Refuse to start a production app with a missing or known-weak secret key."""
    if config.get("HRDNET_ENV") != "production":
        return
    key = config.get("SECRET_KEY") or ""
    if key in _WEAK_SECRETS or len(key) < 32:
        raise ConfigError(
            "SECRET_KEY must be set to a random value of at least 32 characters in production "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')."
        )
    if config.get("PAYMENT_BACKEND") == "stripe":
        missing = [name for name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")
                   if not config.get(name)]
        if missing:
            raise ConfigError(f"PAYMENT_BACKEND=stripe needs {', '.join(missing)} in production.")
    identity_secret = config.get("IDENTITY_KEY_SECRET") or ""
    if identity_secret in _WEAK_SECRETS or len(identity_secret) < 32:
        raise ConfigError("IDENTITY_KEY_SECRET must be set to a random value of at least 32 characters in production.")
