"""The learner's whole journey in one browser (issue 17): sign up → identity (the development stand-in) → apply
for a card → an admin approves it (signed in with TOTP) → search "부산 파이썬 주말" (region and weekend become
removable chips) → two runs into the comparison → enrol in one → pay the self-pay with a test card (localstripe)
→ 내 학습 shows the course and the free-cancel countdown → cancel in the free window → the card is full again."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, TOTP_SECRET, link_in
from tests.e2e.conftest import settle, shot, stripe_settings

EMAIL = "journey-learner@example.com"
BUSAN = "26350"  # 부산광역시 해운대구


@pytest.fixture
def app_config(app_config, processor):
    return {**app_config, **stripe_settings(processor)}


# Written before the live server (and its worker) start: fixtures are set up in the order the test names them.
@pytest.fixture
def catalog_and_admin(app, world, catalog, make_user, reindex, today):
    """Two Busan weekend Python runs (titles without 주말: the schedule is a filter, not a word), a Busan
    weekday and a Seoul weekend one that the query must leave out; an admin with TOTP."""
    busan = catalog.provider("부산 정보교육원", region_code=BUSAN, address="부산광역시 해운대구 센텀로 1")
    seoul = catalog.provider("한빛 디지털아카데미")

    def python_run(title, provider, region, weekend, n):
        course = catalog.course(title, provider=provider, contents=f"{title} 과정입니다.")
        return world.run(  # 1,000,000원: an unemployed learner pays 150,000원, the card 850,000원
            course=course, fee=1_000_000, region_code=region, weekend=weekend, start=today + timedelta(days=14 + n)
        )

    first = python_run("파이썬 프로그래밍 기초", busan, BUSAN, "weekend", 0)
    second = python_run("파이썬 데이터 분석", busan, BUSAN, "weekend", 1)
    python_run("파이썬 웹 개발", busan, BUSAN, "weekday", 2)
    python_run("파이썬 자동화", seoul, "11680", "weekend", 3)
    values = {
        "runs": {first.id, second.id},
        "admin": make_user("admin").email,
    }  # plain values: the live server has its own sessions
    reindex()
    return values


def _logout(page):
    # The header's button, not clear_cookies(): a response still in flight would set the old session again.
    page.locator("#krds-header .header-actions").get_by_role("button", name="로그아웃").click()
    expect(page.get_by_role("status").first).to_contain_text("로그아웃했습니다")


def _login(page, email, *, totp=False):
    page.goto("/login")
    page.get_by_label("이메일").fill(email)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="로그인").click()
    if totp:  # used once: this admin signs in once in the test
        page.get_by_label("인증 코드").fill(pyotp.TOTP(TOTP_SECRET).now())
        page.locator("main").get_by_role("button").first.click()
    expect(page.get_by_role("button", name="로그아웃").first).to_be_attached()


def _available(page):
    return page.locator(".voucher-card__available").first


def test_signup_to_card_to_search_compare_pay_and_cancel(
    catalog_and_admin, page, live_server, live_mailbox, processor, page_problems
):
    page_problems.ignore(re.escape(f"request to another origin: GET {processor}/js.stripe.com/v3/"))
    page_problems.ignore(re.escape(f"request to another origin: POST {processor}/v1/tokens"))

    # Sign up and verify the e-mail address.
    page.goto("/signup")
    page.get_by_label("이메일").fill(EMAIL)
    page.get_by_label("이름").fill("김하늘")
    page.get_by_label("휴대전화 번호").fill("010-2345-6789")
    page.get_by_label("생년월일").fill("1992-03-15")
    page.get_by_label(re.compile(r"^비밀번호(?! 확인)")).fill(PASSWORD)
    page.get_by_label("비밀번호 확인").fill(PASSWORD)
    page.get_by_text("개인정보 수집·이용에 동의합니다").check()
    page.get_by_role("button", name="가입하기").click()
    expect(page).to_have_url(f"{live_server}/check-mail?reason=signup")
    page.goto(link_in(live_mailbox(to=EMAIL), "/verify#t="))
    page.get_by_role("button", name="이메일 인증 완료").click()
    expect(page.get_by_role("status")).to_contain_text("이메일 인증을 마쳤습니다")
    _login(page, EMAIL)

    # Identity through the development stand-in (the form starts with what the sign-up gave), then the card.
    page.goto("/me/card/apply")
    expect(page).to_have_url(f"{live_server}/me/identity")
    expect(page.locator("main")).to_contain_text("개발·시연용 대체 본인인증")
    expect(page.get_by_label("이름")).to_have_value("김하늘")
    page.get_by_role("button", name="본인인증 하기").click()
    expect(page).to_have_url(f"{live_server}/me/card/apply")
    expect(page.get_by_role("status").first).to_contain_text("본인인증을 마쳤습니다")
    page.get_by_label("고용 상태").select_option("unemployed")
    page.get_by_text("입력한 내용이 사실임을 확인합니다 (필수)").check()
    shot(page, "apply")
    page.get_by_role("button", name="카드 신청하기").click()
    expect(page).to_have_url(f"{live_server}/me/card")
    expect(page.get_by_role("status").first).to_contain_text("카드 신청을 접수했습니다")

    # An admin (password and a one-time TOTP code) approves the application.
    _logout(page)
    _login(page, catalog_and_admin["admin"], totp=True)
    page.goto("/admin/cards/applications")
    page.locator("main").get_by_role("button", name="승인").click()
    expect(page.get_by_role("status").first).to_contain_text("승인하고 카드를 발급했습니다")

    # The learner has a full card now.
    _logout(page)
    _login(page, EMAIL)
    page.goto("/me/card")
    expect(_available(page)).to_contain_text("3,000,000원")

    # Search: 부산 (region) and 주말 (weekend) become removable chips; only the Busan weekend courses match.
    page.goto("/courses")
    box = page.get_by_role("combobox", name=re.compile("훈련과정"))
    # Typing asks for suggestions; wait for the answer, or leaving the page would abort that request.
    with page.expect_response(re.compile(r"/api/v1/suggest\?")):
        box.fill("부산 파이썬 주말")
    page.locator("main").get_by_role("button", name="검색", exact=True).click()  # the words as typed
    expect(page).to_have_url(re.compile(r"/courses\?q=.+"))
    chips = page.locator(".search-chip")
    expect(chips).to_have_count(2)
    region_chip = chips.filter(has_text="지역: 부산광역시")
    weekend_chip = chips.filter(has_text="훈련 요일: 주말")
    expect(region_chip).to_have_attribute("href", re.compile(r"weekend=weekend"))  # removing one keeps the other
    expect(region_chip).not_to_have_attribute("href", re.compile(r"region="))
    expect(weekend_chip).to_have_attribute("href", re.compile(r"region=26"))
    expect(weekend_chip).not_to_have_attribute("href", re.compile(r"weekend="))
    expect(page.locator("main")).to_contain_text("‘부산’을 지역으로 적용했어요.")
    expect(page.locator("#search-q")).to_have_value("파이썬")
    titles = page.locator(".search-list .run-card__title a")
    expect(titles).to_have_count(2)
    assert {t.strip() for t in titles.all_inner_texts()} == {"파이썬 프로그래밍 기초", "파이썬 데이터 분석"}
    settle(page)
    shot(page, "search-chips")
    results_url = page.url

    # Two runs into the comparison, one run page after the other.
    compared = []
    for n in range(2):
        page.goto(results_url)
        titles.nth(n).click()
        expect(page).to_have_url(re.compile(r"/runs/\d+$"))
        compared.append(int(page.url.rsplit("/", 1)[1]))
        page.get_by_role("link", name="비교함에 담기").click()
        expect(page).to_have_url(re.compile(r"/compare\?runs="))
    assert set(compared) == catalog_and_admin["runs"]
    expect(page).to_have_url(f"{live_server}/compare?runs={compared[0]},{compared[1]}")
    expect(page.locator("[data-compare-runs]")).to_have_attribute("data-compare-runs", f"{compared[0]},{compared[1]}")
    shot(page, "compare")

    # Enrol in the first from the comparison, and pay the self-pay with a test card.
    chosen = page.locator(f'th a[href="/runs/{compared[0]}"]')
    course_title = chosen.inner_text().rsplit(" ", 1)[0]  # "<title> <n>회차"
    chosen.click()
    page.locator(".run-summary").first.get_by_role("link", name="수강 신청", exact=True).click()
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="수강 신청하기").click()
    expect(page).to_have_url(re.compile(r"/me/enrolments/\d+/pay$"))
    for field, value in (
        ("number", "4242424242424242"),
        ("exp_month", "12"),
        ("exp_year", "30"),
        ("cvc", "123"),
        ("postal_code", "48058"),
    ):
        page.locator(f"#card-element input[placeholder={field}]").fill(value)
    page.get_by_role("button", name="150,000원 결제하기").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("수강 신청이 확정되었습니다", timeout=15_000)

    # 내 학습: the course and the free-cancel countdown; the card holds the card share.
    page.goto("/me")
    main = page.locator("main")
    expect(main).to_contain_text(course_title)
    expect(main).to_contain_text(re.compile(r"무료 취소 기한 .+까지 \(\d+일 남음\)"))
    shot(page, "me")
    page.goto("/me/card")
    expect(_available(page)).to_contain_text("2,150,000원")

    # Cancel within the free window: the card is full again.
    page.goto("/me/enrolments")
    page.get_by_role("link", name="수강 취소").click()
    page.get_by_role("button", name="수강 취소하기").click()
    expect(page.get_by_role("status").first).to_contain_text("카드로 850,000원이 돌아가고")
    page.goto("/me/card")
    expect(_available(page)).to_contain_text("3,000,000원")
    shot(page, "card-after-cancel")
