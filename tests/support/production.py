"""A production environment that passes every start-up check (hrdnet.config.check_production_safety).

Tests change one setting of it to see that setting refused, or build a production app from it. The secrets
are fixed random values (secrets.token_urlsafe(48), Fernet.generate_key(), an audit key id and secret) so every run is the same.
"""

STRONG_SECRET = "m3V1bQ8kZrT0xJcW9pLh2sNdYfA6uEo4GiKqXyB7tPwR5nCvMzDjHlS_aF-eU1Ig"
STRONG_IDENTITY_SECRET = "Qp7ZkW2nR9xTb4LcV1mY8sHdJ3fG6aUeK0oPiXyN5tBwM-_rCzEjAlSvDqhFgI2u"
TOTP_KEY = "yq1H7l0cUjv9Xw2bZtE4pKfN6sR8aQmG3dLhCoYiT5U="
AUDIT_KEY = "k1:Xb3Lr8TqZ1mWc6VnP0sJyH4dKfA9uGe2oRiNt7BwM5_xCzQjEaSvDlUhFgY-pI3"

PRODUCTION_ENVIRONMENT = {
    "HRDNET_ENV": "production",
    "SECRET_KEY": STRONG_SECRET,
    "IDENTITY_KEY_SECRET": STRONG_IDENTITY_SECRET,
    "IDENTITY_BACKEND": "none",
    "TOTP_ENCRYPTION_KEYS": TOTP_KEY,
    "AUDIT_KEYS": AUDIT_KEY,
    "PAYMENT_BACKEND": "stripe",
    "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
    "MAIL_BACKEND": "smtp",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
}
# Settings whose development defaults would fail the checks or change what is tested: left unset.
UNSET = ("STRIPE_API_BASE", "STRIPE_JS_URL", "TRUSTED_PROXY_COUNT")


def production_config() -> dict:
    """The same as app configuration overrides (create_app(test_config)), keeping the test's mail and limits."""
    overrides = {
        key: value
        for key, value in PRODUCTION_ENVIRONMENT.items()
        if key not in ("MAIL_BACKEND", "RATELIMIT_STORAGE_URI")
    }
    return {
        **overrides,
        "TOTP_ENCRYPTION_KEYS": [TOTP_KEY],
        "AUDIT_KEYS": [AUDIT_KEY],
        "STRIPE_API_BASE": "https://api.stripe.com",
        "STRIPE_JS_URL": "https://js.stripe.com/v3/",
    }
