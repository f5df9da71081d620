import pytest

from tests.support.production import PRODUCTION_ENVIRONMENT, UNSET


@pytest.fixture
def production(monkeypatch, tmp_path):
    """Environment variables of a production start that passes every check; change one to see it refused."""
    for name, value in {**PRODUCTION_ENVIRONMENT, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}.items():
        monkeypatch.setenv(name, value)
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch
