"""Where the voucher money went: every ledger transfer attributed to the run of its enrolment.

A transfer belongs to an enrolment when its key is `enrolment:<id>:…` (docs/ledger.md lists them) or when it
settles that enrolment's hold (the ledger's own `hold_expiry`). Transfers of no enrolment (card issue,
top-up, card expiry, collections) are the card's, not a programme's spending, and are not attributed.

What each measure is, read from the entries (MEASURE_OF): the won that reached or left the account that
names it, so every figure can be recomputed from the ledger with one SQL sum (docs/audit.md shows them).

`refresh()` folds new transfers into `audit_spend` (the worker every few minutes, and after settlement);
readers (`lines`, `totals`) read `audit_spend` and add the transfers after its watermark live, so the
figures are exact at every moment and cost one small table scan plus the tail.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import func, select

from courses.models import Course, Programme, Provider, Region, Run
from hrdnet.extensions import db
from hrdnet.timeutil import KST, utcnow
from vouchers.audit.models import MEASURES, SpendMark, SpendRow
from vouchers.enrolments.models import Enrolment
from vouchers.ledger.models import Account, Entry, Transfer

GROUPS = ("programme", "provider", "region", "month", "run")
_ENROLMENT_KEY = re.compile(r"^enrolment:(\d+):")
BATCH = 5_000

# (transfer kind, account kind, side) → (measure, sign)
MEASURE_OF = {
    ("capture", "provider_payable", "credit"): ("card_draw", 1),
    ("fund", "provider_payable", "credit"): ("funded", 1),
    ("copay", "provider_payable", "credit"): ("self_pay", 1),
    ("refund", "provider_payable", "debit"): ("refunds", 1),
    ("penalty", "penalty", "credit"): ("penalties", 1),
    ("deduction", "programme_budget", "credit"): ("deducted", 1),
    ("settle", "provider_settled", "credit"): ("settled", 1),
    ("hold", "card_held", "credit"): ("held", 1),
    ("capture", "card_held", "debit"): ("held", -1),
    ("release", "card_held", "debit"): ("held", -1),
    ("hold_expiry", "card_held", "debit"): ("held", -1),
}


@dataclass(frozen=True)
class Dims:
    ministry_id: int | None
    programme_id: int | None
    provider_id: int | None
    region: str | None


@dataclass(frozen=True)
class Filters:
    """What a reader asked for; `ministry_id` is the reader's scope (None = all), the rest optional filters."""

    ministry_id: int | None = None
    programme_id: int | None = None
    provider_id: int | None = None
    region: str | None = None
    month_from: str | None = None  # YYYY-MM inclusive
    month_to: str | None = None
    run_id: int | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}

    def matches(self, run_id: int, month: str, dims: Dims) -> bool:
        return (
            (self.ministry_id is None or dims.ministry_id == self.ministry_id)
            and (self.programme_id is None or dims.programme_id == self.programme_id)
            and (self.provider_id is None or dims.provider_id == self.provider_id)
            and (self.region is None or dims.region == self.region)
            and (self.month_from is None or month >= self.month_from)
            and (self.month_to is None or month <= self.month_to)
            and (self.run_id is None or run_id == self.run_id)
        )


@dataclass
class Line:
    """One row of a spend table: the group's key and label and one figure per measure (won; entries a count)."""

    key: str
    label: str
    amounts: Counter = field(default_factory=Counter)

    def __getattr__(self, name: str) -> int:
        if name in MEASURES:
            return self.amounts[name]
        raise AttributeError(name)

    @property
    def spent(self) -> int:
        """Government money that reached providers and stayed: card draws and budget funding less refunds."""
        return self.amounts["card_draw"] + self.amounts["funded"] - self.amounts["refunds"]

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, **{m: self.amounts[m] for m in MEASURES}}


# -- attribution -------------------------------------------------------------------------------------------------


def attribute(after: int, upto: int | None = None) -> dict[tuple[int, str], tuple[Dims, Counter]]:
    """Measures per (run id, KST month) of the transfers with after < id ≤ upto, read in batches."""
    out: dict[tuple[int, str], tuple[Dims, Counter]] = {}
    for transfers in transfer_batches(after, upto):
        _attribute_batch(transfers, out)
    return out


def transfer_batches(after: int, upto: int | None) -> Iterator[list]:
    while True:
        query = select(Transfer.id, Transfer.key, Transfer.kind, Transfer.hold_id, Transfer.created_at).where(
            Transfer.id > after
        )
        if upto is not None:
            query = query.where(Transfer.id <= upto)
        rows = db.session.execute(query.order_by(Transfer.id).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


def owners(transfers: list) -> dict[int, tuple[int, int]]:
    """The (enrolment, run) each transfer of the batch belongs to; transfers of no enrolment are left out."""
    by_hold = _enrolments_by_hold([t.hold_id for t in transfers if t.hold_id is not None])
    enrolment_of = {}
    for t in transfers:
        match = _ENROLMENT_KEY.match(t.key)
        enrolment_id = int(match.group(1)) if match else by_hold.get(t.hold_id)
        if enrolment_id is not None:
            enrolment_of[t.id] = enrolment_id
    if not enrolment_of:
        return {}
    run_of = dict(
        db.session.execute(
            select(Enrolment.id, Enrolment.run_id).where(Enrolment.id.in_(set(enrolment_of.values())))
        ).all()
    )
    return {transfer_id: (enrolment_id, run_of[enrolment_id]) for transfer_id, enrolment_id in enrolment_of.items()}


def _attribute_batch(transfers: list, out: dict) -> None:
    run_of_transfer = {transfer_id: run_id for transfer_id, (_, run_id) in owners(transfers).items()}
    if not run_of_transfer:
        return
    dims = run_dims(set(run_of_transfer.values()))
    first, last = transfers[0].id, transfers[-1].id
    amounts: dict[int, Counter] = defaultdict(Counter)
    kinds = {t.id: t.kind for t in transfers}
    for transfer_id, account_kind, side, amount in db.session.execute(
        select(Entry.transfer_id, Account.kind, Entry.side, Entry.amount)
        .join(Account, Account.id == Entry.account_id)
        .where(Entry.transfer_id.between(first, last))
    ):
        if transfer_id not in run_of_transfer:
            continue
        counter = amounts[transfer_id]
        counter["entries"] += 1
        measure = MEASURE_OF.get((kinds[transfer_id], account_kind, side))
        if measure:
            counter[measure[0]] += measure[1] * amount
    for t in transfers:
        if t.id not in amounts:
            continue
        run_id = run_of_transfer[t.id]
        key = (run_id, month_of(t.created_at))
        if key not in out:
            out[key] = (dims[run_id], Counter())
        out[key][1].update(amounts[t.id])


def _enrolments_by_hold(hold_ids: list[int]) -> dict[int, int]:
    if not hold_ids:
        return {}
    return {
        hold_id: enrolment_id
        for enrolment_id, hold_id in db.session.execute(
            select(Enrolment.id, Enrolment.hold_id).where(Enrolment.hold_id.in_(hold_ids))
        )
    }


def run_dims(run_ids: Iterable[int]) -> dict[int, Dims]:
    """Ministry, programme, provider and 시·도 of each run."""
    run_ids = list(run_ids)
    out = {}
    for start in range(0, len(run_ids), 900):
        for run_id, ministry_id, programme_id, provider_id, region in db.session.execute(
            select(Run.id, Programme.ministry_id, Run.programme_id, Course.provider_id, Run.region_code)
            .join(Course, Course.id == Run.course_id)
            .outerjoin(Programme, Programme.id == Run.programme_id)
            .where(Run.id.in_(run_ids[start : start + 900]))
        ):
            out[run_id] = Dims(ministry_id, programme_id, provider_id, region[:2] if region else None)
    return out


def month_of(moment: datetime) -> str:
    return moment.astimezone(KST).strftime("%Y-%m")


# -- the aggregate ----------------------------------------------------------------------------------------------


def watermark() -> int:
    mark = db.session.get(SpendMark, 1)
    return mark.last_transfer_id if mark else 0


def refresh(*, limit: int | None = None) -> int:
    """Fold the transfers after the watermark into `audit_spend` (inside the caller's unit of work, which holds
    the write lock); returns how many transfers it covered. `limit` bounds one call's work."""
    after = watermark()
    upto = db.session.scalar(select(func.max(Transfer.id)))
    if upto is None or upto <= after:
        return 0
    if limit is not None:
        upto = min(upto, after + limit)
    found = attribute(after, upto)
    existing = _rows_of({run_id for run_id, _ in found})
    for (run_id, month), (dims, amounts) in found.items():
        row = existing.get((run_id, month))
        if row is None:
            row = SpendRow(run_id=run_id, month=month, **dims.__dict__, **dict.fromkeys(MEASURES, 0))
            db.session.add(row)
        for measure in MEASURES:
            setattr(row, measure, getattr(row, measure) + amounts[measure])
    mark = db.session.get(SpendMark, 1)
    if mark is None:
        db.session.add(SpendMark(id=1, last_transfer_id=upto, refreshed_at=utcnow()))
    else:
        mark.last_transfer_id, mark.refreshed_at = upto, utcnow()
    db.session.flush()
    return upto - after


def _rows_of(run_ids: set[int]) -> dict[tuple[int, str], SpendRow]:
    """The aggregate's rows of these runs, read in a few queries rather than one per (run, month)."""
    ids, rows = sorted(run_ids), {}
    for start in range(0, len(ids), 900):
        for row in db.session.scalars(select(SpendRow).where(SpendRow.run_id.in_(ids[start : start + 900]))):
            rows[(row.run_id, row.month)] = row
    return rows


def rebuild() -> int:
    """Empty the aggregate and fold the whole ledger again (after a change of a run's programme or provider)."""
    db.session.execute(SpendRow.__table__.delete())
    mark = db.session.get(SpendMark, 1)
    if mark is not None:
        mark.last_transfer_id = 0
    db.session.flush()
    return refresh()


# -- reading ----------------------------------------------------------------------------------------------------

_GROUP_COLUMN = {
    "programme": SpendRow.programme_id,
    "provider": SpendRow.provider_id,
    "region": SpendRow.region,
    "month": SpendRow.month,
    "run": SpendRow.run_id,
}


def lines(group_by: str, filters: Filters) -> list[Line]:
    """Spend grouped by programme, provider, region (시·도), month or run, exactly as the ledger has it."""
    return grouped_lines((group_by,), filters)[group_by]


def grouped_lines(groupings: tuple[str, ...], filters: Filters) -> dict[str, list[Line]]:
    """Several groupings from one read of the aggregate (grouped by all their columns at once) and one
    attribution of the transfers after the watermark; what a dashboard with four tables needs."""
    unknown = set(groupings) - set(_GROUP_COLUMN)
    if unknown:
        raise ValueError(f"group_by must be one of {GROUPS}")
    columns = [_GROUP_COLUMN[g] for g in groupings]
    query = select(*columns, *[func.sum(getattr(SpendRow, m)) for m in MEASURES]).group_by(*columns)
    # Plain lists of sums while reading (a few thousand rows × four groupings): Counter.update is the slow part.
    sums: dict[str, dict] = {g: {} for g in groupings}
    width, zero = len(groupings), [0] * len(MEASURES)
    for row in db.session.execute(_filtered(query, filters)):
        values = [int(v or 0) for v in row[width:]]
        for i, group_by in enumerate(groupings):
            acc = sums[group_by].setdefault(row[i], zero.copy())
            for j, value in enumerate(values):
                acc[j] += value
    grouped = {g: {k: Counter(dict(zip(MEASURES, v, strict=True))) for k, v in sums[g].items()} for g in groupings}
    for (run_id, month), (dims, amounts) in attribute(watermark()).items():
        if filters.matches(run_id, month, dims):
            for group_by in groupings:
                key = _group_value(group_by, run_id, month, dims)
                grouped[group_by].setdefault(key, Counter()).update(amounts)
    return {group_by: _as_lines(group_by, grouped[group_by]) for group_by in groupings}


def _as_lines(group_by: str, grouped: dict) -> list[Line]:
    labels = _labels(group_by, grouped.keys())
    out = [Line("" if k is None else str(k), labels.get(k, "미지정"), _with_zeros(v)) for k, v in grouped.items()]
    return sorted(out, key=lambda line: line.key if group_by == "month" else (-line.spent, line.label))


def totals(filters: Filters) -> Line:
    return total_of(lines("month", filters))


def total_of(lines_: list[Line]) -> Line:
    """The sum of one grouping's lines: the totals (every grouping adds up to the same, a test proves it)."""
    total = Line("total", "합계")
    for line in lines_:
        total.amounts.update(line.amounts)
    total.amounts = _with_zeros(total.amounts)
    return total


def _with_zeros(amounts: Counter) -> Counter:
    """Every measure present, negatives kept (Counter's own arithmetic would drop them)."""
    return Counter({**dict.fromkeys(MEASURES, 0), **amounts})


def _filtered(query, filters: Filters):
    conditions = {
        SpendRow.ministry_id: filters.ministry_id,
        SpendRow.programme_id: filters.programme_id,
        SpendRow.provider_id: filters.provider_id,
        SpendRow.region: filters.region,
        SpendRow.run_id: filters.run_id,
    }
    for column, value in conditions.items():
        if value is not None:
            query = query.where(column == value)
    if filters.month_from:
        query = query.where(SpendRow.month >= filters.month_from)
    if filters.month_to:
        query = query.where(SpendRow.month <= filters.month_to)
    return query


def _group_value(group_by: str, run_id: int, month: str, dims: Dims):
    return {
        "programme": dims.programme_id,
        "provider": dims.provider_id,
        "region": dims.region,
        "month": month,
        "run": run_id,
    }[group_by]


def _labels(group_by: str, keys: Iterable) -> dict:
    keys = [k for k in keys if k is not None]
    if not keys or group_by == "month":
        return {k: k for k in keys}
    if group_by == "programme":
        query = select(Programme.id, Programme.name).where(Programme.id.in_(keys))
    elif group_by == "provider":
        query = select(Provider.id, Provider.name).where(Provider.id.in_(keys))
    elif group_by == "region":
        query = select(Region.code, Region.name).where(Region.code.in_(keys))
    else:
        query = (
            select(Run.id, Course.title, Run.run_number)
            .join(Course, Course.id == Run.course_id)
            .where(Run.id.in_(keys))
        )
        return {row.id: f"{row.title} ({row.run_number}회차)" for row in db.session.execute(query)}
    return dict(db.session.execute(query).all())


def with_group(filters: Filters, group_by: str, key: str) -> Filters:
    """The filters narrowed to one row of a grouping: how a number links to the rows behind it."""
    if group_by == "month":
        return replace(filters, month_from=key, month_to=key)
    if group_by == "region":
        return replace(filters, region=key)
    return replace(filters, **{f"{group_by}_id": int(key)})
