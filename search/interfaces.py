"""The search's query interface, defined once: what a search may ask and what it answers.

Everything outside the engine speaks in these terms: the page (search.views, its WTForms form in
search.forms), the JSON API (search.api, its marshmallow schemas in search.schemas), the templates, the
benchmarks and the tests. The engine behind it is search.query (`search(params) -> SearchResult` and
`suggest(q) -> list[Suggestion]`) over the Whoosh index of search/index/. Replacing Whoosh (PostgreSQL
full-text search, OpenSearch: docs/scaling.md) means another implementation of those two functions for
these types; the pages, the API and their tests do not change.

Defined here, and nowhere else:

- the parameters (`SearchParams`; `PARAMS`: each one's Korean name, what it accepts and the Korean message
  for what it does not, read by both the page's WTForms form and the API's marshmallow schema; the order of
  addresses), the limits (Q_MAX, PAGE_MAX, PER_PAGE_MAX), the sorts, the modes and schedules a search may
  ask for, the price bands;
- the facets (their keys, the heading the page gives each, the parameter a value sets);
- the result shapes (`SearchResult`, `Hit`, `FacetValue`, `Suggestion`).

What the parameters accept (PARAMS):

| parameter | accepted | notes |
|---|---|---|
| q | text up to 200 characters | surrounding spaces and control characters removed; the page cuts a longer text to 200 |
| region | known 2-digit 시·도 or 5-digit 시·군·구 codes, comma-separated (any of them) | courses/data/regions.csv |
| provider | a provider's name or brand (아이티윌), up to 50 characters | its runs only; query words naming one set it |
| ncs | a known 2-digit 대분류 or 4-digit 중분류 code (prefix match) | courses/data/ncs.csv |
| programme, ministry | a code (letters, digits, - and _; up to 16) | a well-formed unknown code finds nothing |
| mode | classroom, remote, blended | |
| weekend | weekday, weekend, mixed | |
| start_from, start_to | YYYY-MM-DD, start_from ≤ start_to | the page drops start_to when the range is reversed |
| start_month | YYYY-MM | |
| seats, include_closed, include_past | 1/0 (also true/false, on/off) | seats=1: only runs with seats left; by default only runs still recruiting (include_closed=1 adds closed and started runs, include_past=1 also ended ones) |
| max_self_pay, max_card_draw | whole won, 0 … 100,000,000 | the generic split's self-pay / card draw |
| fits_balance | 1/0 | the signed-in learner's card balance as max_card_draw; ignored for anyone else |
| fee_band, self_pay_band | a band code of FEE_BANDS, SELF_PAY_BANDS, e.g. 1m-3m, 0 | |
| sort | relevance, start, deadline, employment, score, price | price: a signed-in learner's own self-pay (their price classes), across all pages |
| page | 1 … 500 | the page also goes back to 1 for a bad value, silently |
| per_page | 1 … 100 (default 20) | |

An empty value (`region=` from a form) means "not set" on both. Unknown parameters are ignored on both.
A repeated parameter counts once (its first value).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from courses.models import MODES as RUN_MODES
from courses.models import WEEKEND_KINDS as RUN_WEEKEND_KINDS
from courses.reference import ncs_names, region_names
from hrdnet import korean

# -- limits ------------------------------------------------------------------------------------------------

Q_MAX = 200  # characters of query text
PAGE_MAX = 500  # deeper pages cost the index more than they help anyone; narrow the search instead
PER_PAGE = 20
PER_PAGE_MAX = 100
SUGGEST_LIMIT = 10  # autocomplete entries the API and the page's script show

# -- values a search may ask for --------------------------------------------------------------------------

UNKNOWN = "unknown"  # a run's mode or schedule no source stated: shown on a hit, never asked for
MODES = tuple(mode for mode in RUN_MODES if mode != UNKNOWN)  # classroom, remote, blended
WEEKENDS = tuple(kind for kind in RUN_WEEKEND_KINDS if kind != UNKNOWN)  # weekday, weekend, mixed

SORTS = ("relevance", "start", "deadline", "employment", "score", "price")
DEFAULT_SORT = "relevance"
SORT_LABELS = {
    "relevance": "관련도순",
    "start": "개강일 빠른순",
    "deadline": "신청 마감 임박",
    "employment": "취업률 높은순",
    "score": "만족도 높은순",
    "price": "자비부담 낮은순",
}

# Price bands are query-time definitions (changing them needs no reindex): (code, label, low, high) in 원;
# None as low is the band of runs without a known price.
FEE_BANDS = (
    ("free", "무료", 0, 0),
    ("lt1m", "100만원 미만", 1, 999_999),
    ("1m-3m", "100만~300만원", 1_000_000, 2_999_999),
    ("3m-6m", "300만~600만원", 3_000_000, 5_999_999),
    ("6m-10m", "600만~1,000만원", 6_000_000, 9_999_999),
    ("10m+", "1,000만원 이상", 10_000_000, None),
)
SELF_PAY_BANDS = (
    ("0", "자비 부담 없음", 0, 0),
    ("lt100k", "10만원 미만", 1, 99_999),
    ("100k-300k", "10만~30만원", 100_000, 299_999),
    ("300k-500k", "30만~50만원", 300_000, 499_999),
    ("500k-1m", "50만~100만원", 500_000, 999_999),
    ("1m+", "100만원 이상", 1_000_000, None),
    ("unknown", "가격 미확정", None, None),
)
MAX_SELF_PAY_MAX = 100_000_000  # the largest max_self_pay accepted (원)

# -- the parameters -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchParams:
    """One search: every parameter of /courses and GET /api/v1/courses, already checked."""

    q: str = ""
    region: str | None = None  # 2-digit 시·도 or 5-digit 시·군·구 codes, comma-separated: any of them
    provider: str | None = None  # a provider's name or brand (search.intent): its runs only
    ncs: str | None = None  # prefix, 2 or 4 digits
    programme: str | None = None
    ministry: str | None = None
    mode: str | None = None  # one of MODES
    weekend: str | None = None  # one of WEEKENDS
    start_from: date | None = None
    start_to: date | None = None
    start_month: str | None = None  # "2026-05"
    seats: bool = False  # only runs with seats left
    max_self_pay: int | None = None
    max_card_draw: int | None = None  # the generic card draw at most this (원): "내 카드 잔액으로 가능"
    fits_balance: bool = False  # the page and API turn it into max_card_draw = the signed-in learner's balance
    fee_band: str | None = None  # a code of FEE_BANDS
    self_pay_band: str | None = None  # a code of SELF_PAY_BANDS
    include_closed: bool = False  # also runs no longer recruiting (마감, 훈련 중): hidden by default
    include_past: bool = False  # also ended runs and runs no source lists any more (implies include_closed)
    by_course: bool = False  # also SearchResult.courses: one entry per course, its runs as chips (the page)
    # Never in an address (set by code, not by a parameter):
    price_classes: tuple[int, ...] = ()  # the signed-in learner's price classes (courses.pricing): sort=price
    # sorts by their own self-pay, the lowest of these classes' indexed amounts; () = the generic self-pay
    run_ids: tuple[int, ...] | None = None  # of the matching runs, only these (search.saved's alert candidates)
    sort: str = DEFAULT_SORT  # one of SORTS
    page: int = 1  # 1 … PAGE_MAX
    per_page: int = PER_PAGE  # capped at PER_PAGE_MAX


# -- what each parameter accepts -----------------------------------------------------------------------------
# One definition for the page and the API: `Param.parse` turns the text of a query-string value into the
# value SearchParams holds, None for an empty value ("not set"), or raises InvalidParam with a Korean message.
# search.forms (WTForms, the page) and search.schemas (marshmallow, the API) only wrap it; what each does
# with a refused value differs (the page leaves it out and says so, the API answers 422).


class InvalidParam(ValueError):
    """A parameter's value is not accepted; str() is the Korean message for the user."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_TRUTHY = {"1", "true", "on", "yes", "y"}
_FALSY = {"0", "false", "off", "no", "n"}
TRUTHY = _TRUTHY | {s.upper() for s in _TRUTHY} | {s.capitalize() for s in _TRUTHY}
FALSY = _FALSY | {s.upper() for s in _FALSY} | {s.capitalize() for s in _FALSY}

RANGE_REVERSED = "개강일 범위의 끝이 시작보다 빠릅니다."  # start_from after start_to (reported on start_to)


def one_of_message(choices) -> str:
    return "다음 중 하나여야 합니다: " + ", ".join(choices) + "."


def range_message(low: int, high: int) -> str:
    return f"{low:,} 이상 {high:,} 이하여야 합니다."


def _clean(raw: str) -> str:
    """Control characters become spaces; surrounding spaces go."""
    return _CONTROL.sub(" ", raw).strip()


def _text(value: str) -> str:
    value = re.sub(r"\s+", " ", value)
    if len(value) > Q_MAX:
        raise InvalidParam(f"{Q_MAX}자 이하여야 합니다.")
    return value


REGIONS_MAX = 20  # region codes one search may combine


def _region(value: str) -> str:
    codes = [code.strip() for code in value.split(",") if code.strip()]
    if not codes or len(codes) > REGIONS_MAX:
        raise InvalidParam(f"지역 코드는 1개에서 {REGIONS_MAX}개까지 쉼표로 이어 쓸 수 있습니다.")
    for code in codes:
        if len(code) not in (2, 5) or not code.isdigit():
            raise InvalidParam("2자리 시·도 코드나 5자리 시·군·구 코드여야 합니다 (예: 11, 11680, 11,26).")
        if code not in region_names():
            raise InvalidParam(f"알 수 없는 지역 코드입니다: {code}")
    return ",".join(dict.fromkeys(codes))


PROVIDER_MAX = 50


def _provider(value: str) -> str:
    if len(value) > PROVIDER_MAX:
        raise InvalidParam(f"{PROVIDER_MAX}자 이하여야 합니다.")
    return value


def _ncs(code: str) -> str:
    if len(code) not in (2, 4) or not code.isdigit():
        raise InvalidParam("2자리 대분류나 4자리 중분류 NCS 코드여야 합니다 (예: 20, 2001).")
    if code not in ncs_names():
        raise InvalidParam(f"알 수 없는 NCS 코드입니다: {code}")
    return code


def _codes(names: dict[str, str], lengths: tuple[int, ...]) -> tuple[str, ...]:
    """The codes of a reference table the search accepts, for the OpenAPI document's `enum`."""
    return tuple(sorted(code for code in names if len(code) in lengths and code.isdigit()))


def _codes_pattern(codes: tuple[str, ...], most: int) -> str:
    """A pattern for 1 … `most` known codes, comma-separated (the OpenAPI document states exactly what passes)."""
    one = "(?:" + "|".join(codes) + ")"
    return f"^{one}(?:,{one}){{0,{most - 1}}}$"


def _code_of(what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not _CODE.match(value):
            raise InvalidParam(f"{what}은(는) 영문, 숫자, -, _로 된 코드여야 합니다.")
        return value

    return check


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise InvalidParam(one_of_message(choices))
        return value

    return check


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidParam("YYYY-MM-DD 형식의 날짜여야 합니다 (예: 2026-05-04).") from None


def _month(value: str) -> str:
    if not _MONTH.match(value):
        raise InvalidParam("YYYY-MM 형식의 월이어야 합니다 (예: 2026-05).")
    return value


def _flag(value: str) -> bool:
    if value in TRUTHY:
        return True
    if value in FALSY:
        return False
    raise InvalidParam("1 또는 0이어야 합니다.")


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    def check(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise InvalidParam("정수여야 합니다.") from None
        if not low <= number <= high:
            raise InvalidParam(range_message(low, high))
        return number

    return check


@dataclass(frozen=True)
class Param:
    """One query-string parameter: its name, its Korean name, what it accepts, and its OpenAPI words."""

    name: str
    label: str  # Korean: messages, the chips of selected conditions
    kind: str  # "text" | "date" | "flag" | "int": the type the OpenAPI document states
    convert: Callable[[str], object]  # cleaned, non-empty text → value, or InvalidParam
    description: str
    choices: tuple[str, ...] = ()  # for the OpenAPI document's enum
    low: int | None = None  # for the OpenAPI document's minimum/maximum
    high: int | None = None
    max_length: int | None = None  # for the OpenAPI document's maxLength
    pattern: str | None = None  # for the OpenAPI document's pattern

    def parse(self, raw: str | None):
        """The value SearchParams holds, or None when empty ("not set"); InvalidParam with a Korean message."""
        if raw is None:
            return None
        cleaned = _clean(str(raw))
        return self.convert(cleaned) if cleaned else None


def _band_text(bands) -> str:
    return ", ".join(f"{code} ({label})" for code, label, _low, _high in bands)


FEE_BAND_CODES = tuple(band[0] for band in FEE_BANDS)
SELF_PAY_BAND_CODES = tuple(band[0] for band in SELF_PAY_BANDS)

# In PARAM_ORDER, the order of the addresses the site builds.
PARAMS = (
    Param(
        "q",
        "검색어",
        "text",
        _text,
        "검색어 (한국어 형태소·초성·오타 교정). 비우면 조건만으로 찾습니다.",
        max_length=Q_MAX,
    ),
    # The document lists the known codes (`enum`), so what it calls valid is what the search accepts.
    Param(
        "region",
        "지역",
        "text",
        _region,
        "지역: 2자리 시·도 또는 5자리 시·군·구 코드, 여럿이면 쉼표로 (어느 하나에 맞는 회차)",
        pattern=_codes_pattern(_codes(region_names(), (2, 5)), REGIONS_MAX),
    ),
    Param(
        "provider",
        "훈련기관",
        "text",
        _provider,
        "훈련기관 이름 또는 상호 (예: 아이티윌): 그 기관의 회차만",
        max_length=PROVIDER_MAX,
    ),
    Param(
        "ncs",
        "NCS 직무 분야",
        "text",
        _ncs,
        "NCS 직무 분류 앞자리: 2자리 대분류 또는 4자리 중분류",
        choices=_codes(ncs_names(), (2, 4)),
    ),
    Param("ministry", "부처", "text", _code_of("부처"), "부처 코드 (예: MOEL)", pattern=_CODE.pattern),
    Param("programme", "지원 사업", "text", _code_of("지원 사업"), "지원 사업 코드 (예: C0104)", pattern=_CODE.pattern),
    Param("mode", "훈련 방식", "text", _one_of(MODES), "훈련 방식: " + " | ".join(MODES), choices=MODES),
    Param("weekend", "훈련 요일", "text", _one_of(WEEKENDS), "훈련 요일: " + " | ".join(WEEKENDS), choices=WEEKENDS),
    Param("start_month", "개강 월", "text", _month, "개강 월 (YYYY-MM)", pattern=_MONTH.pattern),
    Param("start_from", "개강일 시작", "date", _date, "개강일이 이 날 이후 (YYYY-MM-DD, KST)"),
    Param("start_to", "개강일 끝", "date", _date, "개강일이 이 날 이전 (YYYY-MM-DD, KST)"),
    Param("seats", "남은 자리", "flag", _flag, "1: 남은 자리가 있는 회차만"),
    Param(
        "max_self_pay",
        "자비부담 상한",
        "int",
        _whole_number(0, MAX_SELF_PAY_MAX),
        "자비부담금 상한 (원, 감면 없는 훈련생 기준)",
        low=0,
        high=MAX_SELF_PAY_MAX,
    ),
    Param(
        "max_card_draw",
        "카드 사용액 상한",
        "int",
        _whole_number(0, MAX_SELF_PAY_MAX),
        "내일배움카드에서 쓰이는 금액(정부 지원금) 상한 (원, 감면 없는 훈련생 기준)",
        low=0,
        high=MAX_SELF_PAY_MAX,
    ),
    Param(
        "fits_balance",
        "내 카드 잔액으로 가능",
        "flag",
        _flag,
        "1: 로그인한 학습자의 카드 잔액으로 신청할 수 있는 회차만",
    ),
    Param(
        "fee_band",
        "훈련비",
        "text",
        _one_of(FEE_BAND_CODES),
        "훈련비 구간: " + _band_text(FEE_BANDS),
        choices=FEE_BAND_CODES,
    ),
    Param(
        "self_pay_band",
        "자비부담금",
        "text",
        _one_of(SELF_PAY_BAND_CODES),
        "자비부담금 구간: " + _band_text(SELF_PAY_BANDS),
        choices=SELF_PAY_BAND_CODES,
    ),
    Param("include_closed", "마감된 과정", "flag", _flag, "1: 모집이 끝났거나 이미 시작한 회차도 포함"),
    Param("include_past", "지난 과정", "flag", _flag, "1: 끝난 회차와 출처 목록에서 빠진 회차도 포함"),
    Param(
        "sort",
        "정렬",
        "text",
        _one_of(SORTS),
        "정렬: relevance(기본) | start | deadline(신청 마감 임박) | employment | score | "
        "price(자비부담 낮은순; 로그인한 학습자는 자기 자비부담 기준으로 모든 페이지를 정렬)",
        choices=SORTS,
    ),
    Param(
        "per_page",
        "한 페이지 결과 수",
        "int",
        _whole_number(1, PER_PAGE_MAX),
        f"한 페이지 결과 수 (1–{PER_PAGE_MAX}, 기본 {PER_PAGE})",
        low=1,
        high=PER_PAGE_MAX,
    ),
    Param("page", "페이지", "int", _whole_number(1, PAGE_MAX), f"페이지 (1–{PAGE_MAX}, 기본 1)", low=1, high=PAGE_MAX),
)
PARAM_LABELS = {param.name: param.label for param in PARAMS}
PARAM_ORDER = tuple(param.name for param in PARAMS)  # stable, so equal searches have equal URLs


def range_problem(start_from: date | None, start_to: date | None) -> str | None:
    """The check across parameters: a date range whose end comes before its start (reported on start_to)."""
    return RANGE_REVERSED if start_from and start_to and start_from > start_to else None


# -- facets ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facet:
    """A facet of the result: its key in SearchResult.facets, the page's heading, the parameter a value sets."""

    name: str
    heading: str
    param: str


# In the order of the page's panel. region_sub is counted only when a region is chosen, ncs2 only when an
# NCS 대분류 is chosen (it is empty until then).
FACETS = (
    Facet("region", "지역 (시·도)", "region"),
    Facet("region_sub", "시·군·구", "region"),
    Facet("ncs1", "NCS 직무 분야", "ncs"),
    Facet("ncs2", "NCS 세부 분야", "ncs"),
    Facet("ministry", "부처", "ministry"),
    Facet("programme", "지원 사업", "programme"),
    Facet("mode", "훈련 방식", "mode"),
    Facet("weekend", "훈련 요일", "weekend"),
    Facet("start_month", "개강 월", "start_month"),
    Facet("seats", "남은 자리", "seats"),
    Facet("self_pay_band", "자비부담금", "self_pay_band"),
    Facet("fee_band", "훈련비", "fee_band"),
)
FACET_NAMES = tuple(facet.name for facet in FACETS)

# -- results ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet: how many results choosing it would give, with every other condition kept."""

    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Hit:
    """One result line: a run, with its course's title and provider and the names of its codes."""

    run_id: int
    course_id: int
    title: str
    title_html: str  # HTML-escaped, matches in <mark>
    provider: str
    start_date: date
    end_date: date
    fee: int
    self_pay: int | None  # the generic split's self-pay; None = price unknown
    seats_left: int
    region: str | None
    region_name: str | None
    ncs: str | None
    ncs_name: str | None
    programme: str | None
    programme_name: str | None
    ministry: str | None
    ministry_name: str | None
    mode: str  # one of MODES, or UNKNOWN
    weekend: str  # one of WEEKENDS, or UNKNOWN
    employment_rate: float | None
    satisfaction: float | None
    source_ids: list[str]  # "source:external key", e.g. "hrdnet:AIG20260000412345:3"
    snippet_html: str  # an excerpt of the contents, HTML-escaped, matches in <mark>
    recruitment: object | None = None  # courses.enrolment_window.Recruitment on the search's day (KST)
    run_number: int | None = None  # 회차


RUNS_PER_COURSE = 5  # a course's runs shown as chips on its card; the rest are counted


@dataclass(frozen=True)
class RunChip:
    """One run of a course's card (by_course): 회차, start, seats, the generic self-pay, the status."""

    run_id: int
    run_number: int | None
    start_date: date
    seats_left: int
    self_pay: int | None
    recruitment: object | None


@dataclass(frozen=True)
class CourseHit:
    """One course of a by_course search: its best run for the search, and its matching runs in order."""

    hit: Hit  # the first of its runs in the search's order: what the card's title, facts and link show
    runs: list[RunChip]  # up to RUNS_PER_COURSE matching runs, `hit`'s first
    more_runs: int  # matching runs not among `runs`


APPLIED_KINDS = {
    "region": "지역",
    "weekend": "훈련 요일",
    "mode": "훈련 방식",
    "programme": "지원 사업",
    "provider": "훈련기관",
}


@dataclass(frozen=True)
class Applied:
    """A query word read as a filter: the parameter it set, the value, the word as typed, a Korean label."""

    param: str  # region, weekend, mode, programme, provider
    value: str
    word: str
    label: str  # the value's name (부산광역시, 주말, K-디지털 트레이닝, 아이티윌)

    @property
    def note(self) -> str:
        kind = APPLIED_KINDS[self.param]
        return f"‘{self.word}’{korean.particle(self.word, '을', '를')} {kind}{korean.particle(kind, '으로', '로')} 적용했어요."


@dataclass(frozen=True)
class SearchResult:
    total: int
    items: list[Hit]
    facets: dict[str, list[FacetValue]]  # by Facet.name (FACET_NAMES)
    suggestion: str | None  # a better spelling when the query found little ("혹시 …을(를) 찾으셨나요?")
    corrected_from: str | None  # set when the items are for `suggestion` because `q` found nothing
    page: int
    per_page: int
    took_ms: float
    notes: tuple[str, ...] = ()  # how the query was read, in Korean ("‘ㅍㅇㅆ’를 ‘파이썬’으로 찾았습니다")
    applied: tuple[Applied, ...] = ()  # query words read as filters (search.intent): shown as chips
    params: SearchParams | None = None  # the search as run: those filters set, their words out of q
    courses: list[CourseHit] | None = None  # by_course: the page's courses (pages count courses then)
    course_total: int | None = None  # by_course: the courses the matching runs belong to


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str  # "course" | "provider" | "topic" | "region"
