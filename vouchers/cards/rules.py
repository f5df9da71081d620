"""Card rules from configuration: eligibility, limits, top-ups, withdrawal windows, dropout penalties.

The values live in vouchers/data/card_rules.toml (or the file named by CARD_RULES_FILE), never in code;
docs/ledger.md explains them. `card_rules()` returns the loaded, validated rules (cached per file version).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

DEFAULT_FILE = Path(__file__).parent.parent / "data" / "card_rules.toml"
ENV_VAR = "CARD_RULES_FILE"


class CardRulesError(ValueError):
    """The rule file is malformed; the message names the key."""


@dataclass(frozen=True)
class FreeWindow:
    max_days: int | None  # None: any length
    days_after_start: int


@dataclass(frozen=True)
class RefundStep:
    up_to_trained: int  # percent of training days done
    refund_percent: int


@dataclass(frozen=True)
class Penalty:
    amount: int
    suspend_days: int


@dataclass(frozen=True)
class CardRules:
    min_age: int
    max_age: int
    excluded_groups: dict[str, str]
    statuses: dict[str, str]
    card_limit: int
    card_valid_years: int
    top_up_when_below: int
    top_ups: dict[str, int]
    top_up_labels: dict[str, str]
    allowance_min_hours: int
    allowance_per_day: int
    allowance_monthly_max: int
    allowance_kdt_monthly_max: int
    allowance_kdt_from: date
    allowance_kdt_programmes: frozenset[str]
    kdigital_limit: int
    kdigital_valid_years: int
    kdigital_programmes: frozenset[str]
    hold_minutes: int
    completion_rate: float
    lates_per_absence: int
    settlement_rounding: int
    settlement_period_months: int
    free_windows: tuple[FreeWindow, ...]
    remote_days_after_start: int
    refund_steps: tuple[RefundStep, ...]
    penalties: tuple[Penalty, ...]
    exempt_reasons: dict[str, str]

    def free_withdrawal_deadline(self, start: date, training_days: int, *, remote: bool) -> date:
        """The last day on which withdrawal is free (self-pay refunded in full, card share released)."""
        if remote:
            return start + timedelta(days=self.remote_days_after_start)
        for window in self.free_windows:
            if window.max_days is None or training_days <= window.max_days:
                return start + timedelta(days=window.days_after_start)
        raise CardRulesError("withdrawal.free_windows: the last window must have no max_days")

    def allowance_monthly_max_for(self, *, hours: int | None, programme_code: str | None, start: date) -> int | None:
        """The most training allowance a month for a run, or None when the run does not qualify."""
        if hours is None or hours < self.allowance_min_hours:
            return None
        if programme_code in self.allowance_kdt_programmes and start >= self.allowance_kdt_from:
            return self.allowance_kdt_monthly_max
        return self.allowance_monthly_max

    def penalty_for(self, dropout_number: int) -> Penalty:
        """The penalty for a learner's n-th dropout (1-based); the last row repeats."""
        return self.penalties[min(dropout_number, len(self.penalties)) - 1]

    def age_allowed(self, birth_date: date, on: date) -> bool:
        age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
        return self.min_age <= age <= self.max_age


def rules_file() -> Path:
    configured = os.environ.get(ENV_VAR, "").strip()
    return Path(configured) if configured else DEFAULT_FILE


def card_rules(path: str | os.PathLike | None = None) -> CardRules:
    """The card rules from `path`, else $CARD_RULES_FILE, else the shipped file (re-read when it changes)."""
    chosen = Path(path) if path is not None else rules_file()
    stat = chosen.stat()
    return _load(str(chosen.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _load(path: str, _mtime_ns: int, _size: int) -> CardRules:
    try:
        return parse(tomllib.loads(Path(path).read_text(encoding="utf-8")))
    except (CardRulesError, tomllib.TOMLDecodeError) as error:
        raise CardRulesError(f"{path}: {error}") from None


def parse(data: dict) -> CardRules:
    if data.get("format") != 1:
        raise CardRulesError("format must be 1")
    eligibility, card, kdigital = _table(data, "eligibility"), _table(data, "card"), _table(data, "kdigital")
    allowance = _table(data, "allowance")
    if not isinstance(allowance.get("kdt_from"), date):
        raise CardRulesError("allowance.kdt_from must be a date")
    enrolment, withdrawal, dropout = _table(data, "enrolment"), _table(data, "withdrawal"), _table(data, "dropout")
    top_ups = {key: _won(value, f"top_up.{key}") for key, value in _table(data, "top_up").items()}
    labels = _labels(data, "top_up_labels")
    if set(labels) != set(top_ups):
        raise CardRulesError("top_up_labels must name exactly the groups of top_up")
    windows = tuple(
        FreeWindow(
            _int(w.get("max_days"), "withdrawal.free_windows.max_days") if "max_days" in w else None,
            _int(w.get("days_after_start"), "withdrawal.free_windows.days_after_start"),
        )
        for w in withdrawal.get("free_windows", [])
    )
    if not windows or windows[-1].max_days is not None:
        raise CardRulesError("withdrawal.free_windows: the last window must have no max_days")
    penalties = tuple(
        Penalty(
            _won(p.get("amount"), "dropout.penalties.amount", allow_zero=True),
            _int(p.get("suspend_days"), "dropout.penalties.suspend_days"),
        )
        for p in dropout.get("penalties", [])
    )
    if not penalties:
        raise CardRulesError("dropout.penalties: at least one row")
    rules = CardRules(
        min_age=_int(eligibility.get("min_age"), "eligibility.min_age"),
        max_age=_int(eligibility.get("max_age"), "eligibility.max_age"),
        excluded_groups=_labels(eligibility, "excluded"),
        statuses=_labels(data, "statuses"),
        card_limit=_won(card.get("limit"), "card.limit"),
        card_valid_years=_int(card.get("valid_years"), "card.valid_years", minimum=1),
        top_up_when_below=_won(card.get("top_up_when_below"), "card.top_up_when_below"),
        top_ups=top_ups,
        top_up_labels=labels,
        allowance_min_hours=_int(allowance.get("min_hours"), "allowance.min_hours"),
        allowance_per_day=_won(allowance.get("per_day"), "allowance.per_day"),
        allowance_monthly_max=_won(allowance.get("monthly_max"), "allowance.monthly_max"),
        allowance_kdt_monthly_max=_won(allowance.get("kdt_monthly_max"), "allowance.kdt_monthly_max"),
        allowance_kdt_from=allowance["kdt_from"],
        allowance_kdt_programmes=frozenset(allowance.get("kdt_programmes", [])),
        kdigital_limit=_won(kdigital.get("limit"), "kdigital.limit"),
        kdigital_valid_years=_int(kdigital.get("valid_years"), "kdigital.valid_years", minimum=1),
        kdigital_programmes=frozenset(kdigital.get("programmes", [])),
        hold_minutes=_int(enrolment.get("hold_minutes"), "enrolment.hold_minutes", minimum=1),
        completion_rate=_rate(enrolment.get("completion_rate"), "enrolment.completion_rate"),
        lates_per_absence=_int(enrolment.get("lates_per_absence"), "enrolment.lates_per_absence", minimum=1),
        settlement_rounding=_int(enrolment.get("settlement_rounding"), "enrolment.settlement_rounding", minimum=1),
        settlement_period_months=_int(
            enrolment.get("settlement_period_months"), "enrolment.settlement_period_months", minimum=1
        ),
        free_windows=windows,
        remote_days_after_start=_int(
            withdrawal.get("remote_days_after_start", 0), "withdrawal.remote_days_after_start"
        ),
        refund_steps=tuple(
            RefundStep(
                _int(s.get("up_to_trained"), "withdrawal.steps.up_to_trained"),
                _int(s.get("refund_percent"), "withdrawal.steps.refund_percent"),
            )
            for s in withdrawal.get("steps", [])
        ),
        penalties=penalties,
        exempt_reasons=_labels(dropout, "exempt_reasons"),
    )
    for step in rules.refund_steps:
        if step.up_to_trained > 100 or step.refund_percent > 100:
            raise CardRulesError("withdrawal.steps: up_to_trained and refund_percent are percentages (0–100)")
    if rules.min_age > rules.max_age:
        raise CardRulesError("eligibility.min_age must not exceed max_age")
    return rules


def _table(data: dict, key: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise CardRulesError(f"[{key}] is missing")
    return value


def _labels(data: dict, key: str) -> dict[str, str]:
    table = _table(data, key)
    for name, label in table.items():
        if not isinstance(label, str) or not label:
            raise CardRulesError(f"{key}.{name} must be a Korean label")
    return dict(table)


def _int(value, where: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CardRulesError(f"{where} must be an integer ≥ {minimum}")
    return value


def _won(value, where: str, *, allow_zero: bool = False) -> int:
    return _int(value, where, minimum=0 if allow_zero else 1)


def _rate(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise CardRulesError(f"{where} must be a number in (0, 1]")
    return float(value)
