"""Demo data for `make run`: a realistic catalog (courses.demo), one account per role with known passwords, and
the demo learner's card (development only).

It lives in the top layer because it needs all of them (catalog, accounts, cards): imports go one way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from courses import demo as catalog_demo
from courses.models import Provider, Run
from hrdnet.access import Role
from hrdnet.auth import services
from hrdnet.auth.models import User
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import kst_today, utcnow
from vouchers.reminders import operations as reminders

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


def _ensure_demo_learning(user, today) -> None:
    """The demo learner's /me has something to show: a confirmed enrolment, a favourite closing soon and the
    reminders the worker would make. Only once (a learner who already enrolled is left as they are)."""
    from courses import enrolment_window
    from courses.models import Run
    from hrdnet.timeutil import utcnow
    from vouchers.cards import operations as cards
    from vouchers.cards.quote import quote
    from vouchers.enrolments import operations as enrolments
    from vouchers.enrolments.models import Enrolment
    from vouchers.reminders import operations as reminders

    if db.session.scalar(select(Enrolment.id).where(Enrolment.user_id == user.id).limit(1)) is not None:
        return
    person = cards.require_person(user.id)
    upcoming = db.session.scalars(
        select(Run).where(Run.status == "open", Run.start_date > today).order_by(Run.start_date, Run.id).limit(400)
    ).all()
    priced = [run for run in upcoming if (price := quote(run, person.id, today)) and price.enrollable]
    if not priced:
        return
    enrolled = priced[len(priced) // 3]  # a run a few weeks out: its free-cancel countdown is worth showing
    enrolment = enrolments.enrol(
        user.id, enrolled.id, request_key="demo-enrolment", now=utcnow(), today=today, actor="demo"
    )
    enrolments.confirm(enrolment.id, actor="demo", on=today, reason="데모: 자비부담금 결제 완료로 간주")
    others = [run for run in priced if run.id != enrolled.id] or priced
    closing = [run for run in others if enrolment_window.status_of(run, today).code == "closing_soon"]
    reminders.toggle_favourite(user.id, (closing or others)[0].id)
    reminders.send_due(today, utcnow())


DEMO_RATED_TITLE = "데모 파이썬 데이터 분석 단기과정"
DEMO_RATINGS = (  # (score, comment): the demo learner's own first, then the trainees'
    (5, "실습 위주라 바로 써먹을 수 있었어요. 강사님 피드백이 꼼꼼했습니다."),
    (4, "진도가 빠른 편이지만 자료가 좋아요."),
    (4, ""),
    (5, "짧은 기간에 pandas 기초를 제대로 익혔습니다."),
)


def _demo_trainee(email: str, name: str, n: int) -> int:
    """A demo trainee (the portal demo's) with a card: its user id."""
    user = services.find_user_by_email(email) or services.create_user(
        email=email, role=Role.LEARNER, name=name, password=DEMO_PASSWORD
    )
    _ensure_demo_card(user, groups={"kua_type1"}, phone=f"010-2026-{n + 1:04d}")
    return user.id


def _ensure_demo_ratings(learner_id: int, provider_id: int, today) -> list[str]:
    """A short course of the demo provider that ended last week: the demo learner and the three trainees
    completed it (attendance on every day, then the nightly 수료 job) and rated it, so the run and the course
    show a score (from 3 ratings on), the demo learner's own rating is on 내 신청, and the provider replied.
    The same course has an upcoming run, whose page shows the course's score. Only once."""
    from courses import calendar
    from courses.models import Course, Programme
    from hrdnet.timeutil import utcnow
    from vouchers.enrolments import attendance, endings
    from vouchers.enrolments import operations as enrolments
    from vouchers.ratings import operations as ratings

    if db.session.scalar(select(Course.id).where(Course.match_key == "demo-rated")) is not None:
        return []
    start = today - timedelta(days=16)
    days = [start + timedelta(days=n) for n in range(5)]
    with unit_of_work(write_lock=True):
        course = Course(
            title=DEMO_RATED_TITLE,
            provider_id=provider_id,
            ncs_code="20010202",
            match_key="demo-rated",
            contents="파이썬, pandas, 시각화로 공공데이터를 분석하는 5일 과정",
        )
        db.session.add(course)
        db.session.flush()
        programme = db.session.scalar(select(Programme).where(Programme.code == "C0061"))
        past, upcoming = (
            Run(
                course_id=course.id,
                programme_id=programme.id,
                run_number=number,
                start_date=first,
                end_date=first + timedelta(days=4),
                weekend="weekday",
                mode="classroom",
                hours=40,
                days=5,
                fee=600_000,
                capacity=20,
                status="open",
                ncs_code="20010202",
                region_code="11680",
            )
            for number, first in ((1, start), (2, today + timedelta(days=30)))
        )
        calendar.set_provider_schedule(past, days)
        calendar.set_provider_schedule(upcoming, [upcoming.start_date + timedelta(days=n) for n in range(5)])
        db.session.add_all([past, upcoming])
        db.session.flush()
        past_id = past.id
        learners = [learner_id] + [_demo_trainee(email, name, n) for n, (email, name) in enumerate(DEMO_TRAINEES)]
    enrolled = []
    for user_id in learners:
        with unit_of_work(write_lock=True):
            enrolment = enrolments.enrol(
                user_id,
                past_id,
                request_key=f"demo-rated-{user_id}",
                now=utcnow(),
                today=start - timedelta(days=10),
                actor="demo",
            )
            enrolments.confirm(
                enrolment.id, actor="demo", on=start - timedelta(days=10), reason="데모: 결제 완료로 간주"
            )
            enrolled.append((enrolment.id, user_id))
    with unit_of_work(write_lock=True):
        enrolments.start_due(start)
    with unit_of_work(write_lock=True):
        for enrolment_id, _user in enrolled:
            for day in days:
                attendance.record(enrolment_id, day, "present", actor="demo", today=day)
        endings.complete_due(days[-1] + timedelta(days=1), actor="demo", limit=100)
    with unit_of_work(write_lock=True):
        made = [
            ratings.rate(enrolment_id, user_id, score=score, comment=comment, today=today, actor="demo")
            for (enrolment_id, user_id), (score, comment) in zip(enrolled, DEMO_RATINGS, strict=True)
        ]
        ratings.reply(
            made[0].id,
            provider_id=provider_id,
            text="좋은 평가 감사합니다. 다음 회차도 실습을 늘리겠습니다.",
            now=utcnow(),
            actor="demo",
        )
    return [f"수료생 평가: ‘{DEMO_RATED_TITLE}’ 1회차 {len(made)}건 (데모 학습자의 평가 포함), 2회차 모집 중"]


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
                _ensure_demo_learning(user, kst_today())
    yield from _portal_demo(db.session.get(Provider, provider.id))
    learner_id = services.find_user_by_email(DEMO_USERS[0][0]).id
    yield from _ensure_demo_ratings(learner_id, provider.id, kst_today())
    for step in catalog_demo.demo_steps():  # e.g. the demo learner's saved search (search.saved)
        with unit_of_work(write_lock=True):
            yield from list(step(learner_id))
    with unit_of_work(write_lock=True):
        reminders.send_due(kst_today(), utcnow())  # the reminders due now, as the worker would make them
    yield f"데모 계정 (비밀번호는 모두 {DEMO_PASSWORD}):"
    for email, role, _name, _org in DEMO_USERS:
        yield f"  {role.value:<9} {email}" + (
            "  (내일배움카드, 수강 확정 1건, 수료·평가 1건, 관심 과정 1건, 저장한 검색 1건, 알림)"
            if role == Role.LEARNER
            else ""
        )
    yield f"관리자·감사 담당자 2단계 인증(TOTP) 비밀키: {DEMO_TOTP_SECRET}"
    yield f"  현재 코드: .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{DEMO_TOTP_SECRET}').now())\""


# -- the audit console's demo: spending, and at least one flag of every rule ---------------------------------------

AUDIT_DEMO_PROVIDERS = (("1018100011", "새빛 코딩캠프", "11680"), ("1018100012", "한결 IT교육원", "26110"))
AUDIT_DEMO_PASSWORD = "demo-learner-2026"
BUNCHED_DAYS = 25  # of 30 scheduled days in a unit period: 83 %, just above the completion rate
SHARED_PHONE = "010-7777-0000"


def load_audit_demo(*, learners: int = 32) -> Iterator[str]:
    """Money moved through the real services on two past runs of the general card programme, so the console
    has spending to show and every risk rule fires once (`hrdnet demo audit`; idempotent: skipped once loaded).

    새빛 코딩캠프 (just verified) gets `learners` enrolments within minutes on one run (sudden volume, a burst),
    two in three of them attending 25 of 30 days a period (bunched above 80 %), three sharing one phone; one learner
    drops out after a settled period there, and again on an overlapping run at 한결 IT교육원 (overlap, repeated
    dropout). The other learners at 한결 attend normally. Payments use the local backend.
    """
    from hrdnet.timeutil import kst_today, utcnow
    from vouchers import checkout
    from vouchers.audit import jobs as audit_jobs
    from vouchers.enrolments import attendance, endings
    from vouchers.enrolments import operations as enrolments

    if current_app.config.get("PAYMENT_BACKEND") != "local":
        raise RuntimeError("the audit demo pays through the local backend: run it with PAYMENT_BACKEND=local")
    if db.session.scalar(select(Provider).where(Provider.business_number == AUDIT_DEMO_PROVIDERS[0][0])):
        yield "감사 데모: 이미 있습니다."
        return
    today = kst_today()
    start = today - timedelta(days=75)
    days = [start + timedelta(days=n) for n in range(60)]
    enrol_on, now = start - timedelta(days=17), utcnow()
    with unit_of_work(write_lock=True):
        runs = [_audit_demo_run(number, name, region, start, days) for number, name, region in AUDIT_DEMO_PROVIDERS]
    bright, steady = runs
    made = []
    for n in range(learners):
        user = _audit_demo_learner(n, phone=SHARED_PHONE if n < 3 else None)
        made.append(
            checkout.enrol(user.id, bright.id, request_key=f"demo-audit-{n}", now=now, today=enrol_on, actor="demo")
        )
    repeat = made[-1]
    others = [
        checkout.enrol(
            _audit_demo_learner(100 + n).id,
            steady.id,
            request_key=f"demo-audit-s{n}",
            now=now,
            today=enrol_on,
            actor="demo",
        )
        for n in range(6)
    ]
    repeat_user = db.session.get(User, repeat.user_id)
    overlapping = checkout.enrol(
        repeat_user.id, steady.id, request_key="demo-audit-overlap", now=now, today=enrol_on, actor="demo"
    )
    with unit_of_work(write_lock=True):
        enrolments.start_due(start)
    first, second = days[:30], days[30:]
    for n, enrolment in enumerate(made):
        marked = first[:BUNCHED_DAYS] if n % 3 else first
        _audit_demo_marks(enrolment.id, marked)
    for enrolment in [*others, overlapping]:
        _audit_demo_marks(enrolment.id, first)
    with unit_of_work(write_lock=True):
        attendance.settle_due(second[0], actor="demo")
    for enrolment in (repeat, overlapping):  # leaves both runs after the first period was paid
        with unit_of_work(write_lock=True):
            checkout.cancel(enrolment.id, on=second[5], actor="demo")
    for n, enrolment in enumerate(made[:-1]):
        _audit_demo_marks(enrolment.id, second[:BUNCHED_DAYS] if n % 3 else second)
    for enrolment in others:
        _audit_demo_marks(enrolment.id, second)
    with unit_of_work(write_lock=True):
        attendance.settle_due(today, actor="demo")
    with unit_of_work(write_lock=True):
        endings.complete_due(today, actor="demo", limit=1000)
    with unit_of_work(write_lock=True):
        provider = db.session.get(Provider, bright.course.provider_id)
        provider.verified_at = now - timedelta(days=3)  # just verified: its sudden volume is a flag
    audit_jobs.after_settlement()
    yield f"감사 데모: 수강 신청 {len(made) + len(others) + 1}건, 출석·정산·중도탈락, 위험 신호 계산 완료"


def _audit_demo_run(business_number: str, name: str, region: str, start, days):
    from courses import calendar
    from courses.models import Course, Programme, Run

    provider = Provider(name=name, business_number=business_number, region_code=region)
    db.session.add(provider)
    db.session.flush()
    course = Course(
        title=f"{name} 풀스택 웹 개발자 과정",
        provider_id=provider.id,
        ncs_code="20010202",
        match_key=f"demo-audit-{business_number}",
    )
    db.session.add(course)
    db.session.flush()
    programme = db.session.scalar(select(Programme).where(Programme.code == "C0061"))
    run = Run(
        course_id=course.id,
        programme_id=programme.id,
        run_number=1,
        start_date=start,
        end_date=days[-1],
        weekend="weekday",
        mode="classroom",
        hours=480,
        days=len(days),
        fee=1_200_000,
        capacity=60,
        status="open",
        ncs_code="20010202",
        region_code=region,
        employment_rate_3m=65.0,
        employment_rate_6m=70.0,
        completers=24,
    )
    calendar.set_provider_schedule(run, days)
    db.session.add(run)
    db.session.flush()
    return run


def _audit_demo_learner(n: int, *, phone: str | None = None):
    from datetime import date

    from hrdnet.timeutil import kst_today
    from vouchers.cards import operations as cards
    from vouchers.cards.models import CardKind

    with unit_of_work(write_lock=True):
        user = services.create_user(
            email=f"learner{n:03d}@audit-demo.hrdnet.kr",
            role=Role.LEARNER,
            name=f"데모{n:03d}",
            org_code=None,
            password=AUDIT_DEMO_PASSWORD,
        )
        user.phone = phone or f"010-7000-{n:04d}"
        cards.verify_identity(
            user.id, name=user.name, birth_date=date(1990, 1, 1 + n % 28), phone=user.phone, actor="demo"
        )
        person = cards.require_person(user.id)
        on = kst_today() - timedelta(days=120)
        cards.record_status(person.id, employment_status="unemployed", groups=set(), effective_from=on, actor="demo")
        cards.issue_card(person.id, kind=CardKind.CARD, today=on, actor="demo")
    return user


def _audit_demo_marks(enrolment_id: int, days) -> None:
    from vouchers.enrolments import attendance

    with unit_of_work(write_lock=True):
        for day in days:
            attendance.record(enrolment_id, day, "present", actor="demo", today=day)
