"""Each risk rule fires on a crafted case, with its explanation and numbers, and stays quiet on a normal one;
flags keep their review when the rules run again; reviewing is logged; the command and settlement run them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hrdnet import audit
from hrdnet.access import Role
from hrdnet.auth.models import User
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.conftest import csrf_token
from tests.support.audit import APRIL, MAY, NOW, START, D, bearer, money_world, sixty_day_run
from tests.support.pages import text_of
from tests.support.vouchers import ACTOR
from vouchers import checkout
from vouchers.audit import jobs as audit_jobs
from vouchers.audit import rules
from vouchers.audit.models import Flag
from vouchers.audit.scope import Scope
from vouchers.enrolments import attendance
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Enrolment


def limits(**changes) -> dict:
    """The shipped thresholds, with some rules' values changed: {"run_burst": {"min_enrolments": 3}}."""
    shipped = rules.thresholds()
    for rule, values in changes.items():
        shipped[rule] = {**shipped[rule], **values}
    return shipped


def findings(rule: str, **changes):
    return rules.RULES[rule](limits(**changes)[rule])


def enrol_many(world, run, count: int, *, pay: bool = True) -> list[Enrolment]:
    return [world.enrol(world.learner(on=D), run, today=D, now=NOW, pay=pay) for _ in range(count)]


def start_and_settle(*, through) -> None:
    with unit_of_work(write_lock=True):
        enrolments.start_due(START)
    with unit_of_work(write_lock=True):
        attendance.settle_due(through)


def test_new_provider_with_sudden_volume(world):
    run = sixty_day_run(world, "C0061")
    quiet_run = sixty_day_run(world, "C0061")
    made = enrol_many(world, run, 3, pay=False)
    enrol_many(world, quiet_run, 3, pay=False)
    provider, quiet = run.course.provider, quiet_run.course.provider
    provider.verified_at = utcnow() - timedelta(days=2)  # verified by an admin two days ago
    quiet.verified_at = utcnow() - timedelta(days=400)  # verified long ago: its enrolments are not "sudden"

    (found,) = findings("new_provider_volume", new_provider_volume={"min_enrolments": 3})
    assert (found.subject_type, found.subject_id) == ("provider", provider.id)
    assert sorted(found.enrolments) == [e.id for e in made]
    assert found.numbers["enrolments"] == 3 and "인증 후 90일 안에 수강 신청 3건" in found.explanation
    assert findings("new_provider_volume", new_provider_volume={"min_enrolments": 4}) == []
    provider.verified_at = utcnow() + timedelta(days=1)  # verified after the enrolments: not "sudden volume"
    assert findings("new_provider_volume", new_provider_volume={"min_enrolments": 3}) == []


def test_many_enrolments_on_one_run_in_a_short_window(world):
    run = sixty_day_run(world, "C0061")
    made = enrol_many(world, run, 3, pay=False)
    (found,) = findings("run_burst", run_burst={"min_enrolments": 3, "hours": 24})
    assert (found.subject_type, found.subject_id, found.numbers["enrolments"]) == ("run", run.id, 3)
    assert "24시간 안에 이 회차에 수강 신청 3건이 몰렸습니다" in found.explanation
    for days, enrolment in enumerate(made):  # the same three, two days apart: normal recruitment
        db.session.execute(
            update(Enrolment).where(Enrolment.id == enrolment.id).values(created_at=utcnow() - timedelta(days=2 * days))
        )
    db.session.commit()
    assert findings("run_burst", run_burst={"min_enrolments": 3, "hours": 24}) == []


def test_one_learner_in_overlapping_runs(world):
    first, overlapping = sixty_day_run(world, "C0061"), sixty_day_run(world, "C0061")
    later = world.run(programme="C0061", start=MAY[-1] + timedelta(days=5), days=30, fee=1_200_000)
    busy, normal = world.learner(on=D), world.learner(on=D)
    a = world.enrol(busy, first, today=D, now=NOW)
    b = world.enrol(busy, overlapping, today=D, now=NOW)
    world.enrol(normal, first, today=D, now=NOW)
    world.enrol(normal, later, today=MAY[0], now=NOW + timedelta(days=48))  # inside its application window
    (found,) = findings("overlapping_runs")
    assert (found.subject_type, found.subject_id) == ("person", busy.person_id)
    assert sorted(found.enrolments) == sorted([a.id, b.id]) and found.numbers["longest_overlap_days"] == 61
    assert "훈련 기간이 겹치는 회차 2개" in found.explanation


def test_attendance_bunched_just_above_eighty_percent(world):
    bunched_run, normal_run = sixty_day_run(world, "C0061"), sixty_day_run(world, "C0061")
    for enrolment in enrol_many(world, bunched_run, 3):
        world.mark(enrolment, APRIL[:25])  # 25 of 30: 83.3 %
    for enrolment in enrol_many(world, normal_run, 3):
        world.mark(enrolment, APRIL[: 30 - enrolment.id % 3])  # 100 %, 96.7 %, 93.3 %
    start_and_settle(through=MAY[0])
    (found,) = findings("attendance_bunching", attendance_bunching={"min_periods": 3})
    assert (found.subject_type, found.subject_id) == ("provider", bunched_run.course.provider_id)
    assert found.numbers["bunched_periods"] == 3 and found.numbers["share"] == 1.0
    assert "정산된 단위기간 3개 중 3개(100%)의 출석률이 80% 이상 85% 미만" in found.explanation


def test_refunds_after_settlement_and_repeated_dropouts(world):
    money = money_world(world)  # one learner settled for April and then dropped out in May
    found = findings("refund_after_settlement")
    assert [(f.subject_type, f.subject_id) for f in found] == [("enrolment", money.dropped_enrolment.id)]
    assert found[0].numbers["dropped"] is True and found[0].numbers["refunded_after"] > 0
    assert "기관에 지급된 뒤" in found[0].explanation and "중도탈락했습니다" in found[0].explanation
    assert findings("repeated_dropouts") == []  # one dropout is not a pattern
    audit_jobs.settle_then_flag()  # the worker's settlement job runs the rules after settling
    assert [flag.rule for flag in db.session.scalars(select(Flag))] == ["refund_after_settlement"]

    dropout = db.session.get(User, money.dropped_enrolment.user_id)
    second_run = sixty_day_run(world, "C0061")
    again = world.enrol(dropout, second_run, today=D, now=NOW)
    start_and_settle(through=APRIL[0])
    with unit_of_work(write_lock=True):
        checkout.cancel(again.id, on=MAY[5], actor=ACTOR)
    (repeated,) = findings("repeated_dropouts")
    assert (repeated.subject_id, repeated.numbers["dropouts"]) == (money.dropped_enrolment.person_id, 2)
    assert "2개 회차에서 중도탈락" in repeated.explanation


def test_learners_of_one_provider_sharing_contact_details(world):
    shady, normal = sixty_day_run(world, "C0061"), sixty_day_run(world, "C0061")
    for number, enrolment in enumerate(enrol_many(world, shady, 3, pay=False)):
        db.session.get(User, enrolment.user_id).phone = "010-5555-0000"
        db.session.get(User, enrolment.user_id).email = f"same.box+{number}@gmail.com"
    for number, enrolment in enumerate(enrol_many(world, normal, 3, pay=False)):
        db.session.get(User, enrolment.user_id).phone = f"010-5555-{number:04d}"
    db.session.commit()
    (found,) = findings("shared_contacts")
    assert (found.subject_type, found.subject_id) == ("provider", shady.course.provider_id)
    assert found.numbers["kinds"] == ["email", "phone"] and found.numbers["learners"] == 3
    assert "010-5555-0000" not in json.dumps(found.numbers) + found.explanation  # the value itself never shown
    assert "서로 다른 훈련생 3명이 같은 연락처(이메일, 휴대전화) 2개" in found.explanation


def test_flags_keep_their_review_are_scoped_and_reviewing_is_logged(client, world, login_as, make_user, runner):
    money = money_world(world)
    assert db.session.scalars(select(Flag)).all() == []
    settled = runner.invoke(args=["attendance", "settle", "--today", "2027-06-01"])
    assert settled.exit_code == 0, settled.output
    assert [f.rule for f in db.session.scalars(select(Flag))] == ["refund_after_settlement"]  # run after settling
    result = runner.invoke(args=["audit", "flags"])
    assert result.exit_code == 0, result.output
    assert "refund_after_settlement enrolment" in result.output and "refund_after_settlement 1" in result.output
    (flag,) = db.session.scalars(select(Flag)).all()
    assert rules.flags(Scope(money.mss_run.programme.ministry_id)) == []  # another ministry's flag

    auditor = login_as(Role.AUDITOR, ministry_code="MOEL")
    other = make_user(Role.AUDITOR, ministry_code="MSS")
    assert client.get("/api/v1/audit/flags", headers=bearer(other)).get_json() == {"total": 0, "items": []}
    (item,) = client.get("/api/v1/audit/flags", headers=bearer(auditor)).get_json()["items"]
    assert (item["rule"], item["subject"]["type"], item["status"]) == ("refund_after_settlement", "enrolment", "open")
    assert item["evidence"]["enrolments"] == [money.dropped_enrolment.id] and item["numbers"]["dropped"] is True
    page = client.get(f"/audit/flags/{flag.id}")
    assert "기관에 지급된 뒤" in text_of(page) and f"수강 신청 {money.dropped_enrolment.id}" in text_of(page)
    token = csrf_token(client, f"/audit/flags/{flag.id}")
    reviewed = client.post(
        f"/audit/flags/{flag.id}/review", data={"note": "출석부 원본 확인, 정상", "csrf_token": token}
    )
    assert reviewed.status_code == 302
    (entry,) = db.session.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == "audit.flag_reviewed"))
    assert entry.actor == auditor.pseudonym and "출석부" not in entry.data  # a digest of the note, not the note

    with unit_of_work(write_lock=True):
        rules.run()  # the rules again: the same finding keeps its review
    flag = db.session.get(Flag, flag.id, populate_existing=True)
    assert (flag.status, flag.note) == ("reviewed", "출석부 원본 확인, 정상")


@pytest.mark.parametrize("changed", [{"run_burst": {"hours": -1}}, {"run_burst": {}}])
def test_thresholds_file_is_checked(tmp_path, changed):
    shipped = rules.thresholds()
    body = []
    for rule, values in {**shipped, **changed}.items():
        body.append(f"[{rule}]")
        body += [f"{key} = {value}" for key, value in values.items()]
    path = tmp_path / "rules.toml"
    path.write_text("\n".join(body), encoding="utf-8")
    with pytest.raises(rules.AuditRulesError, match="run_burst"):
        rules.thresholds(path)
