"""A visitor searches in Korean from the home page: autocomplete with the keyboard, a facet, the next page,
Back to the previous results, and a run page. Then the same page on a phone, and without JavaScript."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, settle, shot

PHONE = {"width": 390, "height": 844}


def results(page):
    return page.locator(".search-list .run-card__title a")


def combobox(page):
    return page.get_by_role("combobox", name=re.compile("훈련과정"))


# The catalog is written before the live server (and its worker) start: fixtures are set up in the order a
# test names them, and SQLite would refuse the test's writes while the worker holds its write lock.


@pytest.fixture
def python_runs(catalog, reindex, today):
    """25 upcoming 파이썬 courses (one run each: the page shows one card per course) in Seoul, one in Busan, and
    an unrelated 회계 run; indexed."""
    seoul = catalog.provider("한빛 디지털아카데미")
    busan = catalog.provider("부산 코딩스쿨", region_code="26110", address="부산광역시 중구 중앙대로 1")
    runs = [
        catalog.run(
            catalog.course(
                "파이썬 데이터 분석 전문가 양성과정", provider=seoul, contents="파이썬과 판다스로 데이터를 분석합니다."
            ),
            start=today + timedelta(days=n),
        )
        for n in range(1, 26)
    ]
    catalog.run(
        catalog.course("파이썬 웹 개발 입문", provider=busan), region_code="26110", start=today + timedelta(days=5)
    )
    catalog.run(catalog.course("전산회계 실무", provider=seoul, ncs_code="02030201"))
    reindex()
    return runs


@pytest.fixture
def two_courses(catalog, reindex):
    catalog.run(catalog.course("파이썬 데이터 분석 전문가 양성과정"))
    catalog.run(catalog.course("전산회계 실무", ncs_code="02030201"))
    reindex()


def test_search_with_autocomplete_facets_pages_and_back(python_runs, page, live_server):
    # Home page: the search box is the first thing to use.
    page.goto("/")
    settle(page)
    shot(page, "home")
    box = combobox(page)
    expect(box).to_have_attribute("aria-expanded", "false")
    box.click()
    page.keyboard.type("파이")
    listbox = page.get_by_role("listbox", name="추천 검색어")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options.first).to_contain_text("파이")
    count = options.count()
    assert 1 <= count <= 10
    shot(page, "autocomplete-open")

    # Arrow keys move the highlight (focus stays in the field), Escape closes without losing the text.
    page.keyboard.press("ArrowDown")
    first_id = options.nth(0).get_attribute("id")
    expect(box).to_have_attribute("aria-activedescendant", first_id)
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    expect(box).to_be_focused()
    if count > 1:
        page.keyboard.press("ArrowDown")
        expect(box).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id"))
        page.keyboard.press("ArrowUp")
    expect(box).to_have_attribute("aria-activedescendant", first_id)
    shot(page, "autocomplete-highlighted")
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_value("파이")

    # Down opens the list again on the first suggestion; Enter searches it.
    page.keyboard.press("ArrowDown")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-activedescendant", first_id)
    chosen = options.nth(0).locator(".search-ac__text").inner_text()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/courses\?q="))
    expect(page.locator("#search-q")).to_have_value(chosen)
    expect(page.get_by_role("heading", level=2, name=re.compile("검색 결과"))).to_be_visible()
    expect(results(page).first).to_be_visible()
    settle(page)
    shot(page, "results")

    # Back to a plain query, then a facet: the address carries both.
    page.goto("/courses?q=파이썬")
    settle(page)
    expect(page.locator(".search-total")).to_contain_text("검색 결과 26건")
    page.locator(".search-filters").get_by_role("link", name=re.compile("^서울특별시")).click()
    expect(page).to_have_url(re.compile(r"/courses\?q=%ED%8C%8C%EC%9D%B4%EC%8D%AC&region=11$"))
    expect(page.locator(".search-total")).to_contain_text("검색 결과 25건")
    expect(page.locator(".search-chip")).to_have_text(re.compile("지역: 서울특별시"))
    expect(page.locator(".search-filters").get_by_role("link", name=re.compile("^서울특별시"))).to_have_attribute(
        "aria-current", "true"
    )
    settle(page)
    shot(page, "facet-applied")
    first_page_titles = results(page).all_inner_texts()
    assert len(first_page_titles) == 20

    # Next page, then Back: the first page's results again, from the address alone.
    page.get_by_role("navigation", name="페이지 이동").get_by_role("link", name=re.compile("다음")).click()
    expect(page).to_have_url(re.compile(r"region=11&page=2$"))
    settle(page)
    expect(results(page)).to_have_count(5)
    expect(page.locator(".search-total")).to_contain_text("(2/2쪽)")
    shot(page, "page-2")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/courses\?q=%ED%8C%8C%EC%9D%B4%EC%8D%AC&region=11$"))
    settle(page)
    expect(results(page)).to_have_count(20)
    assert results(page).all_inner_texts() == first_page_titles
    expect(page.locator("#search-q")).to_have_value("파이썬")

    # A result leads to its run page.
    first = results(page).first
    href = first.get_attribute("href")
    assert href in {f"/runs/{run.id}" for run in python_runs}
    first.click()
    expect(page).to_have_url(f"{live_server}{href}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("파이썬 데이터 분석 전문가 양성과정")
    settle(page)
    shot(page, "run-page")


def test_initial_consonants_suggest_and_the_phone_layout(two_courses, page, live_server):
    page.goto("/courses")
    settle(page)
    box = combobox(page)
    box.click()
    page.keyboard.type("ㅍㅇㅆ")
    listbox = page.get_by_role("listbox", name="추천 검색어")
    expect(listbox).to_be_visible()
    expect(listbox.get_by_role("option").filter(has_text="파이썬").first).to_be_visible()
    shot(page, "choseong-suggestions")
    # A click on a suggestion searches it too.
    listbox.get_by_role("option").filter(has_text="파이썬").first.click()
    expect(page).to_have_url(re.compile(r"/courses\?q=.*%ED%8C%8C%EC%9D%B4%EC%8D%AC"))
    expect(results(page).first).to_contain_text("파이썬")
    settle(page)

    # Phone: the filters fold away above the results and open on demand; nothing is wider than the screen.
    page.set_viewport_size(PHONE)
    page.goto("/courses?q=파이썬")
    settle(page)
    filters = page.locator("details.search-filters")
    expect(filters).not_to_have_attribute("open", "")
    expect(results(page).first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "phone-results")
    page.get_by_text("검색 조건", exact=True).click()
    expect(filters).to_have_attribute("open", "")
    expect(filters.get_by_role("link", name=re.compile("^서울특별시"))).to_be_visible()
    shot(page, "phone-filters-open")
    page.set_viewport_size(DESKTOP)


def test_the_search_page_works_without_javascript(two_courses, browser, live_server):
    context = browser.new_context(base_url=live_server, viewport=PHONE, locale="ko-KR", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/")
        page.get_by_role("searchbox", name="어떤 훈련과정을 찾으세요?").fill("회계")
        page.get_by_role("button", name="검색", exact=True).click()
        expect(page).to_have_url(re.compile(r"/courses\?q=%ED%9A%8C%EA%B3%84$"))
        expect(page.locator(".search-list .run-card__title a")).to_have_text(re.compile("전산회계 실무"))
        # without JS the filter panel stays open on a phone, and its links work
        expect(page.locator("details.search-filters")).to_have_attribute("open", "")
        page.get_by_role("combobox", name="정렬").select_option("start")
        page.get_by_role("button", name="적용", exact=True).click()
        expect(page).to_have_url(re.compile(r"q=%ED%9A%8C%EA%B3%84&sort=start$"))
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()
