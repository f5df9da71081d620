"""Catalog services: what the public pages show (a run, a provider, browse lists), how fresh the data is,
and the admin's corrections of course matching (merge and split).

Services take plain values and return plain objects; they flush but never commit (the view's unit of work
does). Public lists show only runs a learner can still act on: not finished (end date ≥ today in KST), not
dropped by their source ("not seen since"), and in a listed lifecycle; `include_old=True` shows the rest too.

Two statuses, kept apart: `Run.status` is the run's *lifecycle* (published or not, cancelled, closed by its
provider or source: PUBLIC_STATUSES, LISTED_STATUSES, LIFECYCLE_LABELS below); what a learner is shown is the
*recruitment status* on a day (모집 예정, 모집 중, 마감 임박, 마감, 훈련 중, 종료), derived from the lifecycle,
the application window, the seats and the dates by courses.enrolment_window. Pages and the API show only the
latter; the lifecycle's labels are for admins.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from courses import changes, enrolment_window, errors, pricing, reference
from courses.models import (
    Course,
    CourseListing,
    ImportRun,
    Ministry,
    NcsCode,
    Programme,
    Provider,
    ProviderSourceId,
    Region,
    Run,
    SourceRecord,
)
from hrdnet import audit, bounds
from hrdnet.extensions import db
from hrdnet.timeutil import format_kst

PER_PAGE = 20
SMALL_SAMPLE = 10  # outcomes resting on fewer completers than this are shown with a caution

# Run.status, the lifecycle (not what a learner is shown: see courses.enrolment_window).
PUBLIC_STATUSES = ("open", "closed", "cancelled")  # drafts and submissions are not public (not approved yet)
LISTED_STATUSES = ("open", "closed")  # what browse lists show; a cancelled run keeps its page

WEEKEND_LABELS = {"weekday": "주중", "weekend": "주말", "mixed": "주중·주말", "unknown": "정보 없음"}
MODE_LABELS = {"classroom": "집체(교실)", "remote": "원격", "blended": "혼합", "unknown": "정보 없음"}
LIFECYCLE_LABELS = {  # for admins; "open" only means published and not closed: the window decides the rest
    "open": "공개",
    "closed": "모집 마감(기관·출처)",
    "cancelled": "폐강",
    **enrolment_window.UNPUBLISHED_LABELS,
}
ACCOUNT_LABELS = {
    "card": "국민내일배움카드 잔액에서 차감",
    "kdigital": "K-디지털 크레딧 잔액에서 차감",
    "none": "사업 예산으로 지원 (카드 잔액은 차감되지 않음)",
}
SOURCE_LABELS = {
    "hrdnet": "HRD-Net(고용24)",
    "msit-academy": "과학기술정보통신부 SW·AI 아카데미 목록",
    "mss-digital": "중소벤처기업부 디지털 훈련 목록",
    "motie-academy": "산업통상자원부 산업 DX 아카데미 목록",
    "moe-kmooc": "교육부 K-MOOC 목록",
}
IMPORT_STATUS_LABELS = {
    "running": "진행 중",
    "done": "완료",
    "partial": "일부 반영",
    "failed": "실패",
    "refused": "거부",
}
FINISHED_IMPORTS = ("done", "partial")  # imports that brought data in


def source_label(source: str) -> str:
    """A source's Korean name; an unknown feed says it is one, never shows its bare slug."""
    return SOURCE_LABELS.get(source, "기관 제공 목록")


def run_source_url(url: str | None, run_number: int) -> str | None:
    """The source page of this run: a listing's address names the run it was last seen with (고용24's
    `tracseTme`), so each run's link sets it to its own number; other addresses are the course's page as given."""
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if not any(key == "tracseTme" for key, _ in query):
        return url
    query = [(key, str(run_number) if key == "tracseTme" else value) for key, value in query]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


# -- shared pieces ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcomes:
    satisfaction: float | None
    employment_rate_3m: float | None
    employment_rate_6m: float | None
    employment_count_3m: int | None
    completers: int | None

    @classmethod
    def of(cls, run: Run) -> Outcomes:
        return cls(
            run.satisfaction, run.employment_rate_3m, run.employment_rate_6m, run.employment_count_3m, run.completers
        )

    @property
    def known(self) -> bool:
        return any(
            v is not None
            for v in (self.satisfaction, self.employment_rate_3m, self.employment_rate_6m, self.employment_count_3m)
        )

    @property
    def small_sample(self) -> bool:
        """Fewer than SMALL_SAMPLE completers, or no way to tell. Without a completer count, ten or more
        employed people still prove the sample is at least that large."""
        if self.completers is not None:
            return self.completers < SMALL_SAMPLE
        return self.employment_count_3m is None or self.employment_count_3m < SMALL_SAMPLE


def generic_price(run: Run):
    """The split for a learner with no exemption (courses.pricing), or None when the price is unknown."""
    from courses import pricing  # imported late: pricing reads its rule file on first use

    return pricing.split_for_run(run)


def _visible(query, today: date, include_old: bool):
    query = query.where(Run.status.in_(LISTED_STATUSES))
    if include_old:
        return query
    dropped = exists().where(SourceRecord.run_id == Run.id, SourceRecord.not_seen_since.is_not(None))
    listed = exists().where(SourceRecord.run_id == Run.id, SourceRecord.not_seen_since.is_(None))
    return query.where(Run.end_date >= today, or_(~dropped, listed))


def _recruiting(query, today: date):
    """Only runs that take or will take applications (모집 예정, 모집 중, 마감 임박 in courses.enrolment_window):
    open, a seat left, the window not past. The window's last day is the provider's own (never after the
    start), else the programme's default before the start: the SQL form of enrolment_window.derive()."""
    rules = reference.application_window_rules()
    by_days: dict[int, list[str]] = {}
    for code, days in rules.by_programme.items():
        by_days.setdefault(days.closes, []).append(code)
    named = [code for codes in by_days.values() for code in codes]
    defaults = [
        and_(
            or_(
                Run.programme_id.is_(None),
                Run.programme_id.not_in(select(Programme.id).where(Programme.code.in_(named))),
            ),
            Run.start_date >= today + timedelta(days=rules.default.closes),
        )
    ]
    for closes, codes in by_days.items():
        defaults.append(
            and_(
                Run.programme_id.in_(select(Programme.id).where(Programme.code.in_(codes))),
                Run.start_date >= today + timedelta(days=closes),
            )
        )
    window_open = or_(
        and_(Run.apply_until.is_not(None), Run.apply_until >= today, Run.start_date >= today),
        and_(Run.apply_until.is_(None), or_(*defaults)),
    )
    seats = Run.capacity - Run.source_enrolled - Run.local_enrolled > 0
    return query.where(Run.status == "open", seats, window_open)


def _names(model, codes) -> dict[str, str]:
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(db.session.execute(select(model.code, model.name).where(model.code.in_(codes))).all())


def ncs_path(code: str | None) -> list[tuple[str, str]]:
    """[(code, name)] from 대분류 down to the code itself ("20" 정보통신 → … → "20010202")."""
    if not code:
        return []
    prefixes = [code[:n] for n in (2, 4, 6, 8) if len(code) >= n]
    names = _names(NcsCode, prefixes)
    return [(p, names[p]) for p in prefixes if p in names]


def region_path(code: str | None) -> list[tuple[str, str]]:
    """[(code, name)] of the 시·도 and, for a 5-digit code, the 시·군·구."""
    if not code:
        return []
    prefixes = [code[:2]] + ([code] if len(code) == 5 else [])
    names = _names(Region, prefixes)
    return [(p, names[p]) for p in prefixes if p in names]


@dataclass(frozen=True)
class RunRow:
    """One line of a run list: the run (course, provider, programme loaded), its region name, its generic
    price and its recruitment status on the list's day."""

    run: Run
    region: str | None
    price: object | None  # courses.pricing.Split
    recruitment: enrolment_window.Recruitment


@dataclass(frozen=True)
class RunList:
    pagination: Pagination
    rows: list[RunRow]


def _run_list(query, page: int, today: date) -> RunList:
    query = (
        query.join(Run.course)
        .join(Course.provider)
        .outerjoin(Run.programme)
        .options(contains_eager(Run.course).contains_eager(Course.provider), contains_eager(Run.programme))
        .order_by(Run.start_date, Run.id)
    )
    pagination = db.paginate(query, page=page, per_page=PER_PAGE, error_out=False, count=True)
    runs = list(pagination.items)
    regions = _names(Region, [r.region_code for r in runs] + [(r.region_code or "")[:2] for r in runs])
    rows = []
    for run in runs:
        code = run.region_code or ""
        name = regions.get(code)
        if len(code) == 5 and code[:2] in regions:
            name = f"{regions[code[:2]]} {name}" if name else regions[code[:2]]
        rows.append(RunRow(run, name, generic_price(run), enrolment_window.status_of(run, today)))
    return RunList(pagination, rows)


# -- the run page -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPage:
    run: Run
    course: Course
    provider: Provider
    programme: Programme | None
    ministry: Ministry | None
    listing: CourseListing | None  # the listing this run came with
    also_listed: list[CourseListing]  # the same course as other sources (or other ids) list it
    records: list[SourceRecord]
    ncs: list[tuple[str, str]]
    region: list[tuple[str, str]]
    price: object | None  # courses.pricing.Split; None = pricing unknown, not enrollable here
    outcomes: Outcomes
    other_runs: list[Run]  # the course's next runs (not this one)
    recruitment: enrolment_window.Recruitment  # on the page's day: what the badge, the API and the quote say
    viewer_price: dict | None = None  # what the signed-in learner pays (see register_viewer_price)

    @property
    def seats_left(self) -> int:
        return self.run.seats_left

    @property
    def data_as_of(self) -> datetime | None:
        """When a source last listed this run (None for a run registered on this site)."""
        return max((r.last_seen for r in self.records), default=None)

    @property
    def not_seen_since(self) -> date | None:
        """Set when every source that listed the run has stopped listing it."""
        if not self.records or any(r.not_seen_since is None for r in self.records):
            return None
        return min(r.not_seen_since for r in self.records)


OTHER_RUNS = 5


# -- comparing runs -----------------------------------------------------------------------------------

COMPARE_MAX = 4


@dataclass(frozen=True)
class ComparePage:
    runs: list[RunPage]  # in the order asked, the ones that exist and are public
    asked: list[int]
    missing: list[int]  # asked for but not found (or not public)

    @property
    def enough(self) -> bool:
        return len(self.runs) >= 2

    def without(self, run_id: int) -> str:
        """The ?runs= value of this comparison minus one run (the "빼기" link)."""
        return ",".join(str(page.run.id) for page in self.runs if page.run.id != run_id)


def parse_compare_ids(value: str) -> list[int]:
    """The run ids of ?runs=1,2,3: digits only, duplicates dropped, at most COMPARE_MAX (the rest ignored)."""
    ids: list[int] = []
    for part in value.replace(" ", "").split(","):
        if part.isdigit() and len(part) <= 12 and int(part) not in ids:
            ids.append(int(part))
    return ids[:COMPARE_MAX]


def compare_page(ids: list[int], today: date, *, viewer_id: int | None = None) -> ComparePage:
    pages, missing = [], []
    for run_id in ids:
        try:
            pages.append(run_page(run_id, today, viewer_id=viewer_id))
        except errors.RunNotFound:
            missing.append(run_id)
    return ComparePage(pages, ids, missing)


# -- the viewer's own price ------------------------------------------------------------------------------
# The catalog knows the generic split only; what one learner pays depends on their card and status, which
# the voucher domain owns. Imports go one way (vouchers → courses), so the voucher domain registers a
# data-only function here (vouchers.init_app does) and the run page and the run API call it through
# viewer_price(). It returns the API's `price` object (fee, self_pay, card_draw, balance_after, …, and
# `refusal` with a code), never links: the run page builds its actions from the codes. Without a registered
# function every viewer sees the generic price.

ViewerPriceFunction = Callable[[Run, int, date], dict | None]
VIEWER_PRICE_EXTENSION = "courses.viewer_price"


def register_viewer_price(app, function: ViewerPriceFunction) -> None:
    """Install `function(run, user_id, today) -> price dict | None` as the source of learner-specific prices.
    It must only read: the run page is a GET."""
    app.extensions[VIEWER_PRICE_EXTENSION] = function


def viewer_price(run: Run, user_id: int | None, today: date) -> dict | None:
    """The signed-in learner's price for the run, or None (anonymous, other roles, or nothing registered)."""
    function = current_app.extensions.get(VIEWER_PRICE_EXTENSION) if user_id is not None else None
    return function(run, user_id, today) if function is not None else None


ViewerBalanceFunction = Callable[[int, date], int | None]
VIEWER_BALANCE_EXTENSION = "courses.viewer_balance"


def register_viewer_balance(app, function: ViewerBalanceFunction) -> None:
    """Install `function(user_id, today) -> the learner's card balance (원) | None`, read only: the search's
    "내 카드 잔액으로 가능" filter asks it (the voucher domain registers it, as it does viewer_price)."""
    app.extensions[VIEWER_BALANCE_EXTENSION] = function


def viewer_balance(user_id: int | None, today: date) -> int | None:
    """The signed-in learner's card balance, or None (anonymous, no card, or nothing registered)."""
    function = current_app.extensions.get(VIEWER_BALANCE_EXTENSION) if user_id is not None else None
    return function(user_id, today) if function is not None else None


ViewerPricingFunction = Callable[[int, date], tuple[str | None, frozenset[str]] | None]
VIEWER_PRICING_EXTENSION = "courses.viewer_pricing"


def register_viewer_pricing(app, function: ViewerPricingFunction) -> None:
    """Install `function(user_id, today) -> (employment status, exemption groups) | None`, read only: what
    prices the learner (the voucher domain registers it, as it does viewer_price)."""
    app.extensions[VIEWER_PRICING_EXTENSION] = function


def viewer_price_classes(user_id: int | None, today: date) -> tuple[int, ...]:
    """The signed-in learner's price classes (courses.pricing.price_classes_of), which the search's
    "자비부담 낮은순" sorts by; () for anyone else (the generic self-pay)."""
    function = current_app.extensions.get(VIEWER_PRICING_EXTENSION) if user_id is not None else None
    found = function(user_id, today) if function is not None else None
    if found is None:
        return ()
    status, groups = found
    return pricing.price_classes_of(status, groups)


def viewer_prices(run_ids: list[int], user_id: int | None, today: date) -> dict[int, dict]:
    """viewer_price() for several runs (a page of search results), the runs read in one query."""
    if user_id is None or not run_ids or current_app.extensions.get(VIEWER_PRICE_EXTENSION) is None:
        return {}
    runs = db.session.scalars(
        select(Run).where(Run.id.in_(run_ids), Run.status.in_(PUBLIC_STATUSES)).options(selectinload(Run.programme))
    ).all()
    out = {}
    for run in runs:
        price = viewer_price(run, user_id, today)
        if price is not None:
            out[run.id] = price
    return out


def run_page(run_id: int, today: date, *, viewer_id: int | None = None) -> RunPage:
    run = db.session.scalar(select(Run).where(Run.id == run_id, Run.status.in_(PUBLIC_STATUSES)))
    if run is None:
        raise errors.RunNotFound()
    listings = db.session.scalars(
        select(CourseListing)
        .where(CourseListing.course_id == run.course_id)
        .order_by(CourseListing.source, CourseListing.id)
    ).all()
    records = db.session.scalars(
        select(SourceRecord).where(SourceRecord.run_id == run.id).order_by(SourceRecord.id)
    ).all()
    other_runs = db.session.scalars(
        _visible(select(Run), today, False)
        .where(Run.course_id == run.course_id, Run.id != run.id)
        .order_by(Run.start_date, Run.id)
        .limit(OTHER_RUNS)
    ).all()
    programme = run.programme
    return RunPage(
        run=run,
        course=run.course,
        provider=run.course.provider,
        programme=programme,
        ministry=programme.ministry if programme else None,
        listing=next((item for item in listings if item.id == run.listing_id), None),
        also_listed=[item for item in listings if item.id != run.listing_id],
        records=list(records),
        ncs=ncs_path(run.ncs_code or run.course.ncs_code),
        region=region_path(run.region_code),
        price=generic_price(run),
        outcomes=Outcomes.of(run),
        other_runs=list(other_runs),
        recruitment=enrolment_window.status_of(run, today),
        viewer_price=viewer_price(run, viewer_id, today),
    )


# -- the application window -----------------------------------------------------------------------------


def set_application_window(run_id: int, apply_from: date | None, apply_until: date | None, *, actor: str) -> Run:
    """Set a run's own application window (None leaves that end to the programme's default); the provider
    portal calls this. Refuses a window that closes after the start date or opens after it closes
    (InvalidApplicationWindow, in Korean). Audited; the search index hears of it through the outbox.
    On SQLite the caller's unit of work must hold the write lock (the audit chain)."""
    run = db.session.get(Run, run_id)
    if run is None:
        raise errors.RunNotFound()
    enrolment_window.check_window(run.start_date, apply_from, apply_until)
    before = {"apply_from": _iso(run.apply_from), "apply_until": _iso(run.apply_until)}
    run.apply_from, run.apply_until = apply_from, apply_until
    db.session.flush()
    changes.runs_changed([run.id])
    audit.append(
        "run.application_window_set",
        actor=actor,
        subject_type="run",
        subject_id=run.id,
        data={"before": before, "apply_from": _iso(apply_from), "apply_until": _iso(apply_until)},
    )
    return run


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


# -- browse ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrowseIndex:
    ministries: list[tuple[Ministry, list[tuple[Programme, int]]]]
    ncs: list[tuple[NcsCode, int]]
    regions: list[tuple[Region, int]]


def browse_index(today: date) -> BrowseIndex:
    by_programme = dict(
        db.session.execute(
            _visible(select(Run.programme_id, func.count()), today, False).group_by(Run.programme_id)
        ).all()
    )
    programmes: dict[int, list] = {}
    for programme in db.session.scalars(select(Programme).order_by(Programme.id)):
        programmes.setdefault(programme.ministry_id, []).append((programme, by_programme.get(programme.id, 0)))
    ministries = [(m, programmes.get(m.id, [])) for m in db.session.scalars(select(Ministry).order_by(Ministry.id))]
    return BrowseIndex(ministries, _top_level(NcsCode, Run.ncs_code, today), _top_level(Region, Run.region_code, today))


def _top_level(model, column, today: date) -> list:
    prefix = func.substr(column, 1, 2)
    counts = dict(db.session.execute(_visible(select(prefix, func.count()), today, False).group_by(prefix)).all())
    return [
        (row, counts.get(row.code, 0))
        for row in db.session.scalars(select(model).where(model.level == 1).order_by(model.code))
    ]


@dataclass(frozen=True)
class Browse:
    """One browse page: what is browsed (title, description), finer categories to go to, and the runs."""

    kind: str  # ministry | programme | ncs | region
    code: str
    title: str
    trail: list[tuple[str, str]] = field(default_factory=list)  # (code, name) of the broader categories
    children: list[tuple[str, str]] = field(default_factory=list)  # (code, name) of narrower categories
    runs: RunList | None = None


def browse_ministry(code: str, *, page: int, today: date, include_old: bool = False) -> Browse:
    ministry = db.session.scalar(select(Ministry).where(Ministry.code == code))
    if ministry is None:
        raise errors.CategoryNotFound()
    programmes = db.session.scalars(
        select(Programme).where(Programme.ministry_id == ministry.id).order_by(Programme.id)
    ).all()
    query = _visible(select(Run), today, include_old).where(Programme.ministry_id == ministry.id)
    if not include_old:
        query = _recruiting(query, today)
    return Browse(
        "ministry",
        code,
        ministry.name,
        children=[(p.code, p.name) for p in programmes],
        runs=_run_list(query, page, today),
    )


def browse_programme(code: str, *, page: int, today: date, include_old: bool = False) -> Browse:
    programme = db.session.scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        raise errors.CategoryNotFound()
    query = _visible(select(Run), today, include_old).where(Run.programme_id == programme.id)
    if not include_old:
        query = _recruiting(query, today)
    return Browse(
        "programme",
        code,
        programme.name,
        trail=[(programme.ministry.code, programme.ministry.name)],
        runs=_run_list(query, page, today),
    )


def browse_ncs(code: str, *, page: int, today: date, include_old: bool = False) -> Browse:
    """Runs whose NCS code starts with a 대분류 (2 digits) or 중분류 (4 digits)."""
    node = db.session.get(NcsCode, code) if len(code) in (2, 4) and code.isdigit() else None
    if node is None:
        raise errors.CategoryNotFound()
    children = (
        db.session.execute(
            select(NcsCode.code, NcsCode.name).where(NcsCode.parent_code == code).order_by(NcsCode.code)
        ).all()
        if len(code) == 2
        else []
    )
    query = _visible(select(Run), today, include_old).where(Run.ncs_code.startswith(code, autoescape=True))
    if not include_old:
        query = _recruiting(query, today)
    return Browse(
        "ncs",
        code,
        node.name,
        trail=ncs_path(code)[:-1],
        children=[tuple(c) for c in children],
        runs=_run_list(query, page, today),
    )


def browse_region(code: str, *, page: int, today: date, include_old: bool = False) -> Browse:
    """Runs in a 시·도 (2 digits) or 시·군·구 (5 digits; a city divided into 일반구 includes its 구)."""
    node = db.session.get(Region, code) if len(code) in (2, 5) and code.isdigit() else None
    if node is None:
        raise errors.CategoryNotFound()
    query = _visible(select(Run), today, include_old)
    if not include_old:
        query = _recruiting(query, today)
    if len(code) == 2:
        children = db.session.execute(
            select(Region.code, Region.name).where(Region.parent_code == code).order_by(Region.code)
        ).all()
        query = query.where(Run.region_code.startswith(code, autoescape=True))
    else:
        children = db.session.execute(
            select(Region.code, Region.name)
            .where(Region.parent_code == code[:2], Region.name.startswith(f"{node.name} ", autoescape=True))
            .order_by(Region.code)
        ).all()
        query = query.where(Run.region_code.in_([code, *(c for c, _ in children)]))
    return Browse(
        "region",
        code,
        node.name,
        trail=region_path(code)[:-1],
        children=[tuple(c) for c in children],
        runs=_run_list(query, page, today),
    )


# -- providers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderPage:
    provider: Provider
    region: list[tuple[str, str]]
    source_ids: list[ProviderSourceId]
    runs: RunList


def provider_page(provider_id: int, *, page: int, today: date, include_old: bool = False) -> ProviderPage:
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        raise errors.ProviderNotFound()
    source_ids = db.session.scalars(
        select(ProviderSourceId).where(ProviderSourceId.provider_id == provider.id).order_by(ProviderSourceId.source)
    ).all()
    query = _visible(select(Run), today, include_old).where(Course.provider_id == provider.id)
    if not include_old:
        query = _recruiting(query, today)
    return ProviderPage(provider, region_path(provider.region_code), list(source_ids), _run_list(query, page, today))


# -- data freshness (the footer on every page) -----------------------------------------------------


def data_as_of() -> list[tuple[str, datetime]]:
    """(source, finish time) of the latest import per source that brought data in. One grouped query."""
    rows = db.session.execute(
        select(ImportRun.source, func.max(ImportRun.finished_at))
        .where(ImportRun.status.in_(FINISHED_IMPORTS), ImportRun.finished_at.is_not(None))
        .group_by(ImportRun.source)
        .order_by(ImportRun.source)
    ).all()
    return [(source, finished) for source, finished in rows]


def data_as_of_text() -> str | None:
    """'HRD-Net(고용24) 2026-11-25 17:05 · msit-swa 2026-11-24 09:00' (KST), or None before any import."""
    entries = data_as_of()
    return " · ".join(f"{source_label(source)} {format_kst(at)}" for source, at in entries) or None


# -- admin: imports ------------------------------------------------------------------------------------


def imports_page(page: int) -> Pagination:
    return db.paginate(
        select(ImportRun).order_by(ImportRun.started_at.desc(), ImportRun.id.desc()),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )


def import_detail(import_id: int) -> tuple[ImportRun, list[dict]]:
    """The import and the rejections stored with it ([{position, key, reason}])."""
    row = db.session.get(ImportRun, import_id)
    if row is None:
        raise errors.ImportNotFound()
    try:
        rejections = json.loads(row.rejections) if row.rejections else []
    except ValueError:
        rejections = []
    return row, [r for r in rejections if isinstance(r, dict)]


# -- admin: correcting course matching ----------------------------------------------------------------


def courses_page(q: str, page: int) -> Pagination:
    """Courses for the admin, newest first; q is a course number or part of a title."""
    query = select(Course).order_by(Course.id.desc())
    q = q.strip()
    if q.isdigit() and bounds.fits(int(q)):
        query = query.where(Course.id == int(q))
    elif q:
        query = query.where(Course.title.contains(q, autoescape=True))
    return db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)


@dataclass(frozen=True)
class CourseAdmin:
    course: Course
    listings: list[tuple[CourseListing, int]]  # each listing with its number of runs
    unlisted_runs: int  # runs registered here, with no listing
    recent_runs: list[Run]


def course_admin(course_id: int) -> CourseAdmin:
    course = db.session.get(Course, course_id)
    if course is None:
        raise errors.CourseNotFound()
    counts = dict(
        db.session.execute(
            select(Run.listing_id, func.count()).where(Run.course_id == course.id).group_by(Run.listing_id)
        ).all()
    )
    listings = db.session.scalars(
        select(CourseListing)
        .where(CourseListing.course_id == course.id)
        .order_by(CourseListing.source, CourseListing.id)
    ).all()
    recent = db.session.scalars(
        select(Run).where(Run.course_id == course.id).order_by(Run.start_date.desc(), Run.id.desc()).limit(PER_PAGE)
    ).all()
    return CourseAdmin(course, [(item, counts.get(item.id, 0)) for item in listings], counts.get(None, 0), list(recent))


@dataclass(frozen=True)
class MergeResult:
    kept: int
    merged: int
    listings: list[int]
    runs: int
    removed: bool  # the emptied course was deleted (False: something else still refers to it)


def merge_courses(keep_id: int, merge_id: int, actor: str) -> MergeResult:
    """Move every listing and run of course merge_id to keep_id and pin the listings there.

    The emptied course is deleted when nothing refers to it any more (runs keep their ids, so /runs/<id>
    links stay valid; the audit entry keeps the history). If a later table still refers to it, it stays,
    with a match key no title can produce, so the importer never links a new listing to it.
    """
    if keep_id == merge_id:
        raise errors.CannotMerge("같은 과정끼리는 합칠 수 없습니다. 다른 과정 번호를 입력하세요.")
    keep, merge = db.session.get(Course, keep_id), db.session.get(Course, merge_id)
    if keep is None or merge is None:
        raise errors.CourseNotFound(f"과정 번호 {keep_id if keep is None else merge_id}을(를) 찾을 수 없습니다.")
    if keep.provider_id != merge.provider_id:
        raise errors.CannotMerge(
            "훈련기관이 다른 과정은 합칠 수 없습니다. 같은 기관이 두 번 등록된 경우라면 "
            "기관 정보를 먼저 바로잡아 주세요."
        )
    listing_ids = list(db.session.scalars(select(CourseListing.id).where(CourseListing.course_id == merge.id)))
    moved_runs = db.session.execute(update(Run).where(Run.course_id == merge.id).values(course_id=keep.id)).rowcount
    db.session.execute(
        update(CourseListing)
        .where(CourseListing.course_id.in_([merge.id, keep.id]))
        .values(course_id=keep.id, pinned=True)
    )
    for name in ("contents", "certificate", "keywords", "ncs_code"):
        if not getattr(keep, name) and getattr(merge, name):
            setattr(keep, name, getattr(merge, name))
    removed = _delete_if_unreferenced(merge, keep.id)
    changes.courses_changed([keep.id, merge_id])  # the kept course now holds the moved runs; the other is gone
    audit.append(
        "course.merged",
        actor=actor,
        subject_type="course",
        subject_id=keep.id,
        data={"merged_course": merge_id, "listings": listing_ids, "runs": moved_runs, "merged_course_removed": removed},
    )
    return MergeResult(keep.id, merge_id, listing_ids, moved_runs, removed)


def _delete_if_unreferenced(course: Course, kept_id: int) -> bool:
    savepoint = db.session.begin_nested()
    try:
        db.session.delete(course)
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        course.match_key = f"merged-into:{kept_id}"
        db.session.flush()
        return False
    savepoint.commit()
    return True


@dataclass(frozen=True)
class SplitResult:
    listing_id: int
    old_course: int
    new_course: int
    runs: int


def split_listing(listing_id: int, actor: str) -> SplitResult:
    """Move one listing and its runs to a new course of their own, pinned there.

    The new course takes the listing's title and the old course's provider and descriptions. Its match key
    is its own (split:<listing id>), so the importer never joins another source's listing to it by title:
    an admin merges deliberately instead.
    """
    listing = db.session.get(CourseListing, listing_id)
    if listing is None:
        raise errors.ListingNotFound()
    old = db.session.get(Course, listing.course_id)
    others = db.session.scalar(
        select(func.count())
        .select_from(CourseListing)
        .where(CourseListing.course_id == old.id, CourseListing.id != listing.id)
    )
    unlisted = db.session.scalar(
        select(func.count()).select_from(Run).where(Run.course_id == old.id, Run.listing_id.is_(None))
    )
    if others == 0 and unlisted == 0:
        raise errors.CannotSplit("이 과정에는 이 목록 하나뿐이라 분리할 것이 없습니다.")
    new = Course(
        title=listing.title,
        provider_id=old.provider_id,
        ncs_code=old.ncs_code,
        match_key=f"split:{listing.id}",
        contents=old.contents,
        certificate=old.certificate,
        keywords=old.keywords,
    )
    db.session.add(new)
    db.session.flush()
    moved = db.session.execute(update(Run).where(Run.listing_id == listing.id).values(course_id=new.id)).rowcount
    listing.course_id, listing.pinned = new.id, True
    db.session.flush()
    changes.courses_changed([old.id, new.id])
    audit.append(
        "course.listing_split",
        actor=actor,
        subject_type="course_listing",
        subject_id=listing.id,
        data={
            "from_course": old.id,
            "to_course": new.id,
            "runs": moved,
            "source": listing.source,
            "external_id": listing.external_id,
        },
    )
    return SplitResult(listing.id, old.id, new.id, moved)
