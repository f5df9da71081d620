import pytest

from hrdnet.access import Role

OUTSIDER = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.mark.both_dbs
def test_healthz_reports_the_database(client, db_backend):
    response = client.get("/healthz")  # the test client comes from 127.0.0.1: a monitor on the host
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
    assert client.get("/healthz", environ_base=OUTSIDER).get_json() == {"status": "error"}


# Red-team finding 16: /healthz told anyone the outbox counts and the search index's name.
def test_the_public_gets_liveness_only(client):
    response = client.get("/healthz", environ_base=OUTSIDER)
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_a_request_forwarded_by_a_local_proxy_is_not_the_host_itself(client):
    response = client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.get_json() == {"status": "ok"}


def test_admins_see_the_details_from_anywhere(client, login_as):
    login_as(Role.ADMIN)
    body = client.get("/healthz", environ_base=OUTSIDER).get_json()
    assert set(body["checks"]) >= {"database", "outbox", "search_index"}
