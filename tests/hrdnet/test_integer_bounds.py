"""Huge integers in addresses are a 404 or a 400, never a 500 (red-team finding 15).

PostgreSQL is where it shows: primary keys are int4, and a 20-digit id or page reaching a query raised
"integer out of range" (SQLite raised OverflowError). Every route with an <int:...> argument is requested
with a 20-digit id as each role that may reach it (and anonymously), and the integer query parameters of
the pages and the API are tried with out-of-range values, on both databases.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from hrdnet.access import PUBLIC, Role, access_of
from hrdnet.auth import services as auth_services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db

pytestmark = pytest.mark.both_dbs

HUGE = "9" * 20  # > 2**64: no database integer holds it
JUST_OVER_INT4 = str(2**31)  # the smallest id a PostgreSQL int4 column cannot hold


def _sample_value(converter):
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return "x"


def _urls_with_integer_arguments(app, value: str):
    """(endpoint, method, url, access) for every rule with an int converter, each int argument = value."""
    for rule in app.url_map.iter_rules():
        int_args = [name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        if not int_args:
            continue
        values = {name: (value if name in int_args else _sample_value(conv)) for name, conv in rule._converters.items()}
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path, access_of(app, rule.endpoint)


def test_there_are_integer_routes_to_check(app):
    endpoints = {endpoint for endpoint, *_ in _urls_with_integer_arguments(app, HUGE)}
    assert {
        "courses.run",
        "courses_api.get_run",
        "vouchers_api.get_enrolment",
        "vouchers_api.cancel_enrolment",
        "courses.provider",
        "payments.pay",
        "auth.revoke_token",
    } <= endpoints


def _reachable_by(access, role: Role | None) -> bool:
    return access is PUBLIC or (role is not None and role in access)


def _token_headers(user) -> dict:
    with unit_of_work(write_lock=True):
        token = auth_services.issue_api_token(user, "bounds").token
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("value", [HUGE, JUST_OVER_INT4])
@pytest.mark.parametrize("role", [None, *Role])
def test_every_integer_route_answers_404_for_an_id_the_database_cannot_hold(app, client, make_user, login, role, value):
    headers = {}
    if role is not None:
        user = make_user(role)
        login(user)  # pages: the session
        headers = _token_headers(user)  # the API: a bearer token
    checked = 0
    for endpoint, method, url, access in _urls_with_integer_arguments(app, value):
        if not _reachable_by(access, role):
            continue
        response = client.open(url, method=method, headers=headers if url.startswith("/api/") else {})
        assert response.status_code == 404, (endpoint, method, url, response.status_code)
        checked += 1
    assert checked > 0


def test_the_largest_int4_id_still_routes_and_is_simply_not_found(client):
    response = client.get(f"/api/v1/runs/{2**31 - 1}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "run_not_found"


def test_the_openapi_document_states_the_bound_of_path_ids(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    (run_id,) = spec["paths"]["/api/v1/runs/{run_id}"]["parameters"]
    assert run_id["schema"]["maximum"] == 2**31 - 1


# -- integer query parameters of pages -------------------------------------------------------------------------


@pytest.fixture
def provider_id(catalog, make_run, make_course):
    provider = catalog.provider()
    make_run(make_course(provider=provider))
    db.session.commit()
    return provider.id


PAGE_VALUES = [HUGE, JUST_OVER_INT4, "-" + HUGE, "0", "abc", ""]


@pytest.mark.parametrize("value", PAGE_VALUES)
@pytest.mark.parametrize(
    ("role", "path"),
    [
        (None, "/browse/ministry/MOEL"),
        (None, "/browse/region/11"),
        (None, "/courses"),
        (Role.ADMIN, "/admin/users"),
        (Role.ADMIN, "/admin/outbox"),
        (Role.ADMIN, "/admin/imports"),
        (Role.ADMIN, "/admin/courses"),
        (Role.LEARNER, "/me/enrolments"),
    ],
)
def test_a_page_number_out_of_range_shows_a_page_never_a_500(client, login_as, role, path, value):
    if role is not None:
        login_as(role)
    response = client.get(f"{path}?page={value}")
    assert response.status_code == 200, response.status_code


@pytest.mark.parametrize("value", PAGE_VALUES)
def test_a_providers_page_number_out_of_range_shows_a_page(client, provider_id, value):
    response = client.get(f"/providers/{provider_id}?page={value}")
    assert response.status_code == 200


def test_an_admin_course_search_by_a_huge_number_finds_nothing(client, login_as):
    login_as(Role.ADMIN)
    assert client.get(f"/admin/courses?q={HUGE}").status_code == 200


@pytest.mark.parametrize("param", ["before", "card"])
@pytest.mark.parametrize("value", [HUGE, "-" + HUGE, "abc", "²"])
def test_my_card_refuses_an_integer_it_cannot_use_with_400(client, login_as, param, value):
    login_as(Role.LEARNER)
    assert client.get(f"/me/card?{param}={value}").status_code == 400


def test_my_card_still_takes_an_ordinary_before(client, login_as):
    login_as(Role.LEARNER)
    assert client.get("/me/card?before=5&card=").status_code == 200


def test_a_provider_account_for_a_huge_organisation_number_is_refused_in_korean(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "staff@example.com",
            "--role",
            "provider",
            "--org",
            "9999999999999999",
            "--password-stdin",
        ],
        input="correct-horse-battery\n",
    )
    assert result.exit_code != 0
    assert "훈련기관 번호를 찾을 수 없습니다" in result.output


# -- the API -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", [f"before={HUGE}", f"before=-{HUGE}", f"limit={HUGE}"])
def test_api_card_refuses_an_integer_out_of_range_with_422(client, make_user, query):
    response = client.get(f"/api/v1/me/card?{query}", headers=_token_headers(make_user(Role.LEARNER)))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("run_id", [HUGE, JUST_OVER_INT4, -1, 0])
def test_api_enrolment_for_a_run_id_out_of_range_is_422(client, make_user, run_id):
    response = client.post(
        "/api/v1/enrolments", json={"run_id": int(run_id)}, headers=_token_headers(make_user(Role.LEARNER))
    )
    assert response.status_code == 422
