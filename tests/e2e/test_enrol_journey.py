"""A learner with a card logs in, sees their own price on a run page, enrols with their password, finds the
enrolment confirmed and the draw on their card, then cancels after reading the preview and gets it all back."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import shot


def main_nav(page):
    return page.get_by_role("navigation", name="주 메뉴")


# Written before the live server (and its worker) start: fixtures are set up in the order the test names them.
@pytest.fixture
def learner_and_run(app, world):
    learner = world.learner()
    run = world.run(fee=1_000_000)  # general card course, employment 75 %: 15 % self-pay
    return learner, run


def test_enrol_then_cancel(learner_and_run, page, live_server, page_problems):
    learner, run = learner_and_run
    page_problems.ignore(r"status of 400 .*/runs/\d+/enrol")  # the wrong password, on purpose

    page.goto("/login")
    page.get_by_label("이메일").fill(learner.email)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="로그인").click()
    expect(main_nav(page).get_by_role("link", name="내 카드")).to_be_visible()

    # The run page shows this learner's own split, from their card.
    page.goto(f"/runs/{run.id}")
    price = page.locator(".run-summary").first
    expect(price).to_contain_text("150,000원")
    expect(price).to_contain_text("지금 결제할 자비부담금")
    expect(price.locator("dl")).to_contain_text("850,000원")
    expect(price.locator("dl")).to_contain_text("신청 후 카드 잔액2,150,000원")
    shot(page, "run-learner-price")
    price.get_by_role("link", name="수강 신청", exact=True).click()

    # The confirmation: the same numbers, the free-cancellation deadline, the password asked again.
    expect(page).to_have_url(f"{live_server}/runs/{run.id}/enrol")
    expect(page.get_by_role("heading", level=1)).to_have_text("수강 신청 확인")
    expect(page.locator(".voucher-quote")).to_contain_text("내일배움카드에서 빠지는 금액")
    expect(page.locator("main")).to_contain_text("까지 취소하면 카드 사용액은 카드로 돌아가고")
    shot(page, "enrol-confirm")
    page.get_by_label("비밀번호").fill("wrong-password-123")
    page.get_by_role("button", name="수강 신청하기").click()
    expect(page.locator("#password-error")).to_contain_text("비밀번호가 맞지 않습니다.")
    shot(page, "enrol-wrong-password")
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="수강 신청하기").click()

    expect(page).to_have_url(f"{live_server}/me/enrolments")
    expect(page.get_by_role("status").first).to_contain_text("수강 신청이 확정되었습니다")
    enrolment = page.locator(".voucher-enrolment").first
    expect(enrolment).to_contain_text("수강 확정")
    expect(enrolment).to_contain_text("850,000원")
    shot(page, "my-enrolments-confirmed")

    main_nav(page).get_by_role("link", name="내 카드").click()
    expect(page).to_have_url(f"{live_server}/me/card")
    expect(page.locator(".voucher-card__available").first).to_contain_text("2,150,000원")
    history = page.locator(".voucher-history tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("수강 신청 보류")
    expect(history.first).to_contain_text("−850,000원")
    expect(history.nth(1)).to_contain_text("내일배움카드 발급 (지원 한도 3,000,000원)")
    shot(page, "my-card-after-enrol")

    # Cancel: the preview first, then the confirmation.
    main_nav(page).get_by_role("link", name="내 수강 신청").click()
    page.get_by_role("link", name="수강 취소").click()
    expect(page).to_have_url(re.compile(r"/me/enrolments/\d+/cancel$"))
    expect(page.locator("main")).to_contain_text("카드로 돌아오는 금액")
    expect(page.locator(".site-dl").first).to_contain_text("850,000원")
    expect(page.locator(".site-dl").first).to_contain_text("150,000원")
    shot(page, "cancel-preview")
    page.get_by_role("button", name="수강 취소하기").click()
    expect(page).to_have_url(f"{live_server}/me/enrolments")
    expect(page.get_by_role("status").first).to_contain_text("카드로 850,000원이 돌아가고")
    expect(page.locator(".voucher-enrolment").first).to_contain_text("취소")
    expect(page.get_by_role("link", name="수강 취소")).to_have_count(0)
    shot(page, "my-enrolments-cancelled")

    main_nav(page).get_by_role("link", name="내 카드").click()
    expect(page.locator(".voucher-card__available").first).to_contain_text("3,000,000원")
    expect(page.locator(".voucher-history tbody tr").first).to_contain_text("수강 취소로 카드 금액 850,000원 반환")
    shot(page, "my-card-restored")
