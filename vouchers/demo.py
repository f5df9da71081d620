"""Demo data for `make run`: a realistic catalog (courses.demo), one account per role with known passwords, and
the demo learner's card (development only).

It lives in the top layer because it needs all of them (catalog, accounts, cards): imports go one way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import current_app
from sqlalchemy import select

from courses import demo as catalog_demo
from courses.models import Provider, Run
from hrdnet.access import Role
from hrdnet.auth import services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db

DEMO_PASSWORD = "demo-password-2026"
# Fixed so the demo admin and auditor can add the account to an authenticator app once and keep it.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

DEMO_USERS = [
    ("learner@demo.hrdnet.kr", Role.LEARNER, "김배움", None),
    ("provider@demo.hrdnet.kr", Role.PROVIDER, "이기관", "provider"),
    ("auditor@demo.hrdnet.kr", Role.AUDITOR, "박감사", "MOEL"),
    ("admin@demo.hrdnet.kr", Role.ADMIN, "최관리", None),
]


def _ensure_demo_provider() -> Provider:
    provider = db.session.scalar(select(Provider).where(Provider.business_number == "1018100001"))
    if provider is None:
        provider = Provider(name="데모 디지털아카데미", business_number="1018100001")
        db.session.add(provider)
    db.session.flush()
    return provider


def _ensure_demo_card(user, *, groups: set[str] | None = None, phone: str = "010-0000-2026") -> None:
    """The demo learner has verified (with the development stand-in) and holds a card with the full limit."""
    from datetime import date

    from hrdnet.timeutil import kst_today
    from vouchers.cards import operations as cards
    from vouchers.cards.models import CardKind

    if cards.person_of(user.id) is None:
        cards.verify_identity(user.id, name=user.name, birth_date=date(1995, 3, 14), phone=phone, actor="demo")
    person = cards.require_person(user.id)
    if cards.status_on(person.id, kst_today()) is None:
        cards.record_status(
            person.id, employment_status="unemployed", groups=groups or set(), effective_from=kst_today(), actor="demo"
        )
    if cards.open_card(person.id, CardKind.CARD) is None:
        cards.issue_card(person.id, kind=CardKind.CARD, today=kst_today(), actor="demo")


DEMO_TRAINEES = [
    ("trainee1@demo.hrdnet.kr", "정출석"),
    ("trainee2@demo.hrdnet.kr", "한지각"),
    ("trainee3@demo.hrdnet.kr", "오결석"),
]


def _portal_demo(provider: Provider) -> list[str]:
    """The provider portal's demo (once): the provider verified, a run in training with three trainees and
    their attendance, its first unit period settled, and two submissions waiting for the MOEL auditor (a new
    run, and an edit of the running one, so the queue shows a diff)."""
    from datetime import timedelta

    from courses import calendar
    from courses.portal import services as portal
    from courses.portal.models import ProviderStaff, Submission
    from hrdnet.timeutil import kst_today, utcnow
    from vouchers import checkout
    from vouchers.enrolments import attendance
    from vouchers.enrolments import operations as enrolments

    if db.session.scalar(select(Submission.id).where(Submission.provider_id == provider.id).limit(1)):
        return []
    today = kst_today()
    start = today - timedelta(days=40)
    running = {
        "programme": "C0061",
        "title": "데이터 분석 실무 (파이썬·SQL)",
        "summary": "공공데이터로 분석 보고서를 만드는 실무 과정",
        "contents": "파이썬 기초, pandas, SQL, 시각화, 분석 보고서",
        "ncs": "20010202",
        "mode": "classroom",
        "region": "11680",
        "address": "서울특별시 강남구 테헤란로 1",
        "start_date": start,
        "end_date": start + timedelta(days=69),
        "weekend": "weekday",
        "training_days": [],
        "hours_per_day": 6,
        "fee": 1_500_000,
        "support_amount": 1_500_000,
        "capacity": 20,
        "apply_from": start - timedelta(days=30),
        "apply_until": start - timedelta(days=1),
        "certificate": "ADsP",
        "target_learners": "구직자",
    }
    with unit_of_work(write_lock=True):
        provider.verified_at, provider.verified_by = utcnow(), "demo"
        provider.verification_note = "데모: 사업자 상태 조회와 대표번호 통화로 확인"
        provider.registered_at = provider.registered_at or utcnow()
        staff = services.find_user_by_email("provider@demo.hrdnet.kr")
        if db.session.get(ProviderStaff, staff.id) is None:
            db.session.add(
                ProviderStaff(user_id=staff.id, provider_id=provider.id, is_admin=True, takes_attendance=True)
            )
        submission = portal.save(provider.id, running, actor="demo", submit=True)
        portal.decide(submission.id, approve=True, reason="", ministry_id=None, actor="demo")
        run_id, submission_id = submission.run_id, submission.id
    enrolled = []
    for email, name in DEMO_TRAINEES:
        with unit_of_work(write_lock=True):
            user = services.find_user_by_email(email) or services.create_user(
                email=email, role=Role.LEARNER, name=name, password=DEMO_PASSWORD
            )
            _ensure_demo_card(user, groups={"kua_type1"}, phone=f"010-2026-{len(enrolled) + 1:04d}")
            user_id = user.id
        enrolment = checkout.enrol(
            user_id, run_id, request_key=f"demo-{email}", now=utcnow(), today=start - timedelta(days=1), actor="demo"
        )
        enrolled.append(enrolment.id)
    with unit_of_work(write_lock=True):
        enrolments.start_due(today)
    run = db.session.get(Run, run_id)
    days = [day for day in calendar.training_days(run) if day < today]
    with unit_of_work(write_lock=True):
        for n, day in enumerate(days):
            attendance.record(enrolled[0], day, "present", actor="demo", today=today)
            attendance.record(enrolled[1], day, ("late", "outing", "present")[n % 3], actor="demo", today=today)
            if n % 2 == 0:  # the third trainee's other days stay unmarked: absences once the period ends
                attendance.record(enrolled[2], day, "present", actor="demo", today=today)
        attendance.settle_due(today, actor="demo")
    with unit_of_work(write_lock=True):
        portal.save(
            provider.id,
            running | {"capacity": 24, "hours_per_day": 7},
            actor="demo",
            submission_id=submission_id,
            submit=True,
        )
        kdt = running | {
            "programme": "C0104",
            "title": "클라우드 네이티브 백엔드 개발자 양성과정",
            "start_date": today + timedelta(days=45),
            "end_date": today + timedelta(days=45 + 150),
            "apply_from": today,
            "apply_until": today + timedelta(days=44),
            "fee": 9_800_000,
            "support_amount": 9_800_000,
            "hours_per_day": 8,
            "capacity": 30,
        }
        portal.save(provider.id, kdt, actor="demo", submit=True)
    return [
        f"훈련기관 포털: 회차 {run_id}번이 훈련 중 (수강생 {len(enrolled)}명, 1단위기간 정산됨), 승인 대기 2건 (감사 계정에서 확인)",
    ]


def load(*, runs: int, seed: int, progress: Callable[[int, int], None] | None = None) -> Iterator[str]:
    """Load the demo catalog (`runs` runs from `seed`, see courses.demo), then the demo users; idempotent.

    Yields the lines to print. progress(done_bytes, total_bytes) follows the catalog import.
    """
    if current_app.config["HRDNET_ENV"] == "production":
        raise RuntimeError("demo accounts have published passwords; refusing to load them in production")
    anchor = catalog_demo.default_anchor()
    results = catalog_demo.load(runs=runs, seed=seed, anchor=anchor, progress=progress)
    yield f"데모 카탈로그: 회차 {runs:,}건, seed {seed}, 기준일 {anchor.isoformat()} (매달 1일에 바뀝니다):"
    yield from catalog_demo.summary_lines(results)
    with unit_of_work(write_lock=True):
        provider = _ensure_demo_provider()
        for email, role, name, org in DEMO_USERS:
            user = services.find_user_by_email(email)
            if user is None:
                org_code = str(provider.id) if org == "provider" else org
                user = services.create_user(
                    email=email, role=role, name=name, org_code=org_code, password=DEMO_PASSWORD
                )
            if user.needs_totp and user.totp_secret is None:
                user.totp_secret = DEMO_TOTP_SECRET
            if role == Role.LEARNER:
                _ensure_demo_card(user)
    yield from _portal_demo(db.session.get(Provider, provider.id))
    yield f"데모 계정 (비밀번호는 모두 {DEMO_PASSWORD}):"
    for email, role, _name, _org in DEMO_USERS:
        yield f"  {role.value:<9} {email}" + ("  (내일배움카드 3,000,000원 발급됨)" if role == Role.LEARNER else "")
    yield f"관리자·감사 담당자 2단계 인증(TOTP) 비밀키: {DEMO_TOTP_SECRET}"
    yield f"  현재 코드: .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{DEMO_TOTP_SECRET}').now())\""
