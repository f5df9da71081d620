"""Card and enrolment endpoints of the JSON API.

The same read models as the learner pages (vouchers.web.read_models) and the same writes (vouchers.checkout),
so the API and the pages show the same numbers. Both POSTs honour `Idempotency-Key` the same way
(hrdnet.idempotency.respond_once): the key is also the enrolment's request key, so the work itself happens
once per key even if the stored answer were lost; the stored answer makes a retry get exactly the first
response, and a changed body with the same key is refused (422).

On PostgreSQL (with ENROL_BATCHING on, the default) `POST /enrolments` goes through this process's batching
writer (vouchers.enrol_writer): the request waits for the batch that writes it, and the batch stores every
confirmed request's Idempotency-Key answer set-based in its outcome transaction, with the confirmations
(docs/ledger.md "The API through the batching writer"). On SQLite, or switched off, each request is written
alone by checkout.enrol.
"""

from __future__ import annotations

import threading
import uuid

import marshmallow as ma
from flask import current_app, jsonify, request
from flask_login import current_user

from hrdnet import idempotency
from hrdnet.access import Role, roles, signed_in
from hrdnet.api import ApiBlueprint, ApiErrorSchema, QueryArgs
from hrdnet.bounds import INT4_MAX, INT8_MAX
from hrdnet.db import after_commit, unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import kst_today, utcnow
from vouchers import checkout, errors
from vouchers.enrol_writer import BatchingWriter
from vouchers.enrolments import endings
from vouchers.enrolments import operations as enrolments
from vouchers.ratings import operations as ratings
from vouchers.web import read_models

bp = ApiBlueprint("vouchers_api", __name__, description="내일배움카드와 수강 신청")

_NULLABLE = {"allow_none": True}
_SECURITY = [{"bearerAuth": []}]
_IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"\S"},
    "description": "같은 키로 같은 내용을 다시 보내면 처음 응답을 그대로 돌려줍니다. 내용이 다르면 422 "
    "(idempotency_key_reused). 없으면 서버가 새 키를 만듭니다(재시도 보호 없음).",
}
_KEY_INVALID = (400, "Idempotency-Key가 비었거나 100자를 넘음 (code: idempotency_key_invalid)")
_KEY_REUSED = (422, "같은 Idempotency-Key에 다른 내용 (code: idempotency_key_reused)")
ENROL_ENDPOINT = "POST /enrolments"
CANCEL_ENDPOINT = "POST /enrolments/<id>/cancel"


# -- schemas ---------------------------------------------------------------------------------------------------


class CardAccountOut(ma.Schema):
    card_id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "card (국민내일배움카드) | kdigital (K-디지털 크레딧)"})
    status = ma.fields.String(metadata={"description": "active | suspended | expired | closed (오늘, KST)"})
    suspended_until = ma.fields.Date(**_NULLABLE)
    issued_on = ma.fields.Date()
    expires_on = ma.fields.Date(metadata={"description": "사용할 수 있는 마지막 날"})
    limit = ma.fields.Integer(metadata={"description": "발급 한도 (원)"})
    top_ups = ma.fields.Integer(metadata={"description": "추가 지원 (원)"})
    available = ma.fields.Integer(metadata={"description": "사용 가능 잔액"})
    held = ma.fields.Integer(metadata={"description": "결제 대기(보류) 금액"})
    spent = ma.fields.Integer(metadata={"description": "사용한 금액 (결제 − 반환 + 중도탈락 제재)"})
    expired = ma.fields.Integer(metadata={"description": "유효기간 만료로 소멸한 금액"})
    penalties = ma.fields.Integer(metadata={"description": "spent 가운데 중도탈락 제재 차감액"})


class EntryOut(ma.Schema):
    entry_id = ma.fields.Integer()
    at = ma.fields.DateTime()
    kind = ma.fields.String(metadata={"description": "거래 종류 코드 (issue, hold, refund …)"})
    label = ma.fields.String(metadata={"description": "거래 종류 (한국어)"})
    description = ma.fields.String(metadata={"description": "거래 내용 (한국어)"})
    change = ma.fields.Integer(metadata={"description": "사용 가능 잔액의 증감 (원, 들어오면 +)"})
    balance_after = ma.fields.Integer()


class CardOut(CardAccountOut):
    accounts = ma.fields.List(
        ma.fields.Nested(CardAccountOut), metadata={"description": "K-디지털 크레딧 포함 모든 계좌"}
    )
    entries = ma.fields.List(
        ma.fields.Nested(EntryOut), metadata={"description": "주 카드 사용 가능 잔액의 내역, 최근 순"}
    )
    next_before = ma.fields.Integer(**_NULLABLE, metadata={"description": "다음(더 오래된) 쪽: ?before=이 값"})


class CardQuery(QueryArgs):
    before = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=INT8_MAX), metadata={"description": "이 entry_id보다 오래된 내역"}
    )
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class EnrolRequest(ma.Schema):
    run_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=INT4_MAX))


class PaymentOut(ma.Schema):
    backend = ma.fields.String(metadata={"description": "결제 처리 방식 (local, stripe …)"})
    attempt_id = ma.fields.Integer(metadata={"description": "결제 시도 번호"})
    amount = ma.fields.Integer(metadata={"description": "자비부담금 (원)"})
    status = ma.fields.String(metadata={"description": "pending | succeeded | failed | canceled"})
    processor_ref = ma.fields.String(**_NULLABLE, metadata={"description": "결제 대행사의 결제 id"})
    client_secret = ma.fields.String(**_NULLABLE, metadata={"description": "브라우저에서 결제를 마칠 때 필요한 값"})
    failure_message = ma.fields.String(**_NULLABLE)


class EnrolledOut(ma.Schema):
    enrolment_id = ma.fields.Integer()
    run_id = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "held (결제 대기) | confirmed (수강 확정) …"})
    fee = ma.fields.Integer()
    self_pay = ma.fields.Integer()
    government_share = ma.fields.Integer()
    card_draw = ma.fields.Integer()
    account = ma.fields.String()
    payment = ma.fields.Nested(PaymentOut, **_NULLABLE, metadata={"description": "자비부담금이 0이면 null"})


class CancelRequest(ma.Schema):
    exempt_reason = ma.fields.String(
        validate=ma.validate.Length(min=1, max=32),
        metadata={
            "description": "중도탈락이 되는 취소에서 제재 면제 사유(early_employment 조기취업, illness 질병·부상, "
            "military_service 입대 …, 카드 규칙 파일의 dropout.exempt_reasons). 훈련기관이나 관리자가 증빙을 "
            "확인할 때까지 제재가 보류됩니다."
        },
    )


class CancelOut(ma.Schema):
    enrolment_id = ma.fields.Integer()
    outcome = ma.fields.String(
        metadata={"description": "withdrawn (취소) | dropped (중도탈락) | completed (80%이상수료)"}
    )
    free = ma.fields.Boolean(metadata={"description": "무료 취소 기간 안이었는지"})
    deadline = ma.fields.Date(metadata={"description": "무료 취소 마지막 날"})
    trained_days = ma.fields.Integer(metadata={"description": "취소일 전까지 지난 훈련일 수"})
    attended_days = ma.fields.Integer(metadata={"description": "그중 출석으로 인정된 날 수"})
    training_days = ma.fields.Integer(metadata={"description": "회차의 전체 훈련일 수"})
    self_pay_refund = ma.fields.Integer(metadata={"description": "환불되는 자비부담금"})
    card_return = ma.fields.Integer(metadata={"description": "카드(또는 사업 예산)로 돌아가는 금액"})
    provider_keeps = ma.fields.Integer(
        metadata={"description": "훈련기관에 지급되는 금액(출석으로 인정된 훈련비 + 자비부담)"}
    )
    penalty = ma.fields.Integer(
        metadata={"description": "중도탈락 제재 금액(보류 중이면 사유가 인정되지 않을 때의 금액)"}
    )
    suspend_days = ma.fields.Integer()
    deduction = ma.fields.Integer(metadata={"description": "K-디지털 트레이닝: 훈련받은 기간의 훈련비 카드 차감액"})
    sanction = ma.fields.String(
        **_NULLABLE, metadata={"description": "applied (적용) | claimed (사유 확인 중, 보류) | waived (면제) | null"}
    )
    completion_kind = ma.fields.String(**_NULLABLE, metadata={"description": "over_80 (80%이상수료) 또는 null"})
    hold_released = ma.fields.Integer(metadata={"description": "결제 전 신청의 보류가 풀려 카드로 돌아온 금액"})


class ExemptionDecisionRequest(ma.Schema):
    decision = ma.fields.String(required=True, validate=ma.validate.OneOf(["accept", "reject"]))
    note = ma.fields.String(
        load_default="", validate=ma.validate.Length(max=300), metadata={"description": "확인한 내용(개인정보 제외)"}
    )


class RatingRequest(ma.Schema):
    score = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 5), metadata={"description": "1~5점"})
    comment = ma.fields.String(load_default="", validate=ma.validate.Length(max=1000))


class RatingOut(ma.Schema):
    rating_id = ma.fields.Integer()
    enrolment_id = ma.fields.Integer()
    run_id = ma.fields.Integer()
    score = ma.fields.Integer()
    comment = ma.fields.String()


class SanctionOut(ma.Schema):
    enrolment_id = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "applied (제재 적용) | waived (면제)"})
    reason = ma.fields.String(**_NULLABLE)
    penalty = ma.fields.Integer()
    deduction = ma.fields.Integer()
    suspended_until = ma.fields.Date(**_NULLABLE)


HistoryOut = ma.Schema.from_dict(
    {
        "at": ma.fields.DateTime(),
        "from": ma.fields.String(),
        "to": ma.fields.String(),
        "event": ma.fields.String(),
        "reason": ma.fields.String(metadata={"description": "한국어 설명"}),
    },
    name="EnrolmentHistoryOut",
)


class EnrolmentOut(ma.Schema):
    enrolment_id = ma.fields.Integer()
    run_id = ma.fields.Integer()
    status = ma.fields.String()
    status_label = ma.fields.String(metadata={"description": "상태 (한국어)"})
    fee = ma.fields.Integer()
    self_pay = ma.fields.Integer()
    government_share = ma.fields.Integer()
    card_draw = ma.fields.Integer()
    account = ma.fields.String()
    history = ma.fields.List(ma.fields.Nested(HistoryOut))


def _json(status: int, data: dict):
    response = jsonify(data)
    response.status_code = status
    return response


def _key() -> str | None:
    return idempotency.check_key(request.headers.get("Idempotency-Key"))


# -- endpoints ---------------------------------------------------------------------------------------------------


@bp.route("/me/card", methods=["GET"])
@roles(Role.LEARNER)
@bp.arguments(CardQuery, location="query")
@bp.response(200, CardOut)
@bp.alt_response(404, schema=ApiErrorSchema, description="발급된 카드가 없음 (code: card_not_found)")
@bp.doc(security=_SECURITY)
def my_card(query):
    """내 카드: 주 카드의 한도·잔액·보류·사용액, 모든 계좌, 사용 내역 (limit + top_ups = available + held + spent + expired)"""
    return read_models.card_document(current_user.id, kst_today(), before=query.get("before"), limit=query["limit"])


@bp.route("/enrolments", methods=["POST"])
@roles(Role.LEARNER)
@bp.arguments(EnrolRequest)
@bp.response(201, EnrolledOut)
@bp.alt_response(404, schema=ApiErrorSchema, description="없는 회차 (run_not_found)")
@bp.alt_response(
    409,
    schema=ApiErrorSchema,
    description="신청 불가: insufficient_balance, run_full, already_enrolled, "
    "card_suspended, card_expired, enrolment_closed, no_card, no_kdigital_account, price_unknown, "
    "duplicate_key_conflict",
)
@bp.alt_response(403, schema=ApiErrorSchema, description="본인인증 전 (identity_required)")
@bp.alt_response(_KEY_INVALID[0], schema=ApiErrorSchema, description=_KEY_INVALID[1])
@bp.alt_response(
    422, schema=ApiErrorSchema, description="입력 오류, 또는 같은 Idempotency-Key에 다른 내용 (idempotency_key_reused)"
)
@bp.alt_response(
    503,
    schema=ApiErrorSchema,
    description="신청이 몰려 처리가 늦어짐: 같은 Idempotency-Key로 다시 시도 (enrolment_busy)",
)
@bp.doc(security=_SECURITY, parameters=[_IDEMPOTENCY_HEADER])
def create_enrolment(body):
    """수강 신청: 자리를 잡고 카드 사용액을 보류한 뒤 자비부담금 결제를 엽니다 (자비부담 0원이면 바로 확정)"""
    key, actor, user_id = _key(), current_user.pseudonym, current_user.id
    writer = _batching_writer()

    def enrol(keep) -> tuple[int, dict]:
        if writer is not None:
            return _enrol_batched(writer, keep, user_id, body["run_id"], key=key, actor=actor)
        answer: list[dict] = []

        def respond(enrolment) -> None:  # inside the enrolment's last transaction: the answer is stored with it
            document = EnrolledOut().dump(read_models.enrolled_document(enrolment))
            keep(201, document)
            after_commit(lambda: answer.append(document))

        enrolment = checkout.enrol(
            current_user.id,
            body["run_id"],
            request_key=key or f"api-{uuid.uuid4().hex}",
            now=utcnow(),
            today=kst_today(),
            actor=actor,
            respond=respond,
        )
        return 201, answer[-1] if answer else EnrolledOut().dump(read_models.enrolled_document(enrolment))

    return _json(*idempotency.respond_once(user_id, ENROL_ENDPOINT, key, body, enrol))


# -- POST /enrolments through the batching writer (PostgreSQL) ---------------------------------------------------

_WRITER = "vouchers.api_enrol_writer"
WRITER_TIMEOUT_SECONDS = 60
_writer_lock = threading.Lock()


def _batching_writer() -> BatchingWriter | None:
    """This process's batching writer for the API, started on first use; None when ENROL_BATCHING is off or
    the database is SQLite (one writer at a time there: each request is written alone, by checkout.enrol)."""
    app = current_app._get_current_object()
    if not app.config.get("ENROL_BATCHING") or db.engine.dialect.name != "postgresql":
        return None
    writer = app.extensions.get(_WRITER)
    if writer is None:
        with _writer_lock:
            writer = app.extensions.get(_WRITER)
            if writer is None:
                writer = app.extensions[_WRITER] = BatchingWriter(
                    app,
                    batch_size=app.config["ENROL_BATCH_SIZE"],
                    linger=app.config["ENROL_BATCH_LINGER_SECONDS"],
                    respond_many=_store_answers,
                )
    return writer


class _Answer:
    """A request's Idempotency-Key answer, handed to the batch with the request: called with the enrolment when
    the request is written alone (inside its last unit of work), or stored with its batch's others by
    _store_answers."""

    def __init__(self, keep: idempotency.Keep):
        self.keep = keep

    def __call__(self, enrolment) -> None:
        self.keep(201, EnrolledOut().dump(read_models.enrolled_document(enrolment)))


def _store_answers(confirmed: list[tuple[checkout.EnrolRequest, int]]) -> None:
    """Inside the batch's outcome transaction: the confirmed requests' answers, in three statements (their
    enrolments, their payments, one INSERT of the records)."""
    documents = read_models.enrolled_documents([enrolment_id for _request, enrolment_id in confirmed])
    idempotency.keep_many(
        [
            (request.respond.keep, 201, EnrolledOut().dump(documents[enrolment_id]))
            for request, enrolment_id in confirmed
        ]
    )


def _enrol_batched(
    writer: BatchingWriter, keep: idempotency.Keep, user_id: int, run_id: int, *, key: str | None, actor: str
) -> tuple[int, dict]:
    """Submit the request and wait for its batch: the answer the batch stored with the enrolment, or (the
    processor did not answer, a retried request) the enrolment read now, which respond_once then stores."""
    db.session.rollback()  # end the read transaction (user, Idempotency-Key): none stays open while waiting
    submitted = writer.submit(
        user_id,
        run_id,
        request_key=key or f"api-{uuid.uuid4().hex}",
        today=kst_today(),
        actor=actor,
        respond=_Answer(keep) if key is not None else None,
    )
    try:
        enrolment_id = submitted.result(timeout=WRITER_TIMEOUT_SECONDS)  # raises the request's refusal
    except TimeoutError:  # the writer is stuck: the request may still be written; a retry is answered once
        raise errors.EnrolmentBusy() from None
    if keep.answer is not None:
        return keep.answer
    return 201, EnrolledOut().dump(read_models.enrolled_document(enrolments.get(enrolment_id)))


@bp.route("/enrolments/<int:enrolment_id>/cancel", methods=["POST"])
@roles(Role.LEARNER)
@bp.arguments(CancelRequest, required=False)
@bp.response(200, CancelOut)
@bp.alt_response(404, schema=ApiErrorSchema, description="없는 신청이거나 본인의 신청이 아님 (enrolment_not_found)")
@bp.alt_response(
    409,
    schema=ApiErrorSchema,
    description="이미 취소되었거나 끝난 신청 (illegal_transition), 훈련이 끝난 회차 (course_ended: 수료 여부는 출석으로 결정)",
)
@bp.alt_response(_KEY_INVALID[0], schema=ApiErrorSchema, description=_KEY_INVALID[1])
@bp.alt_response(
    422, schema=ApiErrorSchema, description="알 수 없는 면제 사유 (unknown_exempt_reason), " + _KEY_REUSED[1]
)
@bp.doc(security=_SECURITY, parameters=[_IDEMPOTENCY_HEADER])
def cancel_enrolment(body, enrolment_id: int):
    """수강 취소: 취소·환불 규칙을 적용하고 돌아가는 금액을 돌려줍니다 (중도탈락이면 면제 사유를 함께 보낼 수 있음)"""
    key, reason = _key(), body.get("exempt_reason")
    payload = {"enrolment_id": enrolment_id, **({"exempt_reason": reason} if reason else {})}

    def cancel(keep) -> tuple[int, dict]:
        with unit_of_work(write_lock=True):
            done = checkout.cancel_own(
                enrolment_id, current_user.id, today=kst_today(), actor=current_user.pseudonym, exempt_reason=reason
            )
            answer = CancelOut().dump({"enrolment_id": enrolment_id, **done.as_dict()})
            keep(200, answer)
            return 200, answer

    return _json(*idempotency.respond_once(current_user.id, CANCEL_ENDPOINT, key, payload, cancel))


@bp.route("/enrolments/<int:enrolment_id>/exemption", methods=["POST"])
@roles(Role.PROVIDER, Role.ADMIN)
@bp.arguments(ExemptionDecisionRequest)
@bp.response(200, SanctionOut)
@bp.alt_response(
    404, schema=ApiErrorSchema, description="없는 신청이거나 그 회차의 훈련기관이 아님 (enrolment_not_found)"
)
@bp.alt_response(409, schema=ApiErrorSchema, description="확인을 기다리는 면제 사유가 없음 (reason_not_pending)")
@bp.doc(security=_SECURITY)
def decide_exemption(body, enrolment_id: int):
    """중도탈락 제재 면제 사유의 증빙 확인: accept (면제, 조기취업은 수료 인정) 또는 reject (지금 제재 적용)"""
    read_models.decidable_enrolment(enrolment_id, role=current_user.role, provider_id=current_user.provider_id)
    with unit_of_work(write_lock=True):
        row = endings.decide_reason(
            enrolment_id,
            accept=body["decision"] == "accept",
            on=kst_today(),
            actor=current_user.pseudonym,
            note=body["note"],
        )
        return read_models.sanction_document(row)


@bp.route("/enrolments/<int:enrolment_id>/rating", methods=["POST"])
@roles(Role.LEARNER)
@bp.arguments(RatingRequest)
@bp.response(201, RatingOut)
@bp.alt_response(
    403, schema=ApiErrorSchema, description="수료하지 않았거나 평가 기간(수료 후 90일)이 지남 (rating_not_allowed)"
)
@bp.alt_response(404, schema=ApiErrorSchema, description="없는 신청이거나 본인 신청이 아님 (enrolment_not_found)")
@bp.alt_response(409, schema=ApiErrorSchema, description="이미 평가함 (already_rated)")
@bp.doc(security=_SECURITY)
def rate_enrolment(body, enrolment_id: int):
    """수료한 회차 평가 (1~5점과 한 줄 평): 수료생만, 훈련이 끝난 날부터 90일 안에 한 번"""
    with unit_of_work(write_lock=True):
        rating = ratings.rate(
            enrolment_id,
            current_user.id,
            score=body["score"],
            comment=body["comment"],
            today=kst_today(),
            actor=current_user.pseudonym,
        )
        return {
            "rating_id": rating.id,
            "enrolment_id": rating.enrolment_id,
            "run_id": rating.run_id,
            "score": rating.score,
            "comment": rating.comment,
        }


@bp.route("/enrolments/<int:enrolment_id>", methods=["GET"])
@signed_in
@bp.response(200, EnrolmentOut)
@bp.alt_response(404, schema=ApiErrorSchema, description="없는 신청이거나 볼 권한이 없음 (enrolment_not_found)")
@bp.doc(security=_SECURITY)
def get_enrolment(enrolment_id: int):
    """수강 신청 하나와 상태 변경 기록: 본인, 그 회차의 훈련기관, 그 사업 부처의 감사 담당자, 관리자만"""
    enrolment = read_models.visible_enrolment(
        enrolment_id,
        user_id=current_user.id,
        role=current_user.role,
        provider_id=current_user.provider_id,
        ministry_id=current_user.ministry_id,
    )
    return read_models.enrolment_document(enrolment)
