"""A run's roster, attendance and settlement for its provider: names masked except for attendance-taking staff,
contact data only with a stated reason (logged), one day's marks by page, CSV or API (outing included), a
settled period locked, unmarked days counted as absences, and every other organisation kept out.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from courses import calendar
from courses.portal.models import ProviderStaff
from hrdnet.access import Role
from hrdnet.audit import AuditEntry
from hrdnet.auth import services as auth_services
from hrdnet.auth.models import User
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.privacy import mask_name
from tests.conftest import PASSWORD, csrf_token
from tests.support.vouchers import ACTOR
from vouchers.enrolments import attendance
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Attendance


@pytest.fixture
def training(world, today):
    """A run that started 40 days ago with two learners in training, and its provider's staff."""
    run = world.run(start=today - timedelta(days=40), days=59, fee=1_000_000)
    learners = [world.learner(), world.learner()]
    enrolled = [world.enrol(learner, run, today=run.start_date - timedelta(days=1)) for learner in learners]
    with unit_of_work(write_lock=True):
        enrolments.start_due(today)
    provider_id = run.course.provider_id
    staff = {}
    for name, takes in (("taker", True), ("plain", False)):
        with unit_of_work(write_lock=True):
            user = auth_services.create_user(
                email=f"{name}@example.com",
                role=Role.PROVIDER,
                name="김담당",
                org_code=str(provider_id),
                password=PASSWORD,
            )
            db.session.add(ProviderStaff(user_id=user.id, provider_id=provider_id, takes_attendance=takes))
        staff[name] = user
    return run, [e.id for e in enrolled], staff, [u.name for u in learners]


def _bearer(user) -> dict:
    with unit_of_work(write_lock=True):
        token = auth_services.issue_api_token(user, "roster test").token
    return {"Authorization": f"Bearer {token}"}


def _learner_names(enrolment_ids):
    return [
        db.session.scalar(select(User.name).join_from(User, attendance.Enrolment).where(attendance.Enrolment.id == e))
        for e in enrolment_ids
    ]


def test_names_are_masked_except_for_attendance_takers(client, login, training):
    run, enrolment_ids, staff, _ = training
    names = _learner_names(enrolment_ids)
    login(staff["plain"])
    page = client.get(f"/provider/runs/{run.id}/roster").get_data(as_text=True)
    assert all(mask_name(n) in page and n not in page for n in names)
    refused = client.post(
        f"/provider/runs/{run.id}/attendance",
        data={"csrf_token": csrf_token(client, f"/provider/runs/{run.id}/roster"), "day": run.start_date.isoformat()},
    )
    assert refused.status_code == 403
    client.get("/logout")
    login(staff["taker"])
    page = client.get(f"/provider/runs/{run.id}/roster").get_data(as_text=True)
    assert all(n in page for n in names)


def test_contact_data_needs_a_reason_which_is_logged(client, login, training):
    run, enrolment_ids, staff, _ = training
    login(staff["plain"])
    path = f"/provider/runs/{run.id}/roster/{enrolment_ids[0]}/contact"
    token = csrf_token(client, f"/provider/runs/{run.id}/roster")
    assert client.post(path, data={"csrf_token": token, "reason": ""}).status_code == 422
    shown = client.post(path, data={"csrf_token": token, "reason": "결석 사유 확인 전화"}).get_data(as_text=True)
    email = db.session.scalar(
        select(User.email).join_from(User, attendance.Enrolment).where(attendance.Enrolment.id == enrolment_ids[0])
    )
    assert email in shown
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "roster.contact_viewed"))
    assert "결석 사유 확인 전화" in entry.data and email not in entry.data


def test_a_day_by_page_csv_and_api(client, login, training, today):
    run, (first, second), staff, _ = training
    days = calendar.training_days(run)
    login(staff["taker"])
    roster_page = f"/provider/runs/{run.id}/roster"
    response = client.post(
        f"/provider/runs/{run.id}/attendance",
        data={
            "csrf_token": csrf_token(client, roster_page),
            "day": days[0].isoformat(),
            f"mark-{first}": "present",
            f"mark-{second}": "outing",
        },
    )
    assert response.status_code == 302
    csv_text = (
        "enrolment_id,day,mark\n"
        f"{first},{days[1].isoformat()},late\n"
        f"{second},{days[1].isoformat()},holiday\n"
        f"99999,{days[1].isoformat()},present\n"
        f"{first},{(today + timedelta(days=1)).isoformat()},present\n"
    )
    report = client.post(
        f"/provider/runs/{run.id}/attendance.csv",
        data={"csrf_token": csrf_token(client, roster_page), "file": (io.BytesIO(csv_text.encode()), "day2.csv")},
        content_type="multipart/form-data",
    )
    page = report.get_data(as_text=True)
    assert report.status_code == 422 and "1건 저장, 3건 오류" in page
    assert all(f"<td>{line}</td>" in page for line in (3, 4, 5))
    headers = _bearer(staff["taker"])
    put = client.put(
        f"/api/v1/provider/runs/{run.id}/attendance",
        json={"day": days[2].isoformat(), "marks": [{"enrolment_id": second, "mark": "early_leave"}]},
        headers=headers,
    )
    assert put.status_code == 200 and put.get_json()["recorded"] == 1
    not_a_training_day = run.start_date - timedelta(days=1)
    refused = client.put(
        f"/api/v1/provider/runs/{run.id}/attendance",
        json={"day": not_a_training_day.isoformat(), "marks": [{"enrolment_id": second, "mark": "present"}]},
        headers=headers,
    )
    assert refused.status_code == 422
    marks = db.session.execute(
        select(Attendance.enrolment_id, Attendance.day, Attendance.mark).order_by(
            Attendance.day, Attendance.enrolment_id
        )
    ).all()
    assert [(e, d, m) for e, d, m in marks] == [
        (first, days[0], "present"),
        (second, days[0], "outing"),
        (first, days[1], "late"),
        (second, days[2], "early_leave"),
    ]
    logged = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action == "attendance.recorded")).all()
    assert len(logged) == 4
    roster = client.get(f"/api/v1/provider/runs/{run.id}/roster", headers=headers).get_json()["items"]
    assert [item["enrolment_id"] for item in roster] == [first, second]


def test_settlement_counts_unmarked_days_and_locks_the_period(client, make_user, training, today):
    run, (first, second), staff, _ = training
    [period, *_rest] = attendance.periods(run)
    scheduled = calendar.days_between(run, period.first, period.last)
    with unit_of_work(write_lock=True):
        for day in scheduled:  # the first learner attends every day; the second only half, the rest unmarked
            attendance.record(first, day, "present", actor=ACTOR, today=today)
        for day in scheduled[: len(scheduled) // 2]:
            attendance.record(second, day, "present", actor=ACTOR, today=today)
        assert attendance.settle_due(today) >= 2
    headers = _bearer(staff["plain"])
    body = client.get(f"/api/v1/provider/runs/{run.id}/settlements", headers=headers).get_json()
    settled = body["periods"][0]
    assert settled["scheduled_days"] == len(scheduled) and settled["locked"] is True
    full, half = settled["enrolments"]
    assert (full["attended"], half["attended"]) == (len(scheduled), len(scheduled) // 2)
    assert full["paid"] == full["payable"] > 0 and 0 < half["paid"] < full["paid"]
    assert half["paid"] == pytest.approx(full["paid"] * half["attended"] / half["scheduled"], abs=10)
    assert settled["paid"] == full["paid"] + half["paid"]
    locked = client.put(
        f"/api/v1/provider/runs/{run.id}/attendance",
        json={"day": scheduled[-1].isoformat(), "marks": [{"enrolment_id": second, "mark": "present"}]},
        headers=_bearer(staff["taker"]),
    )
    assert locked.status_code == 422 and "정산된" in locked.get_json()["error"]["message"]
    auditor = _bearer(make_user("auditor", ministry_code=run.programme.ministry.code))
    assert client.get(f"/api/v1/provider/runs/{run.id}/settlements", headers=auditor).get_json() == body
    elsewhere = _bearer(make_user("auditor", ministry_code="MSIT"))
    assert client.get(f"/api/v1/provider/runs/{run.id}/settlements", headers=elsewhere).status_code == 404


def test_other_providers_see_nothing(client, make_user, training):
    run, (first, _second), _staff, _ = training
    other = _bearer(make_user("provider"))
    for method, path, body in (
        ("get", f"/api/v1/provider/runs/{run.id}/roster", None),
        ("get", f"/api/v1/provider/runs/{run.id}/settlements", None),
        (
            "put",
            f"/api/v1/provider/runs/{run.id}/attendance",
            {"day": run.start_date.isoformat(), "marks": [{"enrolment_id": first, "mark": "present"}]},
        ),
    ):
        assert getattr(client, method)(path, json=body, headers=other).status_code == 404
