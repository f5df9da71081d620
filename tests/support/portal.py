"""Provider-portal helpers: a complete run submission, verifying a provider, the form's POST data."""

from __future__ import annotations

from datetime import date, timedelta

from courses.models import Provider
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow


def run_values(today: date, **overrides) -> dict:
    """Typed values of a submission that meets every rule (a KDT run starting in five weeks)."""
    start = today + timedelta(days=35)
    values = {
        "programme": "C0104",
        "title": "생성형 AI 서비스 개발자 양성과정",
        "summary": "LLM 기반 서비스를 기획하고 만드는 과정입니다.",
        "contents": "파이썬, 웹 API, 벡터 검색, 배포",
        "ncs": "20010202",
        "mode": "classroom",
        "region": "11680",
        "address": "서울특별시 강남구 테헤란로 1",
        "start_date": start,
        "end_date": start + timedelta(days=83),
        "weekend": "weekday",
        "training_days": [],
        "hours_per_day": 8,
        "fee": 9_000_000,
        "support_amount": 9_000_000,
        "capacity": 25,
        "apply_from": today,
        "apply_until": start - timedelta(days=1),
        "certificate": "정보처리기사",
        "target_learners": "구직자",
    }
    return values | overrides


def form_data(values: dict, action: str = "submit") -> dict:
    """What a browser posts for these values (`action`: "save" or "submit")."""
    data = {}
    for name, value in values.items():
        if value is None:
            data[name] = ""
        elif name == "training_days":
            data[name] = "\n".join(d.isoformat() for d in value)
        elif isinstance(value, date):
            data[name] = value.isoformat()
        else:
            data[name] = str(value)
    return data | {action: "1"}


def verify(provider_id: int) -> Provider:
    provider = db.session.get(Provider, provider_id)
    provider.verified_at, provider.verified_by = utcnow(), "test-admin"
    db.session.commit()
    return provider
