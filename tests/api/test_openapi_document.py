"""What the OpenAPI document promises about access, errors and empty values (red-team finding 17).

tests/api/test_openapi_contract.py checks the API against the document with generated requests; these pin
the specific gaps the red team found, so a regression names itself.
"""

from __future__ import annotations

import pytest

from hrdnet.access import PUBLIC, access_of

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").get_json()


def _operations(spec):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def _endpoint(app, method: str, path: str) -> str:
    flask_path = path.replace("{", "<").replace("}", ">")
    for rule in app.url_map.iter_rules():
        if method.upper() in rule.methods and rule.rule.replace("int:", "") == flask_path:
            return rule.endpoint
    raise LookupError(path)


def test_every_operation_that_needs_a_token_documents_401_and_the_bearer_requirement(app, spec):
    checked = 0
    for method, path, operation in _operations(spec):
        if access_of(app, _endpoint(app, method, path)) is PUBLIC:
            assert "security" not in operation, (method, path)
            continue
        assert "401" in operation["responses"], (method, path)
        assert operation["security"] == [{"bearerAuth": []}], (method, path)
        checked += 1
    assert checked >= 6


def test_error_answers_are_documented_in_the_sites_error_shape(spec):
    for method, path, operation in _operations(spec):
        assert "default" not in operation["responses"], (method, path)  # every status is listed
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                if "$ref" in response:  # a shared answer, e.g. flask-smorest's UNPROCESSABLE_ENTITY
                    response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ApiError"}, (method, path, status)
    assert spec["components"]["schemas"]["ApiError"]["required"] == ["error"]


@pytest.mark.parametrize("path", ["/api/v1/enrolments", "/api/v1/enrolments/{enrolment_id}/cancel"])
def test_idempotency_key_and_its_refusals_are_documented(spec, path):
    operation = spec["paths"][path]["post"]
    (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["schema"]["minLength"] == 1 and header["schema"]["maxLength"] == 100
    assert {"400", "409", "413", "422"} <= set(operation["responses"])


def test_a_blank_idempotency_key_is_the_documented_400(client, make_user):
    from hrdnet.auth import services
    from hrdnet.db import unit_of_work

    user = make_user("learner")
    with unit_of_work(write_lock=True):
        token = services.issue_api_token(user, "test").token
    response = client.post(
        "/api/v1/enrolments", json={"run_id": 1}, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": " "}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "idempotency_key_invalid"


def test_every_optional_query_parameter_documents_that_empty_means_not_given(spec):
    query = [(path, p) for _m, path, op in _operations(spec) for p in op.get("parameters", []) if p["in"] == "query"]
    assert any(p["name"] == "start_to" for _path, p in query)
    for path, parameter in query:
        assert parameter.get("allowEmptyValue") is (not parameter.get("required", False)), (path, parameter["name"])


@pytest.mark.parametrize("query", ["start_to=", "start_from=&start_to=", "page=&per_page="])
def test_an_empty_search_parameter_is_not_given(client, query):
    client.allow_server_errors = True  # the documented 503 before the first index build
    response = client.get(f"/api/v1/courses?{query}")
    assert response.status_code in (200, 503)  # 503: no index in this test; never a 422 for an empty value


def test_an_empty_before_on_my_card_is_not_given(client, make_user):
    from hrdnet.auth import services
    from hrdnet.db import unit_of_work

    user = make_user("learner")
    with unit_of_work(write_lock=True):
        token = services.issue_api_token(user, "test").token
    response = client.get("/api/v1/me/card?before=", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404  # no card yet: the empty value was accepted as "not given", not a 422
    assert response.get_json()["error"]["code"] == "card_not_found"
