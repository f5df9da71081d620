"""Search endpoints of the JSON API: GET /api/v1/courses (search with facets) and GET /api/v1/suggest.

Parameters are those of the search page (search.schemas.SearchArgs, listed in the OpenAPI document). Unlike the
page, the API refuses a bad value instead of leaving it out: 422
`{"error": {"code": "validation_error", "message": "검색 조건이 올바르지 않습니다: page(…)", "details": {"page": [...]}}}`.
page=0, per_page=1000 or sort=cheapest are client bugs that clamping would hide. Unknown parameters are
ignored and an empty value means "not set", as on the page.

Items are flat: codes (`region`, `ncs`, `programme`, `ministry`) with their Korean names beside them
(`region_name` …), so a client can filter by the code and show the name. `title_html` and `snippet_html` are
HTML-escaped text with <mark> around the matched words.

Before the index exists (a new site, before `hrdnet search reindex` or the worker's first catalog change),
/api/v1/courses answers 503 `search_unavailable` rather than an empty result; /api/v1/suggest answers [].
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate
from webargs.flaskparser import FlaskParser

from hrdnet.access import current_learner_id, public
from hrdnet.api import ApiBlueprint, ApiErrorSchema
from hrdnet.errors import DomainError
from hrdnet.timeutil import kst_today
from search import presenters
from search.engine import index_ready, search, suggest
from search.interfaces import Q_MAX, SUGGEST_LIMIT
from search.schemas import SearchArgs


class InvalidSearchParams(DomainError):
    status, code, message = 422, "validation_error", "검색 조건이 올바르지 않습니다."


class SearchUnavailable(DomainError):
    status, code, message = 503, "search_unavailable", "검색 색인을 준비하고 있습니다. 잠시 후 다시 시도해 주세요."


class _KoreanErrorsParser(FlaskParser):
    """Refuse bad parameters with the site's error shape and a Korean message that names them."""

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        messages = messages.get("query", messages)  # webargs nests them under the location
        names = ", ".join(
            f"{name}({' '.join(problems) if isinstance(problems, list) else problems})"
            for name, problems in messages.items()
        )
        raise InvalidSearchParams(f"검색 조건이 올바르지 않습니다: {names}", details=messages)


class Blueprint(ApiBlueprint):
    ARGUMENTS_PARSER = _KoreanErrorsParser()


bp = Blueprint("search_api", __name__, description="훈련과정 검색과 검색어 자동완성")

_NULLABLE = {"allow_none": True}


class HitOut(ma.Schema):
    run_id = ma.fields.Integer()
    course_id = ma.fields.Integer()
    title = ma.fields.String(metadata={"description": "과정명"})
    title_html = ma.fields.String(metadata={"description": "과정명 (HTML 이스케이프, 찾은 낱말은 <mark>)"})
    snippet_html = ma.fields.String(
        **_NULLABLE, metadata={"description": "훈련 내용 가운데 찾은 낱말 둘레 (HTML, <mark>)"}
    )
    provider = ma.fields.String(metadata={"description": "훈련기관 이름"})
    start_date = ma.fields.Date()
    end_date = ma.fields.Date()
    fee = ma.fields.Integer(metadata={"description": "훈련비 (원)"})
    self_pay = ma.fields.Integer(
        **_NULLABLE, metadata={"description": "감면 없는 훈련생의 자비부담금 (원); null: 미확정"}
    )
    seats_left = ma.fields.Integer(metadata={"description": "남은 자리"})
    region = ma.fields.String(**_NULLABLE, metadata={"description": "지역 코드 (5자리 시·군·구 또는 2자리 시·도)"})
    region_name = ma.fields.String(**_NULLABLE)
    ncs = ma.fields.String(**_NULLABLE, metadata={"description": "NCS 직무 분류 코드"})
    ncs_name = ma.fields.String(**_NULLABLE)
    programme = ma.fields.String(**_NULLABLE, metadata={"description": "지원 사업 코드"})
    programme_name = ma.fields.String(**_NULLABLE)
    ministry = ma.fields.String(**_NULLABLE, metadata={"description": "부처 코드"})
    ministry_name = ma.fields.String(**_NULLABLE)
    mode = ma.fields.String(metadata={"description": "classroom | remote | blended | unknown"})
    weekend = ma.fields.String(metadata={"description": "weekday | weekend | mixed | unknown"})
    employment_rate = ma.fields.Float(**_NULLABLE, metadata={"description": "취업률 (%)"})
    satisfaction = ma.fields.Float(**_NULLABLE, metadata={"description": "만족도 0–100"})
    source_ids = ma.fields.List(
        ma.fields.String(), metadata={"description": "출처별 회차 키 (예: hrdnet:AIG20240000412345:3)"}
    )
    url = ma.fields.Method("_url", metadata={"description": "회차 페이지 주소"})

    def _url(self, hit) -> str:
        return f"/runs/{hit.run_id}"


class FacetValueOut(ma.Schema):
    value = ma.fields.String(metadata={"description": "이 값을 고를 때 보낼 매개변수 값"})
    label = ma.fields.String(metadata={"description": "한국어 이름"})
    count = ma.fields.Integer(metadata={"description": "다른 조건은 그대로 두고 이 값을 고르면 나올 결과 수"})
    selected = ma.fields.Boolean()


class AppliedOut(ma.Schema):
    param = ma.fields.String(
        metadata={"description": "검색어의 낱말이 정한 조건 (region, weekend, mode, programme, provider)"}
    )
    value = ma.fields.String(metadata={"description": "그 조건의 값 (예: 26)"})
    word = ma.fields.String(metadata={"description": "검색어에 쓴 낱말 (예: 부산)"})
    label = ma.fields.String(metadata={"description": "값의 한국어 이름 (예: 부산광역시)"})


class SearchOut(ma.Schema):
    total = ma.fields.Integer(metadata={"description": "조건에 맞는 회차 수"})
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Nested(HitOut))
    facets = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.Nested(FacetValueOut)),
        metadata={
            "description": "region, region_sub(→ region), ministry, programme, ncs1·ncs2(→ ncs), mode, weekend, "
            "start_month, seats, fee_band, self_pay_band: 값별 결과 수"
        },
    )
    suggestion = ma.fields.String(
        **_NULLABLE, metadata={"description": "결과가 적을 때 제안하는 검색어 (혹시 …을(를) 찾으셨나요?)"}
    )
    corrected_from = ma.fields.String(
        **_NULLABLE, metadata={"description": "결과가 없어 교정한 검색어로 찾았을 때, 원래 검색어"}
    )
    took_ms = ma.fields.Float(metadata={"description": "검색에 걸린 시간 (밀리초)"})
    q = ma.fields.String(metadata={"description": "조건으로 읽은 낱말을 뺀, 실제로 찾은 검색어"})
    applied = ma.fields.List(
        ma.fields.Nested(AppliedOut),
        metadata={"description": "검색어에서 조건으로 읽은 낱말 (지역·요일·방식·지원 사업·훈련기관)"},
    )
    notes = ma.fields.List(ma.fields.String(), metadata={"description": "검색어를 어떻게 읽었는지 (한국어)"})


class SuggestArgs(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    q = ma.fields.String(
        load_default="",
        validate=validate.Length(max=Q_MAX, error=f"{Q_MAX}자 이하여야 합니다."),
        metadata={"description": "입력 중인 검색어 (초성만 써도 됩니다: ㅍㅇㅆ → 파이썬)"},
    )


class SuggestionOut(ma.Schema):
    text = ma.fields.String(metadata={"description": "제안하는 검색어"})
    kind = ma.fields.String(metadata={"description": "무엇의 이름인지 (과정, 기술, 지역, 훈련기관 등)"})


@bp.route("/courses", methods=["GET"])
@public
@bp.arguments(SearchArgs, location="query", as_kwargs=False)
@bp.response(200, SearchOut)
@bp.alt_response(422, schema=ApiErrorSchema, description="올바르지 않은 검색 조건 (code: validation_error)")
@bp.alt_response(503, schema=ApiErrorSchema, description="검색 색인이 아직 없음 (code: search_unavailable)")
def search_courses(params):
    """훈련과정 회차 검색: 검색어와 조건, 값별 결과 수(facets), 검색어 제안

    조건은 모두 함께 적용됩니다(AND). 알 수 없는 매개변수는 무시하고, 빈 값은 조건이 없는 것으로 봅니다.
    기본으로 신청할 수 있는 회차(모집 중·마감 임박·모집 예정)만 찾습니다. `include_closed=1`이면 모집이 끝났거나
    이미 시작한 회차도, `include_past=1`이면 끝난 회차까지 모두 찾습니다.
    """
    searched, _refused = presenters.for_viewer(params, current_learner_id(), kst_today())  # fits_balance
    result = search(searched)
    if not result.total and not index_ready():
        raise SearchUnavailable()  # "nothing found" would be a lie before the first `hrdnet search reindex`
    return {
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "items": result.items,
        "facets": result.facets,
        "suggestion": result.suggestion,
        "corrected_from": result.corrected_from,
        "took_ms": result.took_ms,
        "q": (result.params or params).q,
        "applied": result.applied,
        "notes": list(result.notes),
    }


@bp.route("/suggest", methods=["GET"])
@public
@bp.arguments(SuggestArgs, location="query", as_kwargs=True)
@bp.response(200, SuggestionOut(many=True))
@bp.alt_response(422, schema=ApiErrorSchema, description="검색어가 너무 깁니다 (code: validation_error)")
def suggest_terms(q: str):
    """검색어 자동완성: 입력 중인 검색어에 맞는 과정명·기술·지역·훈련기관, 최대 10개"""
    q = q.strip()
    if not q:
        return []
    return suggest(q, limit=SUGGEST_LIMIT)[:SUGGEST_LIMIT]
