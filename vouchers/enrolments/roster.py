"""A run's roster for its provider's staff: who is enrolled (masked unless the staff member takes
attendance), their attendance, the day's marks, and each unit period's settlement.

Scoping: every function starts from run_of_provider(), which answers "not found" for a run of another
provider, so a guessed id shows nothing. Contact data is given only with a stated reason, and the reason
goes to the audit log (never the data itself).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from sqlalchemy import func, select

from courses import calendar
from courses.errors import RunNotFound
from courses.models import Course, Run
from hrdnet import audit
from hrdnet.auth.models import User
from hrdnet.extensions import db
from hrdnet.privacy import mask_name
from vouchers import errors
from vouchers.cards.rules import card_rules
from vouchers.enrolments import attendance
from vouchers.enrolments.models import Attendance, AttendanceMark, Enrolment
from vouchers.enrolments.states import S

ON_ROSTER = (S.CONFIRMED.value, S.IN_TRAINING.value, S.COMPLETED.value, S.DROPPED.value)
MARK_LABELS = {"present": "출석", "late": "지각", "early_leave": "조퇴", "outing": "외출", "absent": "결석"}
CSV_HEADER = ("enrolment_id", "day", "mark")
MAX_CSV_ROWS = 5000


def run_of_provider(run_id: int, provider_id: int) -> Run:
    run = db.session.scalar(
        select(Run).join(Course, Course.id == Run.course_id).where(Run.id == run_id, Course.provider_id == provider_id)
    )
    if run is None:
        raise RunNotFound()
    return run


def run_of_ministry(run_id: int, ministry_id: int | None) -> Run:
    """A run for the auditors of its programme's ministry (None: an admin, any run)."""
    run = db.session.get(Run, run_id)
    if run is None or (ministry_id is not None and (run.programme is None or run.programme.ministry_id != ministry_id)):
        raise RunNotFound()
    return run


def runs_of_provider(provider_id: int) -> list[Run]:
    return db.session.scalars(
        select(Run)
        .join(Course, Course.id == Run.course_id)
        .where(Course.provider_id == provider_id, Run.status.in_(("open", "closed", "cancelled")))
        .order_by(Run.start_date.desc())
    ).all()


@dataclass(frozen=True)
class RosterRow:
    enrolment_id: int
    learner: str
    status: str
    rate: Fraction  # attended over scheduled days so far (unmarked past days count as absences)
    scheduled_so_far: int
    mark: str | None  # the mark of the day asked for

    @property
    def percent(self) -> str:
        return f"{float(self.rate) * 100:.1f}%"


def _enrolments(run: Run) -> list[tuple[Enrolment, str]]:
    return db.session.execute(
        select(Enrolment, User.name)
        .join(User, User.id == Enrolment.user_id)
        .where(Enrolment.run_id == run.id, Enrolment.status.in_(ON_ROSTER))
        .order_by(Enrolment.id)
    ).all()


def roster(run: Run, *, day: date, today: date, unmasked: bool) -> list[RosterRow]:
    marks = dict(
        db.session.execute(
            select(Attendance.enrolment_id, Attendance.mark)
            .join(Enrolment, Enrolment.id == Attendance.enrolment_id)
            .where(Enrolment.run_id == run.id, Attendance.day == day)
        ).all()
    )
    rules = card_rules()
    rows = []
    for enrolment, name in _enrolments(run):
        seen = attendance.attendance_so_far(enrolment, run, today, rules)
        rows.append(
            RosterRow(
                enrolment.id,
                name if unmasked else mask_name(name),
                enrolment.status,
                seen.rate,
                seen.scheduled,
                marks.get(enrolment.id),
            )
        )
    return rows


def record_day(run: Run, day: date, marks: list[tuple[int, str]], *, actor: str, today: date) -> int:
    """Record one day's marks for enrolments of this run (a day outside its calendar or in a settled period
    is refused by attendance.record). Every change goes to the audit log. Returns how many were recorded."""
    on_run = {enrolment.id for enrolment, _name in _enrolments(run)}
    for enrolment_id, mark in marks:
        if enrolment_id not in on_run:
            raise errors.EnrolmentNotFound()
        before = db.session.scalar(
            select(Attendance.mark).where(Attendance.enrolment_id == enrolment_id, Attendance.day == day)
        )
        attendance.record(enrolment_id, day, mark, actor=actor, today=today)
        if before != mark:
            audit.append(
                "attendance.recorded",
                actor=actor,
                subject_type="enrolment",
                subject_id=enrolment_id,
                data={"run_id": run.id, "day": day.isoformat(), "mark": mark, "before": before},
            )
    return len(marks)


@dataclass(frozen=True)
class CsvProblem:
    line: int
    message: str


def record_csv(run: Run, text: str, *, actor: str, today: date) -> tuple[int, list[CsvProblem]]:
    """Rows `enrolment_id,day,mark` (a header line first); each good row is recorded, each bad one reported
    with its line number and why, and none of them stops the others."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(h.strip().lower() for h in header) != CSV_HEADER:
        return 0, [CsvProblem(1, "첫 줄은 enrolment_id,day,mark 이어야 합니다.")]
    recorded, problems = 0, []
    for line, row in enumerate(reader, start=2):
        if line > MAX_CSV_ROWS + 1:
            problems.append(CsvProblem(line, f"한 번에 {MAX_CSV_ROWS:,}줄까지 올릴 수 있습니다."))
            break
        try:
            enrolment_id, day, mark = _parse_row(row)
            with db.session.begin_nested():
                record_day(run, day, [(enrolment_id, mark)], actor=actor, today=today)
            recorded += 1
        except (ValueError, errors.AttendanceInvalid, errors.EnrolmentNotFound) as problem:
            problems.append(CsvProblem(line, getattr(problem, "message", None) or str(problem)))
    return recorded, problems


def _parse_row(row: list[str]) -> tuple[int, date, str]:
    if len(row) != 3:
        raise ValueError("칸이 세 개(enrolment_id, day, mark)여야 합니다.")
    raw_id, raw_day, mark = (cell.strip() for cell in row)
    if not raw_id.isdigit():
        raise ValueError("enrolment_id는 숫자여야 합니다.")
    try:
        day = date.fromisoformat(raw_day)
    except ValueError:
        raise ValueError("날짜는 2026-03-02 처럼 적어 주세요.") from None
    if mark not in set(AttendanceMark):
        raise ValueError(f"출석 구분은 {', '.join(AttendanceMark)} 중 하나여야 합니다.")
    return int(raw_id), day, mark


# -- settlement per unit period -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolmentPeriod:
    enrolment_id: int
    attended: int
    scheduled: int
    rate: Fraction
    payable: int  # what the period is worth from its attendance (what was paid once settled)
    paid: int
    locked: bool


@dataclass(frozen=True)
class PeriodRow:
    number: int
    start: date
    end: date
    scheduled_days: int
    payable: int
    paid: int
    locked: bool  # settled for every learner on the roster: marks can no longer change
    ended: bool
    enrolments: list[EnrolmentPeriod]


def settlements(run: Run, today: date) -> list[PeriodRow]:
    """Every unit period: scheduled days, each enrolment's rate and amount, what was paid, whether locked.
    Days not marked count as absences (as they will once the period is over)."""
    rules = card_rules()
    per_period: dict[int, list[EnrolmentPeriod]] = {}
    for enrolment, _name in _enrolments(run):
        for outcome in attendance.outcomes(enrolment, run, rules=rules):
            number = outcome.period.number
            per_period.setdefault(number, []).append(
                EnrolmentPeriod(
                    enrolment.id,
                    outcome.attendance.attended,
                    outcome.attendance.scheduled,
                    outcome.attendance.rate,
                    outcome.amount,
                    outcome.amount if outcome.settled else 0,  # settled: its settlement and approved corrections
                    outcome.settled,
                )
            )
    rows = []
    for period in attendance.periods(run, rules):
        items = per_period.get(period.number, [])
        rows.append(
            PeriodRow(
                period.number,
                period.first,
                period.last,
                len(calendar.days_between(run, period.first, period.last)),
                sum(item.payable for item in items),
                sum(item.paid for item in items),
                bool(items) and all(item.locked for item in items),
                period.last < today,
                items,
            )
        )
    return rows


# -- contact data behind a reason -------------------------------------------------------------------------


def contact(run: Run, enrolment_id: int, *, reason: str, actor: str) -> dict:
    """A learner's e-mail and phone for a stated reason; the reason (not the data) goes to the audit log."""
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise errors.AttendanceInvalid("연락처를 보려는 이유를 5자 이상 적어 주세요.")
    row = next(((e, n) for e, n in _enrolments(run) if e.id == enrolment_id), None)
    if row is None:
        raise errors.EnrolmentNotFound()
    user = db.session.get(User, row[0].user_id)
    audit.append(
        "roster.contact_viewed",
        actor=actor,
        subject_type="enrolment",
        subject_id=enrolment_id,
        data={"run_id": run.id, "reason": reason[:200]},
    )
    return {"name": user.name, "email": user.email, "phone": user.phone}


# -- the reminder the day before a unit period ends -----------------------------------------------------------


def remind_unmarked(today: date) -> int:
    """Remind each provider, once per run and period, the day before a unit period ends, of the scheduled days
    so far with learners still unmarked (they count as absences once the period is over). Returns how many
    reminders went out."""
    from courses.portal import services as portal

    rules = card_rules()
    sent = 0
    run_ids = db.session.scalars(
        select(Enrolment.run_id).where(Enrolment.status == S.IN_TRAINING.value).distinct().order_by(Enrolment.run_id)
    ).all()
    for run in (db.session.get(Run, run_id) for run_id in run_ids):
        period = next((p for p in attendance.periods(run, rules) if p.last == today + timedelta(days=1)), None)
        if period is None:
            continue
        missing = _unmarked(run, period.first, today)
        if missing and portal.notify_provider(
            run.course.provider_id,
            f"'{run.course.title}' {run.run_number}회차 {period.number}단위기간이 내일({period.last.isoformat()}) 끝납니다. "
            f"출석을 기록하지 않은 {missing}건은 기간이 끝나면 결석으로 처리됩니다.",
            key=f"remind:{run.id}:{period.number}",
        ):
            sent += 1
    return sent


def _unmarked(run: Run, first: date, last: date) -> int:
    """(learner, scheduled day) pairs from first to last with no mark, for learners in training."""
    days = calendar.days_between(run, first, last)
    learners = db.session.scalars(
        select(Enrolment.id).where(Enrolment.run_id == run.id, Enrolment.status == S.IN_TRAINING.value)
    ).all()
    if not days or not learners:
        return 0
    marked = db.session.scalar(
        select(func.count())
        .select_from(Attendance)
        .where(Attendance.enrolment_id.in_(learners), Attendance.day >= first, Attendance.day <= last)
    )
    return len(days) * len(learners) - marked
