"""Configuration from environment variables, with safe development defaults.

Every setting is read here and nowhere else, so the README's table of variables and this file are the
whole truth about configuration.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from zxcvbn import zxcvbn

log = logging.getLogger(__name__)

# The development default of every secret; production refuses it (and anything guessable, see _guessable).
DEV_SECRET_KEY = "dev-only-not-secret"
MIN_SECRET_LENGTH = 32
# zxcvbn's estimate of the guesses needed, as a power of ten: 10**30 ≈ 2**100, what 16 random bytes give.
MIN_SECRET_GUESSES_LOG10 = 30
# Settings whose development stand-ins production refuses: a stand-in there would let anyone claim to be
# anyone (identity) or mark every co-payment as paid (payment).
# Development's audit-chain key (id "dev"), so `make run` works unconfigured; refused in production.
DEV_AUDIT_KEY = "dev:" + hashlib.sha256(b"hrdnet-audit:" + DEV_SECRET_KEY.encode()).hexdigest()
_DEVELOPMENT_STAND_INS = {"IDENTITY_BACKEND": {"local"}, "PAYMENT_BACKEND": {"local"}}
# Development's TOTP encryption key, derived from the development secret so `make run` works unconfigured.
DEV_TOTP_ENCRYPTION_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"hrdnet-totp:" + DEV_SECRET_KEY.encode()).digest()
).decode()


class ConfigError(RuntimeError):
    """The configuration cannot run safely (raised at start-up, never during a request)."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


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
        # Database errors then name the statement but not its values (e-mails, names), so a logged traceback
        # (the worker, the 500 handler) carries no personal data.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        "SEARCH_INDEX_DIR": env.get("SEARCH_INDEX_DIR") or str(instance / "search-index"),
        # "whoosh" (an index directory per node) or "postgresql" (tables every node shares; docs/scaling.md)
        "SEARCH_BACKEND": env.get("SEARCH_BACKEND", "whoosh"),
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
        # No default in production: a deployment says which processor it uses (check_production_safety).
        "PAYMENT_BACKEND": env.get("PAYMENT_BACKEND", "" if production else "local"),
        # POST /api/v1/enrolments through a per-process batching writer (PostgreSQL only; docs/ledger.md "The API
        # through the batching writer"). Off: each request is written alone, as on SQLite.
        "ENROL_BATCHING": _bool(env.get("ENROL_BATCHING"), True),
        "ENROL_BATCH_SIZE": int(env.get("ENROL_BATCH_SIZE", "25")),  # requests per transaction, at most
        "ENROL_BATCH_LINGER_SECONDS": float(env.get("ENROL_BATCH_LINGER_SECONDS", "0.002")),  # wait to fill one
        # Stripe (PAYMENT_BACKEND=stripe; docs/payments.md). For development and tests the API base and the
        # Stripe.js address point at localstripe on 127.0.0.1 (bin/localstripe). KRW is zero-decimal.
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/"),
        "STRIPE_JS_URL": env.get("STRIPE_JS_URL", "https://js.stripe.com/v3/"),
        "STRIPE_TIMEOUT_SECONDS": float(env.get("STRIPE_TIMEOUT_SECONDS", "20")),
        "STRIPE_WEBHOOK_TOLERANCE_SECONDS": int(env.get("STRIPE_WEBHOOK_TOLERANCE_SECONDS", "300")),
        # Identity verification (본인인증): "local" is the development stand-in, "none" turns self-service
        # verification off (vouchers/identity.py). No default in production.
        "IDENTITY_BACKEND": env.get("IDENTITY_BACKEND", "" if production else "local"),
        # Keys the pseudonymous person key (HMAC of the verification service's CI); never change it once
        # cards exist, or people would no longer match their cards.
        "IDENTITY_KEY_SECRET": env.get("IDENTITY_KEY_SECRET", "" if production else DEV_SECRET_KEY),
        # HRD-Net/고용24 OpenAPI (keys are issued to registered organisations; the site also works from files).
        "HRDNET_API_KEY": env.get("HRDNET_API_KEY", ""),
        "HRDNET_API_BASE": env.get(
            "HRDNET_API_BASE", "https://www.work24.go.kr/cm/openApi/call/hr/callOpenApiSvcInfo310L01.do"
        ),
        # Rate-limit counters; use Redis (redis://127.0.0.1:6379) when several processes serve the site.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        # How many reverse proxies in front of the site set X-Forwarded-For/-Proto (werkzeug's ProxyFix).
        # 0 trusts no such header: behind a TLS proxy set it to 1, or every client shares one rate-limit
        # bucket (the proxy's address) and requests never look secure.
        "TRUSTED_PROXY_COUNT": int(env.get("TRUSTED_PROXY_COUNT", "0")),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "__Host-hrdnet" if production else "hrdnet_session",
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": int(env.get("SESSION_LIFETIME_SECONDS", str(8 * 3600))),
        # Set the session cookie only when the session changed. Refreshing it on every request (Flask's
        # default for permanent sessions) let a late answer to a request sent with an older cookie (the
        # previous page's images) put that cookie back, and with it a flash message already shown. The
        # login's expiry is the server's (user_sessions.expires_at), so refreshing extended nothing.
        "SESSION_REFRESH_EACH_REQUEST": False,
        # Fernet keys for TOTP secrets at rest, comma-separated: the first encrypts, all decrypt (rotation).
        # Keys of the audit chain's HMAC (hrdnet/audit.py), "id:secret" comma-separated, the first signing new
        # entries and the others kept to verify older ones (rotation: docs/ledger.md).
        "AUDIT_KEYS": _list(env.get("AUDIT_KEYS")) or ([] if production else [DEV_AUDIT_KEY]),
        "TOTP_ENCRYPTION_KEYS": _list(env.get("TOTP_ENCRYPTION_KEYS"))
        or ([] if production else [DEV_TOTP_ENCRYPTION_KEY]),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "EMAIL_TOKEN_HOURS": int(env.get("EMAIL_TOKEN_HOURS", "24")),
        "RESET_TOKEN_MINUTES": int(env.get("RESET_TOKEN_MINUTES", "30")),
        # Reset mails (and "someone tried to sign up with your address" notices) one account receives an
        # hour, counted in the database so the cap holds across processes (mail bombing).
        "RESET_MAILS_PER_HOUR": int(env.get("RESET_MAILS_PER_HOUR", "3")),
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
    """Refuse to start a production app with a guessable secret or a development stand-in; warn on the rest."""
    if config.get("HRDNET_ENV") != "production":
        return
    _require_strong_secret(config, "SECRET_KEY", "signs sessions and CSRF tokens")
    _require_strong_secret(config, "IDENTITY_KEY_SECRET", "keys the pseudonymous person key")
    _refuse_development_stand_ins(config)
    if config.get("PAYMENT_BACKEND") == "stripe":
        _require_real_stripe(config)
    _check_totp_encryption_keys(config)
    _check_audit_keys(config)
    _warn_about_single_process_settings(config)


def _guessable(secret: str) -> bool:
    """Too short, or guessable: one repeated character, a word, a keyboard run (zxcvbn's estimate)."""
    return len(secret) < MIN_SECRET_LENGTH or zxcvbn(secret[:100])["guesses_log10"] < MIN_SECRET_GUESSES_LOG10


def _require_strong_secret(config: dict, name: str, purpose: str) -> None:
    secret = config.get(name) or ""
    if secret == DEV_SECRET_KEY or _guessable(secret):
        raise ConfigError(
            f"{name} ({purpose}) must be a random value of at least {MIN_SECRET_LENGTH} characters in production, "
            "not a word, a pattern or a repeated character "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')."
        )


def _refuse_development_stand_ins(config: dict) -> None:
    for name, stand_ins in _DEVELOPMENT_STAND_INS.items():
        value = config.get(name) or ""
        if not value:
            raise ConfigError(f"{name} must be set in production (see the README's configuration table).")
        if value in stand_ins:
            raise ConfigError(f"{name}={value} is a development stand-in and is refused in production.")


def _is_loopback_or_plain(url: str) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return parts.scheme != "https" or loopback


def _require_real_stripe(config: dict) -> None:
    missing = [
        name
        for name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")
        if not config.get(name)
    ]
    if missing:
        raise ConfigError(f"PAYMENT_BACKEND=stripe needs {', '.join(missing)} in production.")
    for name in ("STRIPE_API_BASE", "STRIPE_JS_URL"):  # localstripe (bin/localstripe) is a stand-in too
        if _is_loopback_or_plain(config.get(name) or ""):
            raise ConfigError(
                f"{name}={config.get(name)} points at a local stand-in or plain HTTP; "
                "production talks to Stripe over HTTPS."
            )
    if str(config.get("STRIPE_SECRET_KEY")).startswith("sk_test_"):
        log.warning("STRIPE_SECRET_KEY is a Stripe test-mode key: no real money is collected.")


def _warn_about_single_process_settings(config: dict) -> None:
    """Settings that work but are rarely what a production site wants: said at start, not refused."""
    if config.get("MAIL_BACKEND") == "file":
        log.warning("MAIL_BACKEND=file writes e-mails under %s instead of sending them.", config.get("MAIL_DIR"))
    if str(config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        log.warning("RATELIMIT_STORAGE_URI=memory:// keeps login limits per process; use Redis with several.")


def _check_audit_keys(config: dict) -> None:
    """Production signs the audit chain with its own keys: present, "id:secret", strong, not development's."""
    keys = config.get("AUDIT_KEYS") or []
    if not keys or DEV_AUDIT_KEY in keys:
        raise ConfigError(
            "AUDIT_KEYS must be set in production: 'id:secret' pairs, comma-separated, the first signing new "
            "entries (e.g. python -c 'import secrets; print(\"k1:\" + secrets.token_urlsafe(48))')."
        )
    for position, pair in enumerate(keys, start=1):
        key_id, _colon, secret = pair.partition(":")
        if not key_id or len(key_id) > 16 or _guessable(secret):
            raise ConfigError(
                f"AUDIT_KEYS: key {position} must be 'id:secret' with an id of 1-16 characters and a random "
                f"secret of at least {MIN_SECRET_LENGTH} characters."
            )


def _check_totp_encryption_keys(config: dict) -> None:
    """Production needs real Fernet keys for TOTP secrets: present, well-formed, not development's."""
    from cryptography.fernet import Fernet

    keys = config.get("TOTP_ENCRYPTION_KEYS") or []
    if not keys or DEV_TOTP_ENCRYPTION_KEY in keys:
        raise ConfigError(
            "TOTP_ENCRYPTION_KEYS must be set in production (comma-separated Fernet keys, e.g. "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ConfigError(
                f"TOTP_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 url-safe base64-encoded bytes)."
            ) from None
