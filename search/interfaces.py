"""The search's query interface, defined once: what a search may ask and what it answers.

Everything outside the engine speaks in these terms: the page (search.views, its WTForms form in
search.forms), the JSON API (search.api, its marshmallow schemas in search.schemas), the templates, the
benchmarks and the tests. The engine behind it is search.query (`search(params) -> SearchResult` and
`suggest(q) -> list[Suggestion]`) over the Whoosh index of search/index/. Replacing Whoosh (PostgreSQL
full-text search, OpenSearch: docs/scaling.md) means another implementation of those two functions for
these types; the pages, the API and their tests do not change.

Defined here, and nowhere else:

- the parameters (`SearchParams`, their Korean names and the order of addresses), the limits (Q_MAX,
  PAGE_MAX, PER_PAGE_MAX), the sorts, the modes and schedules a search may ask for, the price bands;
- the facets (their keys, the heading the page gives each, the parameter a value sets);
- the result shapes (`SearchResult`, `Hit`, `FacetValue`, `Suggestion`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from courses.models import MODES as RUN_MODES
from courses.models import WEEKEND_KINDS as RUN_WEEKEND_KINDS

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

SORTS = ("relevance", "start", "employment", "score", "price")
DEFAULT_SORT = "relevance"
SORT_LABELS = {"relevance": "관련도순", "start": "개강일 빠른순", "employment": "취업률 높은순",
               "score": "만족도 높은순", "price": "자비부담 낮은순"}

# Price bands are query-time definitions (changing them needs no reindex): (code, label, low, high) in 원;
# None as low is the band of runs without a known price.
FEE_BANDS = (("free", "무료", 0, 0), ("lt1m", "100만원 미만", 1, 999_999), ("1m-3m", "100만~300만원", 1_000_000, 2_999_999),
             ("3m-6m", "300만~600만원", 3_000_000, 5_999_999), ("6m-10m", "600만~1,000만원", 6_000_000, 9_999_999),
             ("10m+", "1,000만원 이상", 10_000_000, None))
SELF_PAY_BANDS = (("0", "자비 부담 없음", 0, 0), ("lt100k", "10만원 미만", 1, 99_999),
                  ("100k-300k", "10만~30만원", 100_000, 299_999), ("300k-500k", "30만~50만원", 300_000, 499_999),
                  ("500k-1m", "50만~100만원", 500_000, 999_999), ("1m+", "100만원 이상", 1_000_000, None),
                  ("unknown", "가격 미확정", None, None))
MAX_SELF_PAY_MAX = 100_000_000  # the largest max_self_pay accepted (원)

# -- the parameters -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchParams:
    """One search: every parameter of /courses and GET /api/v1/courses, already checked."""

    q: str = ""
    region: str | None = None  # 2-digit 시·도 or 5-digit 시·군·구
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
    fee_band: str | None = None  # a code of FEE_BANDS
    self_pay_band: str | None = None  # a code of SELF_PAY_BANDS
    include_past: bool = False
    sort: str = DEFAULT_SORT  # one of SORTS
    page: int = 1  # 1 … PAGE_MAX
    per_page: int = PER_PAGE  # capped at PER_PAGE_MAX


# Korean names of the parameters, for messages and for the chips of selected conditions.
PARAM_LABELS = {
    "q": "검색어", "region": "지역", "ncs": "NCS 직무 분야", "programme": "지원 사업", "ministry": "부처",
    "mode": "훈련 방식", "weekend": "훈련 요일", "start_from": "개강일 시작", "start_to": "개강일 끝",
    "start_month": "개강 월", "seats": "남은 자리", "max_self_pay": "자비부담 상한", "fee_band": "훈련비",
    "self_pay_band": "자비부담금", "include_past": "지난 과정", "sort": "정렬", "page": "페이지",
    "per_page": "한 페이지 결과 수",
}

# The order of parameters in the addresses the site builds (stable, so equal searches have equal URLs).
PARAM_ORDER = ("q", "region", "ncs", "ministry", "programme", "mode", "weekend", "start_month", "start_from",
               "start_to", "seats", "max_self_pay", "fee_band", "self_pay_band", "include_past", "sort", "per_page",
               "page")

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


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str  # "course" | "provider" | "topic" | "region"
