import pytest


@pytest.mark.both_dbs
def test_healthz_reports_the_database(client, db_backend):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"status": "ok", "backend": db_backend}


def test_healthz_answers_503_when_the_database_is_gone(app, client, tmp_path):
    from hrdnet.extensions import db

    db.engine.dispose()
    (tmp_path / "test.sqlite3").unlink()
    (tmp_path / "test.sqlite3").mkdir()  # a directory where the database file was: cannot be opened
    client.allow_server_errors = True  # 503 is the answer under test
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == {"status": "error"}
