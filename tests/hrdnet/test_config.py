import logging

import pytest

from hrdnet import create_app
from hrdnet.config import DEV_SECRET_KEY, ConfigError, from_environment


@pytest.mark.parametrize("secret", [None, "", DEV_SECRET_KEY, "changeme", "short-but-not-empty"])
def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch, tmp_path, secret):
    monkeypatch.setenv("HRDNET_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_starts_with_a_strong_secret_and_hardened_cookies(production):
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")


def test_development_defaults_use_a_sqlite_file_under_instance(tmp_path):
    config = from_environment(str(tmp_path), environ={})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'hrdnet.sqlite3'}"
    assert config["SEARCH_INDEX_DIR"] == str(tmp_path / "search-index")
    assert config["MAIL_BACKEND"] == "file"


def test_database_url_switches_to_postgresql(tmp_path):
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert from_environment(str(tmp_path), environ={"DATABASE_URL": url})["SQLALCHEMY_DATABASE_URI"] == url


def test_production_refuses_to_start_without_an_identity_key_secret(production):
    production.delenv("IDENTITY_KEY_SECRET")
    with pytest.raises(ConfigError, match="IDENTITY_KEY_SECRET"):
        create_app()


# Red-team finding 16: only the length was checked, so these 32+ character keys passed.
@pytest.mark.parametrize(
    "secret",
    [
        "k" * 48,
        "password" * 5,
        "correcthorse" * 3,
        "abcdefghijklmnopqrstuvwxyz0123456789",
        "qwertyuiopasdfghjklzxcvbnm1234567890",
        "0123456789" * 4,
        "dev-only-not-secret" * 2,
    ],
)
@pytest.mark.parametrize("name", ["SECRET_KEY", "IDENTITY_KEY_SECRET"])
def test_production_refuses_a_long_but_guessable_secret(production, name, secret):
    production.setenv(name, secret)
    with pytest.raises(ConfigError, match=name):
        create_app()


# Red-team findings 1 and 2: production started with the identity and payment stand-ins, so anyone could
# verify as anyone and every co-payment counted as paid.
@pytest.mark.parametrize(
    "name, value",
    [
        ("IDENTITY_BACKEND", "local"),
        ("PAYMENT_BACKEND", "local"),
        ("IDENTITY_BACKEND", None),
        ("PAYMENT_BACKEND", None),
    ],
)
def test_production_refuses_development_stand_ins_and_names_the_setting(production, name, value):
    if value is None:
        production.delenv(name)  # the development default must not apply in production
    else:
        production.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        create_app()


@pytest.mark.parametrize(
    "name, value",
    [
        ("STRIPE_API_BASE", "http://127.0.0.1:8420"),
        ("STRIPE_JS_URL", "http://127.0.0.1:8420/js.stripe.com/v3/"),
        ("STRIPE_API_BASE", "https://localhost:8420"),
        ("STRIPE_API_BASE", "http://api.stripe.com"),
    ],
)
def test_production_refuses_the_local_stripe_stand_in(production, name, value):
    production.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        create_app()


def test_file_mail_and_per_process_limits_are_warnings_not_refusals(production, caplog):
    production.setenv("MAIL_BACKEND", "file")
    production.setenv("RATELIMIT_STORAGE_URI", "memory://")
    with caplog.at_level(logging.WARNING, logger="hrdnet.config"):
        create_app()
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "MAIL_BACKEND=file" in said and "RATELIMIT_STORAGE_URI=memory://" in said


def test_the_none_identity_backend_refuses_self_service_verification_in_korean(app):
    from datetime import date

    from vouchers.cards import identity
    from vouchers.errors import IdentityUnavailable

    app.config["IDENTITY_BACKEND"] = "none"
    with pytest.raises(IdentityUnavailable, match="본인인증 서비스가 아직 연결되지 않았습니다"):
        identity.verifier().verify(name="홍길동", birth_date=date(1990, 1, 1), phone="010-1234-5678")


@pytest.mark.parametrize("value", [None, "k1:short", "dev:" + "x" * 64, "no-colon-" + "x" * 40])
def test_production_refuses_to_start_without_a_real_audit_key(production, value):
    if value is None:
        production.delenv("AUDIT_KEYS")
    else:
        production.setenv("AUDIT_KEYS", value)
    with pytest.raises(ConfigError, match="AUDIT_KEYS"):
        create_app()
