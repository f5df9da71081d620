"""The approval workflow over HTTP: a verified provider submits a run through the form, the programme's
ministry auditor sees it in the queue with a field-by-field diff and decides; the provider is told in the
portal and by e-mail; an approved run reaches the catalog and the search index in one worker pass, and an
edit of it waits for approval while the public keeps seeing the approved revision.
"""

from __future__ import annotations

import re

from sqlalchemy import inspect, select

from courses.models import Run
from courses.portal.models import Submission
from hrdnet.audit import AuditEntry
from hrdnet.auth.models import User
from hrdnet.extensions import db
from tests.conftest import csrf_token
from tests.support.portal import form_data, run_values, verify


def _worker_pass(runner) -> None:
    db.session.remove()  # the worker works in its own transactions, as the real process would
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output


def _submit(client, values, action="submit", path="/provider/submissions/new"):
    return client.post(path, data=form_data(values, action) | {"csrf_token": csrf_token(client, path)})


def _provider(make_user, login):
    user = make_user("provider")
    verify(user.provider_id)
    return login(user)


def _again(login, user):
    """Sign a user in again after a worker pass ended the session the test's objects came from."""
    return login(db.session.get(User, inspect(user).identity[0]))


def _decide(client, submission_id, **data):
    path = f"/audit/submissions/{submission_id}"
    return client.post(path, data=data | {"csrf_token": csrf_token(client, path)})


def _searched(client, text):
    return [item["run_id"] for item in client.get(f"/api/v1/courses?q={text}&per_page=50").get_json()["items"]]


def test_submit_review_approve_publish_and_edit(app, client, runner, make_user, login, mailbox, today):
    provider = _provider(make_user, login)
    provider_email = provider.email
    values = run_values(today)
    response = _submit(client, values)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    submission = db.session.scalar(select(Submission))
    assert submission.state == "submitted" and submission.run_id is None
    assert client.get(f"/provider/submissions/{submission.id}").status_code == 200
    client.get("/logout")

    login(make_user("auditor"))
    queue = client.get("/audit/submissions/").get_data(as_text=True)
    assert values["title"] in queue
    review = client.get(f"/audit/submissions/{submission.id}").get_data(as_text=True)
    assert "9,000,000원" in review and "25명" in review
    assert _decide(client, submission.id, approve="1").status_code == 302

    run = db.session.get(Run, db.session.get(Submission, submission.id).run_id)
    assert (run.status, run.fee, run.capacity, run.schedule_source) == ("open", 9_000_000, 25, "provider")
    assert run.hours == run.days * 8 and run.days == run.schedule.count("1") > 50
    run_id = run.id
    _worker_pass(runner)
    assert run_id in _searched(client, "생성형")
    assert client.get(f"/runs/{run_id}").status_code == 200
    notice = [m for m in mailbox() if m["To"] == provider_email]
    assert len(notice) == 1 and "승인되어 공개" in notice[0].get_content()

    client.get("/logout")
    _again(login, provider)
    edited = run_values(today, fee=10_000_000, support_amount=10_000_000, capacity=30)
    response = _submit(client, edited, path=f"/provider/submissions/{submission.id}/edit")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert db.session.get(Run, run_id).fee == 9_000_000  # the public keeps the approved revision
    client.get("/logout")

    login(make_user("auditor"))  # another of the ministry's auditors (a TOTP code is good for one login)
    review = client.get(f"/audit/submissions/{submission.id}").get_data(as_text=True)
    changed = re.findall(r'<tr class="diff-changed">\s*<th scope="row">([^<]+)', review)
    assert [label.strip() for label in changed] == ["훈련비", "정부 승인 지원금", "정원"]
    assert _decide(client, submission.id, approve="1").status_code == 302
    db.session.expire_all()
    assert (db.session.get(Run, run_id).fee, db.session.get(Submission, submission.id).approved) == (10_000_000, 2)
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "run_submission")).all()
    assert actions == ["submission.submitted", "submission.approved", "submission.submitted", "submission.approved"]


def test_rejection_needs_a_reason_and_tells_the_provider(app, client, make_user, login, mailbox, today):
    provider = _provider(make_user, login)
    _submit(client, run_values(today))
    submission_id = db.session.scalar(select(Submission.id))
    client.get("/logout")
    login(make_user("auditor"))
    refused = _decide(client, submission_id, reject="1", reason=" ")
    assert refused.status_code == 422 and "반려 사유를 입력해 주세요" in refused.get_data(as_text=True)
    assert _decide(client, submission_id, reject="1", reason="훈련비 산정 근거가 없습니다").status_code == 302
    assert db.session.get(Submission, submission_id).state == "rejected"
    client.get("/logout")
    login(provider)
    home = client.get("/provider/").get_data(as_text=True)
    assert "반려되었습니다. 사유: 훈련비 산정 근거가 없습니다" in home
    assert any("훈련비 산정 근거가 없습니다" in m.get_content() for m in mailbox() if m["To"] == provider.email)
    assert db.session.scalar(select(Run.id)) is None  # nothing reached the catalog
    assert _submit(client, run_values(today), path=f"/provider/submissions/{submission_id}/edit").status_code == 302
    db.session.expire_all()
    assert (db.session.get(Submission, submission_id).state, db.session.get(Submission, submission_id).head) == (
        "submitted",
        2,
    )


def test_a_withdrawn_run_leaves_the_catalog_and_the_index(app, client, runner, make_user, login, today):
    provider = _provider(make_user, login)
    _submit(client, run_values(today))
    submission_id = db.session.scalar(select(Submission.id))
    client.get("/logout")
    login(make_user("auditor"))
    _decide(client, submission_id, approve="1")
    run_id = db.session.get(Submission, submission_id).run_id
    _worker_pass(runner)
    assert run_id in _searched(client, "생성형")
    client.get("/logout")
    _again(login, provider)
    path = f"/provider/submissions/{submission_id}/withdraw"
    assert (
        client.post(path, data={"csrf_token": csrf_token(client, f"/provider/submissions/{submission_id}")}).status_code
        == 302
    )
    _worker_pass(runner)
    assert run_id not in _searched(client, "생성형")
    assert client.get(f"/runs/{run_id}").status_code == 404


def test_unverified_providers_cannot_submit(client, login_as, today):
    login_as("provider")
    assert "관리자가 훈련기관을 확인하면" in client.get("/provider/").get_data(as_text=True)
    assert _submit(client, run_values(today), action="save").status_code == 409
    assert db.session.scalar(select(Submission.id)) is None


def test_the_queue_and_every_submission_are_scoped(app, client, make_user, login, today):
    """Another provider's staff and another ministry's auditor get 404, never the data."""
    _provider(make_user, login)
    _submit(client, run_values(today))
    submission_id = db.session.scalar(select(Submission.id))
    client.get("/logout")
    _provider(make_user, login)
    for path in (f"/provider/submissions/{submission_id}", f"/provider/submissions/{submission_id}/edit"):
        assert client.get(path).status_code == 404
    client.get("/logout")
    login(make_user("auditor", ministry_code="MSIT"))  # KDT (C0104) is MOEL's
    assert "생성형" not in client.get("/audit/submissions/").get_data(as_text=True)
    assert client.get(f"/audit/submissions/{submission_id}").status_code == 404
    client.get("/logout")
    login(make_user("auditor"))
    assert "1건" in client.get("/audit/").get_data(as_text=True)
