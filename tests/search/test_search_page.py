"""The search page /courses, through HTTP, on a small catalog indexed by the real indexer.

Catalog rows come from the `catalog` fixture (tests/support/catalog.py); `reindex` builds the real index into
app.config["SEARCH_INDEX_DIR"] from them, as `hrdnet search reindex` does; `small_catalog` is in conftest.py.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from courses import services as courses_services
from search import forms, interfaces, presenters
from search.interfaces import SearchParams
from tests.support.pages import page, run_ids_on, text_of

# The engine's behaviour (results, facets, sorts, pages, typos, 초성, one card per course) is also checked on the
# PostgreSQL search backend (both_search_backends); the rest of the page is the same whichever engine answers.
BOTH_ENGINES = pytest.mark.both_search_backends


def hrefs(response, pattern: str) -> list[str]:
    """Unescaped hrefs of the page's links that match a regex."""
    return [
        html.unescape(h) for h in re.findall(r'href="([^"]*)"', page(response)) if re.search(pattern, html.unescape(h))
    ]


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def facet_link(response, label: str) -> str:
    """The href of the facet link whose label is `label`."""
    for href, inner in re.findall(r'<a class="facet__link[^"]*" href="([^"]*)"[^>]*>(.*?)</a>', page(response), re.S):
        shown = re.search(r'<span class="facet__label">([^<]*)', inner).group(1).strip()
        if shown == label:
            return html.unescape(href)
    raise AssertionError(f"no facet link {label!r}")


# -- results ----------------------------------------------------------------------------------------------


@BOTH_ENGINES
def test_a_korean_query_finds_matching_runs_with_highlights(client, small_catalog):
    response = client.get("/courses?q=파이썬")
    assert response.status_code == 200
    found = run_ids_on(response)
    assert set(found) == {small_catalog["python"].id, small_catalog["busan"].id}
    assert small_catalog["finished"].id not in found  # finished runs are hidden unless asked for
    body = page(response)
    assert "<mark>파이썬</mark>" in body
    text = text_of(response)
    assert "‘파이썬’ 검색 결과 2 건" in text
    assert "<title>‘파이썬’ 검색 결과 (2건) |" in body


def test_a_result_card_shows_what_a_learner_compares(client, small_catalog):
    run = small_catalog["python"]
    response = client.get("/courses?q=파이썬 데이터")
    text = text_of(response)
    assert f'href="/runs/{run.id}"' in page(response)
    assert "한빛 디지털아카데미" in text
    start, end = run.start_date, run.end_date
    assert f"훈련 기간 {start.isoformat()}" in text and end.isoformat() in text
    assert "지역 서울특별시 강남구" in text
    assert "훈련비 3,000,000원" in text
    assert "자비부담 300,000원" in text  # KDT from 2026: 10 % capped at 300,000
    assert "남은 자리 18석" in text
    assert "취업률 71.5%" in text and "만족도 92.0점" in text
    assert "K-디지털 트레이닝" in text and "고용노동부" in text


def test_results_link_to_the_run_page(client, small_catalog):
    run = small_catalog["busan"]
    response = client.get("/courses?q=장고")
    (link,) = hrefs(response, r"^/runs/\d+$")
    assert link == f"/runs/{run.id}"
    assert client.get(link).status_code == 200


def test_an_empty_query_lists_every_upcoming_run(client, small_catalog):
    response = client.get("/courses")
    assert set(run_ids_on(response)) == {r.id for k, r in small_catalog.items() if k != "finished"}
    assert "검색 결과 4 건" in text_of(response)


def test_past_runs_come_back_with_the_toggle(client, small_catalog):
    response = client.get("/courses?q=파이썬&include_closed=1")
    (toggle,) = hrefs(response, r"include_past=1")
    assert query_of(toggle) == {"q": ["파이썬"], "include_closed": ["1"], "include_past": ["1"]}
    with_past = client.get(toggle)
    assert small_catalog["finished"].id in run_ids_on(with_past)
    assert "신청할 수 있는 과정만 보기" in text_of(with_past)


def test_titles_from_the_catalog_are_escaped(client, catalog, reindex):
    run = catalog.run(catalog.course("<script>alert(1)</script> 해킹 방어 과정"))
    reindex()
    body = page(client.get("/courses?q=해킹"))
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body
    assert f'href="/runs/{run.id}"' in body


# -- facets, chips and the address ------------------------------------------------------------------------


def test_facets_show_counts_and_their_links_keep_the_query(client, small_catalog):
    response = client.get("/courses?q=파이썬")
    text = text_of(response)
    assert re.search(r"서울특별시 1 건", text) and re.search(r"부산광역시 1 건", text)
    link = facet_link(response, "부산광역시")
    assert query_of(link) == {"q": ["파이썬"], "region": ["26"]}
    narrowed = client.get(link)
    assert run_ids_on(narrowed) == [small_catalog["busan"].id]
    assert 'aria-current="true"' in page(narrowed)


def test_a_selected_filter_is_a_chip_that_removes_it(client, small_catalog):
    response = client.get("/courses?q=파이썬&region=26&mode=remote")
    text = text_of(response)
    assert "지역: 부산광역시" in text and "훈련 방식: 원격" in text
    chips = re.findall(r'class="krds-btn-tag link search-chip" href="([^"]*)"', page(response))
    assert [query_of(html.unescape(c)) for c in chips] == [
        {"q": ["파이썬"], "mode": ["remote"]},
        {"q": ["파이썬"], "region": ["26"]},
    ]
    assert "조건 모두 지우기" in text


@BOTH_ENGINES
def test_facets_narrow_by_ncs_programme_mode_and_weekend(client, small_catalog):
    assert set(run_ids_on(client.get("/courses?ncs=20"))) == {
        small_catalog[k].id for k in ("python", "backend", "busan")
    }
    assert run_ids_on(client.get("/courses?ncs=02")) == [small_catalog["accounting"].id]
    assert run_ids_on(client.get("/courses?programme=C0061")) == [small_catalog["busan"].id]
    assert run_ids_on(client.get("/courses?mode=remote")) == [small_catalog["busan"].id]
    assert run_ids_on(client.get("/courses?weekend=weekend")) == [small_catalog["busan"].id]


@BOTH_ENGINES
def test_date_and_price_filters_from_the_form(client, small_catalog, today):
    frm = (today + timedelta(days=15)).isoformat()
    to = (today + timedelta(days=35)).isoformat()
    response = client.get(f"/courses?start_from={frm}&start_to={to}&max_self_pay=&q=")
    assert set(run_ids_on(response)) == {small_catalog["backend"].id, small_catalog["busan"].id}
    assert f'name="start_from" class="krds-input small" value="{frm}"' in page(response)
    assert f"개강일: {frm}부터" in text_of(response) and f"개강일: {to}까지" in text_of(response)
    cheap = client.get("/courses?max_self_pay=250000")
    assert set(run_ids_on(cheap)) == {small_catalog["backend"].id, small_catalog["accounting"].id}
    assert "자비부담: 250,000원 이하" in text_of(cheap)
    # the form's empty fields stay out of the links it leads to
    for link in hrefs(response, r"^/courses\?"):
        assert "max_self_pay" not in link and "q=&" not in link


def test_every_condition_survives_the_round_trip_through_the_address(app):  # Flask-WTF forms need an app
    params = SearchParams(
        q="강남 데이터 분석",
        region="11680",
        ncs="2001",
        programme="C0104",
        ministry="MOEL",
        mode="classroom",
        weekend="weekday",
        start_from=date(2026, 5, 1),
        start_to=date(2026, 6, 30),
        start_month="2026-05",
        seats=True,
        max_self_pay=300_000,
        fee_band="10m+",
        self_pay_band="100k-300k",
        include_past=True,
        sort="start",
        page=3,
        per_page=50,
    )
    args = presenters.to_args(params)
    assert list(args) == [name for name in interfaces.PARAM_ORDER if name in args]
    parsed, ignored = forms.parse_page_args(MultiDict(args))
    assert (parsed, ignored) == (params, [])
    assert presenters.to_args(SearchParams()) == {}


def test_sort_form_keeps_every_other_condition(client, small_catalog):
    body = page(client.get("/courses?q=파이썬&region=11&sort=start&per_page=10&page=2"))
    form = re.search(r'<form class="search-sort".*?</form>', body, re.S).group(0)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    assert hidden == {"q": "파이썬", "region": "11", "per_page": "10"}  # not sort, and back to page 1
    assert '<option value="start" selected>' in form
    assert '<button type="submit"' in form  # works without JavaScript


def test_sort_by_start_date(client, small_catalog):
    ids = run_ids_on(client.get("/courses?sort=start"))
    assert ids == [small_catalog[k].id for k in ("python", "backend", "busan", "accounting")]


def test_the_search_box_keeps_the_filters_when_the_text_changes(client, small_catalog):
    body = page(client.get("/courses?q=파이썬&region=26&page=1"))
    form = re.search(r'<form class="search-box".*?</form>', body, re.S).group(0)
    assert 'action="/courses"' in form and 'method="get"' in form
    assert re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form) == [("region", "26")]
    assert 'value="파이썬"' in form


# -- pagination -------------------------------------------------------------------------------------------


@BOTH_ENGINES
def test_results_are_paginated_and_the_links_keep_the_query(client, catalog, reindex, today):
    runs = [
        catalog.run(catalog.course("데이터 엔지니어 부트캠프"), start=today + timedelta(days=n)) for n in range(1, 26)
    ]
    reindex()
    first = client.get("/courses?q=데이터&sort=start")
    assert run_ids_on(first) == [r.id for r in runs[:20]]
    assert "검색 결과 25 건 (1/2쪽)" in text_of(first)
    (next_link,) = set(hrefs(first, r"^/courses\?.*page=2$"))  # "2" and "다음"
    assert query_of(next_link) == {"q": ["데이터"], "sort": ["start"], "page": ["2"]}
    second = client.get(next_link)
    assert run_ids_on(second) == [r.id for r in runs[20:]]
    assert '<ol class="run-list search-list" start="21">' in page(second)
    assert run_ids_on(client.get("/courses?q=데이터&sort=start&per_page=10&page=3")) == [r.id for r in runs[20:]]


def test_a_page_past_the_end_says_so_and_links_back(client, small_catalog):
    response = client.get("/courses?q=파이썬&page=9")
    assert response.status_code == 200
    text = text_of(response)
    assert "이 페이지에는 결과가 없습니다" in text and "1쪽까지 있습니다" in text
    assert hrefs(response, r"^/courses\?q=") and "첫 페이지로" in text


# -- nothing found, spelling ------------------------------------------------------------------------------


def test_nothing_found_suggests_removing_filters_popular_topics_and_browsing(client, small_catalog):
    response = client.get("/courses?q=회계&region=26&mode=remote")
    text = text_of(response)
    assert run_ids_on(response) == []
    assert "‘회계’에 맞는 과정을 찾지 못했습니다" in text
    assert "‘지역: 부산광역시’ 빼기" in text and "‘훈련 방식: 원격’ 빼기" in text
    assert "마감된 과정도 보기" in text
    assert "많이 찾는 주제" in text
    assert hrefs(response, r"^/courses\?q=%ED%8C%8C%EC%9D%B4%EC%8D%AC$")  # 파이썬
    assert hrefs(response, r"^/browse/$")
    # the removal links keep everything else: take both conditions away and the 회계 run is there
    without_region = client.get(removal_link(response, "지역: 부산광역시"))
    assert run_ids_on(without_region) == [] and "‘훈련 방식: 원격’ 빼기" in text_of(without_region)
    assert run_ids_on(client.get(removal_link(without_region, "훈련 방식: 원격"))) == [small_catalog["accounting"].id]


def removal_link(response, chip: str) -> str:
    return html.unescape(re.search(r'<a href="([^"]*)">‘' + re.escape(chip) + "’ 빼기", page(response)).group(1))


@BOTH_ENGINES
def test_a_misspelt_query_that_found_little_offers_the_right_spelling(client, small_catalog, catalog, reindex):
    catalog.run(catalog.course("클라우더 입문"))  # one title with the misspelling itself
    reindex()
    response = client.get("/courses?q=클라우더&region=11")
    text = text_of(response)
    assert "혹시 클라우드 를 찾으셨나요?" in text  # with the particle the word takes (text_of splits at the link)
    (link,) = hrefs(response, r"^/courses\?q=%ED%81%B4%EB%9D%BC%EC%9A%B0%EB%93%9C")
    assert query_of(link) == {"q": ["클라우드"], "region": ["11"]}
    assert small_catalog["backend"].id in run_ids_on(client.get(link))


@BOTH_ENGINES
def test_a_misspelt_query_that_found_nothing_shows_the_corrected_results(client, small_catalog):
    response = client.get("/courses?q=회게")
    text = text_of(response)
    assert "‘회게’에 맞는 과정이 없어 ‘회계’ 로 찾은 결과입니다." in text
    assert run_ids_on(response) == [small_catalog["accounting"].id]
    assert "찾으셨나요" not in text


# -- bad addresses never break the page ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("region=999", "지역 ‘999’"),
        ("region=11x", "지역 ‘11x’"),
        ("region=99", "알 수 없는 지역 코드"),
        ("ncs=2", "NCS 직무 분야 ‘2’"),
        ("ncs=99", "알 수 없는 NCS 코드"),
        ("mode=bus", "훈련 방식 ‘bus’"),
        ("weekend=sunday", "훈련 요일"),
        ("start_from=2026-13-01", "개강일 시작 ‘2026-13-01’"),
        ("start_from=yesterday", "개강일 시작"),
        ("start_from=2026-06-01&start_to=2026-05-01", "개강일 범위의 끝이 시작보다 빠릅니다"),
        ("start_month=2026-5", "개강 월"),
        ("max_self_pay=abc", "자비부담 상한"),
        ("max_self_pay=-1", "자비부담 상한"),
        ("max_self_pay=99999999999999999999", "자비부담 상한"),
        ("seats=maybe", "남은 자리"),
        ("include_past=2", "지난 과정"),
        ("sort=cheapest", "정렬 ‘cheapest’"),
        ("programme=<script>", "지원 사업"),
        ("fee_band=cheap", "훈련비 ‘cheap’"),
        ("self_pay_band=1m", "자비부담금 ‘1m’"),
    ],
)
def test_a_bad_condition_is_left_out_and_named(client, small_catalog, query, named):
    response = client.get(f"/courses?q=파이썬&{query}")
    assert response.status_code == 200
    text = text_of(response)
    assert "알아볼 수 없는 것은 빼고 검색했습니다" in text
    assert named in text
    assert set(run_ids_on(response)) >= {small_catalog["python"].id}  # the rest of the search still ran
    assert "<script>" not in page(response).split("<main", 1)[1].split("</main>")[0]


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-3",
        "page=abc",
        "page=100000000000000000000",
        "per_page=0",
        "per_page=1000",
        "per_page=x",
        "q=" + "가" * 500,
        "q=%00%01",
        "q=(((",
        "q=*",
        "q=" + '"' * 3,
        "q=AND OR NOT",
        "q=title:파이썬",
        "region=11&region=26",
        "region=",
        "q=&region=&page=",
        "unknown=1",
        "q=%F0%9F%90%8D",
    ],
)
def test_odd_addresses_never_fail(client, small_catalog, query):
    response = client.get(f"/courses?{query}")
    assert response.status_code == 200
    assert "알아볼 수 없는 것은 빼고" not in text_of(response)  # paging and text problems are fixed silently


def test_a_long_query_is_cut_not_refused(client, small_catalog):
    params, ignored = forms.parse_page_args(MultiDict({"q": "파이썬 " + "가" * 300}))
    assert len(params.q) == interfaces.Q_MAX and params.q.startswith("파이썬") and ignored == []


# -- the page itself ------------------------------------------------------------------------------------


def test_the_page_works_without_inline_script_or_style(client, small_catalog):
    body = page(client.get("/courses?q=파이썬&region=11"))
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)
    assert " style=" not in body and "<style" not in body
    assert not re.search(r"\son[a-z]+=", body)
    assert '<script src="/static/js/search.js" defer></script>' in body
    # filters fold on phones without JavaScript too
    assert '<details class="search-filters" open data-collapse-narrow>' in body
    assert 'data-suggest="/api/v1/suggest"' in body
    assert '<label for="search-q">훈련과정 검색</label>' in body
    assert 'placeholder="예: 파이썬, 빅데이터, 강남 데이터 분석"' in body


def test_the_menu_item_leads_to_the_search_page(client):
    body = page(client.get("/courses"))
    assert re.search(
        r'<a href="/courses" class="gnb-main-trigger is-link selected" aria-current="page">훈련과정 찾기</a>', body
    )


def test_the_home_page_has_the_search_box(client):
    body = page(client.get("/"))
    form = re.search(r'<form class="search-box".*?</form>', body, re.S).group(0)
    assert 'action="/courses"' in form and 'name="q"' in form and "data-suggest" in form
    assert '<script src="/static/js/search.js" defer></script>' in body
    assert 'href="/courses?q=%ED%8C%8C%EC%9D%B4%EC%8D%AC"' in body  # a popular topic: 파이썬


def test_before_the_first_index_the_page_says_it_is_being_prepared(client, catalog):
    catalog.run()  # in the database, not indexed yet
    response = client.get("/courses?q=파이썬")
    assert response.status_code == 200
    assert "검색 색인을 준비하고 있습니다" in text_of(response)
    assert hrefs(response, r"^/browse/$")


def test_the_search_page_is_public_for_everyone(client, login_as, small_catalog):
    assert client.get("/courses?q=파이썬").status_code == 200
    login_as("provider")
    assert client.get("/courses?q=파이썬").status_code == 200


def test_page_links_stop_at_the_deepest_page_served():
    from search.presenters import Pages

    pages = Pages(page=10, per_page=20, total=100_000)
    assert pages.pages == interfaces.PAGE_MAX
    assert list(pages.iter_pages(left_edge=1, left_current=2, right_current=3, right_edge=1)) == [
        1,
        None,
        8,
        9,
        10,
        11,
        12,
        13,
        None,
        interfaces.PAGE_MAX,
    ]
    assert (pages.prev_num, pages.next_num) == (9, 11)
    assert not Pages(page=1, per_page=20, total=5).has_next


# -- what a query means (issue 17) ------------------------------------------------------------------------------


@BOTH_ENGINES
def test_an_initials_query_searches_the_words_it_abbreviates(client, small_catalog):
    response = client.get("/courses?q=ㅍㅇㅆ")
    assert set(run_ids_on(response)) == {small_catalog["python"].id, small_catalog["busan"].id}
    assert "초성 ‘ㅍㅇㅆ’을(를) ‘파이썬’으로 찾았습니다." in text_of(response)
    both = client.get("/courses?q=ㅍㅇㅆ ㄷㅇㅌㅂㅅ")  # 파이썬 데이터 분석, spelled from two known words
    assert run_ids_on(both)[0] == small_catalog["python"].id
    assert "‘파이썬 데이터 분석’으로 찾았습니다." in text_of(both)


def test_initials_nothing_spells_find_nothing_rather_than_everything(client, small_catalog):
    response = client.get("/courses?q=ㅋㅋㅋ")
    assert run_ids_on(response) == []
    assert "‘ㅋㅋㅋ’에 맞는 과정을 찾지 못했습니다" in text_of(response)


@BOTH_ENGINES
def test_one_card_per_course_with_its_runs_as_chips(client, catalog, reindex, today):
    course = catalog.course("파이썬 데이터 엔지니어링")
    runs = [catalog.run(course, start=today + timedelta(days=days)) for days in (40, 10, 25)]
    other = catalog.run(catalog.course("파이썬 게임 만들기"), start=today + timedelta(days=15))
    reindex()
    response = client.get("/courses?q=파이썬&sort=start")
    assert run_ids_on(response) == [runs[1].id, other.id]  # each course once, at its first run
    text = text_of(response)
    assert "‘파이썬’ 검색 결과 2 건 (회차 4개)" in text
    assert "이 과정의 회차 3개" in text
    first = runs[1]
    chip = f"{first.run_number}회차 · {first.start_date.isoformat()}"
    assert re.search(re.escape(chip) + r"\S* 개강 · 잔여 18석 · 자비 200,000원 · 모집 중", text)
    chips = re.findall(r'class="search-run-chip[^"]*" href="/runs/(\d+)"', page(response))
    assert [int(n) for n in chips] == [runs[1].id, runs[2].id, runs[0].id]  # in the search's order


# -- my price (issue 17, point 10) ---------------------------------------------------------------------------


def test_a_signed_in_learner_sees_their_price_and_can_keep_what_their_card_pays(client, world, login, reindex):
    cheap = world.run(fee=1_000_000, course=world.catalog.course("파이썬 기초 실무"))
    dear = world.run(fee=6_000_000, course=world.catalog.course("파이썬 고급 실무"))
    reindex()
    learner = world.learner(limit=2_000_000)
    anonymous = client.get("/courses?q=파이썬&fits_balance=1")
    assert set(run_ids_on(anonymous)) == {cheap.id, dear.id}  # nobody's balance to compare with: left out
    assert "로그인한 학습자의 카드 잔액으로만 고를 수 있어" in text_of(anonymous)
    assert "내 자비부담" not in text_of(anonymous)

    login(learner)
    response = client.get("/courses?q=파이썬")
    text = text_of(response)
    quote = courses_services.viewer_price(cheap, learner.id, world.today)
    assert f"내 자비부담 {quote['self_pay']:,}원" in text
    assert f"카드 사용 {quote['card_draw']:,}원 (사용 후 잔액 {2_000_000 - quote['card_draw']:,}원)" in text
    (toggle,) = hrefs(response, r"fits_balance=1")
    assert query_of(toggle) == {"q": ["파이썬"], "fits_balance": ["1"]}  # the balance is never in an address
    fitting = client.get(toggle)
    assert run_ids_on(fitting) == [cheap.id]  # the dearer run draws more than the card holds
    assert "내 카드 잔액으로 가능" in text_of(fitting)
    assert "max_card_draw" not in page(fitting)


@BOTH_ENGINES
def test_the_price_sort_orders_a_signed_in_learners_page_by_their_own_self_pay(client, world, login, reindex):
    # Generic (일반훈련생): 150,000원 then 275,000원. A 재직자 pays 30 % of the first (300,000원) but the same
    # 55 % of the second (275,000원, lowest band): their own order is the other way round.
    good = world.run(fee=1_000_000, course=world.catalog.course("파이썬 취업 실무"))
    low = world.run(fee=500_000, employment_rate_3m=30.0, course=world.catalog.course("파이썬 입문 실무"))
    reindex()
    assert run_ids_on(client.get("/courses?q=파이썬&sort=price")) == [good.id, low.id]  # anonymous: generic
    login(world.learner(status="employed"))
    assert run_ids_on(client.get("/courses?q=파이썬&sort=price")) == [low.id, good.id]


def test_the_price_sort_by_my_own_self_pay_runs_across_pages_and_in_the_api(client, world, login, reindex):
    # Generic (일반훈련생) self-pay: A 150,000 · D 180,000 · C 220,000 · B 275,000. A 재직자 pays 30 % of A and
    # D (300,000 · 360,000) but the same 55 % of B and C: their own order is C, B, A, D. Two per page, a re-rank
    # of each page would give A, D then C, B: only a sort of every match by the learner's amount gives C, B.
    from hrdnet.auth import services as auth_services
    from hrdnet.db import unit_of_work

    a = world.run(fee=1_000_000, course=world.catalog.course("파이썬 취업 실무"))
    b = world.run(fee=500_000, employment_rate_3m=30.0, course=world.catalog.course("파이썬 입문 실무"))
    c = world.run(fee=400_000, employment_rate_3m=30.0, course=world.catalog.course("파이썬 기초 문법"))
    d = world.run(fee=1_200_000, course=world.catalog.course("파이썬 심화 프로젝트"))
    reindex()
    learner = world.learner(status="employed")
    mine = {run.id: courses_services.viewer_price(run, learner.id, world.today)["self_pay"] for run in (a, b, c, d)}
    assert [mine[r.id] for r in (c, b, a, d)] == [220_000, 275_000, 300_000, 360_000]

    def pages_of(get) -> list[int]:
        return get("/courses?q=파이썬&sort=price&per_page=2") + get("/courses?q=파이썬&sort=price&per_page=2&page=2")

    anonymous = pages_of(lambda url: run_ids_on(client.get(url)))
    assert anonymous == [a.id, d.id, c.id, b.id]  # the generic order
    login(learner)
    assert pages_of(lambda url: run_ids_on(client.get(url))) == [c.id, b.id, a.id, d.id]

    with unit_of_work():
        token = auth_services.issue_api_token(learner, "test").token
    client.get("/logout")

    def from_api(url: str, headers=None) -> list[int]:
        response = client.get(url.replace("/courses", "/api/v1/courses"), headers=headers or {})
        assert response.status_code == 200
        return [item["run_id"] for item in response.get_json()["items"]]

    assert pages_of(from_api) == [a.id, d.id, c.id, b.id]  # anonymous API: the generic order
    signed = {"Authorization": f"Bearer {token}"}
    assert pages_of(lambda url: from_api(url, signed)) == [c.id, b.id, a.id, d.id]
