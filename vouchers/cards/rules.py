"""Card rules from configuration: eligibility, statuses, limits, top-ups, the training allowance, withdrawal
windows, dropout penalties.

The values live in vouchers/data/card_rules.toml (or the file named by CARD_RULES_FILE), never in code;
docs/ledger.md explains them. `card_rules()` returns the loaded, validated rules (cached per file version).
The file is strict: a key that is not in ALLOWED_KEYS stops it with the file, the line and the key, so a typo
never silently drops a rule.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from courses import calendar
from hrdnet.tomllines import line_of, parse_path

DEFAULT_FILE = Path(__file__).parent.parent / "data" / "card_rules.toml"
ENV_VAR = "CARD_RULES_FILE"

# The keys each table may hold: the one place to add a key (then read it in parse()). "a.*" is every table
# inside the table of free names "a"; "a.b[]" every table in the array "a.b". FREE_NAMES marks a table whose
# keys are names the file chooses (groups, statuses, reasons): its own parser checks what they hold.
FREE_NAMES = None
ALLOWED_KEYS: dict[str, frozenset[str] | None] = {
    "": frozenset(
        {"format", "eligibility", "statuses", "card", "top_up", "allowance", "kdigital", "enrolment", "withdrawal"}
        | {"dropout"}
    ),
    "eligibility": frozenset({"min_age", "max_age", "excluded"}),
    "eligibility.excluded": FREE_NAMES,
    "statuses": FREE_NAMES,
    "statuses.*": frozenset({"label", "allowance", "source"}),
    "card": frozenset({"limit", "valid_years", "top_up_when_below"}),
    "top_up": FREE_NAMES,
    "top_up.*": frozenset({"label", "amount", "effective_from", "source"}),
    "allowance": frozenset(
        {"min_hours", "long_day_hours", "per_day", "monthly_max", "short_per_day", "short_monthly_max", "programmes"}
        | {"source"}
    ),
    "allowance.programmes": FREE_NAMES,
    "allowance.programmes.*": frozenset({"codes", "from", "per_day", "monthly_max", "source"}),
    "kdigital": frozenset({"limit", "valid_years"}),
    "enrolment": frozenset(
        {"hold_minutes", "completion_rate", "lates_per_absence", "settlement_rounding", "settlement_period_months"}
    ),
    "withdrawal": frozenset(
        {"free_windows", "remote_days_after_start", "steps", "long_span_months", "long_span_days_after_start"}
        | {"roll_to_working_day"}
    ),
    "withdrawal.free_windows[]": frozenset({"max_days", "days_after_start"}),
    "withdrawal.steps[]": frozenset({"up_to_trained", "refund_percent"}),
    "dropout": frozenset(
        {"card", "kdigital", "exempt_reasons", "completion_reasons", "deduct_trained_programmes", "kdt_programmes"}
        | {"kdt_first_week_notice_day"}
    ),
    "dropout.card": frozenset({"outcomes", "penalties"}),
    "dropout.card.penalties[]": frozenset({"amount", "suspend_days"}),
    "dropout.kdigital": frozenset({"outcomes", "penalties"}),
    "dropout.kdigital.penalties[]": frozenset({"amount", "suspend_days"}),
    "dropout.exempt_reasons": FREE_NAMES,
}
# Tables that must be there; checked before unknown keys, so a misspelt table name reads as the missing table.
REQUIRED_TABLES = (
    "eligibility",
    "eligibility.excluded",
    "statuses",
    "card",
    "top_up",
    "allowance",
    "kdigital",
    "enrolment",
    "withdrawal",
    "dropout",
    "dropout.card",
    "dropout.kdigital",
    "dropout.exempt_reasons",
)


class CardRulesError(ValueError):
    """The rule file is malformed; the message names the file, the line (when known) and the key.

    `key` is the dotted key the mistake is at (e.g. "withdrawal.steps[0].refund_percent"), used to find its line.
    """

    def __init__(self, message: str, *, key: str | None = None):
        super().__init__(message)
        self.key = key


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
class Sanctions:
    """One account's schedule: which endings count, and what the n-th counted one costs."""

    outcomes: frozenset[str]  # enrolment statuses that count: dropped, incomplete
    penalties: tuple[Penalty, ...]

    def penalty_for(self, number: int) -> Penalty:
        """The penalty of the n-th counted ending (1-based); the last row repeats."""
        return self.penalties[min(number, len(self.penalties)) - 1]


SANCTION_TRACKS = ("card", "kdigital")  # the account whose schedule applies (kdigital: K-Digital Credit)
SANCTIONED_OUTCOMES = ("dropped", "incomplete")


@dataclass(frozen=True)
class TopUpGroup:
    key: str
    label: str  # Korean, shown on the application form and in the ledger memo
    amount: int
    effective_from: date  # a top-up asked for before this day does not count the group
    source: str


@dataclass(frozen=True)
class Allowance:
    """The training allowance (훈련장려금) one run can pay: per attended training day, capped per unit period."""

    per_day: int
    monthly_max: int


@dataclass(frozen=True)
class ProgrammeAllowance:
    codes: frozenset[str]  # programme codes; a code also covers its sub-codes (C0054 → C0054G)
    start: date  # runs starting on or after this day
    per_day: int  # for long days
    monthly_max: int

    def covers(self, programme_code: str | None, start: date) -> bool:
        return bool(programme_code) and start >= self.start and any(programme_code.startswith(c) for c in self.codes)


@dataclass(frozen=True)
class CardRules:
    min_age: int
    max_age: int
    excluded_groups: dict[str, str]
    statuses: dict[str, str]  # status → Korean label
    allowance_statuses: frozenset[str]  # statuses the training allowance can be paid to
    card_limit: int
    card_valid_years: int
    top_up_when_below: int
    top_up_groups: dict[str, TopUpGroup]
    allowance_min_hours: int
    allowance_long_day_hours: int
    allowance_per_day: int
    allowance_monthly_max: int
    allowance_short_per_day: int
    allowance_short_monthly_max: int
    allowance_programmes: tuple[ProgrammeAllowance, ...]
    kdigital_limit: int
    kdigital_valid_years: int
    hold_minutes: int
    completion_rate: float
    lates_per_absence: int
    settlement_rounding: int
    settlement_period_months: int
    free_windows: tuple[FreeWindow, ...]
    remote_days_after_start: int
    long_span_months: int
    long_span_days_after_start: int
    roll_to_working_day: bool
    refund_steps: tuple[RefundStep, ...]
    sanctions: dict[str, Sanctions]  # by track: card, kdigital
    exempt_reasons: dict[str, str]
    completion_reasons: frozenset[str]
    deduct_trained_programmes: frozenset[str]
    kdt_programmes: frozenset[str]
    kdt_first_week_notice_day: int

    @property
    def top_ups(self) -> dict[str, int]:
        """The amount of every top-up group, whatever its effective date."""
        return {key: group.amount for key, group in self.top_up_groups.items()}

    @property
    def top_up_labels(self) -> dict[str, str]:
        return {key: group.label for key, group in self.top_up_groups.items()}

    def top_up_amount(self, group: str, on: date) -> int | None:
        """What a one-time top-up for `group` gives on day `on`; None if the group is unknown or not yet in force."""
        found = self.top_up_groups.get(group)
        return found.amount if found is not None and found.effective_from <= on else None

    def free_withdrawal_deadline(self, start: date, end: date, training_days: int, *, remote: bool) -> date:
        """The last day on which withdrawal is free (self-pay refunded in full, card share released)."""
        if remote:
            days = self.remote_days_after_start
        else:
            days = next(
                w.days_after_start for w in self.free_windows if w.max_days is None or training_days <= w.max_days
            )
            if end >= add_months(start, self.long_span_months) - timedelta(days=1):
                days = max(days, self.long_span_days_after_start)
        deadline = start + timedelta(days=days)
        if days and self.roll_to_working_day:
            deadline = calendar.next_working_day(deadline)
        return deadline

    def allowance_paid_to(self, status: str | None) -> bool:
        """Whether the training allowance can be paid to a learner of this employment status."""
        return status in self.allowance_statuses

    def allowance_for(
        self, *, hours: int | None, days: int | None, programme_code: str | None, start: date
    ) -> Allowance | None:
        """The allowance a run pays per attended day and per unit period; None when the run does not qualify or
        its day length is unknown (hours per day = the run's hours ÷ its training days)."""
        if hours is None or hours < self.allowance_min_hours or not days:
            return None
        if hours < self.allowance_long_day_hours * days:  # shorter days than long_day_hours
            return Allowance(self.allowance_short_per_day, self.allowance_short_monthly_max)
        for programme in self.allowance_programmes:
            if programme.covers(programme_code, start):
                return Allowance(programme.per_day, programme.monthly_max)
        return Allowance(self.allowance_per_day, self.allowance_monthly_max)

    def age_allowed(self, birth_date: date, on: date) -> bool:
        age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
        return self.min_age <= age <= self.max_age


def programme_listed(code: str | None, codes: frozenset[str]) -> bool:
    """A programme code in a rule's list; a listed code also covers its sub-codes (C0054 → C0054G)."""
    return bool(code) and any(code.startswith(listed) for listed in codes)


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
    text = Path(path).read_text(encoding="utf-8")
    try:
        return parse(tomllib.loads(text))
    except tomllib.TOMLDecodeError as error:  # its message has the line already
        raise CardRulesError(f"{path}: {error}") from None
    except CardRulesError as error:
        line = line_of(text, parse_path(error.key)) if error.key else None
        raise CardRulesError(f"{path}:{line}: {error}" if line else f"{path}: {error}") from None


def parse(data: dict) -> CardRules:
    if data.get("format") != 1:
        raise CardRulesError("format must be 1", key="format")
    _require_tables(data)
    refuse_unknown_keys(data)
    eligibility, card, kdigital = _table(data, "eligibility"), _table(data, "card"), _table(data, "kdigital")
    enrolment, withdrawal, dropout = _table(data, "enrolment"), _table(data, "withdrawal"), _table(data, "dropout")
    windows = tuple(
        FreeWindow(
            _int(w.get("max_days"), "withdrawal.free_windows.max_days") if "max_days" in w else None,
            _int(w.get("days_after_start"), "withdrawal.free_windows.days_after_start"),
        )
        for w in withdrawal.get("free_windows", [])
    )
    if not windows or windows[-1].max_days is not None:
        raise CardRulesError("withdrawal.free_windows: the last window must have no max_days", key="withdrawal")
    exempt_reasons = _labels(dropout, "exempt_reasons", "dropout.exempt_reasons")
    completion_reasons = frozenset(_strings(dropout.get("completion_reasons", []), "dropout.completion_reasons"))
    if not completion_reasons <= set(exempt_reasons):
        raise CardRulesError("dropout.completion_reasons must name exempt_reasons", key="dropout.completion_reasons")
    statuses = _statuses(data)
    rules = CardRules(
        min_age=_int(eligibility.get("min_age"), "eligibility.min_age"),
        max_age=_int(eligibility.get("max_age"), "eligibility.max_age"),
        excluded_groups=_labels(eligibility, "excluded", "eligibility.excluded"),
        statuses={key: label for key, (label, _) in statuses.items()},
        allowance_statuses=frozenset(key for key, (_, paid) in statuses.items() if paid),
        card_limit=_won(card.get("limit"), "card.limit"),
        card_valid_years=_int(card.get("valid_years"), "card.valid_years", minimum=1),
        top_up_when_below=_won(card.get("top_up_when_below"), "card.top_up_when_below"),
        top_up_groups=_top_up_groups(data),
        **_allowance(_table(data, "allowance")),
        kdigital_limit=_won(kdigital.get("limit"), "kdigital.limit"),
        kdigital_valid_years=_int(kdigital.get("valid_years"), "kdigital.valid_years", minimum=1),
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
        long_span_months=_int(withdrawal.get("long_span_months"), "withdrawal.long_span_months", minimum=1),
        long_span_days_after_start=_int(
            withdrawal.get("long_span_days_after_start"), "withdrawal.long_span_days_after_start"
        ),
        roll_to_working_day=_bool(withdrawal.get("roll_to_working_day"), "withdrawal.roll_to_working_day"),
        refund_steps=tuple(
            RefundStep(
                _int(s.get("up_to_trained"), "withdrawal.steps.up_to_trained"),
                _int(s.get("refund_percent"), "withdrawal.steps.refund_percent"),
            )
            for s in withdrawal.get("steps", [])
        ),
        sanctions={track: _sanctions(dropout, track) for track in SANCTION_TRACKS},
        exempt_reasons=exempt_reasons,
        completion_reasons=completion_reasons,
        deduct_trained_programmes=frozenset(
            _strings(dropout.get("deduct_trained_programmes", []), "dropout.deduct_trained_programmes")
        ),
        kdt_programmes=frozenset(_strings(dropout.get("kdt_programmes", []), "dropout.kdt_programmes")),
        kdt_first_week_notice_day=_int(
            dropout.get("kdt_first_week_notice_day", 0), "dropout.kdt_first_week_notice_day"
        ),
    )
    for step in rules.refund_steps:
        if step.up_to_trained > 100 or step.refund_percent > 100:
            raise CardRulesError(
                "withdrawal.steps: up_to_trained and refund_percent are percentages (0–100)", key="withdrawal.steps"
            )
    if rules.min_age > rules.max_age:
        raise CardRulesError("eligibility.min_age must not exceed max_age", key="eligibility.min_age")
    return rules


def _sanctions(dropout: dict, track: str) -> Sanctions:
    where = f"dropout.{track}"
    table = _table(dropout, track, where)
    outcomes = frozenset(_strings(table.get("outcomes"), f"{where}.outcomes"))
    if not outcomes or not outcomes <= set(SANCTIONED_OUTCOMES):
        raise CardRulesError(
            f"{where}.outcomes must list some of {', '.join(SANCTIONED_OUTCOMES)}", key=f"{where}.outcomes"
        )
    penalties = tuple(
        Penalty(
            _won(p.get("amount"), f"{where}.penalties.amount", allow_zero=True),
            _int(p.get("suspend_days"), f"{where}.penalties.suspend_days"),
        )
        for p in table.get("penalties", [])
    )
    if not penalties:
        raise CardRulesError(f"{where}.penalties: at least one row", key=where)
    return Sanctions(outcomes, penalties)


def _strings(value, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise CardRulesError(f"{where} must be a list of strings", key=where)
    return value


def _bool(value, where: str) -> bool:
    if not isinstance(value, bool):
        raise CardRulesError(f"{where} must be true or false", key=where)
    return value


def add_months(day: date, months: int) -> date:
    """The same day `months` later; a day the month lacks becomes its last day (31 Jan + 1 → 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


# -- unknown keys --


def _require_tables(data: dict) -> None:
    """Each of REQUIRED_TABLES is there; a missing one is reported with the unknown key beside it, if any (a
    misspelt table name)."""
    for dotted in REQUIRED_TABLES:
        parent, _, name = dotted.rpartition(".")
        holder = _table(data, parent) if parent else data
        if name not in holder:
            stray = next((key for key in holder if key not in ALLOWED_KEYS[parent]), None)
            at = f"{parent}.{stray}" if parent and stray else stray
            raise CardRulesError(f"[{dotted}] is missing" + (f"; unknown key {at}" if at else ""), key=at or dotted)


def refuse_unknown_keys(data: dict) -> None:
    """Stop at the first key ALLOWED_KEYS does not list for its table (CardRulesError naming the key)."""
    _check_keys(data, "", "")


def _check_keys(table: dict, pattern: str, where: str) -> None:
    allowed = ALLOWED_KEYS[pattern]
    for key, value in table.items():
        at = f"{where}.{key}" if where else key
        if allowed is not FREE_NAMES and key not in allowed:
            raise CardRulesError(f"unknown key {at}", key=at)
        child = f"{pattern}.*" if allowed is FREE_NAMES else (f"{pattern}.{key}" if pattern else key)
        if isinstance(value, dict) and child in ALLOWED_KEYS:
            _check_keys(value, child, at)
        elif isinstance(value, list) and f"{child}[]" in ALLOWED_KEYS:
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    _check_keys(item, f"{child}[]", f"{at}[{index}]")


# -- the tables this module parses (enrolment, withdrawal and dropout are read in parse()) --


def _statuses(data: dict) -> dict[str, tuple[str, bool]]:
    """status → (Korean label, whether the training allowance can be paid to it)."""
    statuses = {}
    for key, value in _table(data, "statuses").items():
        where = f"statuses.{key}"
        entry = _table({key: value}, key, where)
        allowance = entry.get("allowance")
        if not isinstance(allowance, bool):
            raise CardRulesError(f"{where}.allowance must be true or false", key=f"{where}.allowance")
        statuses[key] = (_label(entry.get("label"), f"{where}.label"), allowance)
    if not statuses:
        raise CardRulesError("[statuses] lists no status", key="statuses")
    return statuses


def _top_up_groups(data: dict) -> dict[str, TopUpGroup]:
    groups = {}
    for key, value in _table(data, "top_up").items():
        where = f"top_up.{key}"
        entry = _table({key: value}, key, where)
        groups[key] = TopUpGroup(
            key=key,
            label=_label(entry.get("label"), f"{where}.label"),
            amount=_won(entry.get("amount"), f"{where}.amount"),
            effective_from=_date(entry.get("effective_from"), f"{where}.effective_from"),
            source=_source(entry, where),
        )
    return groups


def _allowance(allowance: dict) -> dict:
    """The allowance fields of CardRules, from [allowance]."""
    programmes = []
    for key, value in allowance.get("programmes", {}).items():
        where = f"allowance.programmes.{key}"
        entry = _table({key: value}, key, where)
        codes = entry.get("codes")
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and c for c in codes):
            raise CardRulesError(f"{where}.codes must be a list of programme codes", key=f"{where}.codes")
        programmes.append(
            ProgrammeAllowance(
                codes=frozenset(codes),
                start=_date(entry.get("from"), f"{where}.from"),
                per_day=_won(entry.get("per_day"), f"{where}.per_day"),
                monthly_max=_won(entry.get("monthly_max"), f"{where}.monthly_max"),
            )
        )
    return dict(
        allowance_min_hours=_int(allowance.get("min_hours"), "allowance.min_hours"),
        allowance_long_day_hours=_int(allowance.get("long_day_hours"), "allowance.long_day_hours", minimum=1),
        allowance_per_day=_won(allowance.get("per_day"), "allowance.per_day"),
        allowance_monthly_max=_won(allowance.get("monthly_max"), "allowance.monthly_max"),
        allowance_short_per_day=_won(allowance.get("short_per_day"), "allowance.short_per_day"),
        allowance_short_monthly_max=_won(allowance.get("short_monthly_max"), "allowance.short_monthly_max"),
        allowance_programmes=tuple(programmes),
    )


# -- values --


def _table(data: dict, key: str, where: str | None = None) -> dict:
    value, where = data.get(key), where or key
    if value is None:
        raise CardRulesError(f"[{where}] is missing", key=where)
    if not isinstance(value, dict):
        raise CardRulesError(f"{where} must be a table", key=where)
    return value


def _labels(data: dict, key: str, where: str) -> dict[str, str]:
    table = _table(data, key, where)
    return {name: _label(label, f"{where}.{name}") for name, label in table.items()}


def _label(value, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise CardRulesError(f"{where} must be a Korean label", key=where)
    return value


def _source(entry: dict, where: str) -> str:
    value = entry.get("source", "")
    if not isinstance(value, str):
        raise CardRulesError(f"{where}.source must be a string", key=f"{where}.source")
    return value


def _date(value, where: str) -> date:
    if not isinstance(value, date) or hasattr(value, "hour"):  # an unquoted TOML date, not a datetime
        raise CardRulesError(f"{where} must be a date (YYYY-MM-DD, unquoted)", key=where)
    return value


def _int(value, where: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CardRulesError(f"{where} must be an integer ≥ {minimum}", key=where)
    return value


def _won(value, where: str, *, allow_zero: bool = False) -> int:
    return _int(value, where, minimum=0 if allow_zero else 1)


def _rate(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise CardRulesError(f"{where} must be a number in (0, 1]", key=where)
    return float(value)
