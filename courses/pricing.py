"""Pricing: who pays what for one run — the government share and the learner's self-pay (자비부담).

Pure functions over data: the rules live in courses/data/pricing_rules.toml (per programme rule key and per
period, each with an effective-from date), never in code. docs/pricing.md explains the rules and the tables.

    generic_split(fee=…, start_date=…, rule_key=…)  → Split | None   the price for a learner with no exemption
                                                                     (learner_status=… picks their row of the
                                                                     status table; None: the generic price)
    split_for_run(run)                              → Split | None   the same, read from a courses.models.Run
    rules_version()                                 → str            short hash of the loaded rule file
    policy(rule_key, start_date, …)                 → Policy | None  draws_card / account / shortfall policy
    exemption_groups()                              → dict           the exemption groups in the file

None means the price is unknown (no rule for the programme, or the run starts before the rule's first
period): such a run is listed but not enrollable here.

Money is integer 원. The part of the fee above the approved support amount (perTrco) is always the
learner's: base = min(fee, support_amount or fee); self_pay = rule(base) + (fee − base);
government_share = fee − self_pay. A self-pay computed from a percentage is truncated down to
`rounding_unit` (10 원, the settlement convention). Invariants: 0 ≤ self_pay ≤ fee and
government_share + self_pay == fee.

The rule file is chosen by, in order: the `path` argument of load_rules() (or a RuleBook passed as
`rules=`), the PRICING_RULES_FILE environment variable, then the shipped file. It is re-read when it changes
on disk (keyed on path, modification time and size).
"""

from __future__ import annotations

import hashlib
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from hrdnet.tomllines import line_of, parse_path

DEFAULT_RULES_FILE = Path(__file__).parent / "data" / "pricing_rules.toml"
ENV_VAR = "PRICING_RULES_FILE"

ACCOUNTS = ("card", "kdigital", "none")  # Split.account: which voucher account the government share is drawn from
RULE_ACCOUNTS = ("card", "kdigital")  # what a rule may name as the account it draws
SHORTFALL_POLICIES = ("refuse", "self_pay")
METHODS = ("percent", "bands", "tiers")


class PricingRulesError(ValueError):
    """The rule file cannot be used: bad TOML, a missing or unknown key, or a value out of range.

    `where` is the dotted place of the mistake (e.g. "rules.general.periods[0].bands[2].percent"); loading a
    file adds the file and that place's line to the message.
    """

    def __init__(self, message: str, *, where: str = ""):
        super().__init__(message)
        self.where = where


# -- the result ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """Who pays what for one run, for a learner with no exemption unless exemptions were given.

    account: 'card' | 'kdigital' | 'none' — which voucher account the government share is drawn from;
    'none' means the programme budget pays and no voucher is drawn.
    """

    fee: int
    government_share: int
    self_pay: int
    account: str
    rule: str  # the pricing rule key (Programme.pricing_rule)
    explanation: str  # Korean, one sentence, for the learner
    shortfall: str = "refuse"  # card balance below the government share: "refuse" or "self_pay" (later issue)
    effective_from: date | None = None  # the rule period that priced this run
    rules_version: str = ""  # rules_version() of the file that priced it
    learner_status: str | None = None  # the learner status it was priced for; None: no learner (the generic price)
    priced_as: str = ""  # Korean label of the row of the status table used, e.g. 일반훈련생 or 재직자

    def as_dict(self) -> dict:
        return {
            "fee": self.fee,
            "government_share": self.government_share,
            "self_pay": self.self_pay,
            "account": self.account,
            "rule": self.rule,
            "explanation": self.explanation,
            "shortfall": self.shortfall,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "rules_version": self.rules_version,
            "learner_status": self.learner_status,
            "priced_as": self.priced_as,
        }


@dataclass(frozen=True)
class Policy:
    """What a rule says beyond the amounts, for one programme and start date."""

    rule: str
    effective_from: date
    draws_card: bool  # is a voucher account drawn at all (False: the programme budget pays)
    account: str  # 'card' | 'kdigital' | 'none' — already 'none' when nothing is drawn
    shortfall: str  # "refuse" | "self_pay"


# -- the rules, as loaded from the file ------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    min_rate: float  # employment rate (%) at or above which the band applies
    percent: Fraction


def band_for(bands: tuple[Band, ...], rate: float) -> int:
    """The index of the band a known employment rate falls in (the last band has min_rate 0)."""
    return next(index for index, band in enumerate(bands) if rate >= band.min_rate)


@dataclass(frozen=True)
class Exemption:
    """A learner group whose self-pay rate is lower: a flat percent, or its own row of employment-rate bands."""

    key: str
    name: str  # Korean, e.g. 국민취업지원제도 I유형 참여자
    percent: Fraction | None  # None: by `bands`
    rules: frozenset[str]  # the rule keys it applies to
    bands: tuple[Band, ...] = ()
    unknown_percent: Fraction = Fraction(0)  # with bands, for an unknown employment rate
    source: str = ""

    def percent_for(self, rate: float | None) -> Fraction:
        """The rate for a run whose (already checked) employment rate is `rate`, None when unknown."""
        if self.percent is not None:
            return self.percent
        return self.unknown_percent if rate is None else self.bands[band_for(self.bands, rate)].percent


@dataclass(frozen=True)
class StatusRow:
    """One row of the status table (훈련생 구분 × 직종 취업률): a learner of one of `statuses` pays these rates
    instead of the period's own bands (the 일반훈련생 row). `percents` follow the period's bands, column by
    column; `unknown_percent` is for an unknown employment rate."""

    key: str
    label: str  # Korean, e.g. 재직자
    statuses: frozenset[str]
    percents: tuple[Fraction, ...]
    unknown_percent: Fraction
    source: str = ""


@dataclass(frozen=True)
class Tier:
    up_to: int | None  # the tier applies when the fee is ≤ up_to; None = the top tier
    percent: Fraction | None = None
    cap: int | None = None
    fixed: int | None = None


@dataclass(frozen=True)
class Period:
    effective_from: date
    method: str
    label: str
    percent: Fraction = Fraction(0)
    bands: tuple[Band, ...] = ()
    tiers: tuple[Tier, ...] = ()
    unknown_percent: Fraction = Fraction(0)
    zero_rate_is_unknown: bool = True
    use_feed_self_pay: bool = True
    feed_zero_is_unknown: bool = True
    feed_self_pay_includes_overage: bool = False
    draws_card: bool | None = None
    shortfall: str | None = None
    learner_label: str = ""  # who the period's own rates are for (e.g. 일반훈련생): the generic price's label
    status_rows: tuple[StatusRow, ...] = ()  # bands only: other learner statuses' rows of the table

    def row_for(self, learner_status: str | None) -> StatusRow | None:
        """The status-table row a learner of this status pays by; None: the period's own bands."""
        return next((row for row in self.status_rows if learner_status in row.statuses), None)


@dataclass(frozen=True)
class Rule:
    key: str
    name: str
    account: str
    draws_card: bool
    shortfall: str
    periods: tuple[Period, ...]  # sorted by effective_from
    programmes: Mapping[str, Mapping[str, Any]]  # programme code → overrides

    def period_for(self, day: date) -> Period | None:
        found = None
        for period in self.periods:
            if period.effective_from <= day:
                found = period
        return found

    def overrides_for(self, programme_code: str | None) -> Mapping[str, Any]:
        """A programme's own overrides, else those of the longest listed code it starts with (C0054 → C0054G)."""
        if not programme_code:
            return {}
        if programme_code in self.programmes:
            return self.programmes[programme_code]
        prefixes = [code for code in self.programmes if programme_code.startswith(code)]
        return self.programmes[max(prefixes, key=len)] if prefixes else {}


class RuleBook:
    """One loaded rule file. Build with load_rules(); `split()` is generic_split() over this file."""

    def __init__(
        self, *, rules: dict[str, Rule], exemptions: dict[str, Exemption], rounding_unit: int, version: str, source: str
    ):
        self.rules = rules
        self.exemptions = exemptions
        self.rounding_unit = rounding_unit
        self.version = version
        self.source = source

    @classmethod
    def from_bytes(cls, raw: bytes, *, source: str = "<bytes>") -> RuleBook:
        try:
            text = raw.decode("utf-8")
            data = tomllib.loads(text)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise PricingRulesError(f"{source}: not a readable TOML file: {error}") from error
        version = hashlib.sha256(raw).hexdigest()[:12]
        try:
            return _parse(data, version=version, source=source)
        except PricingRulesError as error:
            line = line_of(text, parse_path(error.where))
            raise PricingRulesError(f"{source}:{line}: {error}" if line else f"{source}: {error}") from None

    def policy(
        self, rule_key: str | None, start_date: date, *, programme_code: str | None = None, voucher_kind: str = "card"
    ) -> Policy | None:
        if voucher_kind not in ACCOUNTS:
            raise ValueError(f"voucher_kind must be one of {ACCOUNTS}, not {voucher_kind!r}")
        _check_date(start_date)
        rule = self.rules.get(rule_key) if rule_key else None
        period = rule.period_for(start_date) if rule else None
        if rule is None or period is None:
            return None
        overrides = rule.overrides_for(programme_code)
        draws_card = overrides.get("draws_card", rule.draws_card if period.draws_card is None else period.draws_card)
        shortfall = overrides.get("shortfall", period.shortfall or rule.shortfall)
        if not draws_card or voucher_kind == "none":
            account = "none"
        elif voucher_kind == "kdigital" or rule.account == "kdigital":
            account = "kdigital"
        else:
            account = "card"
        return Policy(
            rule=rule.key,
            effective_from=period.effective_from,
            draws_card=draws_card,
            account=account,
            shortfall=shortfall,
        )

    def split(
        self,
        *,
        fee: int,
        start_date: date,
        rule_key: str | None,
        programme_code: str | None = None,
        voucher_kind: str = "card",
        support_amount: int | None = None,
        general_self_pay: int | None = None,
        employment_rate: float | None = None,
        exemptions: frozenset[str] = frozenset(),
        learner_status: str | None = None,
    ) -> Split | None:
        fee = _check_amount("fee", fee)
        support_amount = None if support_amount is None else _check_amount("support_amount", support_amount)
        general_self_pay = None if general_self_pay is None else _check_amount("general_self_pay", general_self_pay)
        if learner_status is not None and not isinstance(learner_status, str):
            raise TypeError(f"learner_status must be a str or None, not {type(learner_status).__name__}")
        unknown = set(exemptions) - set(self.exemptions)
        if unknown:
            raise ValueError(f"unknown exemption group(s): {', '.join(sorted(unknown))}")
        policy = self.policy(rule_key, start_date, programme_code=programme_code, voucher_kind=voucher_kind)
        if policy is None:
            return None
        rule = self.rules[policy.rule]
        period = rule.period_for(start_date)
        assert period is not None

        base = min(fee, support_amount) if support_amount else fee  # 0 or None: no approved amount known
        overage = fee - base
        rate = _known_rate(period, employment_rate)
        row = period.row_for(learner_status) if period.method == "bands" else None
        if row is None:
            part, how = self._rule_part(period, base, overage, rate, general_self_pay)
        else:
            part, how = self._status_row(period, row, base, overage, rate, general_self_pay)
        part, how = self._with_exemptions(rule.key, exemptions, base, rate, part, how)

        part = max(0, min(part, base))
        self_pay = part + overage
        subject = " ".join(filter(None, (period.label, _programme_name(programme_code) or rule.name)))
        explanation = f"{subject}: {how}"
        if overage:
            explanation += f", 승인 지원금({_won(base)}) 초과분 {_won(overage)} 본인 부담"
        return Split(
            fee=fee,
            government_share=fee - self_pay,
            self_pay=self_pay,
            account=policy.account,
            rule=rule.key,
            explanation=explanation,
            shortfall=policy.shortfall,
            effective_from=period.effective_from,
            rules_version=self.version,
            learner_status=learner_status,
            priced_as=row.label if row is not None else period.learner_label,
        )

    # -- one period's rule applied to the supported part of the fee --

    def _of(self, amount: int, percent: Fraction) -> int:
        """percent of amount, truncated down to the rounding unit."""
        unit = self.rounding_unit
        return math.floor(amount * percent / 100 / unit) * unit

    def _rule_part(
        self, period: Period, base: int, overage: int, rate: float | None, general_self_pay: int | None
    ) -> tuple[int, str]:
        if period.method == "percent":
            if period.percent == 0:
                return 0, "자비부담 없음"
            return self._of(base, period.percent), f"훈련비의 {_pct(period.percent)}"
        if period.method == "bands":
            return self._bands(period, base, overage, rate, general_self_pay)
        return self._tiers(period, base)

    def _bands(
        self, period: Period, base: int, overage: int, rate: float | None, general_self_pay: int | None
    ) -> tuple[int, str]:
        feed = _feed_amount(period, general_self_pay)
        if feed is not None:
            part = feed - overage if period.feed_self_pay_includes_overage else feed
            return max(0, min(part, base)), f"HRD-Net 고시 일반훈련생 자비부담금 {_won(feed)}"
        if rate is None:
            percent = period.unknown_percent
            return self._of(base, percent), f"직종 취업률 정보가 없어 훈련비의 {_pct(percent)}"
        band = period.bands[band_for(period.bands, rate)]
        return self._of(base, band.percent), f"직종 취업률 {round(rate, 1):g}%에 따라 훈련비의 {_pct(band.percent)}"

    def _status_row(
        self,
        period: Period,
        row: StatusRow,
        base: int,
        overage: int,
        rate: float | None,
        general_self_pay: int | None,
    ) -> tuple[int, str]:
        """A learner whose status has its own row pays that row's rate in the run's column. The feed's amount is
        the 일반훈련생's, so it only tells the column: the band whose own rate it reaches."""
        feed = _feed_amount(period, general_self_pay)
        if feed is not None and base:
            paid = feed - overage if period.feed_self_pay_includes_overage else feed
            share = Fraction(max(0, paid), base) * 100
            column = _column_for_share(period.bands, share)
            percent = row.percents[column]
            return self._of(base, percent), f"{row.label} 기준 HRD-Net 고시 자비부담 구간의 훈련비 {_pct(percent)}"
        if rate is None:
            percent = row.unknown_percent
            return self._of(base, percent), f"{row.label} 기준 직종 취업률 정보가 없어 훈련비의 {_pct(percent)}"
        percent = row.percents[band_for(period.bands, rate)]
        how = f"{row.label} 기준 직종 취업률 {round(rate, 1):g}%에 따라 훈련비의 {_pct(percent)}"
        return self._of(base, percent), how

    def _with_exemptions(
        self, rule_key: str, groups: frozenset[str], base: int, rate: float | None, part: int, how: str
    ) -> tuple[int, str]:
        """The lowest rate of the learner's exemption groups for this rule, if it is lower than `part`."""
        applicable = [self.exemptions[key] for key in sorted(groups) if rule_key in self.exemptions[key].rules]
        if not applicable:
            return part, how
        best = min(applicable, key=lambda exemption: exemption.percent_for(rate))
        percent = best.percent_for(rate)
        reduced = self._of(base, percent)
        if reduced >= part:
            return part, how
        if percent == 0:
            return reduced, f"{best.name} 자비부담 면제"
        return reduced, f"{best.name} 감면으로 훈련비의 {_pct(percent)}"

    def _tiers(self, period: Period, base: int) -> tuple[int, str]:
        previous = None
        for tier in period.tiers:
            if tier.up_to is None or base <= tier.up_to:
                break
            previous = tier.up_to
        if tier.fixed is not None:
            if tier.up_to is None and previous is None:
                return tier.fixed, f"훈련비와 관계없이 정액 {_won(tier.fixed)}"
            if tier.up_to is None:
                where = f"{_won(previous)} 초과"
            elif previous is None:
                where = f"{_won(tier.up_to)} 이하"
            else:
                where = f"{_won(previous)} 초과 {_won(tier.up_to)} 이하"
            return tier.fixed, f"훈련비 {where} 구간 정액 {_won(tier.fixed)}"
        assert tier.percent is not None
        amount = self._of(base, tier.percent)
        if tier.cap is not None:
            return min(amount, tier.cap), f"훈련비의 {_pct(tier.percent)}(최대 {_won(tier.cap)})"
        return amount, f"훈련비의 {_pct(tier.percent)}"


# -- loading --------------------------------------------------------------------------------------------


def rules_file() -> Path:
    """The rule file in use: $PRICING_RULES_FILE if set, else the shipped courses/data/pricing_rules.toml."""
    configured = os.environ.get(ENV_VAR, "").strip()
    return Path(configured) if configured else DEFAULT_RULES_FILE


def load_rules(path: str | os.PathLike | None = None) -> RuleBook:
    """Load (and cache) a rule file: `path`, else $PRICING_RULES_FILE, else the shipped file.

    Raises PricingRulesError when the file is invalid, FileNotFoundError when it is missing.
    """
    chosen = Path(path) if path is not None else rules_file()
    stat = chosen.stat()
    return _load(str(chosen.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load(path: str, _mtime_ns: int, _size: int) -> RuleBook:
    return RuleBook.from_bytes(Path(path).read_bytes(), source=path)


def rules_version(path: str | os.PathLike | None = None) -> str:
    """A short hash (12 hex digits) of the loaded rule file, for caching and search-index versioning."""
    return load_rules(path).version


# -- the public functions ---------------------------------------------------------------------------------


def generic_split(
    *,
    fee: int,
    start_date: date,
    rule_key: str | None,
    programme_code: str | None = None,
    voucher_kind: str = "card",
    support_amount: int | None = None,
    general_self_pay: int | None = None,
    employment_rate: float | None = None,
    exemptions: frozenset[str] = frozenset(),
    learner_status: str | None = None,
    rules: RuleBook | None = None,
) -> Split | None:
    """Who pays what for a run; None when the rule is unknown (the run is then not enrollable here).

    fee: courseMan; support_amount: approved support per learner (perTrco), 0/None = unknown;
    general_self_pay: HRD-Net tgcrGnrlTrneOwepAllt (general rule only); employment_rate: eiEmplRate3 in %,
    the proxy for the occupation's employment rate (general rule only); exemptions: exemption group keys
    from the rule file (unknown keys raise ValueError); learner_status: the learner's employment status
    (vouchers' [statuses] keys), which picks a row of the status table where the rule has one; None (no
    learner) prices by the period's own rates, labelled by Split.priced_as. `rules` defaults to load_rules().
    """
    book = rules if rules is not None else load_rules()
    return book.split(
        fee=fee,
        start_date=start_date,
        rule_key=rule_key,
        programme_code=programme_code,
        voucher_kind=voucher_kind,
        support_amount=support_amount,
        general_self_pay=general_self_pay,
        employment_rate=employment_rate,
        exemptions=frozenset(exemptions),
        learner_status=learner_status,
    )


def split_for_run(
    run,
    *,
    exemptions: frozenset[str] = frozenset(),
    learner_status: str | None = None,
    rules: RuleBook | None = None,
) -> Split | None:
    """generic_split() for a courses.models.Run (and its programme); None when the run has no programme."""
    programme = run.programme
    if programme is None:
        return None
    return generic_split(
        fee=run.fee,
        start_date=run.start_date,
        rule_key=programme.pricing_rule,
        programme_code=programme.code,
        voucher_kind=programme.voucher_kind,
        support_amount=run.support_amount,
        general_self_pay=run.general_self_pay,
        employment_rate=run.employment_rate_3m,
        exemptions=exemptions,
        learner_status=learner_status,
        rules=rules,
    )


def policy(
    rule_key: str | None,
    start_date: date,
    *,
    programme_code: str | None = None,
    voucher_kind: str = "card",
    rules: RuleBook | None = None,
) -> Policy | None:
    """draws_card / account / shortfall for a programme's rule on a start date; None when the rule is unknown."""
    book = rules if rules is not None else load_rules()
    return book.policy(rule_key, start_date, programme_code=programme_code, voucher_kind=voucher_kind)


def exemption_groups(rules: RuleBook | None = None) -> dict[str, Exemption]:
    """The exemption groups of the rule file, by key (e.g. kua_type1, basic_livelihood)."""
    return dict((rules if rules is not None else load_rules()).exemptions)


# -- price classes: the learner's own self-pay, indexed for sorting ------------------------------------------

PRICE_CLASSES_MAX = 8  # the search index keeps this many self-pay amounts per run (search.index.schema)


def price_classes(rules: RuleBook | None = None) -> tuple[tuple[str | None, str | None], ...]:
    """The learner classes whose self-pay the search index keeps for every run, so "자비부담 낮은순" sorts by
    the signed-in learner's own amount across all result pages: (a status standing for a row of the status
    table, None for the 일반훈련생 row) × (no exemption group, or one group), in a fixed order. A learner's
    self-pay is the lowest over their row's classes of their groups (the lowest exemption rate wins, so one
    group at a time is enough): price_classes_of(). What it leaves out: a shortfall moved to self-pay (it
    depends on the balance, not on the class)."""
    book = rules if rules is not None else load_rules()
    cached = book.__dict__.get("_price_classes")  # asked for every run the index builds
    if cached is not None:
        return cached
    rows = _status_row_keys(book)
    classes = tuple((row, group) for row in (None, *sorted(rows)) for group in (None, *sorted(book.exemptions)))
    if len(classes) > PRICE_CLASSES_MAX:
        raise PricingRulesError(
            f"{len(classes)} price classes (status rows × exemption groups); the search index keeps "
            f"{PRICE_CLASSES_MAX}: raise PRICE_CLASSES_MAX and search.index.schema.SCHEMA_VERSION"
        )
    book.__dict__["_price_classes"] = classes
    return classes


def price_classes_of(
    learner_status: str | None, groups: frozenset[str] | set[str], rules: RuleBook | None = None
) -> tuple[int, ...]:
    """The positions in price_classes() whose lowest amount is this learner's self-pay."""
    book = rules if rules is not None else load_rules()
    classes = price_classes(book)
    row = next((key for key, statuses in _status_row_keys(book).items() if learner_status in statuses), None)
    known = sorted(set(groups) & set(book.exemptions)) or [None]
    return tuple(index for index, (key, group) in enumerate(classes) if key == row and group in known)


def _status_row_keys(book: RuleBook) -> dict[str, frozenset[str]]:
    """Each row of the status table (over every rule and period), keyed by the first of its statuses."""
    return {
        min(row.statuses): row.statuses
        for rule in book.rules.values()
        for period in rule.periods
        for row in period.status_rows
    }


def class_self_pays(run, rules: RuleBook | None = None) -> list[int]:
    """The run's self-pay for each of price_classes() (-1 when it has no known price), for the index.

    Classes that cannot differ for this run share one calculation: a status row the run's period does not
    have prices as the 일반훈련생 row, an exemption group that does not apply to the run's rule as none (most
    rules have neither, so most runs cost one split, the general card courses up to eight)."""
    book = rules if rules is not None else load_rules()
    programme = run.programme
    if programme is None:
        return [-1] * len(price_classes(book))
    policy = book.policy(
        programme.pricing_rule, run.start_date, programme_code=programme.code, voucher_kind=programme.voucher_kind
    )
    if policy is None:
        return [-1] * len(price_classes(book))
    period = book.rules[policy.rule].period_for(run.start_date)
    done: dict[tuple[str | None, str | None], int] = {}
    out = []
    for status, group in price_classes(book):
        key = (
            status if period.method == "bands" and period.row_for(status) is not None else None,
            group if group is not None and policy.rule in book.exemptions[group].rules else None,
        )
        if key not in done:
            split = split_for_run(run, exemptions=frozenset(key[1:]) - {None}, learner_status=key[0], rules=book)
            done[key] = -1 if split is None else split.self_pay
        out.append(done[key])
    return out


# -- helpers ------------------------------------------------------------------------------------------------


def _known_rate(period: Period, rate: float | None) -> float | None:
    """The employment rate, or None when it says nothing: blank, NaN, outside 0–100, or 0 where 0 means unknown."""
    if rate is None or math.isnan(rate) or not 0 <= rate <= 100 or (rate == 0 and period.zero_rate_is_unknown):
        return None
    return rate


def _feed_amount(period: Period, general_self_pay: int | None) -> int | None:
    """The feed's general self-pay (tgcrGnrlTrneOwepAllt) when the period uses it and it is given."""
    if not period.use_feed_self_pay or general_self_pay is None:
        return None
    if general_self_pay == 0 and period.feed_zero_is_unknown:
        return None
    return general_self_pay


def _column_for_share(bands: tuple[Band, ...], share: Fraction) -> int:
    """The band whose rate a self-pay share (percent of the supported fee) reaches: the dearest band not above
    it, else the cheapest band."""
    reached = [index for index, band in enumerate(bands) if band.percent <= share]
    if not reached:
        return min(range(len(bands)), key=lambda index: bands[index].percent)
    return max(reached, key=lambda index: (bands[index].percent, -index))


def _check_amount(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (원), not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative: {value}")
    return value


def _check_date(value) -> None:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"start_date must be a date, not {type(value).__name__}")


@cache
def _programme_names() -> dict[str, str]:
    from courses.reference import read_csv

    return {row["code"]: row["name"] for row in read_csv("programmes.csv")}


def _programme_name(code: str | None) -> str | None:
    return _programme_names().get(code) if code else None


def _won(amount: int) -> str:
    """300000 → 30만원, 12000000 → 1,200만원, 123450 → 123,450원."""
    if amount >= 10_000 and amount % 10_000 == 0:
        return f"{amount // 10_000:,}만원"
    return f"{amount:,}원"


def _pct(percent: Fraction) -> str:
    return f"{int(percent)}%" if percent.denominator == 1 else f"{float(percent):g}%"


# -- parsing and validating the file ----------------------------------------------------------------------

# The keys each table may hold (`source` notes where a value comes from; it is not read otherwise).
_TOP_KEYS = {"format", "rounding_unit", "rules", "exemptions"}
_RULE_KEYS = {"name", "account", "draws_card", "shortfall", "programmes", "periods", "source"}
_OVERRIDE_KEYS = {"draws_card", "shortfall", "source"}
_PERIOD_KEYS = {"effective_from", "method", "label", "learner_label", "draws_card", "shortfall", "source"}
_METHOD_KEYS = {
    "percent": {"percent"},
    "bands": {
        "bands",
        "unknown_percent",
        "zero_rate_is_unknown",
        "use_feed_self_pay",
        "feed_zero_is_unknown",
        "feed_self_pay_includes_overage",
        "status_rows",
    },
    "tiers": {"tiers"},
}
_BAND_KEYS = {"min_rate", "percent"}
_TIER_KEYS = {"up_to", "percent", "cap", "fixed"}
_STATUS_ROW_KEYS = {"label", "statuses", "percents", "unknown_percent", "source"}
_EXEMPTION_KEYS = {"name", "percent", "bands", "unknown_percent", "rules", "source"}


def _fail(where: str, message: str, *, at: str | None = None):
    """Stop loading: `where` starts the message; `at` (default `where`) is the place whose line is reported."""
    raise PricingRulesError(f"{where}: {message}", where=at or where)


def _table(value, where: str) -> dict:
    if not isinstance(value, dict):
        _fail(where, "must be a table")
    return value


def _only(table: dict, allowed: set[str], where: str) -> None:
    extra = [key for key in table if key not in allowed]  # in file order: the first one's line is reported
    if extra:
        first = extra[0] if where == "top level" else f"{where}.{extra[0]}"
        _fail(where, f"unknown key(s) {', '.join(sorted(extra))}", at=first)


def _get(table: dict, key: str, kind, where: str, default=...):
    if key not in table:
        if default is ...:
            _fail(where, f"missing {key}")
        return default
    value = table[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        _fail(f"{where}.{key}", "must be an integer")
    if kind is bool and not isinstance(value, bool):
        _fail(f"{where}.{key}", "must be true or false")
    if kind is str and not isinstance(value, str):
        _fail(f"{where}.{key}", "must be a string")
    if kind is date and (isinstance(value, datetime) or not isinstance(value, date)):
        _fail(f"{where}.{key}", "must be a date (YYYY-MM-DD, unquoted)")
    if kind is list and not isinstance(value, list):
        _fail(f"{where}.{key}", "must be an array")
    if kind is dict and not isinstance(value, dict):
        _fail(f"{where}.{key}", "must be a table")
    return value


def _percent(table: dict, key: str, where: str, default=...) -> Fraction:
    value = table.get(key, default)
    if value is ...:
        _fail(where, f"missing {key}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _fail(f"{where}.{key}", "must be a number")
    fraction = Fraction(str(value))
    if not 0 <= fraction <= 100:
        _fail(f"{where}.{key}", "must be between 0 and 100")
    return fraction


def _amount(table: dict, key: str, where: str) -> int:
    value = _get(table, key, int, where)
    if value < 0:
        _fail(f"{where}.{key}", "must not be negative")
    return value


def _choice(table: dict, key: str, choices: tuple[str, ...], where: str, default=...):
    value = _get(table, key, str, where, default)
    if value is not None and value not in choices:
        _fail(f"{where}.{key}", f"must be one of {', '.join(choices)}, not {value!r}")
    return value


def _parse(data: dict, *, version: str, source: str) -> RuleBook:
    _only(data, _TOP_KEYS, "top level")
    if data.get("format") != 1:
        _fail("format", "must be 1")
    unit = _get(data, "rounding_unit", int, "top level")
    if unit < 1:
        _fail("rounding_unit", "must be at least 1")
    rules_table = _table(_get(data, "rules", dict, "top level"), "rules")
    if not rules_table:
        _fail("rules", "no rules")
    rules = {key: _parse_rule(key, _table(value, f"rules.{key}")) for key, value in rules_table.items()}
    exemptions = {
        key: _parse_exemption(key, _table(value, f"exemptions.{key}"), rules)
        for key, value in _table(data.get("exemptions", {}), "exemptions").items()
    }
    return RuleBook(rules=rules, exemptions=exemptions, rounding_unit=unit, version=version, source=source)


def _parse_exemption(key: str, table: dict, rules: dict[str, Rule]) -> Exemption:
    """A flat `percent`, or `bands` by employment rate with `unknown_percent` (one or the other)."""
    where = f"exemptions.{key}"
    _only(table, _EXEMPTION_KEYS, where)
    applies = _get(table, "rules", list, where)
    for rule_key in applies:
        if rule_key not in rules:
            _fail(f"{where}.rules", f"unknown rule {rule_key!r}")
    if ("percent" in table) == ("bands" in table):
        _fail(where, "give either percent or bands (with unknown_percent)")
    if "percent" in table and "unknown_percent" in table:
        _fail(where, "unknown_percent goes with bands, not with percent")
    by_bands = "bands" in table
    return Exemption(
        key=key,
        name=_get(table, "name", str, where),
        percent=None if by_bands else _percent(table, "percent", where),
        rules=frozenset(applies),
        bands=_parse_bands(table, where) if by_bands else (),
        unknown_percent=_percent(table, "unknown_percent", where) if by_bands else Fraction(0),
        source=_get(table, "source", str, where, ""),
    )


def _parse_rule(key: str, table: dict) -> Rule:
    where = f"rules.{key}"
    _only(table, _RULE_KEYS, where)
    programmes = {}
    for code, value in _table(table.get("programmes", {}), f"{where}.programmes").items():
        at = f"{where}.programmes.{code}"
        overrides = _table(value, at)
        _only(overrides, _OVERRIDE_KEYS, at)
        _get(overrides, "draws_card", bool, at, None)
        _choice(overrides, "shortfall", SHORTFALL_POLICIES, at, None)
        programmes[code] = dict(overrides)
    raw_periods = _get(table, "periods", list, where)
    if not raw_periods:
        _fail(f"{where}.periods", "at least one period is needed")
    periods = tuple(
        _parse_period(_table(value, f"{where}.periods[{index}]"), f"{where}.periods[{index}]")
        for index, value in enumerate(raw_periods)
    )
    starts = [period.effective_from for period in periods]
    if starts != sorted(set(starts)):
        _fail(f"{where}.periods", "effective_from dates must be unique and in increasing order")
    return Rule(
        key=key,
        name=_get(table, "name", str, where),
        account=_choice(table, "account", RULE_ACCOUNTS, where),
        draws_card=_get(table, "draws_card", bool, where),
        shortfall=_choice(table, "shortfall", SHORTFALL_POLICIES, where, "refuse"),
        periods=periods,
        programmes=programmes,
    )


def _parse_period(table: dict, where: str) -> Period:
    method = _choice(table, "method", METHODS, where)
    _only(table, _PERIOD_KEYS | _METHOD_KEYS[method], where)
    common = dict(
        effective_from=_get(table, "effective_from", date, where),
        method=method,
        label=_get(table, "label", str, where, ""),
        learner_label=_get(table, "learner_label", str, where, ""),
        draws_card=_get(table, "draws_card", bool, where, None),
        shortfall=_choice(table, "shortfall", SHORTFALL_POLICIES, where, None),
    )
    if method == "percent":
        return Period(**common, percent=_percent(table, "percent", where))
    if method == "bands":
        bands = _parse_bands(table, where)
        return Period(
            **common,
            bands=bands,
            unknown_percent=_percent(table, "unknown_percent", where),
            zero_rate_is_unknown=_get(table, "zero_rate_is_unknown", bool, where, True),
            use_feed_self_pay=_get(table, "use_feed_self_pay", bool, where, True),
            feed_zero_is_unknown=_get(table, "feed_zero_is_unknown", bool, where, True),
            feed_self_pay_includes_overage=_get(table, "feed_self_pay_includes_overage", bool, where, False),
            status_rows=_parse_status_rows(table, where, columns=len(bands)),
        )
    return Period(**common, tiers=_parse_tiers(table, where))


def _parse_bands(table: dict, where: str) -> tuple[Band, ...]:
    """`bands = [{ min_rate, percent }, …]`: min_rate decreasing, the last one 0 so that every rate has a band."""
    bands = []
    for index, value in enumerate(_get(table, "bands", list, where)):
        at = f"{where}.bands[{index}]"
        band = _table(value, at)
        _only(band, _BAND_KEYS, at)
        min_rate = band.get("min_rate")
        if isinstance(min_rate, bool) or not isinstance(min_rate, int | float) or not 0 <= min_rate <= 100:
            _fail(f"{at}.min_rate", "must be a number between 0 and 100")
        bands.append(Band(min_rate=float(min_rate), percent=_percent(band, "percent", at)))
    if not bands:
        _fail(f"{where}.bands", "at least one band is needed")
    if any(a.min_rate <= b.min_rate for a, b in zip(bands, bands[1:], strict=False)):
        _fail(f"{where}.bands", "min_rate must decrease from band to band")
    if bands[-1].min_rate != 0:
        _fail(f"{where}.bands", "the last band must have min_rate = 0 so that every rate has a band")
    return tuple(bands)


def _parse_status_rows(table: dict, where: str, *, columns: int) -> tuple[StatusRow, ...]:
    """`[….status_rows.<key>]`: label, statuses, one percent per band (column) and unknown_percent."""
    rows, claimed = [], {}
    for key, value in _table(table.get("status_rows", {}), f"{where}.status_rows").items():
        at = f"{where}.status_rows.{key}"
        row = _table(value, at)
        _only(row, _STATUS_ROW_KEYS, at)
        statuses = _get(row, "statuses", list, at)
        if not statuses or not all(isinstance(status, str) and status for status in statuses):
            _fail(f"{at}.statuses", "must list learner statuses (vouchers/data/card_rules.toml [statuses])")
        for status in statuses:
            if status in claimed:
                _fail(f"{at}.statuses", f"{status!r} is already in status_rows.{claimed[status]}")
            claimed[status] = key
        percents = _get(row, "percents", list, at)
        if len(percents) != columns:
            _fail(f"{at}.percents", f"needs one percent per band ({columns}), not {len(percents)}")
        rows.append(
            StatusRow(
                key=key,
                label=_get(row, "label", str, at),
                statuses=frozenset(statuses),
                percents=tuple(
                    _percent({f"percents[{index}]": value}, f"percents[{index}]", at)
                    for index, value in enumerate(percents)
                ),
                unknown_percent=_percent(row, "unknown_percent", at),
                source=_get(row, "source", str, at, ""),
            )
        )
    return tuple(rows)


def _parse_tiers(table: dict, where: str) -> tuple[Tier, ...]:
    tiers = []
    for index, value in enumerate(_get(table, "tiers", list, where)):
        at = f"{where}.tiers[{index}]"
        tier = _table(value, at)
        _only(tier, _TIER_KEYS, at)
        up_to = _amount(tier, "up_to", at) if "up_to" in tier else None
        if "fixed" in tier:
            if "percent" in tier or "cap" in tier:
                _fail(at, "a tier is either fixed or percent (with an optional cap), not both")
            tiers.append(Tier(up_to=up_to, fixed=_amount(tier, "fixed", at)))
        else:
            cap = _amount(tier, "cap", at) if "cap" in tier else None
            tiers.append(Tier(up_to=up_to, percent=_percent(tier, "percent", at), cap=cap))
    if not tiers:
        _fail(f"{where}.tiers", "at least one tier is needed")
    if tiers[-1].up_to is not None or any(tier.up_to is None for tier in tiers[:-1]):
        _fail(f"{where}.tiers", "every tier but the last needs up_to; the last must have none")
    limits = [tier.up_to for tier in tiers[:-1]]
    if limits != sorted(set(limits)):
        _fail(f"{where}.tiers", "up_to must increase from tier to tier")
    return tuple(tiers)
