"""Corrections of attendance in a settled unit period: the provider asks, an auditor of the run's ministry decides.

A settled period's marks are locked (attendance.record refuses them) because the provider was paid from them.
A wrong mark found later is corrected here: the provider's staff who take attendance ask with a reason; nothing
changes until an auditor approves. Approval applies the mark, recomputes the period's worth with the same rule
as settlement (attendance.earned), and posts the difference to the ledger as a settle transfer: provider
payable → provider settled when the provider earned more, the reverse when it earned less. The period's
settlement row then shows the corrected figures; the ledger keeps both postings. Every request and decision
goes to the audit log.

Only enrolments still in training can be corrected: after 수료/미수료 was decided, a changed rate could change
that decision and the learner's allowance, which this does not reopen (docs/providers.md, limits).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from courses.models import Programme, Run
from hrdnet import audit
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from vouchers import errors
from vouchers.cards.rules import card_rules
from vouchers.enrolments import attendance
from vouchers.enrolments.models import Attendance, AttendanceCorrection, Enrolment, Settlement
from vouchers.enrolments.operations import provider_payable, settled_amount
from vouchers.enrolments.states import S
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import AccountKind, TransferKind

MIN_REASON = 5


def request(
    run_id: int, enrolment_id: int, day: date, mark: str, reason: str, *, actor: str, today: date
) -> AttendanceCorrection:
    """Ask to change one mark of a settled period of the run. Refused for an open period (record it directly),
    for an enrolment no longer in training, and while another request for the same day waits."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise errors.AttendanceInvalid(f"정정 사유를 {MIN_REASON}자 이상 적어 주세요.")
    enrolment, run = attendance.check_markable(enrolment_id, day, mark, today=today)
    if run.id != run_id:  # the caller scoped the run to its provider; the enrolment must belong to it
        raise errors.EnrolmentNotFound()
    _require_in_training(enrolment)
    period = attendance.period_of(run, day).number
    if _settlement(enrolment_id, period) is None:
        raise errors.AttendanceInvalid("정산 전인 단위기간의 출석은 정정 요청 없이 바로 기록하세요.")
    if _pending(enrolment_id, day) is not None:
        raise errors.CorrectionPending()
    current = _mark_of(enrolment_id, day)
    if current == mark:
        raise errors.AttendanceInvalid("지금 기록과 같은 출석 구분입니다.")
    correction = AttendanceCorrection(
        enrolment_id=enrolment_id,
        day=day,
        period=period,
        previous_mark=current,
        mark=mark,
        reason=reason,
        status="pending",
        requested_by=actor,
        decision_reason="",
        amount_change=0,
    )
    savepoint = db.session.begin_nested()
    try:
        db.session.add(correction)
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()  # a concurrent request for the same day was committed after our check
        raise errors.CorrectionPending() from None
    savepoint.commit()
    audit.append(
        "attendance.correction_requested",
        actor=actor,
        subject_type="enrolment",
        subject_id=enrolment_id,
        data={"correction": correction.id, "day": day.isoformat(), "from": current, "to": mark},
    )
    return correction


def decide(
    correction_id: int, *, approve: bool, reason: str, ministry_id: int | None, actor: str
) -> AttendanceCorrection:
    """An auditor of the run's ministry (None: an admin) approves or rejects (a rejection needs a reason)."""
    reason = (reason or "").strip()
    if not approve and len(reason) < MIN_REASON:
        raise errors.AttendanceInvalid(f"반려 사유를 {MIN_REASON}자 이상 적어 주세요.")
    audit.lock_chain()  # money may move: the same lock settlement takes, before any row is read
    correction = correction_in_scope(correction_id, ministry_id)
    if correction.status != "pending":
        raise errors.IllegalTransition("이미 처리된 정정 요청입니다.")
    enrolment = db.session.get(Enrolment, correction.enrolment_id)
    correction.status = "approved" if approve else "rejected"
    correction.decided_by, correction.decided_at, correction.decision_reason = actor, utcnow(), reason
    if approve:
        _require_in_training(enrolment)
        _apply(correction, enrolment, actor=actor)
    db.session.flush()
    audit.append(
        f"attendance.correction_{correction.status}",
        actor=actor,
        subject_type="enrolment",
        subject_id=enrolment.id,
        data={"correction": correction.id, "amount_change": correction.amount_change},
    )
    return correction


def correction_in_scope(correction_id: int, ministry_id: int | None) -> AttendanceCorrection:
    """A correction for the auditors of its run's ministry; another ministry's is "not found"."""
    correction = db.session.get(AttendanceCorrection, correction_id)
    if correction is None or not _in_ministry(correction, ministry_id):
        raise errors.CorrectionNotFound()
    return correction


def pending_for_ministry(ministry_id: int | None) -> list[AttendanceCorrection]:
    """Waiting requests, oldest first, of the runs in the ministry's programmes (None: every ministry)."""
    query = (
        select(AttendanceCorrection)
        .join(Enrolment, Enrolment.id == AttendanceCorrection.enrolment_id)
        .join(Run, Run.id == Enrolment.run_id)
        .where(AttendanceCorrection.status == "pending")
    )
    if ministry_id is not None:
        query = query.join(Programme, Programme.id == Run.programme_id).where(Programme.ministry_id == ministry_id)
    return db.session.scalars(query.order_by(AttendanceCorrection.requested_at, AttendanceCorrection.id)).all()


def of_run(run: Run) -> list[AttendanceCorrection]:
    return db.session.scalars(
        select(AttendanceCorrection)
        .join(Enrolment, Enrolment.id == AttendanceCorrection.enrolment_id)
        .where(Enrolment.run_id == run.id)
        .order_by(AttendanceCorrection.requested_at.desc(), AttendanceCorrection.id.desc())
    ).all()


# -- applying an approved correction -----------------------------------------------------------------------------


def _apply(correction: AttendanceCorrection, enrolment: Enrolment, *, actor: str) -> None:
    """The mark changes; the period is worth what its attendance now earns; the difference is posted."""
    rules = card_rules()
    run = db.session.get(Run, enrolment.run_id)
    row = db.session.scalar(
        select(Attendance).where(Attendance.enrolment_id == enrolment.id, Attendance.day == correction.day)
    )
    if row is None:
        db.session.add(
            Attendance(enrolment_id=enrolment.id, day=correction.day, mark=correction.mark, recorded_by=actor)
        )
    else:
        row.mark, row.recorded_by = correction.mark, actor
    db.session.flush()
    outcome = next(
        o
        for o in attendance.outcomes(enrolment, run, left_on=enrolment.left_on, rules=rules)
        if o.period.number == correction.period
    )
    paid_before = outcome.amount  # the settlement plus earlier approved corrections of the period
    ceiling = max(
        enrolment.government_share - enrolment.card_returned - (settled_amount(enrolment.id) - paid_before), 0
    )
    change = min(attendance.earned(outcome.attendance, outcome.share, rules), ceiling) - paid_before
    if change:
        correction.transfer_id = _post(correction, enrolment, run, change, actor=actor)
    correction.amount_change = change


def _post(correction: AttendanceCorrection, enrolment: Enrolment, run: Run, change: int, *, actor: str) -> int:
    payable = provider_payable(run)
    settled = ledger.open_account(AccountKind.PROVIDER_SETTLED, "provider", run.course.provider_id)
    source, target = (payable, settled) if change > 0 else (settled, payable)
    posted = ledger.transfer(
        f"enrolment:{enrolment.id}:settle:{correction.period}:correction:{correction.id}",
        TransferKind.SETTLE,
        [(source.id, target.id, abs(change))],
        memo=f"{correction.period}회차 단위기간 출석 정정 #{correction.id} " + ("추가 지급" if change > 0 else "회수"),
        actor=actor,
    )
    return posted.id


def _require_in_training(enrolment: Enrolment) -> None:
    if enrolment.status != S.IN_TRAINING.value:
        raise errors.AttendanceInvalid(
            "훈련 중인 수강생의 출석만 정정할 수 있습니다(수료 판정 후에는 관리자에게 문의하세요)."
        )


def _settlement(enrolment_id: int, period: int) -> Settlement | None:
    return db.session.scalar(
        select(Settlement).where(Settlement.enrolment_id == enrolment_id, Settlement.period == period)
    )


def _pending(enrolment_id: int, day: date) -> AttendanceCorrection | None:
    return db.session.scalar(
        select(AttendanceCorrection).where(
            AttendanceCorrection.enrolment_id == enrolment_id,
            AttendanceCorrection.day == day,
            AttendanceCorrection.status == "pending",
        )
    )


def _mark_of(enrolment_id: int, day: date) -> str | None:
    return db.session.scalar(
        select(Attendance.mark).where(Attendance.enrolment_id == enrolment_id, Attendance.day == day)
    )


def _in_ministry(correction: AttendanceCorrection, ministry_id: int | None) -> bool:
    if ministry_id is None:
        return True
    run = db.session.get(Run, db.session.get(Enrolment, correction.enrolment_id).run_id)
    return run.programme is not None and run.programme.ministry_id == ministry_id
