"""What a query means (issue 17, point 5): places, schedule, mode, programmes and providers in the query become
filters shown as removable chips; the other words must all match. Through HTTP on the real index."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import current_app

from tests.support.catalog import Catalog
from tests.support.pages import page, run_ids_on, text_of
from tests.support.search_index import SEARCH_BACKENDS, indexed_catalog


@dataclass
class World:
    runs: dict[str, int]
    today: date


def _build(catalog: Catalog) -> World:
    seoul = catalog.provider("한빛 디지털아카데미")  # 서울 강남구
    busan = catalog.provider("부산 정보교육원", region_code="26350", address="부산광역시 해운대구 센텀로 1")
    ulsan = catalog.provider("울산 교육센터", region_code="31110", address="울산광역시 중구 중앙로 1")
    suwon = catalog.provider("수원 정보교육원", region_code="41111", address="경기도 수원시 장안구 1")
    itwill = catalog.provider("(주)아이티윌아카데미", address="서울특별시 마포구 1", region_code="11440")
    runs = {}

    def add(key, title, provider, region, n, **values):
        course = catalog.course(title, provider=provider, contents=f"{title} 과정입니다.")
        run = catalog.run(course, start=catalog.today + timedelta(days=20 + n), region_code=region, **values)
        runs[key] = run.id

    add("bigdata_seoul", "빅데이터 분석 실무", seoul, "11680", 1)
    add("bigdata_busan", "빅데이터 플랫폼 구축", busan, "26350", 2)
    add("bigdata_ulsan", "빅데이터 기초", ulsan, "31110", 3)
    add("analysis_ulsan", "데이터 분석 입문", ulsan, "31110", 0)
    add("analysis_suwon", "데이터 분석 전문가", suwon, "41111", 0)
    add("analysis_gangnam", "데이터 분석가 양성과정", seoul, "11680", 9)
    add("python_busan_weekend", "파이썬 프로그래밍", busan, "26350", 4, weekend="weekend")
    add("python_busan_weekday", "파이썬 웹 개발", busan, "26350", 5, weekend="weekday")
    add("python_seoul_weekend", "파이썬 데이터 처리", seoul, "11680", 6, weekend="weekend")
    add("itwill_java", "자바 풀스택 개발자", itwill, "11440", 7)
    add("itwill_info", "정보보안 전문가", itwill, "11440", 8)
    add("info_other", "정보보안 교육 과정", seoul, "11680", 10)
    return World(runs, catalog.today)


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def world(request, tmp_path_factory):
    yield from indexed_catalog(request, tmp_path_factory, "search-intent", _build, backend=request.param)


BUSAN = {"bigdata_busan", "python_busan_weekend", "python_busan_weekday"}
ULSAN = {"bigdata_ulsan", "analysis_ulsan"}


def get(q: str = "", **args):
    return current_app.test_client().get("/courses", query_string={"q": q, **args} if q else args)


def keys(world: World, response) -> list[str]:
    by_id = {run_id: key for key, run_id in world.runs.items()}
    return [by_id[run_id] for run_id in run_ids_on(response)]


def chips(response) -> dict[str, str]:
    """The chips of the page: label -> the address that removes it."""
    found = re.findall(r'<a class="krds-btn-tag link search-chip" href="([^"]*)">([^<]*)<', page(response))
    return {label.strip(): html.unescape(href) for href, label in found}


def test_a_place_in_the_query_is_a_filter_not_a_word_to_match(world):
    response = get("빅데이터 부산")
    found = keys(world, response)
    assert found[0] == "bigdata_busan"
    assert set(found) <= BUSAN  # not the Seoul or Ulsan 빅데이터 runs
    assert "‘부산’을 지역으로 적용했어요." in text_of(response)
    # Few courses have the other words: the place's other runs follow, and the page says so.
    assert "일부 낱말만 맞는 과정도 그 뒤에 보여 드립니다" in text_of(response)
    removed = chips(response)["지역: 부산광역시"]
    assert parse_qs(urlsplit(removed).query) == {"q": ["빅데이터"]}
    assert set(keys(world, current_app.test_client().get(removed))) == {
        "bigdata_seoul",
        "bigdata_busan",
        "bigdata_ulsan",
    }


def test_a_district_in_the_query_keeps_the_results_in_it(world):
    response = get("강남 데이터 분석")
    found = keys(world, response)
    assert found[0] == "analysis_gangnam"
    assert not {"analysis_ulsan", "analysis_suwon"} & set(found)
    assert "지역: 서울특별시 강남구" in chips(response)


def test_the_region_suggestion_applies_the_region(world):
    suggestions = current_app.test_client().get("/api/v1/suggest?q=부산").get_json()
    assert {"text": "부산광역시", "kind": "region"} in suggestions
    response = get("부산광역시")  # what picking it submits
    assert set(keys(world, response)) == {"bigdata_busan", "python_busan_weekend", "python_busan_weekday"}
    assert "지역: 부산광역시" in chips(response)


def test_several_regions_combine(world):
    response = get(region="26")
    facet = r'<a class="facet__link" href="([^"]*)"[^>]*>\s*<span class="facet__label">울산광역시'
    link = html.unescape(re.search(facet, page(response)).group(1))
    assert parse_qs(urlsplit(link).query) == {"region": ["26,31"]}
    both = current_app.test_client().get(link)
    assert set(keys(world, both)) == {
        "bigdata_busan",
        "python_busan_weekend",
        "python_busan_weekday",
        "bigdata_ulsan",
        "analysis_ulsan",
    }
    assert {"지역: 부산광역시", "지역: 울산광역시"} <= set(chips(both))
    found = keys(world, get("빅데이터 부산 울산"))
    assert set(found[:2]) == {"bigdata_busan", "bigdata_ulsan"} and set(found) <= BUSAN | ULSAN


def test_region_and_weekend_become_chips(world):
    response = get("부산 파이썬 주말")
    assert keys(world, response) == ["python_busan_weekend"]
    assert {"지역: 부산광역시", "훈련 요일: 주말"} <= set(chips(response))
    assert "‘주말’을 훈련 요일로 적용했어요." in text_of(response)
    assert 'value="파이썬"' in page(response)  # the search box keeps the words still searched


def test_a_provider_name_lists_its_runs_and_no_one_elses(world):
    suggestions = current_app.test_client().get("/api/v1/suggest?q=아이티윌").get_json()
    assert suggestions[0]["kind"] == "provider" and suggestions[0]["text"].startswith("아이티윌")
    response = get("아이티윌")
    assert set(keys(world, response)) == {"itwill_java", "itwill_info"}
    assert "훈련기관: 아이티윌아카데미" in chips(response)
    full = keys(world, get("아이티윌아카데미 정보보안"))
    assert full[0] == "itwill_info" and "info_other" not in full  # not the other provider's 정보보안 course


def test_generic_words_are_never_a_provider(world):
    response = get("정보보안")
    assert set(keys(world, response)) == {"itwill_info", "info_other"}
    assert not [label for label in chips(response) if label.startswith("훈련기관")]


def test_the_api_reads_the_query_the_same_way_and_says_how(world):
    body = current_app.test_client().get("/api/v1/courses?q=빅데이터 부산").get_json()
    assert body["items"][0]["run_id"] == world.runs["bigdata_busan"]
    assert {item["region_name"] for item in body["items"]} == {"부산광역시 해운대구"}
    assert body["q"] == "빅데이터"
    assert body["applied"] == [{"param": "region", "value": "26", "word": "부산", "label": "부산광역시"}]
    assert body["notes"][0] == "‘부산’을 지역으로 적용했어요."
