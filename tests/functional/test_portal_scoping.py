"""Every provider-portal route, with the ids of another organisation's objects, answers 403 or 404 and never
the data: provider staff of another provider (its admin, taking attendance), an auditor of another ministry, a
learner. Walks the URL map, so a route added later is checked too."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from courses.portal import services as portal
from courses.portal.models import ProviderStaff
from hrdnet.access import Role
from hrdnet.auth import services as auth_services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.conftest import csrf_token
from tests.support.portal import run_values, verify
from tests.support.vouchers import ACTOR

PORTAL = ("portal.", "vetting.", "provider_runs.", "portal_api.", "provider_runs_api.")


@pytest.fixture
def theirs(world, make_user, today):
    """Provider A's objects: a submission waiting for MOEL, a run with an enrolment, one of its staff."""
    run = world.run()
    enrolment = world.enrol(world.learner(), run)
    verify(run.course.provider_id)
    with unit_of_work(write_lock=True):
        submission = portal.save(run.course.provider_id, run_values(today), actor=ACTOR, submit=True)
        staff = auth_services.create_user(
            email="a-staff@example.com", role=Role.PROVIDER, name="김직원", org_code=str(run.course.provider_id)
        )
    return {"submission_id": submission.id, "run_id": run.id, "enrolment_id": enrolment.id, "user_id": staff.id}


def _other_provider_admin(make_user):
    user = make_user("provider")
    verify(user.provider_id)
    db.session.add(ProviderStaff(user_id=user.id, provider_id=user.provider_id, is_admin=True, takes_attendance=True))
    db.session.commit()
    return user


def _routes(app, values):
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(PORTAL) or not rule.arguments:
            continue
        url = rule.build({a: values.get(a, 1) for a in rule.arguments}, append_unknown=False)[1]
        assert all(isinstance(rule._converters[a], IntegerConverter) for a in rule.arguments), rule.rule
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


@pytest.mark.parametrize("who", ["provider", "auditor", "learner"])
def test_another_organisation_gets_403_or_404_everywhere(app, client, login, make_user, theirs, who):
    user = {
        "provider": lambda: _other_provider_admin(make_user),
        "auditor": lambda: make_user("auditor", ministry_code="MSIT"),
        "learner": lambda: make_user("learner"),
    }[who]()
    login(user)
    with unit_of_work(write_lock=True):
        token = auth_services.issue_api_token(user, "scoping").token
    form_token = csrf_token(client, "/account/password")
    checked = []
    for endpoint, method, url in _routes(app, theirs):
        if url.startswith("/api/"):
            body = (
                {"day": "2026-01-05", "marks": [{"enrolment_id": theirs["enrolment_id"], "mark": "present"}]}
                if url.endswith("/attendance")
                else {"reason": "다른 부처의 제출"}
            )
            response = client.open(url, method=method, json=body, headers={"Authorization": f"Bearer {token}"})
        else:
            data = {
                "csrf_token": form_token,
                "reason": "확인 목적의 조회",
                "day": "2026-01-05",
                "note": "x",
                "approve": "1",
            }
            response = client.open(url, method=method, data=data)
        assert response.status_code in (403, 404), (who, endpoint, method, response.status_code)
        checked.append(endpoint)
    assert len(checked) >= 14
