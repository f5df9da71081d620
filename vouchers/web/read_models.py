"""Read models: what the learner pages, the admin's application queue and the JSON API show.

The rooms (cards, enrolments, payments, ledger) own the rules and the money, vouchers.checkout the writes that
span them; this module gathers what one page or one API answer needs, so that views stay thin and the page
and the API show the same numbers from the same functions. Everything here only reads: GET requests call it,
and a GET never inserts, updates or deletes (tests/functional/test_read_only_gets.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cached_property

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select

from courses import calendar
from courses.models import Run
from courses.services import PUBLIC_STATUSES
from hrdnet.access import Role
from hrdnet.extensions import db
from vouchers import errors
from vouchers.cards import operations as cards
from vouchers.cards import sanctions
from vouchers.cards.models import ApplicationStatus, Card, CardApplication, CardKind, Person, Sanction, SanctionStatus
from vouchers.cards.quote import Quote, quote
from vouchers.cards.rules import CardRules, card_rules
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments import refunds, states
from vouchers.enrolments.models import Enrolment, EnrolmentStatus
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Hold, Transfer, TransferKind
from vouchers.payments import operations as payments
from vouchers.payments.models import Payment, PaymentStatus
from vouchers.ratings import operations as ratings
from vouchers.ratings.models import Rating

log = logging.getLogger(__name__)

PER_PAGE = 20
HISTORY_PAGE = 20

KIND_LABELS = {CardKind.CARD: "국민내일배움카드", CardKind.KDIGITAL: "K-디지털 크레딧"}
CARD_STATUS_LABELS = {"active": "사용 중", "suspended": "사용 정지", "expired": "유효기간 만료", "closed": "사용 종료"}
APPLICATION_LABELS = {
    ApplicationStatus.SUBMITTED: "심사 중",
    ApplicationStatus.APPROVED: "승인",
    ApplicationStatus.REJECTED: "반려",
}
PAYMENT_LABELS = {
    PaymentStatus.PENDING: "결제 대기",
    PaymentStatus.SUCCEEDED: "결제 완료",
    PaymentStatus.FAILED: "결제 실패",
    PaymentStatus.CANCELED: "결제 취소",
}


# -- cards -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardView:
    card: Card
    status: str  # active | suspended | expired | closed (on the day asked)
    figures: cards.CardFigures

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[CardKind(self.card.kind)]

    @property
    def status_label(self) -> str:
        label = CARD_STATUS_LABELS[self.status]
        if self.status == "suspended":
            return f"{label} ({self.card.suspended_until:%Y-%m-%d}까지)"
        return label

    def as_dict(self) -> dict:
        f = self.figures
        return {
            "card_id": self.card.id,
            "kind": self.card.kind,
            "status": self.status,
            "suspended_until": self.card.suspended_until,
            "issued_on": self.card.issued_on,
            "expires_on": self.card.expires_on,
            "limit": f.issued,
            "top_ups": f.top_ups,
            "available": f.available,
            "held": f.held,
            "spent": f.spent,
            "expired": f.expired,
            "penalties": f.penalties,
        }


@dataclass(frozen=True)
class StatementRow:
    """One history line as the learner reads it: labelled by what became of it, naming its run."""

    line: ledger.HistoryLine
    label: str  # the line's kind, or for a hold what became of it (used, released, still waiting)
    enrolment_id: int | None  # the enrolment the money moved for, if any
    run_name: str | None  # "과정명 N회차" of that enrolment


# What became of a hold, in the words of the line that reserved it (the hold's own kind label says "보류"
# forever, which read as if the money were still waiting long after it was paid).
HOLD_OUTCOME_LABELS = {
    None: "결제 대기(보류)",
    TransferKind.CAPTURE: "수강료 카드 결제",
    TransferKind.RELEASE: "보류했다가 돌려받음",
    TransferKind.HOLD_EXPIRY: "결제 기한이 지나 돌려받음",
}
_ENROLMENT_KEY = re.compile(r"^enrolment:(\d+)(?::|$)")


@dataclass(frozen=True)
class History:
    card: CardView
    lines: list[ledger.HistoryLine]
    next_before: int | None  # the entry id to ask for the next (older) page with; None on the last page

    @cached_property
    def rows(self) -> list[StatementRow]:
        return statement_rows(self.lines)


def statement_rows(lines: list[ledger.HistoryLine]) -> list[StatementRow]:
    """Label each line by its current state and name its enrolment's run (three queries per page)."""
    ids = {line.transfer_id for line in lines}
    keys = dict(db.session.execute(select(Transfer.id, Transfer.key).where(Transfer.id.in_(ids))).all())
    hold_outcomes = dict(
        db.session.execute(
            select(Hold.transfer_id, Transfer.kind)
            .outerjoin(Transfer, Transfer.hold_id == Hold.id)
            .where(Hold.transfer_id.in_(ids))
        ).all()
    )
    enrolment_of = {tid: int(m.group(1)) for tid, key in keys.items() if (m := _ENROLMENT_KEY.match(key))}
    runs = dict(
        db.session.execute(
            select(Enrolment.id, Run)
            .join(Run, Run.id == Enrolment.run_id)
            .where(Enrolment.id.in_(set(enrolment_of.values())))
        ).all()
    )
    rows = []
    for line in lines:
        enrolment_id = enrolment_of.get(line.transfer_id)
        run = runs.get(enrolment_id)
        label = line.label
        if line.kind == TransferKind.HOLD and line.transfer_id in hold_outcomes:
            label = HOLD_OUTCOME_LABELS.get(hold_outcomes[line.transfer_id], line.label)
        rows.append(
            StatementRow(line, label, enrolment_id, f"{run.course.title} {run.run_number}회차" if run else None)
        )
    return rows


@dataclass(frozen=True)
class CardPage:
    verified: bool
    cards: list[CardView]  # the main card first, then K-Digital Credit, then closed ones
    application: CardApplication | None  # the latest application, if any
    history: History | None


def card_views(user_id: int, today: date) -> list[CardView]:
    return [CardView(card, card.status_on(today), cards.figures(card.id)) for card in cards.cards_of_user(user_id)]


def main_card(views: list[CardView]) -> CardView | None:
    """The 내일배움카드 the learner uses (an open one first; else the latest, for its history)."""
    return next((view for view in views if view.card.kind == CardKind.CARD), None)


def card_history(view: CardView, *, before: int | None = None, per_page: int | None = None) -> History:
    """The card's available account, newest first, one page at a time (keyset on the entry id)."""
    per_page = per_page or HISTORY_PAGE
    accounts = cards.find_accounts(view.card.id)  # read only: a page view never opens accounts
    lines = ledger.history(accounts.available.id, limit=per_page + 1, before_entry_id=before) if accounts else []
    more = len(lines) > per_page
    lines = lines[:per_page]
    return History(view, lines, lines[-1].entry_id if more else None)


def card_page(user_id: int, today: date, *, card_id: int | None = None, before: int | None = None) -> CardPage:
    views = card_views(user_id, today)
    shown = next((view for view in views if view.card.id == card_id), None) if card_id else main_card(views)
    shown = shown or (views[0] if views else None)
    return CardPage(
        verified=cards.person_of(user_id) is not None,
        cards=views,
        application=latest_application(user_id),
        history=card_history(shown, before=before) if shown else None,
    )


def card_document(user_id: int, today: date, *, before: int | None = None, limit: int = 50) -> dict:
    """GET /api/v1/me/card: the main card's figures at the top, every account, and the statement."""
    views = card_views(user_id, today)
    main = main_card(views)
    if main is None:
        raise errors.CardNotFound("발급된 내일배움카드가 없습니다.")
    history = card_history(main, before=before, per_page=limit)
    return {
        **main.as_dict(),
        "accounts": [view.as_dict() for view in views],
        "entries": [
            {
                "entry_id": line.entry_id,
                "at": line.at,
                "kind": line.kind,
                "label": line.label,
                "description": line.memo,
                "change": line.change,
                "balance_after": line.balance_after,
            }
            for line in history.lines
        ],
        "next_before": history.next_before,
    }


def latest_application(user_id: int) -> CardApplication | None:
    return db.session.scalar(
        select(CardApplication).where(CardApplication.user_id == user_id).order_by(CardApplication.id.desc()).limit(1)
    )


@dataclass(frozen=True)
class ApplyPage:
    rules: CardRules
    group_labels: dict[str, str]
    open_card: Card | None
    application: CardApplication | None

    @property
    def top_up_text(self) -> str:
        """The top-up groups by amount, each with the day it applies from (the groups change by year)."""
        by_amount: dict[int, list[str]] = {}
        for group in self.rules.top_up_groups.values():
            by_amount.setdefault(group.amount, []).append(f"{group.label}({group.effective_from:%Y.%m.%d}부터)")
        amounts = "; ".join(f"{', '.join(labels)} {amount:,}원" for amount, labels in by_amount.items())
        return f"남은 잔액이 {self.rules.top_up_when_below:,}원 미만이 되면 한 번 더 지원: {amounts}"


def apply_page(user_id: int) -> ApplyPage:
    person = cards.person_of(user_id)
    if person is None:
        raise errors.IdentityRequired()
    return ApplyPage(
        card_rules(), cards.group_labels(), cards.open_card(person.id, CardKind.CARD), latest_application(user_id)
    )


@dataclass(frozen=True)
class StatusPage:
    """The learner's status form: the choices and what is recorded for today."""

    statuses: dict[str, str]
    group_labels: dict[str, str]
    current_label: str | None
    initial: dict


def status_page(user_id: int, today: date) -> StatusPage:
    person = cards.require_person(user_id)
    statuses = card_rules().statuses
    current = cards.status_on(person.id, today)
    initial = {"employment_status": current.employment_status, "groups": current.groups.split()} if current else {}
    label = statuses.get(current.employment_status) if current else None
    return StatusPage(statuses, cards.group_labels(), label, initial)


# -- the admin's queue ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationRow:
    """An application as the admin sees it: pseudonymous (the person's key, the birth year for the age check)."""

    application: CardApplication
    person_code: str
    birth_year: int | None

    @property
    def group_list(self) -> list[str]:
        return self.application.groups.split()


def applications(status: str, page: int) -> tuple[Pagination, list[ApplicationRow]]:
    order = CardApplication.id if status == ApplicationStatus.SUBMITTED else CardApplication.id.desc()
    found = db.paginate(
        select(CardApplication).where(CardApplication.status == status).order_by(order),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )
    people = {
        p.id: p for p in db.session.scalars(select(Person).where(Person.id.in_({a.person_id for a in found.items})))
    }
    rows = [
        ApplicationRow(
            a,
            people[a.person_id].person_key[:10],
            people[a.person_id].birth_date.year if people[a.person_id].birth_date else None,
        )
        for a in found.items
    ]
    return found, rows


# -- the learner's price and the enrol page -----------------------------------------------------------------------


def learner_quote(run: Run, user_id: int, today: date) -> Quote | None:
    """The one quote the run page, the run API and the enrol page show (vouchers.cards.quote.quote), refused
    as `already_enrolled` when the learner holds a live enrolment in the run: the page says "이미 신청함"
    before anyone types a password."""
    person = cards.person_of(user_id)
    price = quote(run, person.id if person else None, today)
    live = enrolments.live_enrolment(person.id, run.id) if person and price else None
    if live is not None:
        return replace(price, refusal=errors.AlreadyEnrolled(details={"enrolment_id": live.id}))
    return price


def learner_price(run: Run, user_id: int, today: date) -> dict | None:
    """The catalog's viewer price (courses.services.register_viewer_price): data only, the API's `price`.

    The run page builds its links from `refusal.code` (templates/macros/price.html); nothing here knows
    which page shows it.
    """
    price = learner_quote(run, user_id, today)
    return price.as_dict() if price is not None else None


def learner_balance(user_id: int, today: date) -> int | None:
    """The catalog's viewer balance (courses.services.register_viewer_balance): what the learner's open
    내일배움카드 can spend now; None without a linked person or an open card."""
    person = cards.person_of(user_id)
    card = cards.open_card(person.id, CardKind.CARD) if person is not None else None
    return cards.available_balance(card.id) if card is not None else None


def learner_pricing(user_id: int, today: date) -> tuple[str | None, frozenset[str]] | None:
    """The catalog's viewer pricing (courses.services.register_viewer_pricing): the employment status and
    exemption groups the learner's quotes are priced by today; None without a linked person."""
    person = cards.person_of(user_id)
    if person is None:
        return None
    status = cards.status_on(person.id, today)
    return (status.employment_status, frozenset(status.group_set)) if status is not None else (None, frozenset())


def public_run(run_id: int) -> Run:
    run = db.session.scalar(select(Run).where(Run.id == run_id, Run.status.in_(PUBLIC_STATUSES)))
    if run is None:
        raise errors.RunNotFound()
    return run


@dataclass(frozen=True)
class EnrolPage:
    run: Run
    quote: Quote
    free_deadline: date  # the last day a withdrawal is free
    training_days: int
    rules: CardRules
    first_penalty: int  # the first dropout's sanction on the schedule this run's account follows


def enrol_page(run_id: int, user_id: int, today: date) -> EnrolPage:
    run = public_run(run_id)
    price = learner_quote(run, user_id, today)
    if price is None:
        raise errors.PriceUnknown()
    rules = card_rules()
    schedule = rules.sanctions[sanctions.track_of(price.account)]
    return EnrolPage(
        run,
        price,
        refunds.free_withdrawal_deadline(run, rules),
        calendar.training_day_count(run),
        rules,
        schedule.penalties[0].amount,
    )


def payment_document(payment: Payment | None) -> dict | None:
    if payment is None:
        return None
    return {
        "backend": payment.backend,
        "attempt_id": payment.id,
        "amount": payment.amount,
        "status": payment.status,
        "processor_ref": payment.processor_ref,
        "client_secret": payment.client_secret if payment.status == PaymentStatus.PENDING else None,
        "failure_message": payment.failure_message,
    }


def enrolled_document(enrolment: Enrolment) -> dict:
    """POST /api/v1/enrolments: the enrolment and its payment."""
    return _enrolled(enrolment, payments.current_payment(enrolment.id) if enrolment.self_pay else None)


def enrolled_documents(enrolment_ids: Sequence[int]) -> dict[int, dict]:
    """enrolled_document for a batch ({enrolment id: document}) in two statements: the enrolments, then their
    payments (each one's current attempt: the newest)."""
    enrolments_by_id = {
        row.id: row
        for row in db.session.scalars(
            select(Enrolment)
            .where(Enrolment.id.in_(list(enrolment_ids)))
            .execution_options(populate_existing=True)  # as written by the Core statements just before
        )
    }
    current: dict[int, Payment] = {}
    for payment in db.session.scalars(
        select(Payment)
        .where(Payment.enrolment_id.in_(list(enrolment_ids)))
        .order_by(Payment.id)
        .execution_options(populate_existing=True)
    ):
        current[payment.enrolment_id] = payment  # ascending: the newest attempt stays
    return {
        enrolment_id: _enrolled(row, current.get(enrolment_id) if row.self_pay else None)
        for enrolment_id, row in enrolments_by_id.items()
    }


def _enrolled(enrolment: Enrolment, payment: Payment | None) -> dict:
    return {
        "enrolment_id": enrolment.id,
        "run_id": enrolment.run_id,
        "status": enrolment.status,
        "fee": enrolment.fee,
        "self_pay": enrolment.self_pay,
        "government_share": enrolment.government_share,
        "card_draw": enrolment.card_draw,
        "account": enrolment.account,
        "payment": payment_document(payment),
    }


# -- ratings -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRatings:
    run: ratings.Summary
    course: ratings.Summary
    comments: list[Rating]
    min_count: int = ratings.MIN_RATINGS


def run_ratings(run) -> RunRatings:
    """What the run page shows of its ratings: the run's and the course's summary, the latest comments."""
    return RunRatings(ratings.run_summary(run.id), ratings.course_summary(run.course_id), ratings.comments(run.id))


def rating_page(enrolment_id: int, user_id: int, today: date) -> tuple[Enrolment, Run, bool, Rating | None]:
    """The enrolment to rate, its run, whether it may be rated now (the page explains when not) and the
    learner's rating when they already rated."""
    enrolment = enrolments.own(enrolment_id, user_id)
    run = db.session.get(Run, enrolment.run_id)
    return enrolment, run, ratings.may_rate(enrolment, run, today), ratings.rating_of(enrolment.id)


# -- the learner's enrolments ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolmentRow:
    enrolment: Enrolment
    run: Run
    payment: Payment | None
    rating: Rating | None = None  # the learner's own rating of a completed run

    @property
    def status_label(self) -> str:
        return states.STATUS_LABELS[states.S(self.enrolment.status)]

    @property
    def history(self) -> list[tuple[datetime, str, str]]:
        """(when, what in Korean, why) for each step, oldest first."""
        return [(e.at, states.EVENT_LABELS.get(e.event, e.event), e.reason) for e in self.enrolment.events]


def my_enrolments(user_id: int, page: int) -> tuple[Pagination, list[EnrolmentRow]]:
    found = db.paginate(
        select(Enrolment).where(Enrolment.user_id == user_id).order_by(Enrolment.id.desc()),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )
    runs = {run.id: run for run in db.session.scalars(select(Run).where(Run.id.in_({e.run_id for e in found.items})))}
    return found, [
        EnrolmentRow(e, runs[e.run_id], payments.current_payment(e.id), ratings.rating_of(e.id)) for e in found.items
    ]


@dataclass(frozen=True)
class CancelPage:
    row: EnrolmentRow
    preview: refunds.CancelPreview
    reasons: dict[str, str]  # exempt reasons a learner may give when leaving (key → Korean label)

    @property
    def hold_released(self) -> int:
        """An unpaid enrolment's card share, which cancelling releases (the preview counts it as 0 returned)."""
        return refunds.hold_released(self.row.enrolment)


def cancel_page(enrolment_id: int, user_id: int, today: date) -> CancelPage:
    enrolment = enrolments.own(enrolment_id, user_id)
    if not enrolment.is_active:
        raise errors.IllegalTransition("이미 취소되었거나 끝난 수강 신청입니다.")
    run = db.session.get(Run, enrolment.run_id)
    return CancelPage(
        EnrolmentRow(enrolment, run, payments.current_payment(enrolment.id)),
        refunds.preview_cancel(enrolment, today),
        card_rules().exempt_reasons,
    )


def cancelled_message(done) -> str:
    """What the learner is told after cancelling (checkout.Cancelled)."""
    preview = done.preview
    outcome = {
        EnrolmentStatus.DROPPED: "중도탈락으로 처리",
        EnrolmentStatus.COMPLETED: "80%이상수료로 처리",
    }.get(preview.outcome, "취소")
    text = (
        f"수강 신청을 {outcome}했습니다. {'카드로' if done.to_card else '사업 예산으로'} {done.card_back:,}원이 "
        f"돌아가고, 자비부담금 {preview.self_pay_refund:,}원을 환불합니다."
    )
    if preview.sanction == "claimed":
        text += " 그만두는 사유의 증빙을 훈련기관이 확인할 때까지 제재는 보류됩니다."
    elif preview.sanction == "applied" and preview.penalty:
        text += f" 중도탈락 제재로 {preview.penalty:,}원이 차감됩니다."
    return text


# -- who may decide an exempt reason (POST /api/v1/enrolments/<id>/exemption, /admin/exemptions) --------------


def decidable_enrolment(enrolment_id: int, *, role: str, provider_id: int | None) -> Enrolment:
    """The enrolment if this user may confirm or refuse its exempt reason: an admin, or staff of the run's
    provider. Anyone else gets 'not found'."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise errors.EnrolmentNotFound()
    run = db.session.get(Run, enrolment.run_id)
    if role == Role.ADMIN or (
        role == Role.PROVIDER and provider_id is not None and provider_id == run.course.provider_id
    ):
        return enrolment
    raise errors.EnrolmentNotFound()


def sanction_document(row: Sanction) -> dict:
    return {
        "enrolment_id": row.enrolment_id,
        "status": row.status,
        "reason": row.reason,
        "penalty": row.penalty,
        "deduction": row.deduction,
        "suspended_until": row.suspended_until,
    }


@dataclass(frozen=True)
class ClaimRow:
    sanction: Sanction
    enrolment: Enrolment
    run: Run
    reason_label: str


def claimed_reasons(page: int) -> tuple[Pagination, list[ClaimRow]]:
    """Exempt reasons waiting for their evidence to be checked, oldest first (the admin's queue)."""
    found = db.paginate(
        select(Sanction).where(Sanction.status == SanctionStatus.CLAIMED).order_by(Sanction.created_at, Sanction.id),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )
    labels = card_rules().exempt_reasons
    rows = []
    for sanction in found.items:
        enrolment = db.session.get(Enrolment, sanction.enrolment_id)
        rows.append(
            ClaimRow(
                sanction, enrolment, db.session.get(Run, enrolment.run_id), labels.get(sanction.reason, sanction.reason)
            )
        )
    return found, rows


# -- who may read an enrolment (GET /api/v1/enrolments/<id>) ----------------------------------------------------


def visible_enrolment(
    enrolment_id: int, *, user_id: int, role: str, provider_id: int | None, ministry_id: int | None
) -> Enrolment:
    """The enrolment if this user may read it: its learner, the run's provider, an auditor of the run's
    ministry, an admin. Anyone else gets 'not found', exactly as for an id that does not exist."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise errors.EnrolmentNotFound()
    run = db.session.get(Run, enrolment.run_id)
    allowed = (
        role == Role.ADMIN
        or (role == Role.LEARNER and enrolment.user_id == user_id)
        or (role == Role.PROVIDER and provider_id is not None and provider_id == run.course.provider_id)
        or (
            role == Role.AUDITOR
            and ministry_id is not None
            and run.programme is not None
            and run.programme.ministry_id == ministry_id
        )
    )
    if not allowed:
        raise errors.EnrolmentNotFound()
    return enrolment


def enrolment_document(enrolment: Enrolment) -> dict:
    return {
        "enrolment_id": enrolment.id,
        "run_id": enrolment.run_id,
        "status": enrolment.status,
        "status_label": states.STATUS_LABELS[states.S(enrolment.status)],
        "fee": enrolment.fee,
        "self_pay": enrolment.self_pay,
        "government_share": enrolment.government_share,
        "card_draw": enrolment.card_draw,
        "account": enrolment.account,
        "history": [
            {"at": e.at, "from": e.from_status, "to": e.to_status, "event": e.event, "reason": e.reason}
            for e in enrolment.events
        ],
    }
