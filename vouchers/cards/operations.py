"""Cards: identity, application and approval, issue, top-up, status, suspension and expiry.

Services take plain values and flush, never commit; the caller owns the unit of work (write_lock=True on
SQLite: every function here that moves money appends to the audit log).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from courses.models import Programme
from hrdnet import audit, readahead
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from vouchers import errors
from vouchers.cards import identity, identity_review
from vouchers.cards.models import (
    ApplicationStatus,
    Card,
    CardApplication,
    CardKind,
    IdentityLink,
    LearnerStatus,
    LinkStatus,
    Person,
    Sanction,
    SanctionStatus,
    card_status,
)
from vouchers.cards.rules import CardRules, card_rules
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Account, AccountKind, Entry, Side, Transfer, TransferKind

# The programme budgets cards are issued from: the card scheme (국민내일배움카드 일반과정) and K-Digital Credit.
CARD_PROGRAMME = "C0061"
KDIGITAL_PROGRAMME = "C0105"
# A person's sanctions follow two schedules (vouchers.cards.sanctions): the card's and K-Digital Credit's.
CARD_KIND = {"card": CardKind.CARD, "kdigital": CardKind.KDIGITAL}
OWED_KIND = {"card": AccountKind.OWED_CARD, "kdigital": AccountKind.OWED_KDIGITAL}


class CardAccounts(NamedTuple):
    available: Account
    held: Account


# -- identity ----------------------------------------------------------------------------------------------


def verify_identity(user_id: int, *, name: str, birth_date: date, phone: str, actor: str) -> IdentityLink:
    """Verify the login's owner through the identity adapter and link the login to that person.

    The first login of a person is linked at once. A further login of a person who already has an active
    link is linked at once only on the service's strong proof; otherwise it waits for an admin's review
    (`status` pending). Either way the owners of the other logins are told by e-mail.
    """
    verified = identity.verifier().verify(name=name, birth_date=birth_date, phone=phone)
    key = identity.person_key(verified.ci)
    person = db.session.scalar(select(Person).where(Person.person_key == key))
    if person is None:
        person = _create_person(key, verified.birth_date)
    # Two logins of one person verifying at the same moment must not both see "no other login": the person's
    # row lock orders them (SQLite's write lock already does).
    db.session.execute(select(Person.id).where(Person.id == person.id).with_for_update())
    link = db.session.get(IdentityLink, user_id)
    if link is not None and link.active:
        if link.person_id != person.id:
            raise errors.IdentityTaken()
        return link
    other_logins = identity_review.active_logins(person.id, besides=user_id)
    if other_logins and not verified.strong:
        return identity_review.request_review(user_id, person, link, actor=actor)
    if link is None:
        link = IdentityLink(user_id=user_id, person_id=person.id)
        db.session.add(link)
    else:  # a pending or rejected request of this login, settled now by the service's strong proof
        link.person_id, link.status = person.id, LinkStatus.ACTIVE
    db.session.flush()
    audit.append(
        "identity.verified",
        actor=actor,
        subject_type="person",
        subject_id=person.person_key[:16],
        data={"further_login": bool(other_logins)},
    )
    if other_logins:
        identity_review.tell_other_logins(other_logins, "linked")
    return link


def _create_person(key: str, birth_date: date | None) -> Person:
    savepoint = db.session.begin_nested()
    try:
        person = Person(person_key=key, birth_date=birth_date)
        db.session.add(person)
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()  # verified at the same moment by another login of the same person
        return db.session.scalar(select(Person).where(Person.person_key == key))
    savepoint.commit()
    return person


def link_unverified(user_id: int, *, actor: str) -> Person:
    """An admin vouches for a login that has not verified yet: a person keyed by the login (no birth date)."""
    if db.session.get(IdentityLink, user_id) is not None:
        raise errors.IdentityTaken(
            "이 로그인에는 검토 중이거나 거절된 본인 연결 요청이 있습니다. 먼저 요청을 처리해 주세요."
        )
    person = _create_person(identity.person_key(f"admin-vouched:user:{user_id}"), None)
    db.session.add(IdentityLink(user_id=user_id, person_id=person.id))
    db.session.flush()
    audit.append("identity.vouched", actor=actor, subject_type="person", subject_id=person.person_key[:16])
    return person


def person_of(user_id: int) -> Person | None:
    """The person this login acts for; None until its link is active (a pending link reaches no card)."""
    if (ahead := readahead.known("cards.person_of", user_id)) is not readahead.MISSING:
        return ahead
    return db.session.scalar(
        select(Person)
        .join(IdentityLink, IdentityLink.person_id == Person.id)
        .where(IdentityLink.user_id == user_id, IdentityLink.status == LinkStatus.ACTIVE.value)
    )


def require_person(user_id: int) -> Person:
    person = person_of(user_id)
    if person is None:
        raise errors.IdentityRequired()
    return person


# -- status ------------------------------------------------------------------------------------------------


def record_status(
    person_id: int,
    *,
    employment_status: str,
    groups: frozenset[str] | set[str],
    effective_from: date,
    actor: str,
    rules: CardRules | None = None,
) -> LearnerStatus:
    rules = rules or card_rules()
    if employment_status not in rules.statuses:
        raise errors.NotEligible("알 수 없는 고용 상태입니다.")
    unknown = set(groups) - known_groups(rules)
    if unknown:
        raise errors.NotEligible(f"알 수 없는 지원 대상 구분입니다: {', '.join(sorted(unknown))}")
    status = LearnerStatus(
        person_id=person_id,
        employment_status=employment_status,
        groups=" ".join(sorted(groups)),
        effective_from=effective_from,
        recorded_by=actor,
    )
    db.session.add(status)
    db.session.flush()
    return status


def declare_status(user_id: int, *, employment_status: str, groups: set[str], today: date, actor: str) -> LearnerStatus:
    """A verified learner's own status from today (내 고용 상태): record_status, audit-logged as an application is."""
    person = require_person(user_id)
    status = record_status(
        person.id, employment_status=employment_status, groups=groups, effective_from=today, actor=actor
    )
    audit.append(
        "card.status_declared",
        actor=actor,
        subject_type="learner_status",
        subject_id=status.id,
        data={"employment_status": employment_status, "groups": sorted(groups)},
    )
    return status


def status_on(person_id: int, day: date) -> LearnerStatus | None:
    """The status in effect on that day: the latest effective_from on or before it (last recorded wins)."""
    if (ahead := readahead.known("cards.status_on", (person_id, day))) is not readahead.MISSING:
        return ahead
    return db.session.scalar(
        select(LearnerStatus)
        .where(LearnerStatus.person_id == person_id, LearnerStatus.effective_from <= day)
        .order_by(LearnerStatus.effective_from.desc(), LearnerStatus.id.desc())
        .limit(1)
    )


def known_groups(rules: CardRules | None = None) -> set[str]:
    """Groups a learner may declare: the pricing exemptions and the top-up groups."""
    from courses import pricing

    rules = rules or card_rules()
    return set(pricing.exemption_groups()) | set(rules.top_up_groups)


def group_labels(rules: CardRules | None = None) -> dict[str, str]:
    from courses import pricing

    rules = rules or card_rules()
    labels = dict(rules.top_up_labels)
    labels.update({key: group.name for key, group in pricing.exemption_groups().items()})
    return labels


# -- application and issue -----------------------------------------------------------------------------------


def apply_for_card(
    user_id: int,
    *,
    employment_status: str,
    groups: set[str],
    excluded: set[str],
    today: date,
    actor: str,
    rules: CardRules | None = None,
) -> CardApplication:
    """A learner's application: checks eligibility now, records the status, and waits for an admin."""
    rules = rules or card_rules()
    person = require_person(user_id)
    declared_excluded = sorted(set(excluded) & set(rules.excluded_groups))
    if declared_excluded:
        raise errors.NotEligible(f"{rules.excluded_groups[declared_excluded[0]]}은(는) 카드 발급 대상이 아닙니다.")
    if person.birth_date is None or not rules.age_allowed(person.birth_date, today):
        raise errors.NotEligible(f"만 {rules.min_age}세 이상 {rules.max_age}세 이하만 카드를 발급받을 수 있습니다.")
    if open_card(person.id, CardKind.CARD) is not None:
        raise errors.CardExists()
    record_status(
        person.id, employment_status=employment_status, groups=groups, effective_from=today, actor=actor, rules=rules
    )
    application = CardApplication(
        person_id=person.id, user_id=user_id, employment_status=employment_status, groups=" ".join(sorted(groups))
    )
    savepoint = db.session.begin_nested()
    try:
        db.session.add(application)
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        raise errors.ApplicationPending() from None
    savepoint.commit()
    audit.append(
        "card.applied",
        actor=actor,
        subject_type="card_application",
        subject_id=application.id,
        data={"employment_status": employment_status, "groups": sorted(groups)},
    )
    return application


def decide_application(
    application_id: int, *, approve: bool, actor: str, today: date, reason: str | None = None
) -> CardApplication:
    application = db.session.get(CardApplication, application_id, with_for_update=True)
    if application is None:
        raise errors.ApplicationNotFound()
    if application.status != ApplicationStatus.SUBMITTED:
        raise errors.ApplicationDecided()
    if approve:
        card = issue_card(application.person_id, kind=CardKind.CARD, today=today, actor=actor)
        application.card_id = card.id
    application.status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
    application.decided_at, application.decided_by, application.reason = utcnow(), actor, reason
    db.session.flush()
    audit.append(
        "card.application_decided",
        actor=actor,
        subject_type="card_application",
        subject_id=application.id,
        data={"approved": approve},
    )
    return application


def issue_card(
    person_id: int,
    *,
    kind: str,
    today: date,
    actor: str,
    limit: int | None = None,
    valid_years: int | None = None,
    rules: CardRules | None = None,
) -> Card:
    """Open a card (or K-Digital Credit account) and fund it from the programme budget, in one transfer."""
    rules = rules or card_rules()
    kind = CardKind(kind)
    default_limit, default_years = (
        (rules.card_limit, rules.card_valid_years)
        if kind == CardKind.CARD
        else (rules.kdigital_limit, rules.kdigital_valid_years)
    )
    limit = default_limit if limit is None else limit
    years = default_years if valid_years is None else valid_years
    if limit <= 0 or years <= 0:
        raise errors.InvalidTransfer("한도와 유효기간은 0보다 커야 합니다.")
    card = Card(
        person_id=person_id,
        kind=kind.value,
        limit_amount=limit,
        issued_on=today,
        expires_on=_add_years(today, years) - _ONE_DAY,
    )
    savepoint = db.session.begin_nested()
    try:
        db.session.add(card)
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        raise errors.CardExists() from None
    savepoint.commit()
    accounts = open_accounts(card.id)
    budget = _programme_budget(CARD_PROGRAMME if kind == CardKind.CARD else KDIGITAL_PROGRAMME)
    label = "내일배움카드 발급" if kind == CardKind.CARD else "K-디지털 크레딧 발급"
    ledger.transfer(
        f"card:{card.id}:issue",
        TransferKind.ISSUE,
        [(budget.id, accounts.available.id, limit)],
        memo=f"{label} (지원 한도 {limit:,}원)",
        actor=actor,
    )
    audit.append(
        "card.issued",
        actor=actor,
        subject_type="card",
        subject_id=card.id,
        data={"kind": kind.value, "limit": limit, "expires_on": card.expires_on.isoformat()},
    )
    inherit_suspension(card, on=today, actor=actor)
    collect_owed(card.id, on=today, actor=actor)
    return card


def top_up(card_id: int, *, group: str, today: date, actor: str, rules: CardRules | None = None) -> int:
    """The one-time top-up for a vulnerable group, once the base is (nearly) used; returns the amount."""
    rules = rules or card_rules()
    card = get_card(card_id)
    status = status_on(card.person_id, today)
    amount = rules.top_up_amount(group, today)  # None: not a top-up group, or not yet in force on that day
    if (
        card.kind != CardKind.CARD
        or amount is None
        or status is None
        or group not in status.group_set
        or card.status_on(today) != "active"
    ):
        raise errors.TopUpNotAllowed()
    accounts = open_accounts(card.id)
    used = figures(card.id).used
    if card.limit_amount - used >= rules.top_up_when_below:
        # "Once the base is used": money held for an unpaid enrolment or given back was not used.
        raise errors.TopUpNotAllowed(
            f"기본 한도 중 훈련비로 쓴 금액이 {card.limit_amount - rules.top_up_when_below:,}원을 넘으면 "
            f"추가 지원을 받을 수 있습니다(지금까지 {used:,}원 사용)."
        )
    key = f"card:{card.id}:top-up"  # one per card, whatever the group: a second attempt conflicts
    if db.session.scalar(select(Transfer.id).where(Transfer.key == key)) is not None:
        raise errors.TopUpNotAllowed()
    ledger.transfer(
        key,
        TransferKind.TOP_UP,
        [(_programme_budget(CARD_PROGRAMME).id, accounts.available.id, amount)],
        memo=f"{rules.top_up_labels[group]} 추가 지원 {amount:,}원",
        actor=actor,
    )
    collect_owed(card.id, on=today, actor=actor)
    return amount


def suspend(card_id: int, *, until: date, reason: str, actor: str) -> Card:
    card = get_card(card_id)
    if card.suspended_until is None or until > card.suspended_until:
        card.suspended_until, card.suspension_reason = until, reason
    db.session.flush()
    audit.append(
        "card.suspended",
        actor=actor,
        subject_type="card",
        subject_id=card.id,
        data={"until": until.isoformat(), "reason": reason},
    )
    return card


def expire_cards(today: date, *, actor: str = audit.SYSTEM_ACTOR) -> int:
    """Close cards past their expiry: the unused rest lapses to the `expired` account. Returns how many.

    A card with money still held for a pending enrolment waits until that hold is settled.
    """
    due = db.session.scalars(
        select(Card).where(Card.closed_on.is_(None), Card.expires_on < today).order_by(Card.id).limit(500)
    ).all()
    closed = 0
    for card in due:
        accounts = open_accounts(card.id)
        if ledger.balance(accounts.held.id):
            continue
        rest = ledger.balance(accounts.available.id)
        if rest:
            programme = CARD_PROGRAMME if card.kind == CardKind.CARD else KDIGITAL_PROGRAMME
            expired = ledger.open_account(AccountKind.EXPIRED, "programme", programme_of(programme).id)
            ledger.transfer(
                f"card:{card.id}:expire",
                TransferKind.EXPIRE,
                [(accounts.available.id, expired.id, rest)],
                memo=f"유효기간 만료로 남은 {rest:,}원 소멸",
                actor=actor,
            )
        card.closed_on = today
        closed += 1
    db.session.flush()
    return closed


# -- money a person owes (sanctions a card could not pay at once; vouchers.cards.sanctions) ---------------------


def current_card(person_id: int, track: str, on: date) -> Card | None:
    """The account a sanction lands on: the person's open card of the schedule's kind, unless it expired."""
    card = open_card(person_id, CARD_KIND[track])
    return card if card is not None and card.status_on(on) in ("active", "suspended") else None


def collect_owed(card_id: int, *, on: date, actor: str) -> int:
    """Money reached this card (a release, a refund, a top-up, a new card): take what its person owes on the
    card's schedule from it. Returns what was collected."""
    audit.lock_chain()  # PostgreSQL: balances read below cannot move before the transfer (SQLite: write lock)
    card = get_card(card_id)
    track = "kdigital" if card.kind == CardKind.KDIGITAL else "card"
    owed_account = ledger.find_account(OWED_KIND[track], "person", card.person_id)
    if owed_account is None or card.status_on(on) not in ("active", "suspended"):
        return 0
    available = open_accounts(card.id).available
    amount = min(-ledger.balance(owed_account.id), ledger.balance(available.id))
    if amount <= 0:
        return 0
    earlier = db.session.scalar(
        select(func.count()).select_from(Transfer).where(Transfer.key.like(f"owed:{owed_account.id}:%"))
    )
    ledger.transfer(
        f"owed:{owed_account.id}:{earlier + 1}",
        TransferKind.COLLECT,
        [(available.id, owed_account.id, amount)],
        memo=f"미회수 제재금 {amount:,}원 차감",
        actor=actor,
    )
    return amount


def collect_everything_owed(*, on: date, actor: str = audit.SYSTEM_ACTOR) -> int:
    """Collect every debt a current card can pay now (the worker runs it after hold expiry released money)."""
    total = 0
    debts = db.session.execute(
        select(Account.kind, Account.owner_id).where(Account.kind.in_(list(OWED_KIND.values())), Account.balance < 0)
    ).all()
    for kind, person_id in debts:
        track = "kdigital" if kind == AccountKind.OWED_KDIGITAL else "card"
        card = current_card(person_id, track, on)
        if card is not None:
            total += collect_owed(card.id, on=on, actor=actor)
    return total


def inherit_suspension(card: Card, *, on: date, actor: str) -> None:
    """A new card of a person whose suspension still runs is suspended as long (sanctions land on the person)."""
    if card.kind != CardKind.CARD:
        return
    running = db.session.scalar(
        select(Sanction)
        .where(
            Sanction.person_id == card.person_id,
            Sanction.status == SanctionStatus.APPLIED,
            Sanction.suspended_until >= on,
        )
        .order_by(Sanction.suspended_until.desc())
        .limit(1)
    )
    if running is not None:
        suspend(card.id, until=running.suspended_until, reason=f"{running.number}번째 중도탈락(이전 카드)", actor=actor)


# -- reading -------------------------------------------------------------------------------------------------


def open_accounts(card_id: int) -> CardAccounts:
    """A card's available and held ledger accounts, opened if needed (writers only: pages use find_accounts)."""
    return CardAccounts(
        ledger.open_account(AccountKind.CARD_AVAILABLE, "card", card_id),
        ledger.open_account(AccountKind.CARD_HELD, "card", card_id),
    )


@dataclass(frozen=True)
class LockedCard:
    """A card's accounts locked for spending, with what the hot path re-checks under the lock."""

    available_id: int
    held_id: int
    available: int  # the available balance now, under the lock
    status: str  # Card.status_on(the day asked)
    suspended_until: date | None


def lock_for_spending(card_id: int, on: date) -> LockedCard | None:
    """Lock the card's available and held accounts (in id order, FOR NO KEY UPDATE, as the ledger does) and read,
    in the same statement, their balances and the card's dates: the enrolment hot path's first row lock and its
    re-check of the quote made before the transaction. None when the card has no accounts."""
    query = (
        select(Account.id, Account.kind, Account.balance, Card.closed_on, Card.expires_on, Card.suspended_until)
        .join(Card, Card.id == Account.owner_id)
        .where(
            Account.owner_type == "card",
            Account.owner_id == card_id,
            Account.kind.in_([AccountKind.CARD_AVAILABLE.value, AccountKind.CARD_HELD.value]),
        )
        .order_by(Account.id)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True, of=Account)
    rows = {row.kind: row for row in db.session.execute(query)}
    return _locked_card(rows, on)


def lock_many_for_spending(card_ids: Iterable[int], on: date) -> dict[int, LockedCard]:
    """lock_for_spending for a batch of cards in one statement: every card's two accounts, all locked in one
    ascending id order (the order every writer of card accounts uses, so batches and single enrolments never
    wait on each other in a cycle). Cards without accounts are left out."""
    wanted = sorted(set(card_ids))
    if not wanted:
        return {}
    query = (
        select(
            Account.id,
            Account.owner_id,
            Account.kind,
            Account.balance,
            Card.closed_on,
            Card.expires_on,
            Card.suspended_until,
        )
        .join(Card, Card.id == Account.owner_id)
        .where(
            Account.owner_type == "card",
            Account.owner_id.in_(wanted),
            Account.kind.in_([AccountKind.CARD_AVAILABLE.value, AccountKind.CARD_HELD.value]),
        )
        .order_by(Account.id)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True, of=Account)
    by_card: dict[int, dict] = {}
    for row in db.session.execute(query):
        by_card.setdefault(row.owner_id, {})[row.kind] = row
    locked = {card_id: _locked_card(rows, on) for card_id, rows in by_card.items()}
    return {card_id: card for card_id, card in locked.items() if card is not None}


def _locked_card(rows: dict, on: date) -> LockedCard | None:
    available, held = rows.get(AccountKind.CARD_AVAILABLE.value), rows.get(AccountKind.CARD_HELD.value)
    if available is None or held is None:
        return None
    return LockedCard(
        available.id,
        held.id,
        available.balance,
        card_status(available.closed_on, available.expires_on, available.suspended_until, on),
        available.suspended_until,
    )


def read_ahead(user_ids: Iterable[int], day: date) -> dict[int, int]:
    """For a batch's plans (hrdnet.readahead): the users' persons, their statuses on `day`, their open cards and
    the cards' available balances, in four statements; returns {user id: person id}."""
    users = sorted(set(user_ids))
    people = {
        user_id: person
        for person, user_id in db.session.execute(
            select(Person, IdentityLink.user_id)
            .join(IdentityLink, IdentityLink.person_id == Person.id)
            .where(IdentityLink.user_id.in_(users), IdentityLink.status == LinkStatus.ACTIVE.value)
        )
    }
    readahead.fill("cards.person_of", users, people)
    person_ids = sorted({person.id for person in people.values()})
    statuses: dict = {}
    for status in db.session.scalars(
        select(LearnerStatus)
        .where(LearnerStatus.person_id.in_(person_ids), LearnerStatus.effective_from <= day)
        .order_by(LearnerStatus.person_id, LearnerStatus.effective_from.desc(), LearnerStatus.id.desc())
    ):
        statuses.setdefault((status.person_id, day), status)
    readahead.fill("cards.status_on", [(person_id, day) for person_id in person_ids], statuses)
    open_cards = db.session.scalars(
        select(Card).where(Card.person_id.in_(person_ids), Card.closed_on.is_(None)).order_by(Card.id)
    ).all()
    by_kind: dict = {}
    for card in open_cards:
        by_kind.setdefault((card.person_id, card.kind), card)
    kinds = [str(kind) for kind in CardKind]
    readahead.fill("cards.open_card", [(p, kind) for p in person_ids for kind in kinds], by_kind)
    ledger.read_ahead_balances(AccountKind.CARD_AVAILABLE, "card", [card.id for card in open_cards])
    return {user_id: person.id for user_id, person in people.items()}


def find_accounts(card_id: int) -> CardAccounts | None:
    """A card's ledger accounts if they exist (issuing a card opens them): the read-only lookup pages use."""
    available = ledger.find_account(AccountKind.CARD_AVAILABLE, "card", card_id)
    held = ledger.find_account(AccountKind.CARD_HELD, "card", card_id)
    return CardAccounts(available, held) if available is not None and held is not None else None


def available_balance(card_id: int) -> int:
    """What the card can spend now (0 for a card whose accounts were never opened)."""
    return ledger.balance_of(AccountKind.CARD_AVAILABLE, "card", card_id) or 0


def get_card(card_id: int) -> Card:
    card = db.session.get(Card, card_id)
    if card is None:
        raise errors.CardNotFound()
    return card


def open_card(person_id: int, kind: str = CardKind.CARD) -> Card | None:
    if (ahead := readahead.known("cards.open_card", (person_id, str(kind)))) is not readahead.MISSING:
        return ahead
    return db.session.scalar(
        select(Card).where(Card.person_id == person_id, Card.kind == str(kind), Card.closed_on.is_(None))
    )


def cards_of_user(user_id: int) -> list[Card]:
    person = person_of(user_id)
    if person is None:
        return []
    return list(
        db.session.scalars(
            select(Card)
            .where(Card.person_id == person.id)
            .order_by(Card.closed_on.is_not(None), Card.kind, Card.id.desc())
        )
    )


@dataclass(frozen=True)
class CardFigures:
    """A card's money, each term derived from its ledger entries by kind of transfer.

    limit + top_ups = available + held + spent + expired, with
    spent = captured − refunded + deducted + penalties (penalties include debts collected later).
    """

    issued: int
    top_ups: int
    available: int
    held: int
    captured: int
    refunded: int
    penalties: int
    expired: int
    deducted: int = 0

    @property
    def used(self) -> int:
        """Spent on training (what "once the base is used" means): not held, not given back, not sanctions."""
        return self.captured - self.refunded + self.deducted

    @property
    def spent(self) -> int:
        return self.used + self.penalties

    @property
    def balanced(self) -> bool:
        terms = (self.available, self.held, self.spent, self.expired)
        return self.issued + self.top_ups == sum(terms) and min(terms) >= 0


def figures(card_id: int) -> CardFigures:
    """Read only: a card whose accounts were never opened shows zeros."""
    accounts = find_accounts(card_id)
    if accounts is None:
        return CardFigures(0, 0, 0, 0, 0, 0, 0, 0)
    available_id, held_id = accounts.available.id, accounts.held.id
    rows = db.session.execute(
        select(Entry.account_id, Entry.side, Transfer.kind, func.sum(Entry.amount))
        .join(Transfer, Transfer.id == Entry.transfer_id)
        .where(Entry.account_id.in_([available_id, held_id]))
        .group_by(Entry.account_id, Entry.side, Transfer.kind)
    ).all()
    sums = {(account, side, kind): int(amount) for account, side, kind, amount in rows}

    def into_available(kind):
        return sums.get((available_id, Side.CREDIT.value, kind.value), 0)

    def out_of_available(kind):
        return sums.get((available_id, Side.DEBIT.value, kind.value), 0)

    captured_from_held = sums.get((held_id, Side.DEBIT.value, TransferKind.CAPTURE.value), 0)
    return CardFigures(
        issued=into_available(TransferKind.ISSUE),
        top_ups=into_available(TransferKind.TOP_UP),
        available=ledger.balance(available_id),
        held=ledger.balance(held_id),
        captured=captured_from_held - into_available(TransferKind.CAPTURE),  # a partial capture returns the rest
        refunded=into_available(TransferKind.REFUND),
        penalties=out_of_available(TransferKind.PENALTY) + out_of_available(TransferKind.COLLECT),
        expired=out_of_available(TransferKind.EXPIRE),
        deducted=out_of_available(TransferKind.DEDUCTION),
    )


# -- helpers ------------------------------------------------------------------------------------------------

_ONE_DAY = timedelta(days=1)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def programme_of(code: str) -> Programme:
    """The programme a card scheme's budget belongs to (CARD_PROGRAMME, KDIGITAL_PROGRAMME)."""
    programme = db.session.scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        raise errors.InvalidTransfer(f"사업 {code}이(가) 등록되어 있지 않습니다.")
    return programme


def _programme_budget(code: str) -> Account:
    return ledger.open_account(AccountKind.PROGRAMME_BUDGET, "programme", programme_of(code).id)
