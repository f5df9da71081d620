"""From a number to the rows behind it: run → enrolments → ledger entries → audit-log rows, and one learner.

Every function takes the reader's Scope and answers NotFound for anything outside it, so an auditor of one
ministry cannot even learn that another ministry's run or enrolment exists. Learners appear masked; a stated
reason unmasks one learner for one page view, and that is written to the audit log (`unmask`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from courses.models import Course, Programme, Provider, Run
from hrdnet import audit
from hrdnet.auth.models import User
from hrdnet.errors import DomainError, NotFound
from hrdnet.extensions import db
from hrdnet.privacy import mask_email, mask_name, mask_phone
from vouchers.audit.scope import Scope
from vouchers.enrolments import states
from vouchers.enrolments.models import Attendance, AttendanceMark, Enrolment, EnrolmentEvent
from vouchers.ledger.models import Account, AccountKindDefinition, Entry, Transfer, TransferKindDefinition

MIN_REASON = 10  # characters: "확인" is not a reason


class NotInScope(NotFound):
    code, message = "not_found", "요청하신 항목을 찾을 수 없거나 소관이 아닙니다."


class ReasonRequired(DomainError):
    status, code = 422, "reason_required"
    message = f"개인정보를 보려면 사유를 {MIN_REASON}자 이상 적어 주세요."


@dataclass(frozen=True)
class EntryLine:
    entry_id: int
    transfer_id: int
    at: object
    transfer_kind: str
    memo: str
    account: str
    owner: str
    side: str
    amount: int


@dataclass(frozen=True)
class LearnerShown:
    """A learner as an auditor sees them: masked unless `unmasked` (after a logged reason)."""

    person_id: int
    name: str
    email: str
    phone: str
    unmasked: bool


def run_in_scope(run_id: int, scope: Scope) -> Run:
    run = db.session.get(Run, run_id)
    if run is None or not scope.allows(run.programme.ministry_id if run.programme else None):
        raise NotInScope()
    return run


def enrolment_in_scope(enrolment_id: int, scope: Scope) -> Enrolment:
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotInScope()
    run_in_scope(enrolment.run_id, scope)
    return enrolment


def enrolments_of_run(run_id: int, *, page: int, per_page: int, status: str | None = None):
    """A page of the run's enrolments with their learner masked and attendance rate (Flask-SQLAlchemy page)."""
    query = select(Enrolment).where(Enrolment.run_id == run_id)
    if status:
        query = query.where(Enrolment.status == status)
    found = db.paginate(query.order_by(Enrolment.id), page=page, per_page=per_page, error_out=False)
    rates = attendance_rates([e.id for e in found.items])
    users = _users({e.user_id for e in found.items})
    rows = [
        (e, states.STATUS_LABELS[states.S(e.status)], rates.get(e.id), _shown(e.person_id, users.get(e.user_id), False))
        for e in found.items
    ]
    return found, rows


def attendance_rates(enrolment_ids: list[int]) -> dict[int, float]:
    """Recorded attendance per enrolment: present days (lates and early leaves count, 3 of them one absence)."""
    if not enrolment_ids:
        return {}
    counts: dict[int, dict[str, int]] = {}
    for enrolment_id, mark, count in db.session.execute(
        select(Attendance.enrolment_id, Attendance.mark, func.count())
        .where(Attendance.enrolment_id.in_(enrolment_ids))
        .group_by(Attendance.enrolment_id, Attendance.mark)
    ):
        counts.setdefault(enrolment_id, {})[mark] = count
    rates = {}
    for enrolment_id, marks in counts.items():
        days = sum(marks.values())
        late = marks.get(AttendanceMark.LATE, 0) + marks.get(AttendanceMark.EARLY_LEAVE, 0)
        absences = marks.get(AttendanceMark.ABSENT, 0) + late // 3
        rates[enrolment_id] = round(100 * (days - absences) / days, 1) if days else 0.0
    return rates


def ledger_lines(enrolment: Enrolment) -> list[EntryLine]:
    """Every ledger entry of the enrolment's transfers, in order."""
    query = (
        select(
            Entry.id,
            Transfer.id,
            Transfer.created_at,
            TransferKindDefinition.label,
            Transfer.memo,
            AccountKindDefinition.label,
            Account.owner_type,
            Account.owner_id,
            Entry.side,
            Entry.amount,
        )
        .join(Transfer, Transfer.id == Entry.transfer_id)
        .join(Account, Account.id == Entry.account_id)
        .join(AccountKindDefinition, AccountKindDefinition.code == Account.kind)
        .join(TransferKindDefinition, TransferKindDefinition.code == Transfer.kind)
        .where(Transfer.id.in_(transfer_ids(enrolment)))
        .order_by(Entry.id)
    )
    return [
        EntryLine(row[0], row[1], row[2], row[3], row[4], row[5], f"{row[6]} {row[7]}", row[8], row[9])
        for row in db.session.execute(query)
    ]


def transfer_ids(enrolment: Enrolment) -> list[int]:
    """Transfers keyed `enrolment:<id>:…` and the one that settled its hold (the ledger's own expiry)."""
    prefix = f"enrolment:{enrolment.id}:"
    if db.session.get_bind().dialect.name == "sqlite":
        # A range on the unique index (SQLite compares keys byte by byte); ';' follows ':'.
        keyed = Transfer.key.between(prefix, f"enrolment:{enrolment.id};")
    else:
        keyed = Transfer.key.startswith(prefix, autoescape=True)
    condition = or_(keyed, Transfer.hold_id == enrolment.hold_id) if enrolment.hold_id else keyed
    return list(db.session.scalars(select(Transfer.id).where(condition).order_by(Transfer.id)))


def audit_rows(enrolment: Enrolment, transfer_ids_: list[int]) -> list[audit.AuditEntry]:
    """The audit-log entries about the enrolment and about each of its transfers."""
    conditions = [(audit.AuditEntry.subject_type == "enrolment") & (audit.AuditEntry.subject_id == str(enrolment.id))]
    if transfer_ids_:
        conditions.append(
            (audit.AuditEntry.subject_type == "transfer")
            & audit.AuditEntry.subject_id.in_([str(t) for t in transfer_ids_])
        )
    return list(db.session.scalars(select(audit.AuditEntry).where(or_(*conditions)).order_by(audit.AuditEntry.id)))


def events(enrolment: Enrolment) -> list[EnrolmentEvent]:
    return list(
        db.session.scalars(
            select(EnrolmentEvent).where(EnrolmentEvent.enrolment_id == enrolment.id).order_by(EnrolmentEvent.id)
        )
    )


def learner_enrolments(person_id: int, scope: Scope) -> list[tuple[Enrolment, Run, str]]:
    """The person's enrolments on runs in scope (NotFound when there is none: nothing to see here)."""
    query = (
        select(Enrolment, Run)
        .join(Run, Run.id == Enrolment.run_id)
        .outerjoin(Programme, Programme.id == Run.programme_id)
        .where(Enrolment.person_id == person_id)
        .order_by(Enrolment.id)
    )
    if scope.ministry_id is not None:
        query = query.where(Programme.ministry_id == scope.ministry_id)
    rows = [(e, r, states.STATUS_LABELS[states.S(e.status)]) for e, r in db.session.execute(query)]
    if not rows:
        raise NotInScope()
    return rows


def learner(person_id: int, scope: Scope, *, reason: str | None = None, actor: str | None = None) -> LearnerShown:
    """The learner masked; with a reason (≥ MIN_REASON characters) unmasked, and the unmasking audit-logged
    (inside the caller's unit of work). The log holds the reader's pseudonym, the person id and the reason."""
    enrolments = learner_enrolments(person_id, scope)
    user = db.session.get(User, enrolments[-1][0].user_id)
    if reason is None:
        return _shown(person_id, user, False)
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise ReasonRequired()
    audit.append(
        "audit.unmask",
        actor=actor or audit.SYSTEM_ACTOR,
        subject_type="person",
        subject_id=person_id,
        data={"reason": reason, "scope": scope.ministry_id},
    )
    return _shown(person_id, user, True)


def _users(user_ids: set[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}


def _shown(person_id: int, user: User | None, unmasked: bool) -> LearnerShown:
    if user is None:
        return LearnerShown(person_id, "", "", "", unmasked)
    if unmasked:
        return LearnerShown(person_id, user.name, user.email, user.phone or "", True)
    return LearnerShown(person_id, mask_name(user.name), mask_email(user.email), mask_phone(user.phone), False)


def run_header(run: Run) -> dict:
    provider = db.session.get(Provider, db.session.get(Course, run.course_id).provider_id)
    return {
        "title": f"{run.course.title} ({run.run_number}회차)",
        "provider": provider.name,
        "provider_id": provider.id,
        "programme": run.programme.name if run.programme else "미지정",
        "programme_id": run.programme_id,
        "dates": (run.start_date, run.end_date),
    }
