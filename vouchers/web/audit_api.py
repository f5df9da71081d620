"""The audit console's JSON API: spend by grouping and risk flags, scoped like the pages (vouchers.audit)."""

from __future__ import annotations

import json

import marshmallow as ma
from flask_login import current_user

from hrdnet.access import Role, roles
from hrdnet.api import ApiBlueprint, QueryArgs
from hrdnet.bounds import INT4_MAX
from hrdnet.extensions import db
from vouchers.audit import rules, spend
from vouchers.audit.models import MEASURES
from vouchers.audit.scope import Scope
from vouchers.audit.spend import Filters

bp = ApiBlueprint("audit_api", __name__, description="부처 감사: 지출과 위험 신호")

_MONTH = {"validate": ma.validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"), "metadata": {"description": "YYYY-MM (KST)"}}
_ID = {"validate": ma.validate.Range(min=1, max=INT4_MAX)}


class SpendQuery(QueryArgs):
    group_by = ma.fields.String(load_default="programme", validate=ma.validate.OneOf(spend.GROUPS))
    ministry = ma.fields.Integer(**_ID, metadata={"description": "부처 id (관리자만; 감사는 소속 부처로 고정)"})
    programme = ma.fields.Integer(**_ID)
    provider = ma.fields.Integer(**_ID)
    run = ma.fields.Integer(**_ID)
    region = ma.fields.String(validate=ma.validate.Regexp(r"^\d{2}$"), metadata={"description": "시·도 코드 2자리"})
    month_from = ma.fields.String(**_MONTH)
    month_to = ma.fields.String(**_MONTH)


class SpendRowOut(ma.Schema):
    key = ma.fields.String(metadata={"description": "묶음의 키 (id, 시·도 코드 또는 YYYY-MM); 빈 값은 미지정"})
    label = ma.fields.String()
    card_draw = ma.fields.Integer(metadata={"description": "카드에서 기관으로 간 훈련비 (capture)"})
    self_pay = ma.fields.Integer(metadata={"description": "훈련생 자비부담금 (copay)"})
    funded = ma.fields.Integer(metadata={"description": "사업 예산이 기관에 직접 지원한 훈련비 (fund)"})
    refunds = ma.fields.Integer(metadata={"description": "기관 지급 예정액에서 돌려준 금액 (refund)"})
    penalties = ma.fields.Integer(metadata={"description": "중도탈락 제재 차감 (penalty)"})
    deducted = ma.fields.Integer(metadata={"description": "KDT 중도탈락의 훈련비 카드 차감 (deduction)"})
    settled = ma.fields.Integer(metadata={"description": "기관에 지급한 금액 (settle)"})
    held = ma.fields.Integer(metadata={"description": "아직 결제 대기(보류) 중인 카드 금액"})
    entries = ma.fields.Integer(metadata={"description": "이 행 뒤의 원장 항목 수"})


class SpendOut(ma.Schema):
    group_by = ma.fields.String()
    filters = ma.fields.Dict()
    rows = ma.fields.List(ma.fields.Nested(SpendRowOut))
    totals = ma.fields.Nested(SpendRowOut)


class FlagQuery(QueryArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(["open", "reviewed"]))
    rule = ma.fields.String(validate=ma.validate.OneOf(list(rules.RULES)))
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=INT4_MAX))
    per_page = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))


class FlagOut(ma.Schema):
    id = ma.fields.Integer()
    rule = ma.fields.String()
    rule_label = ma.fields.String()
    subject = ma.fields.Dict(metadata={"description": "{type: provider|run|person|enrolment, id, label}"})
    numbers = ma.fields.Dict(metadata={"description": "규칙이 비교한 수치"})
    evidence = ma.fields.Dict(metadata={"description": "{enrolments: [id], transfers: [id]} (소관 밖은 빠짐)"})
    explanation = ma.fields.String()
    status = ma.fields.String(metadata={"description": "open | reviewed"})
    note = ma.fields.String(allow_none=True)


class FlagsOut(ma.Schema):
    total = ma.fields.Integer(metadata={"description": "조건에 맞는 신호 수 (모든 쪽)"})
    items = ma.fields.List(ma.fields.Nested(FlagOut))


def _filters(query: dict, scope: Scope) -> Filters:
    return Filters(
        ministry_id=scope.ministry_id if not scope.everything else query.get("ministry"),
        programme_id=query.get("programme"),
        provider_id=query.get("provider"),
        region=query.get("region"),
        month_from=query.get("month_from"),
        month_to=query.get("month_to"),
        run_id=query.get("run"),
    )


@bp.route("/audit/spend", methods=["GET"])
@roles(Role.AUDITOR, Role.ADMIN)
@bp.arguments(SpendQuery, location="query")
@bp.response(200, SpendOut)
def audit_spend(query):
    """훈련비 지출: group_by(programme|provider|region|month|run)별 종류별 금액과 원장 항목 수 (감사는 소속 부처만)"""
    scope = Scope.of(current_user)
    filters = _filters(query, scope)
    totals = spend.totals(filters)
    return {
        "group_by": query["group_by"],
        "filters": filters.as_dict(),
        "rows": [line.as_dict() for line in spend.lines(query["group_by"], filters)],
        "totals": {"key": "total", "label": "합계", **{m: totals.amounts[m] for m in MEASURES}},
    }


@bp.route("/audit/flags", methods=["GET"])
@roles(Role.AUDITOR, Role.ADMIN)
@bp.arguments(FlagQuery, location="query")
@bp.response(200, FlagsOut)
def audit_flags(query):
    """위험 신호: 규칙, 대상, 수치, 근거 id, 상태 (감사는 소속 부처의 돈이 걸린 신호만)"""
    scope = Scope.of(current_user)
    found = db.paginate(
        rules.flags_query(scope, status=query.get("status"), rule=query.get("rule")),
        page=query["page"],
        per_page=query["per_page"],
        error_out=False,
    )
    return {
        "total": found.total,
        "items": [
            {
                "id": flag.id,
                "rule": flag.rule,
                "rule_label": rules.RULE_LABELS[flag.rule],
                "subject": {"type": flag.subject_type, "id": flag.subject_id, "label": flag.subject_label},
                "numbers": json.loads(flag.numbers),
                "evidence": rules.evidence_in_scope(flag, scope),
                "explanation": flag.explanation,
                "status": flag.status,
                "note": flag.note,
            }
            for flag in found.items
        ],
    }
