"""Fixtures of the shell's tests."""

import pytest

from hrdnet import create_app
from hrdnet.extensions import db
from tests.support.production import PRODUCTION_ENVIRONMENT, UNSET


@pytest.fixture
def production(monkeypatch, tmp_path):
    """Environment variables of a production start that passes every check; change one to see it refused."""
    for name, value in {**PRODUCTION_ENVIRONMENT, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}.items():
        monkeypatch.setenv(name, value)
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def empty_app(tmp_path, db_backend, request):
    """An app on a database with no tables at all (not even alembic_version): for the migration tests."""
    from tests.conftest import _pg_admin_engine, _test_config, postgres_url

    if db_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        cleanup = None
    else:
        import uuid

        from sqlalchemy import text

        name = f"hrdnet_mig_{uuid.uuid4().hex[:10]}"
        engine = _pg_admin_engine()
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = postgres_url(name)

        def cleanup():
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()

    app = create_app(_test_config(tmp_path, url))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if cleanup:
        cleanup()
