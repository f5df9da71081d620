"""Deny by default: every route declares its audience, and the declaration is what the server enforces."""

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter

from hrdnet import create_app
from hrdnet.access import PUBLIC, Role, access_of, public, roles, undeclared_endpoints


def test_every_route_is_declared_public_or_role_guarded(app):
    assert undeclared_endpoints(app) == []


def test_an_undeclared_route_is_reported_and_refused(app_config):
    """Adding a route without @public/@roles fails the check above, and the server denies it anyway."""
    app = create_app(app_config)

    @app.get("/forgotten")
    def forgotten():
        return "secret"

    @app.get("/declared")
    @public
    def declared():
        return "fine"

    assert undeclared_endpoints(app) == ["forgotten"]
    client = app.test_client()
    assert client.get("/forgotten").status_code == 403
    assert client.get("/declared").status_code == 200


def test_roles_needs_at_least_one_role():
    with pytest.raises(ValueError):
        roles()


def _url_for_rule(rule) -> str:
    values = {arg: 1 if isinstance(rule._converters[arg], IntegerConverter) else "x" for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def _guarded_routes(app: Flask):
    for rule in app.url_map.iter_rules():
        access = access_of(app, rule.endpoint)
        if access is PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, _url_for_rule(rule), access


def test_there_are_guarded_routes_to_check(app):
    endpoints = {endpoint for endpoint, *_ in _guarded_routes(app)}
    assert {"admin.users", "vouchers.dashboard", "auth.account", "auth_api.me"} <= endpoints


def test_anonymous_visitors_are_sent_to_login_or_told_401(app, client):
    for endpoint, method, url, _access in _guarded_routes(app):
        response = client.open(url, method=method)
        if url.startswith("/api/"):
            assert response.status_code == 401, (endpoint, method)
            assert response.get_json()["error"]["code"] == "unauthorized"
        else:
            assert response.status_code == 302, (endpoint, method)
            assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", list(Role))
def test_each_role_is_refused_exactly_where_it_is_not_allowed(app, login_as, client, role):
    login_as(role)
    checked = 0
    for endpoint, method, url, access in _guarded_routes(app):
        if url.startswith("/api/"):
            continue  # the API authenticates by token; see test_api_routes_apply_the_same_declarations
        status = client.open(url, method=method).status_code
        if role in access:
            assert status not in (401, 403, 500), (endpoint, method, status)
        else:
            assert status == 403, (endpoint, method, status)
            checked += 1
    assert checked > 0  # every role has somewhere it may not go (e.g. admins on the learner pages)


@pytest.mark.parametrize("role", list(Role))
def test_api_routes_apply_the_same_declarations(app, make_user, client, role):
    from hrdnet.auth import services
    from hrdnet.db import unit_of_work

    user = make_user(role)
    with unit_of_work(write_lock=True):
        token = services.issue_api_token(user, "test").token
    headers = {"Authorization": f"Bearer {token}"}
    for endpoint, method, url, access in _guarded_routes(app):
        if not url.startswith("/api/") or (endpoint, method) == ("auth_api.revoke_token", "DELETE"):
            continue
        status = client.open(url, method=method, headers=headers).status_code
        assert (status == 403) == (role not in access), (endpoint, method, status)
