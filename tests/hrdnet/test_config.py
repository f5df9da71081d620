import pytest
from cryptography.fernet import Fernet

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


def test_production_starts_with_a_strong_secret_and_hardened_cookies(monkeypatch, tmp_path):
    monkeypatch.setenv("HRDNET_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    monkeypatch.setenv("IDENTITY_KEY_SECRET", "i" * 48)
    monkeypatch.setenv("TOTP_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
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


def test_production_refuses_to_start_without_an_identity_key_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("HRDNET_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    monkeypatch.delenv("IDENTITY_KEY_SECRET", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with pytest.raises(ConfigError, match="IDENTITY_KEY_SECRET"):
        create_app()
