"""The query string of the search page (/courses) and of the search API (/api/v1/courses) → SearchParams.

One marshmallow schema, `SearchArgs`, checks both, with Korean messages. What happens to a bad value is the
only difference, and it is the same for every parameter:

- the page never answers an error for its query string: a bad value is left out, the search runs without it,
  and the page says in Korean which condition it ignored (`parse_page_args`). A link someone shortened, a
  bookmark from an older version or a hand-edited address still shows results.
- the API answers 422 `{"error": {"code": "validation_error", "message", "details": {param: [messages]}}}`
  (search/api.py): a client that sends page=0 or per_page=1000 has a bug, and clamping would hide it.

| parameter | accepted | notes |
|---|---|---|
| q | text up to 200 characters | surrounding spaces and control characters removed; the page cuts a longer text to 200 |
| region | a known 2-digit 시·도 or 5-digit 시·군·구 code | courses/data/regions.csv |
| ncs | a known 2-digit 대분류 or 4-digit 중분류 code (prefix match) | courses/data/ncs.csv |
| programme, ministry | a code (letters, digits, - and _; up to 16) | a well-formed unknown code finds nothing |
| mode | classroom, remote, blended | |
| weekend | weekday, weekend, mixed | |
| start_from, start_to | YYYY-MM-DD, start_from ≤ start_to | the page drops start_to when the range is reversed |
| start_month | YYYY-MM | |
| seats, include_past | 1/0 (also true/false, on/off) | seats=1: only runs with seats left |
| max_self_pay | whole won, 0 … 100,000,000 | |
| fee_band, self_pay_band | a band code of search.interfaces (FEE_BANDS, SELF_PAY_BANDS), e.g. 1m-3m, 0 | |
| sort | relevance, start, employment, score, price | |
| page | 1 … 500 | the page also goes back to 1 for a bad value, silently |
| per_page | 1 … 100 (default 20) | |

An empty value (`region=` from a form) means "not set" on both. Unknown parameters are ignored on both.
A repeated parameter counts once (its first value).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import date

import marshmallow as ma
from marshmallow import validate

from courses.reference import ncs_names, region_names
from search.interfaces import (
    FEE_BANDS,
    MAX_SELF_PAY_MAX,
    MODES,
    PAGE_MAX,
    PARAM_LABELS,
    PARAM_ORDER,
    PER_PAGE_MAX,
    Q_MAX,
    SELF_PAY_BANDS,
    SORTS,
    WEEKENDS,
    SearchParams,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

_TRUTHY = {"1", "true", "on", "yes", "y"}
_FALSY = {"0", "false", "off", "no", "n"}


# -- fields with Korean messages ---------------------------------------------------------------------------

class _Text(ma.fields.String):
    default_error_messages = {"invalid": "문자열이어야 합니다.", "invalid_utf8": "올바른 UTF-8 문자열이 아닙니다."}


class _Int(ma.fields.Integer):
    default_error_messages = {"invalid": "정수여야 합니다."}


class _Date(ma.fields.Date):
    default_error_messages = {"invalid": "YYYY-MM-DD 형식의 날짜여야 합니다 (예: 2026-05-04).",
                              "format": "날짜로 나타낼 수 없습니다."}


class _Flag(ma.fields.Boolean):
    default_error_messages = {"invalid": "1 또는 0이어야 합니다."}
    truthy = _TRUTHY | {s.upper() for s in _TRUTHY} | {s.capitalize() for s in _TRUTHY}
    falsy = _FALSY | {s.upper() for s in _FALSY} | {s.capitalize() for s in _FALSY}


def _one_of(choices) -> validate.OneOf:
    return validate.OneOf(choices, error="다음 중 하나여야 합니다: " + ", ".join(choices) + ".")


def _range(low: int, high: int) -> validate.Range:
    return validate.Range(min=low, max=high, error=f"{low:,} 이상 {high:,} 이하여야 합니다.")


def _known_region(code: str) -> None:
    if len(code) not in (2, 5) or not code.isdigit():
        raise ma.ValidationError("2자리 시·도 코드나 5자리 시·군·구 코드여야 합니다 (예: 11, 11680).")
    if code not in region_names():
        raise ma.ValidationError(f"알 수 없는 지역 코드입니다: {code}")


def _known_ncs(code: str) -> None:
    if len(code) not in (2, 4) or not code.isdigit():
        raise ma.ValidationError("2자리 대분류나 4자리 중분류 NCS 코드여야 합니다 (예: 20, 2001).")
    if code not in ncs_names():
        raise ma.ValidationError(f"알 수 없는 NCS 코드입니다: {code}")


def _month(value: str) -> None:
    if not _MONTH.match(value):
        raise ma.ValidationError("YYYY-MM 형식의 월이어야 합니다 (예: 2026-05).")


def _pattern(regex: re.Pattern, what: str) -> validate.Regexp:
    return validate.Regexp(regex, error=f"{what}은(는) 영문, 숫자, -, _로 된 코드여야 합니다.")


class SearchArgs(ma.Schema):
    """The search's query-string parameters (documented in the OpenAPI document of /api/v1/courses)."""

    class Meta:
        unknown = ma.EXCLUDE

    q = _Text(validate=validate.Length(max=Q_MAX, error=f"{Q_MAX}자 이하여야 합니다."),
              metadata={"description": "검색어 (한국어 형태소·초성·오타 교정). 비우면 조건만으로 찾습니다."})
    region = _Text(validate=_known_region, metadata={"description": "지역: 2자리 시·도 또는 5자리 시·군·구 코드"})
    ncs = _Text(validate=_known_ncs, metadata={"description": "NCS 직무 분류 앞자리: 2자리 대분류 또는 4자리 중분류"})
    programme = _Text(validate=_pattern(_CODE, "지원 사업"), metadata={"description": "지원 사업 코드 (예: C0104)"})
    ministry = _Text(validate=_pattern(_CODE, "부처"), metadata={"description": "부처 코드 (예: MOEL)"})
    mode = _Text(validate=_one_of(MODES), metadata={"description": "훈련 방식: classroom | remote | blended"})
    weekend = _Text(validate=_one_of(WEEKENDS), metadata={"description": "훈련 요일: weekday | weekend | mixed"})
    start_from = _Date(metadata={"description": "개강일이 이 날 이후 (YYYY-MM-DD, KST)"})
    start_to = _Date(metadata={"description": "개강일이 이 날 이전 (YYYY-MM-DD, KST)"})
    start_month = _Text(validate=_month, metadata={"description": "개강 월 (YYYY-MM)"})
    seats = _Flag(metadata={"description": "1: 남은 자리가 있는 회차만"})
    max_self_pay = _Int(validate=_range(0, MAX_SELF_PAY_MAX),
                        metadata={"description": "자비부담금 상한 (원, 감면 없는 훈련생 기준)"})
    fee_band = _Text(validate=_one_of(tuple(band[0] for band in FEE_BANDS)),
                     metadata={"description": "훈련비 구간: " + ", ".join(f"{b[0]} ({b[1]})" for b in FEE_BANDS)})
    self_pay_band = _Text(validate=_one_of(tuple(band[0] for band in SELF_PAY_BANDS)),
                          metadata={"description": "자비부담금 구간: " + ", ".join(f"{b[0]} ({b[1]})" for b in SELF_PAY_BANDS)})
    include_past = _Flag(metadata={"description": "1: 끝난 회차와 출처 목록에서 빠진 회차도 포함"})
    sort = _Text(validate=_one_of(SORTS), metadata={"description": "정렬: relevance(기본) | start | employment | score | price"})
    page = _Int(validate=_range(1, PAGE_MAX), metadata={"description": f"페이지 (1–{PAGE_MAX}, 기본 1)"})
    per_page = _Int(validate=_range(1, PER_PAGE_MAX), metadata={"description": f"한 페이지 결과 수 (1–{PER_PAGE_MAX}, 기본 20)"})

    @ma.pre_load
    def _clean(self, data, **_kwargs):
        """Empty values mean "not set"; text loses surrounding spaces and control characters."""
        cleaned = {}
        for key in data:
            if key not in self.fields:
                continue
            value = data[key]
            if isinstance(value, list | tuple):  # a repeated parameter counts once
                value = value[0] if value else None
            if isinstance(value, str):
                value = _CONTROL.sub(" ", value).strip()
                if key == "q":
                    value = re.sub(r"\s+", " ", value)
            if value is None or value == "":
                continue
            cleaned[key] = value
        return cleaned

    @ma.validates_schema
    def _range_in_order(self, data, **_kwargs):
        start_from, start_to = data.get("start_from"), data.get("start_to")
        if start_from and start_to and start_from > start_to:
            raise ma.ValidationError("개강일 범위의 끝이 시작보다 빠릅니다.", field_name="start_to")

    @ma.post_load
    def _to_params(self, data, **_kwargs) -> SearchParams:
        return SearchParams(**data)


_schema = SearchArgs()


def _first_values(args: Mapping) -> dict:
    """A Werkzeug MultiDict (or any mapping) → {name: first value}."""
    getlist = getattr(args, "getlist", None)
    if getlist is None:
        return dict(args)
    return {key: (getlist(key) or [None])[0] for key in args}


@dataclasses.dataclass(frozen=True)
class Ignored:
    """A condition of the address the page left out, and why (Korean)."""

    param: str
    label: str
    value: str
    message: str


def parse_page_args(args: Mapping) -> tuple[SearchParams, list[Ignored]]:
    """The page's policy: keep every valid condition, leave out the bad ones and say which (never raises)."""
    raw = _first_values(args)
    q = raw.get("q")
    if isinstance(q, str) and len(q.strip()) > Q_MAX:
        raw["q"] = q.strip()[:Q_MAX]  # cut, not dropped: the first 200 characters still mean something
    ignored: list[Ignored] = []
    # Field errors first, then the checks across fields (marshmallow skips those while a field is bad).
    for _attempt in range(3):
        try:
            params = _schema.load(raw)
            break
        except ma.ValidationError as error:
            messages = error.messages if isinstance(error.messages, dict) else {}
            for param, problems in messages.items():
                original = raw.pop(param, None)
                if param not in PARAM_LABELS or param in ("page", "per_page"):
                    continue  # back to the default silently: nobody types these
                text = " ".join(problems) if isinstance(problems, list) else str(problems)
                ignored.append(Ignored(param, PARAM_LABELS[param], str(original or "")[:40], text))
            if not messages:
                raw = {}
    else:  # pragma: no cover - every pass removes at least one bad parameter
        params = SearchParams()
    ignored.sort(key=lambda item: PARAM_ORDER.index(item.param))
    return params, ignored


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
    for name in ("seats", "include_past"):
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


# -- labels -------------------------------------------------------------------------------------------------

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
