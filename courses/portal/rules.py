"""Every rule a submitted run must meet. The form, the API and the services all call check(), so a rule is
written once; a draft is only type-checked and may be incomplete.

The limits per programme are data (courses/data/submission_rules.toml), never constants here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select

from courses import calendar, matching
from courses.models import Course, NcsCode, Programme, Region, Run
from courses.services import MODE_LABELS, WEEKEND_LABELS
from hrdnet.extensions import db

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "submission_rules.toml"
REQUIRED = (
    "programme",
    "title",
    "summary",
    "contents",
    "ncs",
    "mode",
    "region",
    "start_date",
    "end_date",
    "weekend",
    "hours_per_day",
    "fee",
    "support_amount",
    "capacity",
    "apply_from",
    "apply_until",
)
MODES = tuple(m for m in MODE_LABELS if m != "unknown")
WEEKEND_KINDS = tuple(w for w in WEEKEND_LABELS if w != "unknown")


@dataclass(frozen=True)
class Limits:
    min_fee: int
    max_fee: int
    min_hours_per_day: int
    max_hours_per_day: int
    max_capacity: int


@lru_cache(maxsize=1)
def _rules() -> dict:
    return tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))


def limits_for(programme_code: str | None) -> Limits:
    rules = _rules()
    merged = rules["default"] | rules.get("programme", {}).get(programme_code or "", {})
    return Limits(**merged)


def dedupe_key(values: dict) -> str:
    """Two live submissions of one provider may not share the normalised title and the start date."""
    return f"{matching.normalise_title(values['title'] or '')}|{values['start_date']}"


def check(values: dict, *, provider_id: int, submission_id: int | None = None, run_id: int | None = None) -> dict:
    """Field → list of Korean messages for everything that stops a submission (empty when it may go)."""
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for name in REQUIRED:
        if values.get(name) in (None, "", []):
            fail(name, "제출하려면 이 항목을 입력해 주세요.")
    programme = _programme(values.get("programme"), fail)
    _check_codes(values, fail)
    _check_dates(values, fail)
    _check_numbers(values, limits_for(programme.code if programme else None), fail)
    if not errors.get("title") and not errors.get("start_date"):
        _check_duplicate(values, provider_id, submission_id, run_id, fail)
    return errors


def _programme(code, fail) -> Programme | None:
    if not code:
        return None
    programme = db.session.scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        fail("programme", "등록된 사업을 선택해 주세요.")
    return programme


def _check_codes(values: dict, fail) -> None:
    ncs = values.get("ncs")
    if ncs and db.session.scalar(select(NcsCode.code).where(NcsCode.code == ncs, NcsCode.level == 4)) is None:
        fail("ncs", "NCS 세분류(8자리) 코드를 목록에서 골라 주세요.")
    region = values.get("region")
    if region and db.session.scalar(select(Region.code).where(Region.code == region)) is None:
        fail("region", "시·도 또는 시·군·구 코드를 목록에서 골라 주세요.")
    if values.get("mode") and values["mode"] not in MODES:
        fail("mode", "훈련 방식을 목록에서 골라 주세요.")
    if values.get("weekend") and values["weekend"] not in WEEKEND_KINDS:
        fail("weekend", "훈련 요일을 목록에서 골라 주세요.")
    if values.get("mode") in ("classroom", "blended") and not values.get("address"):
        fail("address", "집체·혼합 훈련은 훈련 장소 주소가 필요합니다.")


def _check_dates(values: dict, fail) -> None:
    start, end = values.get("start_date"), values.get("end_date")
    opens, closes = values.get("apply_from"), values.get("apply_until")
    if start and end and end < start:
        fail("end_date", "훈련 종료일은 시작일과 같거나 그 뒤여야 합니다.")
    if opens and closes and closes < opens:
        fail("apply_until", "모집 마감일은 모집 시작일과 같거나 그 뒤여야 합니다.")
    if start and closes and closes > start:
        fail("apply_until", "모집 마감일은 훈련 시작일 이전(당일 포함)이어야 합니다.")
    if start and opens and opens > start:
        fail("apply_from", "모집 시작일은 훈련 시작일보다 앞서야 합니다.")
    days = values.get("training_days") or []
    if start and end and end >= start:
        outside = [d for d in days if not start <= d <= end]
        if outside:
            fail("training_days", f"훈련 기간 밖의 날이 있습니다: {outside[0].isoformat()}")
        elif not days and values.get("weekend") in WEEKEND_KINDS:
            schedule = calendar.derive_schedule(start, end, values["weekend"], None)
            if calendar.TRAINING not in schedule:
                fail("training_days", "훈련일이 하루도 없습니다.")


def scheduled_days(values: dict) -> list[date]:
    """The run's training days: the provider's own list, else derived from the 주중/주말 kind and holidays."""
    if values.get("training_days"):
        return sorted(values["training_days"])
    schedule = calendar.derive_schedule(values["start_date"], values["end_date"], values["weekend"], None)
    return calendar.decode(values["start_date"], schedule)


def _check_numbers(values: dict, limits: Limits, fail) -> None:
    fee, support = values.get("fee"), values.get("support_amount")
    hours, capacity = values.get("hours_per_day"), values.get("capacity")
    if fee is not None and not limits.min_fee <= fee <= limits.max_fee:
        fail("fee", f"이 사업의 훈련비는 {limits.min_fee:,}원 이상 {limits.max_fee:,}원 이하여야 합니다.")
    if support is not None and support < 0:
        fail("support_amount", "지원금은 0원 이상이어야 합니다.")
    if support is not None and fee is not None and support > fee:
        fail("support_amount", "정부 승인 지원금은 훈련비를 넘을 수 없습니다.")
    if capacity is not None and not 0 < capacity <= limits.max_capacity:
        fail("capacity", f"정원은 1명 이상 {limits.max_capacity}명 이하여야 합니다.")
    if hours is not None and not limits.min_hours_per_day <= hours <= limits.max_hours_per_day:
        fail(
            "hours_per_day",
            f"1일 훈련시간은 {limits.min_hours_per_day}시간 이상 {limits.max_hours_per_day}시간 이하여야 합니다.",
        )


def _check_duplicate(values: dict, provider_id: int, submission_id, run_id, fail) -> None:
    """A run of this provider with the same title and start date, already in the catalog."""
    query = (
        select(Run.id)
        .join(Course, Course.id == Run.course_id)
        .where(
            Course.provider_id == provider_id,
            Run.start_date == values["start_date"],
            Course.match_key == matching.match_key(values["title"], provider_id),
            Run.status.not_in(("withdrawn", "cancelled")),
        )
    )
    if run_id is not None:
        query = query.where(Run.id != run_id)
    if db.session.scalar(query.limit(1)) is not None:
        fail("title", "같은 과정명과 시작일의 회차가 이미 있습니다.")
