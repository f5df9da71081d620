"""Provider-portal and approval endpoints of the JSON API: what the portal pages do, for providers' and
ministries' own systems. The same services and rules as the pages (courses.portal.services, .rules)."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from courses.portal import fields, services
from hrdnet.access import Role, roles
from hrdnet.api import ApiBlueprint, ApiErrorSchema
from hrdnet.bounds import INT4_MAX
from hrdnet.db import unit_of_work

bp = ApiBlueprint("portal_api", __name__, description="훈련기관 회차 등록과 부처 승인")

_SECURITY = [{"bearerAuth": []}]
_NULLABLE = {"allow_none": True, "load_default": None}
_AMOUNT = ma.validate.Range(min=0, max=INT4_MAX)


def _text(limit: int, description: str) -> ma.fields.String:
    return ma.fields.String(validate=ma.validate.Length(max=limit), metadata={"description": description}, **_NULLABLE)


class RunSubmissionIn(ma.Schema):
    """A run to draft or submit; every field may be left out of a draft. Field names as the form's."""

    programme = _text(16, "사업 코드 (예: C0104 K-디지털 트레이닝)")
    title = _text(300, fields.FIELDS["title"])
    summary = _text(500, fields.FIELDS["summary"])
    contents = _text(5000, fields.FIELDS["contents"])
    ncs = _text(8, "NCS 세분류 8자리")
    mode = _text(10, "classroom | remote | blended")
    region = _text(5, "시·도(2자리) 또는 시·군·구(5자리) 코드")
    address = _text(300, fields.FIELDS["address"])
    start_date = ma.fields.Date(**_NULLABLE)
    end_date = ma.fields.Date(**_NULLABLE)
    weekend = _text(8, "weekday | weekend | mixed")
    training_days = ma.fields.List(
        ma.fields.Date(),
        load_default=list,
        validate=ma.validate.Length(max=1000),
        metadata={"description": "훈련일 목록. 비우면 훈련 요일과 공휴일로 계산"},
    )
    hours_per_day = ma.fields.Integer(validate=ma.validate.Range(min=0, max=24), **_NULLABLE)
    fee = ma.fields.Integer(validate=_AMOUNT, **_NULLABLE)
    support_amount = ma.fields.Integer(validate=_AMOUNT, **_NULLABLE)
    capacity = ma.fields.Integer(validate=ma.validate.Range(min=0, max=100_000), **_NULLABLE)
    apply_from = ma.fields.Date(**_NULLABLE)
    apply_until = ma.fields.Date(**_NULLABLE)
    certificate = _text(300, fields.FIELDS["certificate"])
    target_learners = _text(300, fields.FIELDS["target_learners"])
    submit = ma.fields.Boolean(load_default=False, metadata={"description": "true: 승인 요청, false: 임시 저장"})


class SubmissionOut(ma.Schema):
    submission_id = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "draft | submitted | approved | rejected | withdrawn"})
    revision = ma.fields.Integer()
    run_id = ma.fields.Integer(allow_none=True, metadata={"description": "승인되어 공개된 회차"})


class ChangeOut(ma.Schema):
    field = ma.fields.String()
    label = ma.fields.String()
    before = ma.fields.String(metadata={"description": "마지막 승인본 (처음 제출이면 —)"})
    after = ma.fields.String()


class QueueItemOut(ma.Schema):
    submission_id = ma.fields.Integer()
    provider = ma.fields.String()
    title = ma.fields.String()
    programme = ma.fields.String(allow_none=True)
    submitted_at = ma.fields.DateTime()
    revision = ma.fields.Integer()
    first = ma.fields.Boolean(metadata={"description": "승인된 적 없는 새 회차"})
    diff = ma.fields.List(ma.fields.Nested(ChangeOut), metadata={"description": "바뀐 항목만 (새 회차는 채운 항목)"})


class QueueOut(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(QueueItemOut))


class DecisionIn(ma.Schema):
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=1000))


def _submission_document(submission) -> dict:
    return {
        "submission_id": submission.id,
        "status": submission.state,
        "revision": submission.head,
        "run_id": submission.run_id,
    }


def _ministry_id() -> int | None:
    return None if current_user.role == Role.ADMIN else current_user.ministry_id


@bp.route("/provider/runs", methods=["POST"])
@roles(Role.PROVIDER)
@bp.arguments(RunSubmissionIn)
@bp.response(201, SubmissionOut)
@bp.alt_response(
    409,
    schema=ApiErrorSchema,
    description="관리자 확인 전 훈련기관 (provider_not_verified), 같은 과정명과 시작일의 회차 (duplicate_submission)",
)
@bp.alt_response(
    422, schema=ApiErrorSchema, description="입력 오류; details에 항목별 한국어 메시지 (submission_invalid)"
)
@bp.doc(security=_SECURITY)
def create_run(body):
    """회차 임시 저장(submit=false) 또는 승인 요청(submit=true)"""
    submit = body.pop("submit")
    with unit_of_work(write_lock=True):
        submission = services.save(current_user.provider_id, body, actor=current_user.pseudonym, submit=submit)
        document = _submission_document(submission)
    return document


@bp.route("/audit/submissions", methods=["GET"])
@roles(Role.AUDITOR, Role.ADMIN)
@bp.response(200, QueueOut)
@bp.doc(security=_SECURITY)
def queue():
    """소관 사업의 승인 대기 회차, 오래된 순, 마지막 승인본과의 차이와 함께"""
    items = []
    for submission in services.queue(_ministry_id()):
        review = services.review(submission)
        items.append(
            {
                "submission_id": submission.id,
                "provider": submission.provider.name,
                "title": submission.title,
                "programme": submission.programme.code if submission.programme else None,
                "submitted_at": submission.submitted_at,
                "revision": submission.head,
                "first": review.first,
                "diff": [change.as_dict() for change in review.changed],
            }
        )
    return {"items": items}


def _decide(submission_id: int, approve: bool, reason: str) -> dict:
    with unit_of_work(write_lock=True):
        submission = services.decide(
            submission_id, approve=approve, reason=reason, ministry_id=_ministry_id(), actor=current_user.pseudonym
        )
        return _submission_document(submission)


@bp.route("/audit/submissions/<int:submission_id>/approve", methods=["POST"])
@roles(Role.AUDITOR, Role.ADMIN)
@bp.arguments(DecisionIn, required=False)
@bp.response(200, SubmissionOut)
@bp.alt_response(404, schema=ApiErrorSchema, description="없거나 소관이 아닌 제출 (submission_not_found)")
@bp.alt_response(409, schema=ApiErrorSchema, description="승인 대기가 아님 (illegal_transition)")
@bp.doc(security=_SECURITY)
def approve(body, submission_id: int):
    """승인: 회차가 목록과 검색에 들어갑니다 (다음 작업 처리 때)"""
    return _decide(submission_id, True, (body or {}).get("reason", ""))


@bp.route("/audit/submissions/<int:submission_id>/reject", methods=["POST"])
@roles(Role.AUDITOR, Role.ADMIN)
@bp.arguments(DecisionIn)
@bp.response(200, SubmissionOut)
@bp.alt_response(404, schema=ApiErrorSchema, description="없거나 소관이 아닌 제출 (submission_not_found)")
@bp.alt_response(409, schema=ApiErrorSchema, description="승인 대기가 아님 (illegal_transition)")
@bp.alt_response(422, schema=ApiErrorSchema, description="반려 사유 없음 (reason_required)")
@bp.doc(security=_SECURITY)
def reject(body, submission_id: int):
    """반려: 사유가 훈련기관에 전달됩니다"""
    return _decide(submission_id, False, body["reason"])
