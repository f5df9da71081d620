"""An auditor signs in with a second factor, reads the spend dashboard (each chart beside its table), follows a
provider's number to its runs, a run's enrolments and one enrolment's ledger entries, and downloads a CSV."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect

from hrdnet.access import Role
from tests.conftest import PASSWORD, TOTP_SECRET
from tests.e2e.conftest import shot
from tests.support.audit import money_world


# Written before the live server starts: fixtures are set up in the order the test names them.
@pytest.fixture
def auditor_and_money(app, world, make_user):
    money = money_world(world)
    return make_user(Role.AUDITOR, ministry_code="MOEL"), money


def test_from_the_dashboard_to_the_ledger(auditor_and_money, page, live_server, page_problems):
    auditor, money = auditor_and_money
    page_problems.ignore(r"/audit/export: net::ERR_ABORTED")  # a download ends the form's navigation
    page.goto("/login")
    page.get_by_label("이메일").fill(auditor.email)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="로그인").click()
    page.get_by_label("인증 코드 (6자리)").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.locator("main").get_by_role("button").first.click()

    page.goto("/audit/spend")
    by_provider = page.locator("#by-provider")
    expect(by_provider.locator("svg.audit-chart")).to_be_visible()
    expect(by_provider.locator("table")).to_contain_text("한빛 디지털아카데미")
    expect(page.locator("main")).not_to_contain_text("바다 코딩스쿨")  # another ministry's provider
    shot(page, "audit-dashboard")

    by_provider.locator("tbody tr").first.get_by_role("link").nth(1).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("회차별 지출 내역")
    page.locator("tbody tr").first.get_by_role("link").first.click()
    expect(page.locator("main")).to_contain_text("홍*동")  # learners masked
    page.get_by_role("link", name=str(money.dropped_enrolment.id), exact=True).click()
    expect(page.locator("main")).to_contain_text("중도탈락 제재 차감")
    expect(page.locator("main")).to_contain_text("ledger.transfer")
    shot(page, "audit-enrolment-ledger")

    page.goto("/audit/spend")
    with page.expect_download() as download:
        page.locator("#by-provider").get_by_role("button", name="CSV로 내려받기").click()
    body = download.value.path().read_text(encoding="utf-8-sig")
    assert body.startswith("표,") and "한빛 디지털아카데미" in body
