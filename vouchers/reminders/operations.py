"""Favourites and reminders.

Reminders are made by the worker (`send_due`, every few minutes): each candidate becomes one `Notification`
row, keyed by what it is about, so running again makes nothing twice; the e-mail goes through the outbox
(hrdnet.mail) in the same unit of work. A learner turns each kind off at /me/notifications; a kind that is
off makes neither the in-app reminder nor the e-mail. Services flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from courses import enrolment_window
from courses.models import Run
from hrdnet import mail
from hrdnet.auth.models import User
from hrdnet.extensions import db
from hrdnet.timeutil import format_day, format_kst
from vouchers.cards import operations as cards
from vouchers.cards.models import Card, IdentityLink
from vouchers.cards.rules import card_rules
from vouchers.enrolments import attendance
from vouchers.enrolments.models import Enrolment, EnrolmentStatus
from vouchers.ratings import operations as ratings
from vouchers.reminders.models import Favourite, Notification, ReminderSetting

# kind → what the settings page calls it
KINDS = {
    "card_expiring": "카드 유효기간 만료 90일·30일 전 (남은 잔액이 있을 때)",
    "hold_expiring": "자비부담금 결제 기한 임박 (10분 전)",
    "starts_tomorrow": "내일 개강하는 과정",
    "low_attendance": "단위기간 출석률이 80% 아래로 내려갔을 때",
    "favourite_closing": "관심 과정의 신청 마감 3일 전",
    "rating_open": "수료한 과정을 평가할 수 있게 되었을 때",
    "saved_search": "저장한 검색에 새로 맞는 회차가 생겼을 때 (새 회차, 바뀐 회차)",
}
SAVED_SEARCH_TOPIC = "alerts.saved_search"  # search.saved.ALERT_TOPIC (vouchers does not import search)
CARD_WARNINGS = (30, 90)  # days before the card's last day
HOLD_WARNING = timedelta(minutes=10)
FAVOURITE_WARNING_DAYS = 3
LOW_ATTENDANCE_MIN_DAYS = 3  # a period is judged once it has this many scheduled days behind it


# -- favourites -------------------------------------------------------------------------------------------


def toggle_favourite(user_id: int, run_id: int) -> bool:
    """Add the run to the learner's favourites, or take it out; True when it is a favourite afterwards."""
    existing = db.session.scalar(select(Favourite).where(Favourite.user_id == user_id, Favourite.run_id == run_id))
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
        return False
    db.session.add(Favourite(user_id=user_id, run_id=run_id))
    db.session.flush()
    return True


def is_favourite(user_id: int, run_id: int) -> bool:
    return (
        db.session.scalar(select(Favourite.id).where(Favourite.user_id == user_id, Favourite.run_id == run_id))
        is not None
    )


@dataclass(frozen=True)
class FavouriteRow:
    run: Run
    recruitment: enrolment_window.Recruitment


def favourites(user_id: int, today: date) -> list[FavouriteRow]:
    runs = db.session.scalars(
        select(Run)
        .join(Favourite, Favourite.run_id == Run.id)
        .where(Favourite.user_id == user_id)
        .order_by(Run.start_date)
    )
    return [FavouriteRow(run, enrolment_window.status_of(run, today)) for run in runs]


# -- settings -----------------------------------------------------------------------------------------------


def disabled_kinds(user_id: int) -> set[str]:
    return set(
        db.session.scalars(
            select(ReminderSetting.kind).where(ReminderSetting.user_id == user_id, ReminderSetting.enabled.is_(False))
        )
    )


def set_enabled(user_id: int, enabled: set[str]) -> None:
    """Keep exactly `enabled` of KINDS on for this learner."""
    db.session.execute(delete(ReminderSetting).where(ReminderSetting.user_id == user_id))
    for kind in KINDS:
        if kind not in enabled:
            db.session.add(ReminderSetting(user_id=user_id, kind=kind, enabled=False))
    db.session.flush()


# -- the learner's reminders ----------------------------------------------------------------------------------


def recent(user_id: int, limit: int = 20) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user_id).order_by(Notification.id.desc()).limit(limit)
        )
    )


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def mark_all_read(user_id: int, now: datetime) -> None:
    db.session.execute(
        update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None)).values(read_at=now)
    )


# -- making them ---------------------------------------------------------------------------------------------


def notify(user_id: int, kind: str, key: str, text: str, path: str) -> Notification | None:
    """One reminder, in-app and by e-mail, unless the learner turned the kind off or already has it."""
    if kind in disabled_kinds(user_id):
        return None
    if db.session.scalar(select(Notification.id).where(Notification.user_id == user_id, Notification.key == key)):
        return None
    note = Notification(user_id=user_id, kind=kind, key=key, text=text[:300], path=path)
    db.session.add(note)
    db.session.flush()
    user = db.session.get(User, user_id)
    if user is not None and user.email:
        url = current_app.config["SITE_URL"].rstrip("/") + path
        mail.queue(user.email, f"[hrdnet] {text[:60]}", "reminder", text=text, url=url)
    return note


def saved_search_matched(payload: dict) -> None:
    """The outbox handler of search.saved's alerts: one reminder per (saved search, run), or per batch of runs
    told of together; delivering the item twice makes nothing twice (the key)."""
    key = str(payload.get("key") or f"saved:{int(payload['saved_search_id'])}:{int(payload['run_id'])}")
    notify(int(payload["user_id"]), "saved_search", key, str(payload["text"]), str(payload["path"]))


def send_due(today: date, now: datetime) -> int:
    """Every reminder due now; returns how many were made (0 when the worker runs again)."""
    made = 0
    for user_id, kind, key, text, path in (
        *_card_expiring(today),
        *_hold_expiring(now),
        *_starts_tomorrow(today),
        *_low_attendance(today),
        *_favourite_closing(today),
        *_rating_open(today),
    ):
        made += notify(user_id, kind, key, text, path) is not None
    return made


def _users_of_person(person_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(IdentityLink.user_id).where(IdentityLink.person_id == person_id, IdentityLink.status == "active")
        )
    )


def _card_expiring(today: date):
    horizon = today + timedelta(days=max(CARD_WARNINGS))
    for card in db.session.scalars(
        select(Card).where(Card.closed_on.is_(None), Card.expires_on >= today, Card.expires_on <= horizon)
    ):
        days = (card.expires_on - today).days
        threshold = min(t for t in CARD_WARNINGS if days <= t)
        available = cards.available_balance(card.id)
        if available <= 0:
            continue
        text = (
            f"내일배움카드 유효기간이 {days}일 남았습니다({format_day(card.expires_on)}까지). "
            f"남은 잔액 {available:,}원은 그 뒤에 소멸합니다."
        )
        for user_id in _users_of_person(card.person_id):
            yield user_id, "card_expiring", f"card:{card.id}:{threshold}", text, "/me/card"


def _hold_expiring(now: datetime):
    for enrolment in db.session.scalars(
        select(Enrolment).where(
            Enrolment.status == EnrolmentStatus.HELD,
            Enrolment.expires_at > now,
            Enrolment.expires_at <= now + HOLD_WARNING,
        )
    ):
        run = db.session.get(Run, enrolment.run_id)
        text = (
            f"{run.course.title} {run.run_number}회차의 자비부담금 {enrolment.self_pay:,}원을 "
            f"{format_kst(enrolment.expires_at)}까지 결제하지 않으면 신청이 취소됩니다."
        )
        yield enrolment.user_id, "hold_expiring", f"hold:{enrolment.id}", text, "/me"


def _starts_tomorrow(today: date):
    tomorrow = today + timedelta(days=1)
    for enrolment, run in db.session.execute(
        select(Enrolment, Run)
        .join(Run, Run.id == Enrolment.run_id)
        .where(Enrolment.status == EnrolmentStatus.CONFIRMED, Run.start_date == tomorrow)
    ):
        text = f"{run.course.title} {run.run_number}회차가 내일({format_day(tomorrow)}) 개강합니다."
        yield enrolment.user_id, "starts_tomorrow", f"start:{enrolment.id}", text, "/me"


def _low_attendance(today: date):
    """The unit period under way (through yesterday) below the completion rate, once it has a few days."""
    rules = card_rules()
    yesterday = today - timedelta(days=1)
    for enrolment, run in db.session.execute(
        select(Enrolment, Run)
        .join(Run, Run.id == Enrolment.run_id)
        .where(
            Enrolment.status.in_([EnrolmentStatus.CONFIRMED, EnrolmentStatus.IN_TRAINING]),
            Run.start_date <= yesterday,
            Run.end_date >= yesterday,
        )
    ):
        period = attendance.period_of(run, yesterday, rules)
        seen = attendance.attendance_between(enrolment, run, period.first, yesterday, rules=rules)
        if seen.scheduled < LOW_ATTENDANCE_MIN_DAYS or seen.reaches(rules):
            continue
        text = (
            f"{run.course.title} {run.run_number}회차 {period.number}단위기간 출석률이 "
            f"{int(seen.rate * 100)}%입니다. 80% 아래면 이 기간의 훈련장려금을 받을 수 없습니다."
        )
        yield enrolment.user_id, "low_attendance", f"attendance:{enrolment.id}:{period.number}", text, "/me"


def _favourite_closing(today: date):
    for favourite, run in db.session.execute(
        select(Favourite, Run).join(Run, Run.id == Favourite.run_id).where(Run.start_date >= today)
    ):
        recruitment = enrolment_window.status_of(run, today)
        if not recruitment.enrollable or recruitment.closes_in_days > FAVOURITE_WARNING_DAYS:
            continue
        text = (
            f"관심 과정 {run.course.title} {run.run_number}회차의 신청이 "
            f"{format_day(recruitment.closes)}에 마감됩니다({recruitment.deadline})."
        )
        yield favourite.user_id, "favourite_closing", f"favourite:{run.id}", text, f"/runs/{run.id}"


def _rating_open(today: date):
    """Completers whose rating window is open and who have not rated (the window's first weeks only)."""
    for enrolment, run in db.session.execute(
        select(Enrolment, Run)
        .join(Run, Run.id == Enrolment.run_id)
        .where(
            Enrolment.status == EnrolmentStatus.COMPLETED,
            Run.end_date >= today - timedelta(days=ratings.RATING_WINDOW_DAYS),
        )
    ):
        if not ratings.may_rate(enrolment, run, today):
            continue
        closes = ratings.ended_on(enrolment, run) + timedelta(days=ratings.RATING_WINDOW_DAYS)
        text = (
            f"{run.course.title} {run.run_number}회차를 수료했습니다. {format_day(closes)}까지 평가를 남기면 "
            "다른 훈련생이 과정을 고르는 데 도움이 됩니다."
        )
        yield enrolment.user_id, "rating_open", f"rating:{enrolment.id}", text, f"/me/enrolments/{enrolment.id}/rating"
