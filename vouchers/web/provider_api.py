"""A run's roster, attendance and settlements in the JSON API, for its provider's staff (settlements also for
the auditors of its ministry). The same services as the pages (vouchers.enrolments.roster)."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from courses.portal import services as portal
from hrdnet.access import Role, roles
from hrdnet.api import ApiBlueprint, ApiErrorSchema
from hrdnet.bounds import INT8_MAX
from hrdnet.db import unit_of_work
from hrdnet.timeutil import kst_today
from vouchers import errors
from vouchers.enrolments import roster
from vouchers.enrolments.models import AttendanceMark

bp = ApiBlueprint("provider_runs_api", __name__, description="훈련기관: 수강생 명단, 출석, 단위기간 정산")

_SECURITY = [{"bearerAuth": []}]


class RosterItemOut(ma.Schema):
    enrolment_id = ma.fields.Integer()
    learner = ma.fields.String(metadata={"description": "이름 (출석 담당자가 아니면 가림)"})
    status = ma.fields.String()
    attendance_rate = ma.fields.Float(metadata={"description": "지금까지의 훈련일 기준 출석률 (0–1)"})


class RosterOut(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RosterItemOut))


class MarkIn(ma.Schema):
    enrolment_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=INT8_MAX))
    mark = ma.fields.String(required=True, validate=ma.validate.OneOf([m.value for m in AttendanceMark]))


class AttendanceIn(ma.Schema):
    day = ma.fields.Date(required=True)
    marks = ma.fields.List(ma.fields.Nested(MarkIn), required=True, validate=ma.validate.Length(min=1, max=1000))


class AttendanceOut(ma.Schema):
    day = ma.fields.Date()
    recorded = ma.fields.Integer()


class EnrolmentPeriodOut(ma.Schema):
    enrolment_id = ma.fields.Integer()
    attended = ma.fields.Integer()
    scheduled = ma.fields.Integer()
    rate = ma.fields.Float()
    payable = ma.fields.Integer()
    paid = ma.fields.Integer()
    locked = ma.fields.Boolean()


class PeriodOut(ma.Schema):
    number = ma.fields.Integer()
    start = ma.fields.Date()
    end = ma.fields.Date()
    scheduled_days = ma.fields.Integer()
    payable = ma.fields.Integer(metadata={"description": "출석으로 정해지는 금액 (원; 정산 뒤에는 지급액)"})
    paid = ma.fields.Integer()
    locked = ma.fields.Boolean(metadata={"description": "정산되어 출석을 더 바꿀 수 없음"})
    enrolments = ma.fields.List(ma.fields.Nested(EnrolmentPeriodOut))


class SettlementsOut(ma.Schema):
    periods = ma.fields.List(ma.fields.Nested(PeriodOut))


@bp.route("/provider/runs/<int:run_id>/roster", methods=["GET"])
@roles(Role.PROVIDER)
@bp.response(200, RosterOut)
@bp.alt_response(404, schema=ApiErrorSchema, description="없거나 다른 기관의 회차 (run_not_found)")
@bp.doc(security=_SECURITY)
def run_roster(run_id: int):
    """회차 수강생 명단 (출석 담당자가 아니면 이름을 가림)"""
    run = roster.run_of_provider(run_id, current_user.provider_id)
    rows = roster.roster(run, day=kst_today(), today=kst_today(), unmasked=portal.takes_attendance(current_user.id))
    return {
        "items": [
            {"enrolment_id": r.enrolment_id, "learner": r.learner, "status": r.status, "attendance_rate": float(r.rate)}
            for r in rows
        ]
    }


@bp.route("/provider/runs/<int:run_id>/attendance", methods=["PUT"])
@roles(Role.PROVIDER)
@bp.arguments(AttendanceIn)
@bp.response(200, AttendanceOut)
@bp.alt_response(403, schema=ApiErrorSchema, description="출석 담당자가 아님 (attendance_duty_required)")
@bp.alt_response(
    404, schema=ApiErrorSchema, description="없거나 다른 기관의 회차·수강 (run_not_found, enrolment_not_found)"
)
@bp.alt_response(
    422, schema=ApiErrorSchema, description="훈련일이 아니거나 정산된 기간, 앞으로 올 날 (invalid_attendance)"
)
@bp.doc(security=_SECURITY)
def record_attendance(body, run_id: int):
    """하루 출석 기록 (present, late, early_leave, outing, absent)"""
    run = roster.run_of_provider(run_id, current_user.provider_id)
    if not portal.takes_attendance(current_user.id):
        raise errors.AttendanceDutyRequired()
    marks = [(m["enrolment_id"], m["mark"]) for m in body["marks"]]
    with unit_of_work(write_lock=True):
        recorded = roster.record_day(run, body["day"], marks, actor=current_user.pseudonym, today=kst_today())
    return {"day": body["day"], "recorded": recorded}


@bp.route("/provider/runs/<int:run_id>/settlements", methods=["GET"])
@roles(Role.PROVIDER, Role.AUDITOR, Role.ADMIN)
@bp.response(200, SettlementsOut)
@bp.alt_response(404, schema=ApiErrorSchema, description="없거나 볼 수 없는 회차 (run_not_found)")
@bp.doc(security=_SECURITY)
def run_settlements(run_id: int):
    """단위기간별 훈련일, 수강생별 출석률과 금액, 지급액, 잠금 여부"""
    if current_user.role == Role.PROVIDER:
        run = roster.run_of_provider(run_id, current_user.provider_id)
    else:
        run = roster.run_of_ministry(run_id, None if current_user.role == Role.ADMIN else current_user.ministry_id)
    periods = roster.settlements(run, kst_today())
    return {
        "periods": [
            {
                "number": p.number,
                "start": p.start,
                "end": p.end,
                "scheduled_days": p.scheduled_days,
                "payable": p.payable,
                "paid": p.paid,
                "locked": p.locked,
                "enrolments": [
                    {
                        "enrolment_id": e.enrolment_id,
                        "attended": e.attended,
                        "scheduled": e.scheduled,
                        "rate": float(e.rate),
                        "payable": e.payable,
                        "paid": e.paid,
                        "locked": e.locked,
                    }
                    for e in p.enrolments
                ],
            }
            for p in periods
        ]
    }
