"""The portal's JSON API: drafts and submissions by providers, the queue and decisions by auditors, each
scoped to its organisation."""

from __future__ import annotations

from sqlalchemy import select

from courses.models import Run
from hrdnet.auth import services as auth_services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.support.portal import run_values, verify


def _bearer(user) -> dict:
    with unit_of_work(write_lock=True):
        token = auth_services.issue_api_token(user, "portal test").token
    return {"Authorization": f"Bearer {token}"}


def _json(values: dict, submit: bool) -> dict:
    out = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}
    out["training_days"] = [d.isoformat() for d in values["training_days"]]
    return out | {"submit": submit}


def test_providers_draft_and_submit_and_auditors_decide(client, make_user, today):
    staff = make_user("provider")
    verify(staff.provider_id)
    provider = _bearer(staff)
    draft = client.post("/api/v1/provider/runs", json={"title": "초안"}, headers=provider)
    assert draft.status_code == 201 and draft.get_json()["status"] == "draft"

    invalid = client.post("/api/v1/provider/runs", json=_json(run_values(today, capacity=0), True), headers=provider)
    assert invalid.status_code == 422
    assert invalid.get_json()["error"]["details"] == {"capacity": ["정원은 1명 이상 300명 이하여야 합니다."]}

    made = client.post("/api/v1/provider/runs", json=_json(run_values(today), True), headers=provider)
    assert made.status_code == 201, made.get_json()
    submission_id = made.get_json()["submission_id"]
    assert made.get_json()["status"] == "submitted"

    elsewhere = _bearer(make_user("auditor", ministry_code="MSIT"))
    assert client.get("/api/v1/audit/submissions", headers=elsewhere).get_json() == {"items": []}
    assert client.post(f"/api/v1/audit/submissions/{submission_id}/approve", headers=elsewhere).status_code == 404
    assert client.post("/api/v1/provider/runs", json={}, headers=_bearer(make_user("learner"))).status_code == 403

    auditor = _bearer(make_user("auditor"))
    [item] = client.get("/api/v1/audit/submissions", headers=auditor).get_json()["items"]
    assert item["submission_id"] == submission_id and item["first"] is True
    assert {"field": "fee", "label": "훈련비", "before": "—", "after": "9,000,000원"} in item["diff"]
    no_reason = client.post(f"/api/v1/audit/submissions/{submission_id}/reject", json={"reason": ""}, headers=auditor)
    assert no_reason.status_code == 422 and no_reason.get_json()["error"]["code"] == "reason_required"
    approved = client.post(f"/api/v1/audit/submissions/{submission_id}/approve", json={}, headers=auditor)
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert db.session.scalar(select(Run.status).where(Run.id == approved.get_json()["run_id"])) == "open"
    again = client.post(f"/api/v1/audit/submissions/{submission_id}/approve", json={}, headers=auditor)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "illegal_transition"
