"""The enrolment state machine: one transition table, and the one function that applies it.

applied → held (card share reserved, co-payment pending) → confirmed (paid) → in_training
        → completed | incomplete (미수료) | dropped | withdrawn;   held → expired (unpaid in time);
applied | held → rejected;   dropped → completed once 조기취업 evidence is confirmed
"""

from __future__ import annotations

from hrdnet import audit
from hrdnet.extensions import db
from vouchers import errors
from vouchers.enrolments.models import Enrolment, EnrolmentEvent, EnrolmentStatus

S = EnrolmentStatus

# The one transition table: (status, event) → new status. Anything not here is refused.
TRANSITIONS: dict[tuple[EnrolmentStatus, str], EnrolmentStatus] = {
    (S.APPLIED, "hold"): S.HELD,
    (S.APPLIED, "reject"): S.REJECTED,
    (S.HELD, "pay"): S.CONFIRMED,
    (S.HELD, "expire"): S.EXPIRED,
    (S.HELD, "withdraw"): S.WITHDRAWN,
    (S.HELD, "reject"): S.REJECTED,
    (S.CONFIRMED, "start"): S.IN_TRAINING,
    (S.CONFIRMED, "withdraw"): S.WITHDRAWN,
    (S.IN_TRAINING, "withdraw"): S.WITHDRAWN,
    (S.IN_TRAINING, "drop"): S.DROPPED,
    (S.IN_TRAINING, "complete"): S.COMPLETED,
    (S.IN_TRAINING, "fail"): S.INCOMPLETE,
    # A dropout whose 조기취업 (early employment) evidence was confirmed counts as completed (HRD-Net).
    (S.DROPPED, "employ"): S.COMPLETED,
}
EVENTS = sorted({event for _status, event in TRANSITIONS})
EVENT_LABELS = {
    "hold": "수강 신청(카드 금액 보류)",
    "reject": "신청 반려",
    "pay": "자비부담금 결제 완료",
    "expire": "결제 기한 만료",
    "withdraw": "수강 취소",
    "start": "훈련 시작",
    "drop": "중도탈락",
    "complete": "수료",
    "fail": "미수료",
    "employ": "조기취업 수료 인정",
}
STATUS_LABELS = {
    S.APPLIED: "신청",
    S.HELD: "결제 대기",
    S.CONFIRMED: "수강 확정",
    S.IN_TRAINING: "훈련 중",
    S.COMPLETED: "수료",
    S.INCOMPLETE: "미수료",
    S.DROPPED: "중도탈락",
    S.WITHDRAWN: "취소",
    S.EXPIRED: "기한 만료",
    S.REJECTED: "반려",
}


def check(enrolment: Enrolment, event: str) -> EnrolmentStatus:
    """The status `event` would move the enrolment to; raises IllegalTransition when the table has no such step."""
    current = EnrolmentStatus(enrolment.status)
    try:
        return TRANSITIONS[(current, event)]
    except KeyError:
        raise errors.IllegalTransition(
            f"'{STATUS_LABELS[current]}' 상태에서는 '{EVENT_LABELS.get(event, event)}'을(를) 할 수 없습니다."
        ) from None


def apply_event(enrolment: Enrolment, event: str, *, reason: str, actor: str) -> EnrolmentStatus:
    """Move the enrolment by the table, record the step in its history and the audit log."""
    current = EnrolmentStatus(enrolment.status)
    new = check(enrolment, event)
    enrolment.status = new.value
    db.session.add(
        EnrolmentEvent(
            enrolment_id=enrolment.id,
            from_status=current.value,
            to_status=new.value,
            event=event,
            reason=reason,
            actor=actor,
        )
    )
    db.session.flush()
    audit.append(
        f"enrolment.{event}",
        actor=actor,
        subject_type="enrolment",
        subject_id=enrolment.id,
        data={"from": current.value, "to": new.value},
    )
    return new
