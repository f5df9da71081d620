"""A visitor signs up, verifies their e-mail from the mail the worker sent, logs in, opens 내 학습 and logs out."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import PASSWORD, link_in
from tests.e2e.conftest import DESKTOP, shot

EMAIL = "journey@example.com"
PHONE = (390, 844)


def header(page):
    return page.locator("#krds-header .header-actions")


def main_nav(page):
    return page.get_by_role("navigation", name="주 메뉴")  # the mobile menu's copy is "전체메뉴 목록"


def test_signup_verify_login_logout(page, live_server, live_mailbox):
    # Home page; the first Tab lands on the skip link, which moves focus to <main>.
    page.goto("/")
    expect(page).to_have_title(re.compile("^홈 "))
    shot(page, "home")
    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="본문 바로가기")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_visible()
    shot(page, "home-skip-link-focused")
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()

    # Phone width: nothing wider than the screen.
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto("/")
    shot(page, "home-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    page.set_viewport_size(DESKTOP)

    # Sign up.
    header(page).get_by_role("link", name="회원가입").click()
    expect(page).to_have_url(f"{live_server}/signup")
    expect(page.get_by_role("heading", level=1)).to_have_text("회원가입 (훈련생)")
    shot(page, "signup")
    page.get_by_label("이메일").fill(EMAIL)
    page.get_by_label("이름").fill("김하늘")
    page.get_by_label("휴대전화 번호").fill("010-2345-6789")
    page.get_by_label("생년월일").fill("1992-03-15")  # <input type="date"> takes the ISO date
    page.get_by_label(re.compile(r"^비밀번호(?! 확인)")).fill(PASSWORD)
    page.get_by_label("비밀번호 확인").fill(PASSWORD)
    # KRDS draws the checkbox on its <label> (the input sits underneath it): tick it where a person clicks.
    page.get_by_text("개인정보 수집·이용에 동의합니다").check()
    expect(page.get_by_label("개인정보 수집·이용에 동의합니다")).to_be_checked()
    shot(page, "signup-filled")
    page.get_by_role("button", name="가입하기").click()

    expect(page).to_have_url(f"{live_server}/check-mail?reason=signup")
    expect(page.get_by_role("heading", level=1)).to_have_text("메일을 확인해 주세요")
    shot(page, "check-mail")

    # The worker thread delivers the verification mail; its link leads to this server.
    message = live_mailbox(to=EMAIL)
    verify_path = link_in(message, "/verify#t=")  # the token rides in the fragment; the page's script moves it
    assert f"{live_server}{verify_path}" in message.get_content()
    page.goto(verify_path)
    expect(page.get_by_role("heading", level=1)).to_have_text("이메일 인증")
    expect(page).to_have_url(f"{live_server}/verify")  # the script took the token out of the address bar
    expect(page.get_by_label("확인 코드")).to_be_hidden()
    shot(page, "verify")
    page.get_by_role("button", name="이메일 인증 완료").click()

    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_role("status")).to_contain_text("이메일 인증을 마쳤습니다")
    # The message lines up with the page content (it used to shrink to its text, centred). Measured once the
    # page's stylesheets have loaded: before that the two boxes can be read on either side of the styling.
    page.wait_for_load_state("load")
    assert page.get_by_role("status").bounding_box()["x"] == page.locator("main h1").bounding_box()["x"]
    shot(page, "login-after-verify")

    # Log in as the new learner.
    page.get_by_label("이메일").fill(EMAIL)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="로그인").click()
    expect(page).to_have_url(f"{live_server}/")
    expect(main_nav(page).get_by_role("link", name="내 학습")).to_be_visible()
    expect(header(page)).to_contain_text("김하늘님")  # the header shows the user their own name
    shot(page, "home-signed-in")

    main_nav(page).get_by_role("link", name="내 학습").click()
    expect(page).to_have_url(f"{live_server}/me")
    expect(page.get_by_role("heading", level=1)).to_have_text("내 학습")
    expect(main_nav(page).get_by_role("link", name="내 학습")).to_have_attribute("aria-current", "page")
    shot(page, "learner-home")

    # Log out with the header's button.
    header(page).get_by_role("button", name="로그아웃").click()
    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("status")).to_contain_text("로그아웃했습니다")
    expect(header(page).get_by_role("link", name="로그인")).to_be_visible()
    expect(header(page).get_by_role("button", name="로그아웃")).to_have_count(0)
    expect(main_nav(page).get_by_role("link", name="내 학습")).to_have_count(0)
    shot(page, "home-signed-out")
