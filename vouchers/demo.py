"""Demo data for `make run`: a realistic catalog (courses.demo), one account per role with known passwords, and
the demo learner's card (development only).

It lives in the top layer because it needs all of them (catalog, accounts, cards): imports go one way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import current_app
from sqlalchemy import select

from courses import demo as catalog_demo
from courses.models import Provider
from hrdnet.access import Role
from hrdnet.auth import services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import kst_today

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


def _ensure_demo_card(user) -> None:
    """The demo learner has verified (with the development stand-in) and holds a card with the full limit."""
    from datetime import date

    from hrdnet.timeutil import kst_today
    from vouchers.cards import operations as cards
    from vouchers.cards.models import CardKind

    if cards.person_of(user.id) is None:
        cards.verify_identity(
            user.id, name=user.name, birth_date=date(1995, 3, 14), phone="010-0000-2026", actor="demo"
        )
    person = cards.require_person(user.id)
    if cards.status_on(person.id, kst_today()) is None:
        cards.record_status(
            person.id, employment_status="unemployed", groups=set(), effective_from=kst_today(), actor="demo"
        )
    if cards.open_card(person.id, CardKind.CARD) is None:
        cards.issue_card(person.id, kind=CardKind.CARD, today=kst_today(), actor="demo")


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
    yield f"데모 계정 (비밀번호는 모두 {DEMO_PASSWORD}):"
    for email, role, _name, _org in DEMO_USERS:
        yield f"  {role.value:<9} {email}" + (
            "  (내일배움카드 3,000,000원, 수강 확정 1건, 관심 과정 1건과 그 알림)" if role == Role.LEARNER else ""
        )
    yield f"관리자·감사 담당자 2단계 인증(TOTP) 비밀키: {DEMO_TOTP_SECRET}"
    yield f"  현재 코드: .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{DEMO_TOTP_SECRET}').now())\""
