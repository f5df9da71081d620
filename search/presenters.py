"""What the search page shows, computed from a search and its result: page links, the chips of selected
conditions, facet links that toggle one condition each, and the addresses they lead to (to_args, the
inverse of search.forms.parse_page_args). Plain values for templates/search/results.html,
so the view stays a read → search → render of a few lines.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date

from flask import url_for

from courses import services as courses_services
from courses.reference import ncs_names, region_names
from search.forms import Ignored
from search.interfaces import FACETS, PAGE_MAX, PARAM_LABELS, PARAM_ORDER, SearchParams, SearchResult

FACET_SHOWN = 8  # values listed before "더 보기"


@dataclass(frozen=True)
class Pages:
    """What macros/pagination.html reads (the shape of Flask-SQLAlchemy's Pagination), for a search result."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return min(math.ceil(self.total / self.per_page), PAGE_MAX) if self.per_page else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        return min(self.page - 1, self.pages) if self.has_prev else None

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(self, *, left_edge: int = 2, left_current: int = 2, right_current: int = 4, right_edge: int = 2):
        """Page numbers with None for each gap, as Flask-SQLAlchemy's Pagination.iter_pages."""
        pages = self.pages
        left_end = min(1 + left_edge, pages + 1)
        yield from range(1, left_end)
        if left_end >= pages + 1:
            return
        mid_start = max(left_end, self.page - left_current)
        mid_end = min(self.page + right_current + 1, pages + 1)
        if mid_start - left_end > 0:
            yield None
        yield from range(mid_start, mid_end)
        if mid_end >= pages + 1:
            return
        right_start = max(mid_end, pages - right_edge + 1)
        if right_start - mid_end > 0:
            yield None
        yield from range(right_start, pages + 1)


@dataclass(frozen=True)
class Chip:
    """A selected condition, shown as a tag whose link removes it."""

    label: str
    remove_url: str


def search_url(params: SearchParams, **changes) -> str:
    """/courses with the conditions of `params`, some changed (see changed)."""
    return url_for("search.courses", **to_args(changed(params, **changes)))


def _selected_label(result: SearchResult, facet_names: tuple[str, ...], value) -> str | None:
    for name in facet_names:
        for item in result.facets.get(name, ()):
            if item.selected and str(item.value) == str(value):
                return item.label
    return None


def _chip_label(name: str, value, result: SearchResult) -> str:
    if name == "region":
        return region_label(value)
    if name == "ncs":
        return ncs_label(value)
    if name == "start_from":
        return f"{value.isoformat()}부터"
    if name == "start_to":
        return f"{value.isoformat()}까지"
    if name in ("max_self_pay", "max_card_draw"):
        return f"{value:,}원 이하"
    facet_names = tuple(facet.name for facet in FACETS if facet.param == name)
    return _selected_label(result, facet_names, value) or str(value)


CHIP_TEXT = {
    "seats": "남은 자리 있는 과정만",
    "include_closed": "마감된 과정 포함",
    "include_past": "지난 과정 포함",
    "fits_balance": "내 카드 잔액으로 가능",
}
CHIP_PREFIX = {"start_from": "개강일", "start_to": "개강일", "max_self_pay": "자비부담", "max_card_draw": "카드 사용액"}


def chips(params: SearchParams, result: SearchResult) -> list[Chip]:
    """The selected conditions besides the text, each with the address that removes it (one per region)."""
    out = []
    for name in filter_names(params):
        value = getattr(params, name)
        if name == "region":
            codes = region_list(value)
            for code in codes:
                rest = ",".join(c for c in codes if c != code) or None
                out.append(Chip(f"{PARAM_LABELS[name]}: {region_label(code)}", search_url(params, region=rest)))
            continue
        if name == "provider":
            label = next((a.label for a in result.applied if a.param == "provider"), value)
            out.append(Chip(f"{PARAM_LABELS[name]}: {label}", search_url(params, provider=None)))
            continue
        prefix = CHIP_PREFIX.get(name, PARAM_LABELS[name])
        text = CHIP_TEXT.get(name) or f"{prefix}: {_chip_label(name, value, result)}"
        out.append(Chip(text, search_url(params, **{name: None})))
    return out


def facet_links(params: SearchParams, result: SearchResult) -> list[dict]:
    """Each facet with its values: label, count, selected, and the address that toggles it."""
    groups = []
    for facet in FACETS:
        name, heading, param = facet.name, facet.heading, facet.param
        values = [v for v in result.facets.get(name, ()) if v.count or v.selected]
        if not values:
            continue
        links = []
        for value in values:
            if name == "region":  # 시·도 combine: a value adds itself to the chosen ones, or leaves them
                url = search_url(params, region=_toggle_region(params.region, str(value.value)))
            elif value.selected:
                # A sub-level value goes back to its parent level; a top-level one clears the condition.
                parent = None
                if name == "region_sub" and params.region and len(params.region) == 5:
                    parent = params.region[:2]
                elif name == "ncs2" and params.ncs and len(params.ncs) == 4:
                    parent = params.ncs[:2]
                url = search_url(params, **{param: parent})
            else:
                typed = True if param == "seats" else str(value.value)
                url = search_url(params, **{param: typed})
            links.append({"label": value.label, "count": value.count, "selected": value.selected, "url": url})
        groups.append(
            {
                "name": name,
                "heading": heading,
                "values": links,
                "shown": FACET_SHOWN,
                "open": any(v["selected"] for v in links),
            }
        )
    return groups


def region_list(value: str | None) -> list[str]:
    return [code for code in (value or "").split(",") if code]


def _toggle_region(current: str | None, sido: str) -> str | None:
    """The region condition with a 시·도 added, or removed (with its 시·군·구) when it was chosen."""
    codes = region_list(current)
    if any(code[:2] == sido for code in codes):
        codes = [code for code in codes if code[:2] != sido]
    else:
        codes.append(sido)
    return ",".join(codes) or None


# -- the signed-in learner ------------------------------------------------------------------------------------

FITS_BALANCE_ANONYMOUS = "로그인한 학습자의 카드 잔액으로만 고를 수 있어 이 조건은 빼고 찾았습니다."
FITS_BALANCE_NO_CARD = "아직 쓸 수 있는 내일배움카드가 없어 이 조건은 빼고 찾았습니다."


def for_viewer(params: SearchParams, learner: int | None, today: date) -> tuple[SearchParams, list]:
    """The search as the viewer asked it: "자비부담 낮은순" sorts by the signed-in learner's own self-pay (their
    price classes), and "내 카드 잔액으로 가능" becomes a card-draw limit of the learner's balance (neither is
    ever written into an address); for anyone without a card the balance filter is left out and said so."""
    if params.sort == "price" and learner is not None:
        params = dataclasses.replace(params, price_classes=courses_services.viewer_price_classes(learner, today))
    if not params.fits_balance:
        return params, []
    balance = courses_services.viewer_balance(learner, today)
    if balance is None:
        message = FITS_BALANCE_ANONYMOUS if learner is None else FITS_BALANCE_NO_CARD
        return params, [Ignored("fits_balance", PARAM_LABELS["fits_balance"], "", message)]
    limit = balance if params.max_card_draw is None else min(balance, params.max_card_draw)
    return dataclasses.replace(params, max_card_draw=max(limit, 0)), []


def shown_run_ids(result: SearchResult) -> list[int]:
    """The runs a result page shows: each course's card and its run chips."""
    if result.courses is None:
        return [hit.run_id for hit in result.items]
    return [chip.run_id for course in result.courses for chip in course.runs] or [h.run_id for h in result.items]


# -- SearchParams → address -------------------------------------------------------------------------------

_DEFAULTS = SearchParams()


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_args(params: SearchParams) -> dict[str, str]:
    """The query string of a search: only what differs from the defaults, in PARAM_ORDER (parse's inverse)."""
    out = {}
    for name in PARAM_ORDER:
        value = getattr(params, name)
        if value is None or value == getattr(_DEFAULTS, name) or value == "":
            continue
        out[name] = _as_text(value)
    return out


def changed(params: SearchParams, **changes) -> SearchParams:
    """The same search with some conditions changed (None clears one); back to page 1 unless a page is given."""
    changes.setdefault("page", 1)
    for name in ("seats", "include_closed", "include_past", "fits_balance"):
        if changes.get(name, False) is None:
            changes[name] = False
    if changes.get("sort", "") is None:
        changes["sort"] = _DEFAULTS.sort
    if changes.get("q", "") is None:
        changes["q"] = ""
    return dataclasses.replace(params, **changes)


def filter_names(params: SearchParams) -> list[str]:
    """The conditions set besides the text, sort and paging (what the chips show)."""
    skip = {"q", "sort", "page", "per_page"}
    return [name for name in to_args(params) if name not in skip]


# -- labels of codes -------------------------------------------------------------------------------------------------


def region_label(code: str) -> str:
    """'11680' → '서울특별시 강남구' (the code itself when unknown)."""
    names = region_names()
    if len(code) == 5 and code[:2] in names and code in names:
        return f"{names[code[:2]]} {names[code]}"
    return names.get(code, code)


def ncs_label(code: str) -> str:
    """'2001' → '정보통신 › 정보기술'."""
    names = ncs_names()
    if len(code) == 4 and code[:2] in names and code in names:
        return f"{names[code[:2]]} › {names[code]}"
    return names.get(code, code)
