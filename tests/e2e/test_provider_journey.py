"""The provider's journey through the browser: a provider registers and confirms its e-mail, uploads a
document, an admin verifies it, it submits a course with a run; the ministry's auditor sees the diff and
approves; the run is found by search; a learner enrols and pays; the provider records attendance for the first
unit period, leaving some days unmarked; after the period the settlement shows the amount payable from the
scheduled days, and the auditor sees it.

Time passing is the one thing a browser cannot do: between the learner's payment and the attendance, the test
moves the run (its dates and window; the calendar follows) 60 days into the past in the database, as if the weeks had
gone by, then lets the training start and, after the attendance, settles the ended period as the worker's
jobs do (enrolments.start_due, attendance.settle_due).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from courses import calendar
from courses.models import Run
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import kst_today
from tests.conftest import PASSWORD, TOTP_SECRET, link_in
from tests.e2e.conftest import shot
from vouchers.enrolments import attendance
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Settlement

CONTACT = "contact@saessak.example"
TITLE = "브라우저로 배우는 데이터 엔지니어링"


@pytest.fixture
def people(app, world, make_user):
    # Two auditors of the same ministry: a TOTP code is accepted once per user, so signing the same auditor in
    # twice within one 30-second step would be refused (replay protection) — a race with the clock.
    return {
        "learner": world.learner(),
        "admin": make_user("admin"),
        "auditor": make_user("auditor"),
        "colleague": make_user("auditor"),
    }


def _login(page, email, *, totp=False):
    page.goto("/login")
    page.get_by_label("이메일").fill(email)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="로그인").click()
    if totp:
        page.get_by_label("인증 코드").fill(pyotp.TOTP(TOTP_SECRET).now())
        page.locator("main").get_by_role("button").first.click()
    expect(page.get_by_role("button", name="로그아웃").first).to_be_attached()


def _logout(page):
    # The header's button, not clear_cookies(): a response still in flight would set the old session again.
    page.locator("#krds-header .header-actions").get_by_role("button", name="로그아웃").click()
    expect(page.get_by_role("status").first).to_contain_text("로그아웃했습니다")


def test_register_submit_approve_enrol_attend_settle(people, page, live_app, live_server, live_mailbox):
    today = kst_today()
    # 1. The provider registers and confirms its contact's e-mail.
    page.goto("/provider/register")
    page.get_by_label("기관명").fill("(주)새싹데이터")
    page.get_by_label("사업자등록번호").fill("123-45-67891")
    page.get_by_label("대표자").fill("이대표")
    page.get_by_label("지역").select_option("11")
    page.get_by_label(re.compile("^주소")).fill("서울특별시 중구 세종대로 110")
    page.get_by_label("담당자 이름").fill("박담당")
    page.get_by_label("담당자 이메일").fill(CONTACT)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_text("개인정보 수집·이용에 동의합니다").check()
    page.get_by_role("button", name="등록하기").click()
    expect(page).to_have_url(f"{live_server}/check-mail?reason=signup")
    page.goto(link_in(live_mailbox(to=CONTACT), "/verify#t="))
    page.get_by_role("button", name="이메일 인증 완료").click()
    expect(page.get_by_role("status")).to_contain_text("이메일 인증을 마쳤습니다")

    # 2. Pending: it uploads its business registration.
    _login(page, CONTACT)
    page.goto("/provider/")
    expect(page.locator("main")).to_contain_text("관리자가 훈련기관을 확인하면")
    page.get_by_role("link", name="확인 서류 올리기").click()
    page.get_by_label("파일 (PDF, PNG, JPG)").set_input_files(
        {"name": "사업자등록증.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%\n"}
    )
    page.get_by_role("button", name="올리기").click()
    expect(page.get_by_role("status").first).to_contain_text("서류를 올렸습니다")
    _logout(page)

    # 3. An admin verifies it, recording the out-of-band check.
    _login(page, people["admin"].email, totp=True)
    page.goto("/admin/providers/")
    page.get_by_role("link", name="(주)새싹데이터").click()
    page.get_by_label("외부 확인 기록").fill("국세청 사업자 상태 조회: 계속사업자. 대표번호로 대표자 확인.")
    page.get_by_role("button", name="확인").click()
    expect(page.get_by_role("status").first).to_contain_text("이제 회차를 제출할 수 있습니다")
    _logout(page)

    # 4. The provider submits a course with a run.
    start = today + timedelta(days=20)
    _login(page, CONTACT)
    page.goto("/provider/")
    page.get_by_role("link", name="회차 등록").click()
    form = {
        "사업": "C0061",
        "NCS 코드": "20010202",
        "훈련 방식": "classroom",
        "훈련 지역": "11680",
        "훈련 요일": "weekday",
    }
    page.get_by_label("과정명").fill(TITLE)
    page.get_by_label("과정 요약").fill("수집부터 적재까지 데이터 파이프라인을 만듭니다.")
    page.get_by_label("훈련 내용").fill("SQL, 파이썬, 워크플로, 클라우드 스토리지")
    page.get_by_label("훈련 장소 주소").fill("서울특별시 강남구 테헤란로 1")
    page.get_by_label("훈련 시작일").fill(start.isoformat())
    page.get_by_label("훈련 종료일").fill((start + timedelta(days=59)).isoformat())
    page.get_by_label("1일 훈련시간").fill("6")
    page.get_by_label("훈련비").fill("1200000")
    page.get_by_label("정부 승인 지원금").fill("1200000")
    page.get_by_label("정원").fill("20")
    page.get_by_label("모집 시작일").fill(today.isoformat())
    page.get_by_label("모집 마감일").fill((start - timedelta(days=1)).isoformat())
    for label, value in form.items():
        if label == "NCS 코드":
            page.get_by_label(label).fill(value)
        else:
            page.get_by_label(label, exact=True).select_option(value)
    page.get_by_role("button", name="승인 요청").click()
    expect(page.get_by_role("status").first).to_contain_text("승인을 요청했습니다")
    shot(page, "provider-submitted")
    _logout(page)

    # 5. The auditor of the programme's ministry sees the diff and approves.
    _login(page, people["auditor"].email, totp=True)
    page.goto("/audit/")
    expect(page.locator("main")).to_contain_text("1건")
    page.get_by_role("link", name="승인 대기 목록").click()
    page.get_by_role("link", name=TITLE).click()
    diff = page.locator(".diff-table")
    expect(diff).to_contain_text("1,200,000원")
    expect(diff).to_contain_text("20명")
    shot(page, "auditor-review")
    page.get_by_role("button", name="승인").click()
    expect(page.get_by_role("status").first).to_contain_text("승인했습니다")
    _logout(page)

    # 6. The worker indexes it; a learner finds it, enrols and pays.
    _login(page, people["learner"].email)
    for _ in range(50):
        page.goto("/courses?q=데이터 엔지니어링")
        if page.get_by_role("link", name=TITLE).count():
            break
        page.wait_for_timeout(200)
    page.get_by_role("link", name=TITLE).first.click()
    page.locator(".run-summary").first.get_by_role("link", name="수강 신청", exact=True).click()
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="수강 신청하기").click()
    expect(page.get_by_role("status").first).to_contain_text("수강 신청이 확정되었습니다")
    _logout(page)

    # Weeks go by: the run moves 60 days into the past; training starts (as the worker's job would).
    with live_app.app_context():
        run = db.session.scalar(select(Run).where(Run.start_date == start))
        run_id = run.id
        with unit_of_work(write_lock=True):
            run = db.session.get(Run, run_id)
            shift = timedelta(days=60)
            run.start_date, run.end_date = run.start_date - shift, run.end_date - shift
            run.apply_from, run.apply_until = run.apply_from - shift - timedelta(days=20), run.apply_until - shift
        with unit_of_work(write_lock=True):
            enrolments.start_due(today)
        run = db.session.get(Run, run_id)
        first_period = attendance.periods(run)[0]
        days = calendar.days_between(run, first_period.first, first_period.last)
        db.session.remove()

    # 7. The provider records attendance on three days of the first period; the others stay unmarked.
    _login(page, CONTACT)
    for day, mark in zip(days[:3], ("present", "present", "outing"), strict=True):
        page.goto(f"/provider/runs/{run_id}/roster?day={day.isoformat()}")
        page.locator("select[name^=mark-]").first.select_option(mark)
        page.get_by_role("button", name="출석 저장").click()
        expect(page.get_by_role("status").first).to_contain_text("출석 1건을 저장했습니다")
    shot(page, "provider-roster")

    # After the period the worker settles it: unmarked days are absences, the amount follows the scheduled days.
    with live_app.app_context():
        with unit_of_work(write_lock=True):
            assert attendance.settle_due(today) == 1
        paid = db.session.scalar(select(Settlement.amount).where(Settlement.period == 1))
        db.session.remove()
    assert paid > 0
    page.goto(f"/provider/runs/{run_id}/settlements")
    period = page.locator(".settlement-period").first
    expect(period).to_contain_text("정산 완료")
    expect(period).to_contain_text(f"훈련일 {len(days)}일")
    expect(period).to_contain_text(f"3/{len(days)}일")  # one outing alone is no absence (three make one)
    expect(period).to_contain_text(f"지급됨 {paid:,}원")
    shot(page, "provider-settlement")
    _logout(page)

    # 8. The ministry's auditors see the same settlement (a colleague: see people()).
    _login(page, people["colleague"].email, totp=True)
    page.goto(f"/audit/runs/{run_id}/settlements")
    expect(page.locator(".settlement-period").first).to_contain_text(f"지급됨 {paid:,}원")
