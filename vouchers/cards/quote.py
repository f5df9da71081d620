"""The learner's price for one run on one date: the one function the run page, the enrol page and the API call.

    quote(run, person_id, on) → Quote

It starts from the catalog's pricing rules (courses.pricing) and adds what depends on the learner: their
employment status and exemption groups on that date (the status table of the self-pay rate), which of their
accounts pays (card or K-Digital Credit), its balance, the programme's shortfall policy, and the training
allowance (훈련장려금) when it can be paid to them. A Quote either can be enrolled (`refusal` is None) or says why not, with the
same error the enrolment would raise, so a learner sees the reason before trying.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from courses import enrolment_window, pricing
from courses.models import Run
from hrdnet import readahead
from hrdnet.errors import DomainError
from vouchers import errors
from vouchers.cards import operations as cards
from vouchers.cards import sanctions
from vouchers.cards.models import Card, CardKind, LearnerStatus
from vouchers.cards.rules import Allowance, CardRules, card_rules, programme_listed


@dataclass(frozen=True)
class Quote:
    fee: int
    self_pay: int
    government_share: int
    card_draw: int  # drawn from the learner's account (0 when the programme budget pays)
    account: str  # 'card' | 'kdigital' | 'none'
    available: int | None  # the paying account's available balance now (None: no account)
    balance_after: int | None  # what stays available after the draw
    explanation: str
    shortfall_to_self_pay: int = 0  # moved to self-pay because the balance could not cover the share
    card_id: int | None = None
    refusal: DomainError | None = None
    # 훈련장려금: paid apart from the card, shown, never ledgered; None when the learner's status cannot be paid
    # one (allowance_eligible False) or the run does not pay one.
    allowance_monthly_max: int | None = None
    allowance_per_day: int | None = None
    allowance_eligible: bool = False
    learner_status: str | None = None  # the employment status that priced it
    priced_as: str = ""  # the row of the status table used, e.g. 일반훈련생 or 재직자

    @property
    def enrollable(self) -> bool:
        return self.refusal is None

    def as_dict(self) -> dict:
        """The API's `price`: fee, self_pay, card_draw, balance_after, plus the detail behind them."""
        return {
            "fee": self.fee,
            "self_pay": self.self_pay,
            "card_draw": self.card_draw,
            "balance_after": self.balance_after,
            "government_share": self.government_share,
            "account": self.account,
            "available": self.available,
            "explanation": self.explanation,
            "shortfall_to_self_pay": self.shortfall_to_self_pay,
            "enrollable": self.enrollable,
            "allowance_monthly_max": self.allowance_monthly_max,
            "allowance_per_day": self.allowance_per_day,
            "allowance_eligible": self.allowance_eligible,
            "learner_status": self.learner_status,
            "priced_as": self.priced_as,
            "refusal": None if self.refusal is None else {"code": self.refusal.code, "message": self.refusal.message},
        }


def quote(run: Run, person_id: int | None, on: date) -> Quote | None:
    """The price of `run` for the person on day `on`; None when the run has no known price at all."""
    status = cards.status_on(person_id, on) if person_id is not None else None
    employment_status = status.employment_status if status is not None else None
    # In a batch (hrdnet.readahead) the rule files are looked up, and a run's split for one learner status
    # evaluated, once per batch; alone, every call reads them as before.
    book = readahead.memo("quote.pricing_rules", None, pricing.load_rules)
    rules = readahead.memo("quote.card_rules", None, card_rules)
    exemptions = _exemptions(status, book)
    split = readahead.memo(
        "quote.split",
        (run.id, exemptions, employment_status),
        lambda: pricing.split_for_run(run, exemptions=exemptions, learner_status=employment_status, rules=book),
    )
    if split is None:
        return None
    main_card = cards.open_card(person_id, CardKind.CARD) if person_id is not None else None
    card = main_card  # the paying card: the main one, unless the programme draws the K-Digital Credit account
    if split.account == "kdigital":
        card = cards.open_card(person_id, CardKind.KDIGITAL) if person_id is not None else None
    refusal = _refusal(run, person_id, main_card, card, split.account, on) or _kdt_refusal(
        run, person_id, main_card, rules
    )
    draw = split.government_share if split.account != "none" else 0
    available = _available(card)
    self_pay, shortfall = split.self_pay, 0
    if available is not None and draw > available:
        if split.shortfall == "self_pay":
            shortfall, draw = draw - available, available
            self_pay += shortfall
        elif refusal is None:
            refusal = errors.InsufficientBalance(
                f"카드 잔액({available:,}원)이 정부 지원금({draw:,}원)보다 적어 신청할 수 없습니다."
            )
    explanation = split.explanation + (f", 잔액 부족분 {shortfall:,}원 본인 부담" if shortfall else "")
    eligible = rules.allowance_paid_to(employment_status)
    allowance = readahead.memo("quote.allowance", run.id, lambda: _allowance(run, rules)) if eligible else None
    return Quote(
        fee=split.fee,
        self_pay=self_pay,
        government_share=split.fee - self_pay,
        card_draw=draw,
        account=split.account,
        available=available,
        balance_after=None if available is None else available - draw,
        explanation=explanation,
        shortfall_to_self_pay=shortfall,
        card_id=card.id if card else None,
        refusal=refusal,
        allowance_monthly_max=allowance.monthly_max if allowance else None,
        allowance_per_day=allowance.per_day if allowance else None,
        allowance_eligible=eligible,
        learner_status=employment_status,
        priced_as=split.priced_as,
    )


def _exemptions(status: LearnerStatus | None, book: pricing.RuleBook) -> frozenset[str]:
    known = set(pricing.exemption_groups(book))
    return frozenset(status.group_set & known) if status else frozenset()


def _allowance(run: Run, rules: CardRules) -> Allowance | None:
    return rules.allowance_for(
        hours=run.hours,
        days=run.days,
        start=run.start_date,
        programme_code=run.programme.code if run.programme else None,
    )


def _available(card: Card | None) -> int | None:
    if card is None:
        return None
    return cards.available_balance(card.id)  # read only: a page view never opens accounts


def _kdt_refusal(run: Run, person_id: int | None, main_card: Card | None, rules: CardRules) -> DomainError | None:
    """After a counted KDT dropout, no new KDT course until the person has a new card."""
    if person_id is None or main_card is None or not programme_listed(run.programme.code, rules.kdt_programmes):
        return None
    if sanctions.dropped_from(person_id, rules.kdt_programmes, since=main_card.issued_on) is not None:
        return errors.KdtAfterDropout()
    return None


def _refusal(
    run: Run, person_id: int | None, main_card: Card | None, paying: Card | None, account: str, on: date
) -> DomainError | None:
    """Why this person cannot enrol in this run on this day (seats are checked again when enrolling)."""
    recruitment = enrolment_window.status_of(run, on)
    if not recruitment.window_open:  # before or after the application window, started, cancelled, closed
        return errors.EnrolmentClosed(recruitment.reason)
    if run.seats_left <= 0:
        return errors.RunFull()
    if person_id is None:
        return errors.IdentityRequired()
    if main_card is None:
        return errors.NoCard()
    for card in (main_card, paying):
        if card is None:
            continue
        status = card.status_on(on)
        if status == "suspended":
            return errors.CardSuspended(f"카드 사용이 {card.suspended_until:%Y-%m-%d}까지 정지되어 신청할 수 없습니다.")
        if status != "active":
            return errors.CardExpired()
    if account == "kdigital" and paying is None:
        return errors.NoKDigitalAccount()
    return None
