"""What a run submission holds: its fields in order with Korean labels, how they are stored (JSON with ISO
dates) and shown, and the field-by-field diff an auditor reviews.

One list, FIELDS, drives the form's order, the revision's JSON, the diff and the API's field names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from courses.services import MODE_LABELS, WEEKEND_LABELS
from hrdnet.timeutil import format_day, format_won

# name → Korean label, in the order a provider fills them in.
FIELDS: dict[str, str] = {
    "programme": "사업",
    "title": "과정명",
    "summary": "과정 요약",
    "contents": "훈련 내용",
    "ncs": "NCS 코드",
    "mode": "훈련 방식",
    "region": "훈련 지역",
    "address": "훈련 장소 주소",
    "start_date": "훈련 시작일",
    "end_date": "훈련 종료일",
    "weekend": "훈련 요일",
    "training_days": "훈련일",
    "hours_per_day": "1일 훈련시간",
    "fee": "훈련비",
    "support_amount": "정부 승인 지원금",
    "capacity": "정원",
    "apply_from": "모집 시작일",
    "apply_until": "모집 마감일",
    "certificate": "취득 가능 자격",
    "target_learners": "훈련 대상",
}
DATE_FIELDS = ("start_date", "end_date", "apply_from", "apply_until")
INT_FIELDS = ("hours_per_day", "fee", "support_amount", "capacity")
MONEY_FIELDS = ("fee", "support_amount")


def to_json(values: dict) -> str:
    """Typed values (dates, ints, a list of dates) → the revision's canonical JSON."""
    out = {}
    for name in FIELDS:
        value = values.get(name)
        if isinstance(value, date):
            value = value.isoformat()
        elif name == "training_days":
            value = sorted(d.isoformat() if isinstance(d, date) else d for d in (value or []))
        elif isinstance(value, str):
            value = value.strip() or None
        out[name] = value
    return json.dumps(out, ensure_ascii=False, sort_keys=True)


def typed(data: dict) -> dict:
    """A revision's JSON values → typed values (dates as date, training days as a list of dates)."""
    out = dict.fromkeys(FIELDS)
    for name in FIELDS:
        value = data.get(name)
        if name in DATE_FIELDS and value:
            value = date.fromisoformat(value)
        elif name == "training_days":
            value = [date.fromisoformat(d) for d in value or []]
        out[name] = value
    return out


def display(name: str, value) -> str:
    """How a field's stored value reads for a person (Korean labels, 1,234,000원, 2026-12-01(화))."""
    if value is None or value == [] or value == "":
        return "—"
    if name in DATE_FIELDS:
        return format_day(date.fromisoformat(value))
    if name in MONEY_FIELDS:
        return format_won(value)
    if name == "mode":
        return MODE_LABELS.get(value, value)
    if name == "weekend":
        return WEEKEND_LABELS.get(value, value)
    if name == "training_days":
        return f"{len(value)}일 ({value[0]} ~ {value[-1]})" if value else "요일 기준 자동 계산"
    if name == "hours_per_day":
        return f"{value}시간"
    if name == "capacity":
        return f"{value}명"
    return str(value)


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    before: str
    after: str
    changed: bool

    def as_dict(self) -> dict:
        return {"field": self.field, "label": self.label, "before": self.before, "after": self.after}


def diff(before: dict | None, after: dict) -> list[Change]:
    """Every field, old against new; `before` None (nothing approved yet) shows every filled field as new."""
    before = before or {}
    return [
        Change(
            name,
            label,
            display(name, before.get(name)) if before else "—",
            display(name, after.get(name)),
            before.get(name) != after.get(name),
        )
        for name, label in FIELDS.items()
    ]
