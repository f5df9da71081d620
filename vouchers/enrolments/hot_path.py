"""The enrolment hot path in few statements: the same rows, transfers and audit entries as enrol() and
confirm() in operations.py, written with SQLAlchemy Core under the lock order of docs/ledger.md.

Everything that can be read is read first, without locks and before the transaction (`plan` and
`confirm_plan`: the quote, the accounts, the run's title); on SQLite that keeps BEGIN IMMEDIATE's write
lock for the writes alone. The transaction then locks the card's two accounts first and, in the same
statement, re-reads what the plan depended on (the balance and the card's dates): when it no longer holds,
`enrol_locked` returns None before writing anything and the caller plans again. Idempotency is the
database's: the enrolment's INSERT … ON CONFLICT DO NOTHING RETURNING returns nothing when the same request
(user, request key) or a live enrolment of the person in the run got there first, and the transfer keys
are UNIQUE. Every trigger and CHECK of the ledger and of the enrolments still judges each row.

Anything unusual (a retried request, a payment that is no longer the enrolment's live one, a card suspended
since the hold) is left to the ORM services, which handle every case; vouchers.checkout decides.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import BigInteger, case, select, tuple_, update

from courses import calendar, changes
from courses.models import Course, Programme, Run
from hrdnet import audit, readahead
from hrdnet.db import insert_or_nothing, insert_rows, json_recordset
from hrdnet.errors import DomainError
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from vouchers import errors
from vouchers.cards import operations as cards
from vouchers.cards.rules import card_rules
from vouchers.enrolments.models import Enrolment, EnrolmentEvent
from vouchers.enrolments.operations import ACTIVE_STATUSES, check_request_key, price_request
from vouchers.enrolments.states import S
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Account, AccountKind, Hold, Side, Transfer, TransferKind


class Conflict(Exception):
    """The enrolment's INSERT did nothing: the same request, or a live enrolment in the run, came first."""


@dataclass(frozen=True)
class Accounts:
    """The ledger accounts a confirmation posts to (None: not opened yet; the transaction opens it)."""

    payable: int | None
    copay: int | None
    budget: int | None


@dataclass(frozen=True)
class Plan:
    """What enrolling will write, computed once before the transaction (the quote and the ids)."""

    user_id: int
    person_id: int
    run_id: int
    request_key: str
    card_id: int | None
    fee: int
    self_pay: int
    government_share: int
    card_draw: int
    account: str
    explanation: str
    shortfall: int  # > 0: the split depends on the exact balance quoted
    quoted_available: int | None
    training_days: int
    title: str
    programme_id: int
    provider_id: int
    accounts: Accounts


def plan(
    user_id: int, run_id: int, *, request_key: str, today: date, accounts_memo: dict | None = None
) -> Plan | Enrolment:
    """Read everything enrolling needs and price it (no lock, no write). Returns the earlier enrolment of the
    same request when there is one; raises what enrol() raises (RunNotFound, AlreadyEnrolled, the quote's
    refusal) except RunFull, which only the seat's guarded UPDATE decides. `accounts_memo` (the batching
    writer's, one per batch) keeps the shared accounts' ids of each (programme, provider) read once."""
    check_request_key(request_key)
    priced = price_request(user_id, run_id, request_key=request_key, today=today)
    if isinstance(priced, Enrolment):
        return priced
    person, run, price = priced
    course = db.session.get(Course, run.course_id)
    return Plan(
        user_id=user_id,
        person_id=person.id,
        run_id=run_id,
        request_key=request_key,
        card_id=price.card_id,
        fee=price.fee,
        self_pay=price.self_pay,
        government_share=price.government_share,
        card_draw=price.card_draw,
        account=price.account,
        explanation=price.explanation[:300],
        shortfall=price.shortfall_to_self_pay,
        quoted_available=price.available,
        training_days=calendar.training_day_count(run),
        title=course.title,
        programme_id=run.programme_id,
        provider_id=course.provider_id,
        accounts=_memo_accounts(run.programme_id, course.provider_id, accounts_memo),
    )


def plan_many(requests: Sequence[tuple[int, int, str]], *, today: date) -> list[Plan | Enrolment | DomainError]:
    """plan() for each (user id, run id, request key) of a batch, in order (a refusal is returned, not raised),
    with what the plans read read ahead for the whole batch in a few statements (hrdnet.readahead)."""
    planned: list[Plan | Enrolment | DomainError] = []
    memo: dict = {}
    with readahead.batch():
        _read_ahead(requests, today)
        for user_id, run_id, request_key in requests:
            try:
                planned.append(plan(user_id, run_id, request_key=request_key, today=today, accounts_memo=memo))
            except DomainError as exc:
                planned.append(exc)
    return planned


def _read_ahead(requests: Sequence[tuple[int, int, str]], today: date) -> None:
    """What price_request and the quote read for each request, for the whole batch: the earlier enrolments of
    the same requests, the people, statuses, cards and balances, the live enrolments, the runs, courses and
    programmes."""
    person_of = cards.read_ahead([user_id for user_id, _run, _key in requests], today)
    asked = [(user_id, key) for user_id, _run, key in requests]
    earlier = db.session.scalars(
        select(Enrolment).where(tuple_(Enrolment.user_id, Enrolment.request_key).in_(sorted(set(asked))))
    ).all()
    readahead.fill("enrolments.by_request", asked, {(e.user_id, e.request_key): e for e in earlier})
    wanted = [(person_of[user_id], run_id) for user_id, run_id, _key in requests if user_id in person_of]
    live: dict = {}
    if wanted:
        for enrolment in db.session.scalars(
            select(Enrolment).where(
                Enrolment.person_id.in_(sorted({person for person, _run in wanted})),
                Enrolment.run_id.in_(sorted({run for _person, run in wanted})),
                Enrolment.status.in_([s.value for s in ACTIVE_STATUSES]),
            )
        ):
            live.setdefault((enrolment.person_id, enrolment.run_id), enrolment)
    readahead.fill("enrolments.live", wanted, live)
    runs = db.session.scalars(select(Run).where(Run.id.in_(sorted({run for _user, run, _key in requests})))).all()
    courses = db.session.scalars(select(Course).where(Course.id.in_(sorted({run.course_id for run in runs})))).all()
    programmes = db.session.scalars(
        select(Programme).where(Programme.id.in_(sorted({run.programme_id for run in runs if run.programme_id})))
    ).all()
    readahead.keep([*runs, *courses, *programmes, *earlier])


def _memo_accounts(programme_id: int, provider_id: int, memo: dict | None) -> Accounts:
    if memo is None:
        return _accounts(programme_id, provider_id)
    found = memo.get((programme_id, provider_id))
    if found is None or None in (found.payable, found.copay, found.budget):  # one not opened yet: read again
        found = memo[programme_id, provider_id] = _accounts(programme_id, provider_id)
    return found


def _accounts(programme_id: int, provider_id: int) -> Accounts:
    wanted = {
        (AccountKind.PROVIDER_PAYABLE.value, "provider", provider_id): "payable",
        (AccountKind.LEARNER_COPAY.value, "programme", programme_id): "copay",
        (AccountKind.PROGRAMME_BUDGET.value, "programme", programme_id): "budget",
    }
    found = {
        wanted[row.kind, row.owner_type, row.owner_id]: row.id
        for row in db.session.execute(
            select(Account.id, Account.kind, Account.owner_type, Account.owner_id).where(
                ((Account.owner_type == "provider") & (Account.owner_id == provider_id))
                | ((Account.owner_type == "programme") & (Account.owner_id == programme_id)),
                Account.kind.in_([kind for kind, _type, _owner in wanted]),
            )
        )
    }
    return Accounts(found.get("payable"), found.get("copay"), found.get("budget"))


@dataclass(frozen=True)
class Held:
    enrolment_id: int
    hold_id: int | None
    card: cards.LockedCard | None


def lock_card(card_id: int | None, on: date) -> cards.LockedCard | None:
    """The hot path's first row locks: the card's accounts (none when no card is drawn)."""
    return None if card_id is None else cards.lock_for_spending(card_id, on)


def still_priced(planned: Plan, card: cards.LockedCard | None) -> bool:
    """Under the card's lock: does the price computed before the transaction still hold? The balance must
    still pay the draw (and be exactly what was quoted when a shortfall moved to self-pay, since the split
    depends on it), and the card must still be usable."""
    if not planned.card_draw:
        return True
    if card is None or card.status != "active" or card.available < planned.card_draw:
        return False
    return not planned.shortfall or card.available == planned.quoted_available


def enrol_locked(planned: Plan, card: cards.LockedCard | None, *, now: datetime, actor: str) -> Held:
    """Inside the unit of work, after lock_card and still_priced: the seat, the enrolment, the hold, the
    history line and the run-change notice. Raises RunFull, Conflict."""
    seat = db.session.execute(
        update(Run.__table__)
        .where(Run.id == planned.run_id, Run.capacity - Run.source_enrolled - Run.local_enrolled > 0)
        .values(local_enrolled=Run.local_enrolled + 1)
    )
    if seat.rowcount != 1:
        raise errors.RunFull()
    expires_at = now + timedelta(minutes=card_rules().hold_minutes)
    stamp = utcnow()
    enrolment_id = db.session.scalar(
        insert_or_nothing(Enrolment.__table__)
        .values(
            run_id=planned.run_id,
            user_id=planned.user_id,
            person_id=planned.person_id,
            card_id=planned.card_id,
            request_key=planned.request_key,
            status=S.HELD.value,
            fee=planned.fee,
            self_pay=planned.self_pay,
            government_share=planned.government_share,
            card_draw=planned.card_draw,
            account=planned.account,
            explanation=planned.explanation,
            training_days=planned.training_days,
            expires_at=expires_at,
            self_pay_refunded=0,
            card_returned=0,
            penalty=0,
            deducted=0,
            created_at=stamp,
            updated_at=stamp,
        )
        .returning(Enrolment.id)
    )
    if enrolment_id is None:
        raise Conflict()
    hold_id = None
    if planned.card_draw:
        hold_id = ledger.hold_checked(
            f"enrolment:{enrolment_id}:hold",
            card.available_id,
            card.held_id,
            planned.card_draw,
            expires_at=expires_at,
            memo=f"수강 신청 보류: {planned.title[:150]}",
            actor=actor,
        )
        db.session.execute(update(Enrolment.__table__).where(Enrolment.id == enrolment_id).values(hold_id=hold_id))
    _event(
        enrolment_id,
        S.APPLIED,
        S.HELD,
        "hold",
        f"자비부담 {planned.self_pay:,}원, 카드 사용 {planned.card_draw:,}원",
        actor,
    )
    changes.runs_changed([planned.run_id])
    return Held(enrolment_id, hold_id, card)


# -- the batching writer's intent (vouchers.checkout.enrol_batch) -------------------------------------------------


def lock_cards(card_ids: Iterable[int], on: date) -> dict[int, cards.LockedCard]:
    """The batch's first row locks: every drawn card's two accounts, in one statement, in ascending id order."""
    return cards.lock_many_for_spending(card_ids, on)


def enrol_many_locked(
    plans: Sequence[Plan], locked: dict[int, cards.LockedCard], *, now: datetime, actor: str | Sequence[str]
) -> list[Held | errors.RunFull | None]:
    """enrol_locked for a batch, after lock_cards and still_priced (each plan against its card's balance less
    the draws of the batch's earlier plans), in set-based statements: the runs' seats locked and read in one,
    the enrolments in one INSERT … ON CONFLICT DO NOTHING RETURNING, the seats in one UPDATE, the holds in three,
    their ids in one UPDATE, the history lines in one. For each plan, in order: Held; RunFull (no seat left
    for it); or None when the database's unique constraints refused it (the same request, or another live
    enrolment, came first) or when such a refusal may have cost it its seat: the caller sends those through
    the single path, which answers them as it would have alone. Raises only on what no plan should meet (a
    trigger's refusal): the caller's transaction then rolls back entirely. `actor`: one for the whole batch, or
    one per plan (the API's batches: each learner's own)."""
    actors = ledger.per_item(actor, len(plans))
    free = _lock_seats({planned.run_id for planned in plans})
    outcomes: list[Held | errors.RunFull | None] = [None] * len(plans)
    seated = []
    for index, planned in enumerate(plans):
        if free.get(planned.run_id, 0) > 0:
            free[planned.run_id] -= 1
            seated.append(index)
        else:
            outcomes[index] = errors.RunFull()
    if not seated:
        return outcomes
    expires_at = now + timedelta(minutes=card_rules().hold_minutes)
    stamp = utcnow()
    written = {
        (row.user_id, row.request_key): row.id
        for row in insert_rows(
            Enrolment.__table__,
            [_enrolment_row(plans[index], expires_at, stamp) for index in seated],
            returning=("id", "user_id", "request_key"),
            or_nothing=True,
        )
    }
    kept = [index for index in seated if (plans[index].user_id, plans[index].request_key) in written]
    refused_runs = {plans[index].run_id for index in seated if index not in kept}
    for index, outcome in enumerate(outcomes):  # a refused row held a seat a later plan was refused for
        if isinstance(outcome, errors.RunFull) and plans[index].run_id in refused_runs:
            outcomes[index] = None
    if not kept:
        return outcomes
    _take_seats(Counter(plans[index].run_id for index in kept))
    ids = {index: written[plans[index].user_id, plans[index].request_key] for index in kept}
    drawn = [index for index in kept if plans[index].card_draw]
    hold_ids: dict[str, int] = {}
    if drawn:
        hold_ids = ledger.holds_checked(
            [
                ledger.CheckedHold(
                    f"enrolment:{ids[index]}:hold",
                    locked[plans[index].card_id].available_id,
                    locked[plans[index].card_id].held_id,
                    plans[index].card_draw,
                    expires_at,
                    f"수강 신청 보류: {plans[index].title[:150]}",
                )
                for index in drawn
            ],
            actor=[actors[index] for index in drawn],
        )
        _set_hold_ids({ids[index]: hold_ids[f"enrolment:{ids[index]}:hold"] for index in drawn})
    _events(
        [
            (
                ids[index],
                S.APPLIED,
                S.HELD,
                "hold",
                f"자비부담 {plans[index].self_pay:,}원, 카드 사용 {plans[index].card_draw:,}원",
            )
            for index in kept
        ],
        [actors[index] for index in kept],
    )
    changes.runs_changed(sorted({plans[index].run_id for index in kept}))
    for index in kept:
        planned = plans[index]
        hold_id = hold_ids.get(f"enrolment:{ids[index]}:hold")
        outcomes[index] = Held(ids[index], hold_id, locked.get(planned.card_id) if hold_id else None)
    return outcomes


def _set_hold_ids(by_enrolment: dict[int, int]) -> None:
    """Each new enrolment's hold id, in one UPDATE (on PostgreSQL joined from one JSON parameter: the same
    statement whatever the batch, where a CASE has one branch per enrolment)."""
    if db.session.get_bind().dialect.name == "postgresql":
        holds = json_recordset(
            "holds",
            [{"id": enrolment_id, "hold_id": hold_id} for enrolment_id, hold_id in by_enrolment.items()],
            {"id": BigInteger(), "hold_id": BigInteger()},
        )
        db.session.execute(
            update(Enrolment.__table__).where(Enrolment.id == holds.c.id).values(hold_id=holds.c.hold_id)
        )
        return
    db.session.execute(
        update(Enrolment.__table__)
        .where(Enrolment.id.in_(list(by_enrolment)))
        .values(hold_id=case(by_enrolment, value=Enrolment.id))
    )


def _lock_seats(run_ids: set[int]) -> dict[int, int]:
    """{run id: seats left}, the runs' rows locked (after the cards' accounts, in ascending id order)."""
    query = (
        select(Run.id, Run.capacity - Run.source_enrolled - Run.local_enrolled)
        .where(Run.id.in_(sorted(run_ids)))
        .order_by(Run.id)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True, of=Run)
    return {run_id: left for run_id, left in db.session.execute(query)}


def _take_seats(taken: Counter) -> None:
    """The seats the batch's enrolments took, in one UPDATE (guarded like the single path's, as a safety net)."""
    wanted = case(dict(taken), value=Run.id)
    seats = db.session.execute(
        update(Run.__table__)
        .where(Run.id.in_(list(taken)), Run.capacity - Run.source_enrolled - Run.local_enrolled >= wanted)
        .values(local_enrolled=Run.local_enrolled + wanted)
    )
    if seats.rowcount != len(taken):  # read under the runs' locks: only a writer without the lock gets here
        raise errors.RunFull()


def _enrolment_row(planned: Plan, expires_at: datetime, stamp: datetime) -> dict:
    return {
        "run_id": planned.run_id,
        "user_id": planned.user_id,
        "person_id": planned.person_id,
        "card_id": planned.card_id,
        "request_key": planned.request_key,
        "status": S.HELD.value,
        "fee": planned.fee,
        "self_pay": planned.self_pay,
        "government_share": planned.government_share,
        "card_draw": planned.card_draw,
        "account": planned.account,
        "explanation": planned.explanation,
        "training_days": planned.training_days,
        "expires_at": expires_at,
        "self_pay_refunded": 0,
        "card_returned": 0,
        "penalty": 0,
        "deducted": 0,
        "created_at": stamp,
        "updated_at": stamp,
    }


def confirmable_many(plans: Sequence[ConfirmPlan], locked: dict[int, cards.LockedCard]) -> list[bool]:
    """confirmable() for a batch, in one statement (each card re-read by the batch's lock_cards)."""
    settled = select(Transfer.id).where(Transfer.hold_id == Enrolment.hold_id).exists()
    rows = {
        row.id: row
        for row in db.session.execute(
            select(Enrolment.id, Enrolment.status, settled.label("settled")).where(
                Enrolment.id.in_([planned.enrolment_id for planned in plans])
            )
        )
    }
    answers = []
    for planned in plans:
        row = rows.get(planned.enrolment_id)
        if row is None or row.status != S.HELD.value or row.settled:
            answers.append(False)
        elif planned.card_id is None or not planned.card_draw:
            answers.append(True)
        else:
            card = locked.get(planned.card_id)
            answers.append(card is not None and card.status == "active")
    return answers


# -- confirming ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfirmPlan:
    """What confirming an enrolment posts, read before the transaction."""

    enrolment_id: int
    card_id: int | None
    card_draw: int
    self_pay: int
    government_share: int
    account: str
    hold_id: int | None
    hold_amount: int
    held_id: int | None
    title: str
    accounts: Accounts


def confirm_plan_from(planned: Plan, held: Held) -> ConfirmPlan:
    """The confirmation of an enrolment this process just held (nothing to read again)."""
    return ConfirmPlan(
        enrolment_id=held.enrolment_id,
        card_id=planned.card_id,
        card_draw=planned.card_draw,
        self_pay=planned.self_pay,
        government_share=planned.government_share,
        account=planned.account,
        hold_id=held.hold_id,
        hold_amount=planned.card_draw if held.hold_id else 0,
        held_id=held.card.held_id if held.card else None,
        title=planned.title,
        accounts=planned.accounts,
    )


def confirm_plan(enrolment_id: int) -> ConfirmPlan | None:
    """Read an enrolment's confirmation before the transaction (None: no such enrolment)."""
    row = db.session.execute(
        select(
            Enrolment.id,
            Enrolment.card_id,
            Enrolment.card_draw,
            Enrolment.self_pay,
            Enrolment.government_share,
            Enrolment.account,
            Enrolment.hold_id,
            Hold.amount.label("hold_amount"),
            Hold.held_account_id,
            Course.title,
            Course.provider_id,
            Run.programme_id,
        )
        .join(Run, Run.id == Enrolment.run_id)
        .join(Course, Course.id == Run.course_id)
        .outerjoin(Hold, Hold.id == Enrolment.hold_id)
        .where(Enrolment.id == enrolment_id)
    ).first()
    if row is None:
        return None
    return ConfirmPlan(
        enrolment_id=row.id,
        card_id=row.card_id,
        card_draw=row.card_draw,
        self_pay=row.self_pay,
        government_share=row.government_share,
        account=row.account,
        hold_id=row.hold_id,
        hold_amount=row.hold_amount or 0,
        held_id=row.held_account_id,
        title=row.title,
        accounts=_accounts(row.programme_id, row.provider_id),
    )


def confirmable(planned: ConfirmPlan, card: cards.LockedCard | None) -> bool:
    """Under the card's lock: is the enrolment still held, its hold still pending and its card usable? (One
    statement; anything else goes to the ORM services, which refuse or refund as the rules say.)"""
    settled = select(Transfer.id).where(Transfer.hold_id == Enrolment.hold_id).exists()
    status, hold_settled = db.session.execute(
        select(Enrolment.status, settled).where(Enrolment.id == planned.enrolment_id)
    ).one()
    if status != S.HELD.value or hold_settled:
        return False
    if planned.card_id is None or not planned.card_draw:
        return True
    return card is not None and card.status == "active"


def confirm_locked(planned: ConfirmPlan, *, actor: str, reason: str) -> None:
    """Inside the unit of work, after confirmable(): the same transfers as operations.confirm (capture the
    hold to the provider's payable account; fund it from the budget when the card is not drawn; the
    co-payment), in two statements, then the enrolment's status and history line."""
    confirm_many_locked([planned], actor=actor, reason=reason)


def confirm_many_locked(plans: Sequence[ConfirmPlan], *, actor: str | Sequence[str], reason: str) -> None:
    """confirm_locked for a batch (the batching writer; each plan checked by confirmable_many under its card's
    lock): every transfer in two statements, the statuses in one, the history lines in one. `actor`: one for
    the batch, or one per plan."""
    actors = ledger.per_item(actor, len(plans))
    postings, posting_actors = [], []
    for planned, planned_actor in zip(plans, actors, strict=True):
        for posting in _postings(planned):
            postings.append(posting)
            posting_actors.append(planned_actor)
    if postings:
        ledger.post_checked(postings, actor=posting_actors)
    ids = [planned.enrolment_id for planned in plans]
    confirmed = db.session.execute(
        update(Enrolment.__table__)
        .where(Enrolment.id.in_(ids), Enrolment.status == S.HELD.value)
        .values(status=S.CONFIRMED.value, expires_at=None, updated_at=utcnow())
    )
    if confirmed.rowcount != len(ids):  # confirmable() read them held under the cards' locks: a writer without
        raise errors.IllegalTransition("결제 대기 상태가 아닌 신청은 확정할 수 없습니다.")  # the lock
    _events([(enrolment_id, S.HELD, S.CONFIRMED, "pay", reason) for enrolment_id in ids], actors)


def _postings(planned: ConfirmPlan) -> list[ledger.Checked]:
    """The transfers confirming one enrolment posts (see confirm_locked)."""
    payable = planned.accounts.payable or _open(AccountKind.PROVIDER_PAYABLE, "provider", planned)
    key, postings = f"enrolment:{planned.enrolment_id}", []
    if planned.hold_id is not None:
        postings.append(
            ledger.Checked(
                f"{key}:capture",
                TransferKind.CAPTURE,
                [(planned.held_id, Side.DEBIT, planned.hold_amount), (payable, Side.CREDIT, planned.hold_amount)],
                f"훈련비 카드 결제: {planned.title[:150]}",
                hold_id=planned.hold_id,
            )
        )
    elif planned.account == "none" and planned.government_share:
        budget = planned.accounts.budget or _open(AccountKind.PROGRAMME_BUDGET, "programme", planned)
        postings.append(
            ledger.Checked(
                f"{key}:fund",
                TransferKind.FUND,
                [(budget, Side.DEBIT, planned.government_share), (payable, Side.CREDIT, planned.government_share)],
                f"사업 예산 훈련비 지원: {planned.title[:150]}",
            )
        )
    if planned.self_pay:
        copay = planned.accounts.copay or _open(AccountKind.LEARNER_COPAY, "programme", planned)
        postings.append(
            ledger.Checked(
                f"{key}:copay",
                TransferKind.COPAY,
                [(copay, Side.DEBIT, planned.self_pay), (payable, Side.CREDIT, planned.self_pay)],
                f"자비부담금 {planned.self_pay:,}원 납부",
            )
        )
    return postings


def _open(kind: AccountKind, owner_type: str, planned: ConfirmPlan) -> int:
    """An account the plan did not find (the first enrolment of a provider or programme): opened now."""
    row = db.session.execute(
        select(Run.programme_id, Course.provider_id)
        .join(Course, Course.id == Run.course_id)
        .join(Enrolment, Enrolment.run_id == Run.id)
        .where(Enrolment.id == planned.enrolment_id)
    ).one()
    owner = row.provider_id if owner_type == "provider" else row.programme_id
    return ledger.open_account(kind, owner_type, owner).id


def _event(enrolment_id: int, old: S, new: S, event: str, reason: str, actor: str) -> None:
    """The history line and audit entry states.apply_event writes for the same step."""
    _events([(enrolment_id, old, new, event, reason)], actor)


def _events(steps: Sequence[tuple[int, S, S, str, str]], actor: str | Sequence[str]) -> None:
    """History lines (enrolment id, from, to, event, reason) in one INSERT, and an audit entry for each; `actor`
    one for all, or one per step."""
    actors = ledger.per_item(actor, len(steps))
    at = utcnow()
    insert_rows(  # one INSERT whatever the number of lines (hrdnet.db.insert_rows)
        EnrolmentEvent.__table__,
        [
            {
                "enrolment_id": enrolment_id,
                "at": at,
                "from_status": old.value,
                "to_status": new.value,
                "event": event,
                "reason": reason,
                "actor": step_actor,
            }
            for (enrolment_id, old, new, event, reason), step_actor in zip(steps, actors, strict=True)
        ],
    )
    for (enrolment_id, old, new, event, _reason), step_actor in zip(steps, actors, strict=True):
        audit.append(
            f"enrolment.{event}",
            actor=step_actor,
            subject_type="enrolment",
            subject_id=enrolment_id,
            data={"from": old.value, "to": new.value},
        )
