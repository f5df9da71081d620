"""A run's roster, attendance and settlement for its provider: names masked except for attendance-taking staff,
contact data only with a stated reason (logged), one day's marks by page, CSV or API (outing included), a
settled period locked, unmarked days counted as absences, and every other organisation kept out.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select, text

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
from vouchers import errors
from vouchers.enrolments import attendance, corrections
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Attendance, AttendanceCorrection
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Transfer


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


# -- corrections of a settled period: the provider asks, the run's ministry decides, the difference is posted --


def _settled_half(training, today):
    """The second learner attended the first half of period 1 (the rest unmarked); the period is settled."""
    run, (first, second), staff, _ = training
    [period, *_rest] = attendance.periods(run)
    scheduled = calendar.days_between(run, period.first, period.last)
    with unit_of_work(write_lock=True):
        for day in scheduled:
            attendance.record(first, day, "present", actor=ACTOR, today=today)
        for day in scheduled[: len(scheduled) // 2]:
            attendance.record(second, day, "present", actor=ACTOR, today=today)
        attendance.settle_due(today)
    return run, second, staff, scheduled


def _paid(enrolment_id: int) -> int:
    """What reached the provider for the enrolment's unit periods, read from the ledger's own entries."""
    paid = db.session.execute(
        text(
            "SELECT coalesce(sum(CASE WHEN e.side = a.normal_side THEN e.amount ELSE -e.amount END), 0)"
            " FROM entries e JOIN accounts a ON a.id = e.account_id JOIN transfers t ON t.id = e.transfer_id"
            " WHERE a.kind = 'provider_settled' AND t.key LIKE :key"
        ),
        {"key": f"enrolment:{enrolment_id}:settle:%"},
    ).scalar_one()
    assert paid == enrolments.settled_amount(enrolment_id)  # what the rules read agrees with the ledger
    return paid


def _ask(client, run, enrolment_id, day, mark, reason="출석부 스캔본 확인 결과 출석"):
    return client.post(
        f"/provider/runs/{run.id}/corrections",
        data={
            "csrf_token": csrf_token(client, f"/provider/runs/{run.id}/roster"),
            "enrolment_id": enrolment_id,
            "day": day.isoformat(),
            "mark": mark,
            "reason": reason,
        },
    )


def _decide(client, correction_id, decision, reason=""):
    token = csrf_token(client, "/audit/corrections/")
    data = {"csrf_token": token, "decision": decision, "reason": reason}
    return client.post(f"/audit/corrections/{correction_id}", data=data)


def test_a_settled_mark_changes_only_when_the_runs_ministry_approves_and_the_difference_is_paid(
    client, login, make_user, training, today
):
    run, second, staff, scheduled = _settled_half(training, today)
    unmarked = scheduled[-1]
    before = _paid(second)
    login(staff["plain"])
    assert _ask(client, run, second, unmarked, "present").status_code == 403  # not an attendance taker
    client.get("/logout")
    login(staff["taker"])
    assert _ask(client, run, second, unmarked, "present").status_code == 302
    again = _ask(client, run, second, unmarked, "present")
    assert again.status_code == 422 and "이미 승인을 기다리고" in again.get_data(as_text=True)
    (correction,) = db.session.scalars(select(AttendanceCorrection)).all()
    assert correction.status == "pending" and correction.previous_mark is None
    assert _mark(second, unmarked) is None and _paid(second) == before  # nothing moves before the decision
    client.get("/logout")

    login(make_user(Role.AUDITOR, ministry_code="MSIT"))  # another ministry: not found, not listed
    assert f"정정 #{correction.id}" not in client.get("/audit/corrections/").get_data(as_text=True)
    assert _decide(client, correction.id, "approve").status_code == 404
    client.get("/logout")
    login(make_user(Role.AUDITOR, ministry_code=run.programme.ministry.code))
    assert f"정정 #{correction.id}" in client.get("/audit/corrections/").get_data(as_text=True)
    assert _decide(client, correction.id, "approve").status_code == 302

    db.session.expire_all()
    after = _paid(second)
    assert _mark(second, unmarked) == "present" and after > before
    correction = db.session.get(AttendanceCorrection, correction.id)
    assert (correction.status, correction.amount_change) == ("approved", after - before)
    transfer = db.session.get(Transfer, correction.transfer_id)
    assert transfer.key.endswith(f":correction:{correction.id}") and transfer.kind == "settle"
    assert ledger.verify().ok
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("attendance.correction%")))
    assert sorted(actions) == ["attendance.correction_approved", "attendance.correction_requested"]
    history = client.get(f"/audit/runs/{run.id}/settlements").get_data(as_text=True)
    assert "출석 정정 기록" in history and f"{after - before:,}원" in history


def test_a_correction_down_claws_back_and_a_rejection_needs_a_reason_and_changes_nothing(
    client, login, make_user, training, today
):
    run, second, staff, scheduled = _settled_half(training, today)
    before = _paid(second)
    with unit_of_work(write_lock=True):
        down = corrections.request(
            run.id, second, scheduled[0], "absent", "출석부 오기입 확인", actor=ACTOR, today=today
        )
        kept = corrections.request(
            run.id, second, scheduled[1], "absent", "출석부 오기입 확인", actor=ACTOR, today=today
        )
    login(make_user(Role.AUDITOR, ministry_code=run.programme.ministry.code))
    assert _decide(client, kept.id, "reject").status_code == 302  # no reason: refused, still waiting
    assert db.session.get(AttendanceCorrection, kept.id).status == "pending"
    assert _decide(client, kept.id, "reject", "근거 서류가 없습니다").status_code == 302
    assert _decide(client, down.id, "approve").status_code == 302
    db.session.expire_all()
    assert (
        db.session.get(AttendanceCorrection, kept.id).status == "rejected" and _mark(second, scheduled[1]) == "present"
    )
    down = db.session.get(AttendanceCorrection, down.id)
    assert down.amount_change < 0 and _paid(second) == before + down.amount_change
    assert _mark(second, scheduled[0]) == "absent" and ledger.verify().ok
    assert _decide(client, down.id, "approve").status_code == 409  # decided once


def _mark(enrolment_id, day):
    return db.session.scalar(
        select(Attendance.mark).where(Attendance.enrolment_id == enrolment_id, Attendance.day == day)
    )


@pytest.mark.both_dbs
def test_two_racing_requests_for_one_day_leave_one_pending_correction(monkeypatch, training, today):
    """Two requests that both pass request()'s check (neither sees the other's uncommitted row) must not both
    be stored: the database keeps one pending request per enrolment and day, and the loser is told it waits."""
    run, second, _staff, scheduled = _settled_half(training, today)
    with unit_of_work(write_lock=True):
        corrections.request(run.id, second, scheduled[-1], "present", "출석부 스캔본 확인", actor=ACTOR, today=today)
    monkeypatch.setattr(corrections, "_pending", lambda *_args: None)  # the race: the winner is not visible yet
    with pytest.raises(errors.CorrectionPending), unit_of_work(write_lock=True):
        corrections.request(run.id, second, scheduled[-1], "present", "출석부 스캔본 확인", actor=ACTOR, today=today)
    pending = db.session.scalars(select(AttendanceCorrection).where(AttendanceCorrection.status == "pending"))
    assert len(pending.all()) == 1
