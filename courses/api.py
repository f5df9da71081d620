"""Catalog endpoints of the JSON API: one run with everything its page shows.

`price` is the generic split, for a learner with no exemption (`"basis": "generic"`). For a signed-in learner
(Bearer token) it is that learner's own quote instead (`"basis": "learner"` plus `card_draw`,
`balance_after`, `enrollable` and `refusal`), computed by the voucher domain through
courses.services.register_viewer_price; clients read `price.self_pay` either way and check `basis`.
`price` is null when the programme's pricing is unknown: such a run is listed but not enrollable here.

`status` is the run's lifecycle (open, closed, cancelled); `recruitment` is what a learner is told on the day
of the request (모집 예정 … 종료, courses.enrolment_window), and `enrollable` follows it.
"""

from __future__ import annotations

import marshmallow as ma

from courses import services
from hrdnet.access import current_learner_id, public
from hrdnet.api import ApiBlueprint, ApiErrorSchema
from hrdnet.timeutil import kst_today

bp = ApiBlueprint("courses_api", __name__, description="훈련과정 카탈로그: 회차 정보")

_NULLABLE = {"allow_none": True}


class CodeName(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()


class ProgrammeOut(CodeName):
    voucher_kind = ma.fields.String(metadata={"description": "card | kdigital | none"})


class ProviderOut(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    region_code = ma.fields.String(**_NULLABLE)
    address = ma.fields.String(**_NULLABLE)
    phone = ma.fields.String(**_NULLABLE, metadata={"description": "훈련기관이 공개한 그대로"})


class CourseOut(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    ncs_code = ma.fields.String(**_NULLABLE)
    certificate = ma.fields.String(**_NULLABLE)
    contents = ma.fields.String(**_NULLABLE)
    keywords = ma.fields.String(**_NULLABLE)


class OutcomesOut(ma.Schema):
    satisfaction = ma.fields.Float(**_NULLABLE, metadata={"description": "만족도 0–100"})
    employment_rate_3m = ma.fields.Float(**_NULLABLE, metadata={"description": "3개월 취업률 (%)"})
    employment_rate_6m = ma.fields.Float(**_NULLABLE, metadata={"description": "6개월 취업률 (%)"})
    employment_count_3m = ma.fields.Integer(**_NULLABLE, metadata={"description": "3개월 내 취업자 수"})
    completers = ma.fields.Integer(**_NULLABLE, metadata={"description": "성과의 바탕이 된 수료생 수 (알 때만)"})
    small_sample = ma.fields.Boolean(metadata={"description": "수료생이 10명 미만이거나 알 수 없어 참고용인 성과"})


class ListingOut(ma.Schema):
    source = ma.fields.String()
    external_id = ma.fields.String()
    title = ma.fields.String(metadata={"description": "그 출처가 쓴 과정명"})
    url = ma.fields.String(**_NULLABLE)
    this_run = ma.fields.Boolean(metadata={"description": "이 회차가 이 목록으로 들어왔는지"})


class SourceIdOut(ma.Schema):
    source = ma.fields.String()
    external_id = ma.fields.String(metadata={"description": "출처의 회차 키 (예: AIG20240000412345:3)"})
    first_seen = ma.fields.DateTime()
    last_seen = ma.fields.DateTime()
    not_seen_since = ma.fields.Date(**_NULLABLE, metadata={"description": "출처 목록에서 빠진 날 (KST)"})


class RefusalOut(ma.Schema):
    code = ma.fields.String(metadata={"description": "수강 신청 시 받을 오류 코드 (예: insufficient_balance)"})
    message = ma.fields.String()


class PriceOut(ma.Schema):
    basis = ma.fields.String(
        metadata={
            "description": "generic: 감면 없는 훈련생 기준. learner: 로그인한 훈련생 본인 "
            "기준이며 card_draw, balance_after 등이 더해집니다."
        }
    )
    fee = ma.fields.Integer(metadata={"description": "훈련비 (원)"})
    government_share = ma.fields.Integer(metadata={"description": "정부 지원금 (원)"})
    self_pay = ma.fields.Integer(metadata={"description": "자비부담금 (원)"})
    account = ma.fields.String(metadata={"description": "정부 지원금이 차감되는 계좌: card | kdigital | none"})
    rule = ma.fields.String()
    explanation = ma.fields.String(metadata={"description": "한국어 설명 한 문장"})
    effective_from = ma.fields.Date(**_NULLABLE)
    priced_as = ma.fields.String(
        metadata={
            "description": "자비부담률 표에서 쓴 훈련생 구분 (예: 일반훈련생, 재직자). generic 가격은 로그인하지 "
            "않은 사람에게 보이는 일반훈련생 기준"
        }
    )
    learner_status = ma.fields.String(**_NULLABLE, metadata={"description": "(learner) 가격을 정한 고용 상태"})
    card_draw = ma.fields.Integer(metadata={"description": "(learner) 카드에서 차감될 금액 (원)"})
    available = ma.fields.Integer(**_NULLABLE, metadata={"description": "(learner) 차감될 계좌의 지금 잔액"})
    balance_after = ma.fields.Integer(**_NULLABLE, metadata={"description": "(learner) 차감 후 남을 잔액"})
    shortfall_to_self_pay = ma.fields.Integer(
        metadata={"description": "(learner) 잔액 부족으로 자비부담에 더해진 금액"}
    )
    allowance_monthly_max = ma.fields.Integer(
        **_NULLABLE,
        metadata={"description": "(learner) 훈련장려금 단위기간(월) 최대액, 카드와 별도. 받을 수 없으면 null"},
    )
    allowance_per_day = ma.fields.Integer(
        **_NULLABLE, metadata={"description": "(learner) 출석한 훈련일 하루 훈련장려금. 받을 수 없으면 null"}
    )
    allowance_eligible = ma.fields.Boolean(
        metadata={"description": "(learner) 고용 상태로 보아 훈련장려금을 받을 수 있는 훈련생인지 (실업자 등)"}
    )
    enrollable = ma.fields.Boolean(metadata={"description": "(learner) 지금 신청할 수 있는지"})
    refusal = ma.fields.Nested(RefusalOut, **_NULLABLE, metadata={"description": "(learner) 신청할 수 없는 이유"})


class RecruitmentOut(ma.Schema):
    status = ma.fields.String(
        metadata={
            "description": "모집 상태: upcoming(모집 예정) | open(모집 중) | closing_soon(마감 임박) | closed(마감) | "
            "in_training(훈련 중) | finished(종료) | cancelled(폐강)"
        }
    )
    label = ma.fields.String(metadata={"description": "모집 상태의 한국어 이름 (예: 마감 임박)"})
    opens = ma.fields.Date(metadata={"description": "모집 시작일 (이날 포함, KST)"})
    closes = ma.fields.Date(metadata={"description": "모집 마감일 (이날 포함, KST)"})
    closes_in_days = ma.fields.Integer(
        **_NULLABLE, metadata={"description": "마감까지 남은 날 (0 = 오늘 마감); 모집이 끝났으면 null"}
    )
    deadline = ma.fields.String(**_NULLABLE, metadata={"description": "신청할 수 있을 때의 D-day (예: 마감 D-3)"})
    window_set_by = ma.fields.String(
        metadata={"description": "provider: 훈련기관이 정한 모집 기간 | programme: 사업별 기본값"}
    )
    reason = ma.fields.String(metadata={"description": "지금 신청할 수 없는 이유 (신청할 수 있으면 빈 문자열)"})


class RunOut(ma.Schema):
    run_id = ma.fields.Integer()
    course_id = ma.fields.Integer()
    title = ma.fields.String()
    run_number = ma.fields.Integer()
    status = ma.fields.String(
        metadata={"description": "회차의 생애주기: open | closed | cancelled (모집 상태는 recruitment)"}
    )
    recruitment = ma.fields.Nested(RecruitmentOut, metadata={"description": "오늘(KST) 기준 모집 상태와 모집 기간"})
    start_date = ma.fields.Date()
    end_date = ma.fields.Date()
    weekend = ma.fields.String(metadata={"description": "weekday | weekend | mixed | unknown"})
    mode = ma.fields.String(metadata={"description": "classroom | remote | blended | unknown"})
    hours = ma.fields.Integer(**_NULLABLE)
    days = ma.fields.Integer(**_NULLABLE)
    fee = ma.fields.Integer()
    capacity = ma.fields.Integer()
    source_enrolled = ma.fields.Integer(metadata={"description": "출처가 알려 준 신청 인원"})
    local_enrolled = ma.fields.Integer(metadata={"description": "이 사이트에서 신청한 인원"})
    seats_left = ma.fields.Integer(metadata={"description": "정원 − 출처 신청 − 이 사이트 신청"})
    ncs = ma.fields.Nested(CodeName, **_NULLABLE)
    region = ma.fields.Nested(CodeName, **_NULLABLE)
    address = ma.fields.String(**_NULLABLE)
    course = ma.fields.Nested(CourseOut)
    provider = ma.fields.Nested(ProviderOut)
    programme = ma.fields.Nested(ProgrammeOut, **_NULLABLE)
    ministry = ma.fields.Nested(CodeName, **_NULLABLE)
    outcomes = ma.fields.Nested(OutcomesOut)
    listings = ma.fields.List(ma.fields.Nested(ListingOut), metadata={"description": "같은 과정의 출처별 목록"})
    source_ids = ma.fields.List(ma.fields.Nested(SourceIdOut), metadata={"description": "이 회차의 출처별 키"})
    data_as_of = ma.fields.DateTime(**_NULLABLE, metadata={"description": "출처가 이 회차를 마지막으로 보여 준 때"})
    not_seen_since = ma.fields.Date(**_NULLABLE)
    enrollable = ma.fields.Boolean(
        metadata={"description": "오늘 이 사이트에서 신청할 수 있는지: 가격이 확정되었고 모집 중(또는 마감 임박)"}
    )
    price = ma.fields.Nested(PriceOut, **_NULLABLE, metadata={"description": "null: 가격 정보 미확정"})
    url = ma.fields.String(metadata={"description": "회차 페이지 주소"})


def _code_name(path: list[tuple[str, str]], full: bool = False) -> dict | None:
    """The most specific code of a path; with full=True its name includes the broader ones (서울특별시 강남구)."""
    if not path:
        return None
    return {"code": path[-1][0], "name": " ".join(name for _, name in path) if full else path[-1][1]}


def _price(page: services.RunPage) -> dict | None:
    if page.viewer_price is not None:
        return {**page.viewer_price, "basis": "learner"}
    price = page.price
    if price is None:
        return None
    return {
        "basis": "generic",
        "fee": price.fee,
        "government_share": price.government_share,
        "self_pay": price.self_pay,
        "account": price.account,
        "rule": price.rule,
        "explanation": price.explanation,
        "effective_from": price.effective_from,
        "priced_as": price.priced_as,
    }


def _recruitment(page: services.RunPage) -> dict:
    recruitment = page.recruitment
    return {
        "status": recruitment.code,
        "label": recruitment.label,
        "opens": recruitment.opens,
        "closes": recruitment.closes,
        "closes_in_days": recruitment.closes_in_days,
        "deadline": recruitment.deadline,
        "window_set_by": recruitment.window.set_by,
        "reason": recruitment.reason,
    }


def run_document(page: services.RunPage) -> dict:
    run, price = page.run, page.price
    return {
        "run_id": run.id,
        "course_id": run.course_id,
        "title": page.course.title,
        "run_number": run.run_number,
        "status": run.status,
        "recruitment": _recruitment(page),
        "start_date": run.start_date,
        "end_date": run.end_date,
        "weekend": run.weekend,
        "mode": run.mode,
        "hours": run.hours,
        "days": run.days,
        "fee": run.fee,
        "capacity": run.capacity,
        "source_enrolled": run.source_enrolled,
        "local_enrolled": run.local_enrolled,
        "seats_left": page.seats_left,
        "ncs": _code_name(page.ncs),
        "region": _code_name(page.region, full=True),
        "address": run.address,
        "course": page.course,
        "provider": page.provider,
        "programme": page.programme,
        "ministry": page.ministry,
        "outcomes": {**vars(page.outcomes), "small_sample": page.outcomes.small_sample},
        "listings": [
            {
                "source": item.source,
                "external_id": item.external_id,
                "title": item.title,
                "url": item.url,
                "this_run": item.id == run.listing_id,
            }
            for item in ([page.listing] if page.listing else []) + page.also_listed
        ],
        "source_ids": [
            {
                "source": r.source,
                "external_id": r.external_key,
                "first_seen": r.first_seen,
                "last_seen": r.last_seen,
                "not_seen_since": r.not_seen_since,
            }
            for r in page.records
        ],
        "data_as_of": page.data_as_of,
        "not_seen_since": page.not_seen_since,
        "enrollable": price is not None and page.recruitment.enrollable,
        "price": _price(page),
        "url": f"/runs/{run.id}",
    }


@bp.route("/runs/<int:run_id>", methods=["GET"])
@public
@bp.response(200, RunOut)
@bp.alt_response(404, schema=ApiErrorSchema, description="없는 회차 (code: run_not_found)")
def get_run(run_id: int):
    """회차 하나: 과정, 훈련기관, 사업·부처, 성과, 출처별 목록, 남은 자리, 가격 (로그인한 훈련생은 본인 기준)"""
    return run_document(services.run_page(run_id, kst_today(), viewer_id=current_learner_id()))
