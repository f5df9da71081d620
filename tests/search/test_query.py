"""search() and suggest() on one small catalog indexed once for the module by the real indexer.

The catalog is built with the `Catalog` factory (tests/support/catalog.py) in a database of its own (copied
from the migrated template), then indexed with search.index.build.rebuild() (tests/support/search_index.py);
every test here only reads. Dates are relative to the day the catalog was built (`world.today`).
Expected sets are written out by hand, and facet counts are checked against direct database counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from courses import pricing, services
from courses.models import Programme, Run
from hrdnet.extensions import db
from search.engine import search, suggest
from search.interfaces import FEE_BANDS, SELF_PAY_BANDS, SearchParams
from search.query import did_you_mean
from tests.support.catalog import Catalog
from tests.support.search_index import SEARCH_BACKENDS, indexed_catalog

# key: (title, contents, keywords)
COURSES = {
    "java": ("자바 백엔드 개발자 양성과정", "스프링 부트로 서버를 만듭니다.", "Spring"),
    "java_en": ("Java Spring 웹 서비스 실무", "서버 개발 실무 프로젝트를 합니다.", None),
    "js": ("자바스크립트 프론트엔드 개발자 과정", "React로 화면을 만듭니다.", None),
    "js_en": ("JavaScript 웹 퍼블리싱 입문", "HTML과 CSS 기초부터 배웁니다.", None),
    "python": ("파이썬 데이터 분석 입문", "판다스로 표 데이터를 다룹니다.", None),
    "python_web": ("파이썬 웹 크롤링", "웹 페이지에서 자료를 모읍니다.", None),
    "python_auto": ("파이썬 업무 자동화 기초", "반복 업무를 스크립트로 줄입니다.", None),
    "python_en": ("Python Programming Basics", "변수와 함수부터 시작합니다.", None),
    "bigdata_spaced": ("빅 데이터 처리 실무", "하둡과 스파크를 익힙니다.", None),
    "bigdata": ("빅데이터 엔지니어 양성과정", "수집 파이프라인을 구축합니다.", None),
    "bigdata_en": ("Big Data Engineering Bootcamp", "대용량 처리를 실습합니다.", None),
    "webdev": ("웹개발자 취업 부트캠프", "포트폴리오를 완성합니다.", None),
    "ai_ko": ("인공지능 서비스 기획 실무", "서비스 기획 사례를 봅니다.", None),
    "ai_en": ("AI 엔지니어 심화", "모델 배포를 실습합니다.", None),
    "security_ko": ("정보보안 관제 요원 양성", "관제 실습을 합니다.", None),
    "security_short": ("네트워크 보안 기초", "방화벽을 설정합니다.", None),
    "security_en": ("Cyber Security Fundamentals", "침해 대응을 익힙니다.", None),
    "cloud_ko": ("클라우드 인프라 엔지니어", "가상 서버를 운영합니다.", None),
    "cloud_en": ("AWS Cloud 아키텍트 과정", "클라우드 설계를 실습합니다.", None),
    "devops": ("쿠버네티스 운영 실무", "클라우드 네이티브 배포를 합니다.", None),
    "cloud_typo": ("클라우도 입문 특강", "입문자를 위한 특강입니다.", None),
    "uxui": ("UX/UI 디자인 실무", "사용자 조사를 합니다.", None),
    "uiux": ("UI/UX 디자이너 취업반", "프로토타입을 만듭니다.", None),
    "coding": ("코딩 첫걸음", "블록으로 시작하는 기초입니다.", None),
    "programming": ("프로그래밍 입문 교실", "알고리즘 기초를 다룹니다.", None),
    "exact": ("데이터 분석", "엑셀과 통계 기초를 배웁니다.", None),
    "analysis_long": ("데이터 분석 전문가 과정", "분석 보고서를 씁니다.", None),
    "chain_title": ("블록체인 개발 입문", "스마트 컨트랙트 기초를 배웁니다.", None),
    "chain_body": ("핀테크 서비스 실무", "블록체인 기반 결제를 다룹니다. 블록체인 지갑과 블록체인 정산까지.", None),
    "accounting": ("전산회계 1급 실무", "전표 처리를 익힙니다.", None),
}


@dataclass
class World:
    runs: dict[str, Run]  # one run per course key, plus the extra ones below
    courses: dict[str, int]
    today: date  # the day the catalog was built on, which its dates are relative to


def _build(catalog: Catalog) -> World:
    hanbit = catalog.provider("한빛 디지털아카데미")
    busan = catalog.provider("부산 코딩스쿨", region_code="26110")
    suwon = catalog.provider("수원 IT교육원", region_code="41111")
    courses, runs = {}, {}
    for n, (key, (title, contents, keywords)) in enumerate(COURSES.items()):
        provider = {"accounting": busan, "js": busan, "python": suwon}.get(key, hanbit)
        ncs = "02030201" if key == "accounting" else "20010202"
        course = catalog.course(
            title, provider=provider, contents=contents, keywords=keywords, ncs_code=ncs, certificate=None
        )
        courses[key] = course.id
        runs[key] = catalog.run(course, start=catalog.today + timedelta(days=20 + n), fee=2_000_000 + 10_000 * n)
    # Variety for filters, facets and sorting (everything else: 서울 강남구, KDT, classroom, weekday).
    java = runs["java"]
    java.fee, java.employment_rate_3m, java.satisfaction = 5_000_000, 80.0, 90.0
    js = runs["js"]
    js.region_code, js.programme_id, js.mode, js.weekend = "26110", _programme("C0061"), "remote", "weekend"
    js.fee, js.general_self_pay, js.start_date = 1_000_000, 280_000, catalog.today + timedelta(days=75)
    js.end_date = js.start_date + timedelta(days=60)
    python = runs["python"]
    python.region_code, python.programme_id, python.mode, python.weekend = (
        "41111",
        _programme("MSIT-SWA"),
        "blended",
        "mixed",
    )
    python.fee, python.employment_rate_3m, python.satisfaction = 3_000_000, 60.0, 95.0
    accounting = runs["accounting"]
    accounting.region_code, accounting.programme_id, accounting.weekend = "26110", _programme("C0061"), "weekend"
    accounting.fee, accounting.capacity, accounting.source_enrolled, accounting.local_enrolled = 800_000, 20, 20, 0
    runs["cloud_en"].programme_id = None  # price unknown
    db.session.commit()
    course_of = {key: db.session.get(type(runs["java"].course), cid) for key, cid in courses.items()}
    runs["java_past"] = catalog.run(course_of["java"], start=catalog.today - timedelta(days=200), days=30)
    runs["python_dropped"] = catalog.run(course_of["python"], not_seen_since=catalog.today - timedelta(days=3))
    runs["java_second"] = catalog.run(course_of["java"], start=catalog.today + timedelta(days=120))
    return World(runs, courses, catalog.today)


def _programme(code: str) -> int:
    return db.session.scalar(select(Programme.id).where(Programme.code == code))


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def world(request, tmp_path_factory):
    yield from indexed_catalog(request, tmp_path_factory, "search-query", _build, backend=request.param)


def ids(world: World, keys) -> set[int]:
    return {world.runs[k].id for k in keys}


def found(**params) -> list[int]:
    result = search(SearchParams(per_page=100, **{"include_closed": True, **params}))
    assert result.total == len(result.items)
    return [hit.run_id for hit in result.items]


def keys_of(world: World, run_ids) -> list[str]:
    by_id = {run.id: key for key, run in world.runs.items()}
    return [by_id[i] for i in run_ids]


# -- Korean analysis at work ---------------------------------------------------------------------------


def test_a_word_inside_a_compound_is_found(world):
    assert world.runs["webdev"].id in found(q="개발")  # 웹개발자 holds 개발


def test_spacing_does_not_matter(world):
    expected = ids(world, ["bigdata_spaced", "bigdata", "bigdata_en"])
    assert set(found(q="빅데이터")) == set(found(q="빅 데이터")) == expected
    assert world.runs["webdev"].id in found(q="웹 개발자")


def test_english_is_case_folded_and_stemmed(world):
    assert set(found(q="PYTHON")) == set(found(q="python")) >= ids(world, ["python", "python_en"])
    assert world.runs["python_en"].id in found(q="programs")  # Programming → program ← programs


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("보안", ["security_ko", "security_short", "security_en"]),
        ("회계", ["accounting"]),
        ("코딩", ["coding", "programming", "python_en", "js", "accounting"]),  # Programming; 부산 코딩스쿨's courses
    ],
)
def test_two_syllable_queries_work(world, q, expected):
    assert set(found(q=q)) == ids(world, expected)


# -- synonyms, both ways ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("queries", "expected"),
    [
        (["파이썬", "Python", "python"], ["python", "python_web", "python_auto", "python_en"]),
        (["인공지능", "AI"], ["ai_ko", "ai_en"]),
        (["자바스크립트", "JavaScript", "JS"], ["js", "js_en"]),
        (["빅데이터", "Big Data", "bigdata"], ["bigdata_spaced", "bigdata", "bigdata_en"]),
        (["코딩", "프로그래밍"], ["coding", "programming"]),
        (["정보보안", "보안", "Security"], ["security_ko", "security_short", "security_en"]),
        (["UX/UI", "UI/UX", "ui ux"], ["uxui", "uiux"]),
    ],
)
def test_each_synonym_family_finds_every_spelling(world, queries, expected):
    for q in queries:
        assert ids(world, expected) <= set(found(q=q)), q


def test_cloud_family_both_ways(world):
    korean, english = set(found(q="클라우드")), set(found(q="Cloud"))
    assert ids(world, ["cloud_ko", "cloud_en"]) <= korean
    assert ids(world, ["cloud_ko", "cloud_en"]) <= english


# -- precision -------------------------------------------------------------------------------------------


def test_java_ranks_java_courses_above_javascript_ones(world):
    order = keys_of(world, found(q="자바"))
    java = [order.index(k) for k in ("java", "java_second", "java_en")]
    javascript = [order.index(k) for k in ("js", "js_en") if k in order]
    assert max(java) < min(javascript, default=len(order))
    assert "js_en" not in order  # "JavaScript" is not "Java"


def test_an_exact_title_match_ranks_first(world):
    assert keys_of(world, found(q="데이터 분석"))[0] == "exact"
    assert keys_of(world, found(q="자바스크립트 프론트엔드 개발자 과정"))[0] == "js"


def test_the_title_beats_the_contents(world):
    order = keys_of(world, found(q="블록체인"))
    assert order[:2] == ["chain_title", "chain_body"]


# -- forgiveness ----------------------------------------------------------------------------------------------


def test_a_misspelling_that_finds_nothing_is_corrected(world):
    result = search(SearchParams(q="파이선"))
    assert result.corrected_from == "파이선" and result.suggestion == "파이썬"
    assert {h.run_id for h in result.items} == ids(world, ["python", "python_web", "python_auto", "python_en"])
    english = search(SearchParams(q="pyhton"))
    assert english.corrected_from == "pyhton" and english.suggestion.lower() == "python"
    assert english.total == 4


def test_a_rare_spelling_gets_a_did_you_mean(world):
    result = search(SearchParams(q="클라우도"))
    assert result.suggestion == "클라우드" and result.corrected_from is None
    found_ = keys_of(world, [h.run_id for h in result.items])
    assert found_[0] == "cloud_typo"  # what was asked comes first, then what the suggestion finds
    assert set(found_[1:]) == {"cloud_ko", "cloud_en", "devops"}
    assert did_you_mean(result.suggestion) == "혹시 클라우드를 찾으셨나요?"


def test_a_query_that_finds_plenty_gets_no_suggestion(world):
    result = search(SearchParams(q="파이썬"))
    assert result.suggestion is None and result.corrected_from is None


def test_choseong_input_completes(world):
    assert "빅데이터" in [s.text for s in suggest("ㅂㄷㅇㅌ")]
    assert any(s.text.startswith("빅데이터") for s in suggest("빅ㄷ"))


def test_suggest_completes_titles_providers_topics_and_regions(world):
    python = suggest("파이")
    assert python[0].text == "파이썬" and python[0].kind == "topic"
    assert {"파이썬 데이터 분석 입문", "Python"} <= {s.text for s in python}  # the family's other spelling too
    assert ("한빛 디지털아카데미", "provider") in [(s.text, s.kind) for s in suggest("한빛")]
    assert ("경기도 수원시 장안구", "region") in [(s.text, s.kind) for s in suggest("수원")]
    assert ("웹개발자 취업 부트캠프", "course") in [(s.text, s.kind) for s in suggest("취업 부트")]
    assert len(suggest("ㅍ", limit=3)) <= 3
    assert suggest("") == [] and suggest("   ") == []


# -- visibility ------------------------------------------------------------------------------------------------


def test_past_and_dropped_runs_are_hidden_unless_asked_for(world):
    default = set(found(q="자바")) | set(found(q="파이썬"))
    assert world.runs["java_past"].id not in default
    assert world.runs["python_dropped"].id not in default
    everything = set(found(q="자바", include_past=True)) | set(found(q="파이썬", include_past=True))
    assert ids(world, ["java_past", "python_dropped"]) <= everything


# -- filters ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"region": "26"}, {"js", "accounting"}),
        ({"region": "26110"}, {"js", "accounting"}),
        ({"region": "41"}, {"python"}),
        ({"region": "41110"}, {"python"}),  # 수원시 includes its 구 (장안구 41111)
        ({"ncs": "02"}, {"accounting"}),
        ({"ncs": "0203"}, {"accounting"}),
        ({"programme": "C0061"}, {"js", "accounting"}),
        ({"ministry": "MSIT"}, {"python"}),
        ({"mode": "remote"}, {"js"}),
        ({"mode": "blended"}, {"python"}),
        ({"weekend": "weekend"}, {"js", "accounting"}),
        ({"weekend": "mixed"}, {"python"}),
        ({"seats": True, "region": "26"}, {"js"}),  # the accounting run is full
        ({"self_pay_band": "0"}, {"python"}),
        ({"self_pay_band": "unknown"}, {"cloud_en"}),
        ({"fee_band": "lt1m"}, {"accounting"}),
        ({"max_self_pay": 0}, {"python"}),
    ],
)
def test_each_filter(world, params, expected):
    assert set(keys_of(world, found(**params))) == expected


def test_start_date_filters(world):
    js = world.runs["js"]
    assert keys_of(world, found(start_from=js.start_date, start_to=js.start_date)) == ["js"]
    month = js.start_date.strftime("%Y-%m")
    in_month = set(keys_of(world, found(start_month=month)))
    assert "js" in in_month
    assert all(world.runs[k].start_date.strftime("%Y-%m") == month for k in in_month)
    late = set(keys_of(world, found(start_from=world.today + timedelta(days=100))))
    assert late == {"java_second"}


def test_filters_combine_with_the_query(world):
    assert keys_of(world, found(q="자바스크립트", region="26")) == ["js"]
    assert found(q="자바스크립트", region="41") == []


def test_an_unknown_filter_value_matches_nothing(world):
    assert found(programme="NOPE") == [] and found(start_month="2026-13") == [] and found(region="99") == []


# -- facets ----------------------------------------------------------------------------------------------------


def _db_facets(today: date, run_ids: set[int] | None) -> dict[str, Counter]:
    """What the facets should count on `today`, straight from the database (services' visibility rule)."""
    query = services._visible(select(Run), today, False)
    runs = [r for r in db.session.scalars(query) if run_ids is None or r.id in run_ids]
    out: dict[str, Counter] = {
        name: Counter()
        for name in (
            "region",
            "ministry",
            "programme",
            "ncs1",
            "mode",
            "weekend",
            "start_month",
            "seats",
            "fee_band",
            "self_pay_band",
        )
    }
    for run in runs:
        out["region"][(run.region_code or "")[:2]] += 1
        out["programme"][run.programme.code if run.programme else ""] += 1
        out["ministry"][run.programme.ministry.code if run.programme else ""] += 1
        out["ncs1"][(run.ncs_code or "")[:2]] += 1
        out["mode"][run.mode] += 1
        out["weekend"][run.weekend] += 1
        out["start_month"][run.start_date.strftime("%Y-%m")] += 1
        out["seats"]["1"] += run.seats_left > 0
        out["fee_band"][_band(FEE_BANDS, run.fee)] += 1
        split = pricing.split_for_run(run)
        out["self_pay_band"][_band(SELF_PAY_BANDS, split.self_pay if split else None)] += 1
    return {name: Counter({k: v for k, v in counts.items() if k and v}) for name, counts in out.items()}


def _band(bands, amount) -> str:
    for code, _label, low, high in bands:
        if low is None:
            if amount is None:
                return code
        elif amount is not None and amount >= low and (high is None or amount <= high):
            return code
    raise AssertionError(amount)


def _counts(result) -> dict[str, Counter]:
    return {
        name: Counter({v.value: v.count for v in values if v.count})
        for name, values in result.facets.items()
        if name not in ("region_sub", "ncs2")
    }


def test_facet_counts_match_the_database_without_a_query(world, today):
    result = search(SearchParams(include_closed=True))
    assert _counts(result) == _db_facets(today, None)
    assert result.total == sum(_db_facets(today, None)["region"].values())


def test_facet_counts_match_the_database_for_a_query(world, today):
    result = search(SearchParams(q="자바", per_page=100, include_closed=True))
    assert _counts(result) == _db_facets(today, {h.run_id for h in result.items})


def test_a_chosen_facet_keeps_its_siblings_and_others_follow_it(world):
    result = search(SearchParams(region="26", include_closed=True))
    regions = {v.value: v for v in result.facets["region"]}
    assert regions["26"].selected and regions["26"].count == 2 and regions["26"].label == "부산광역시"
    assert regions["11"].count > 0  # the region facet ignores the region filter itself
    assert {v.value: v.count for v in result.facets["programme"]} == {"C0061": 2}  # other facets follow it
    assert [(v.value, v.label, v.count) for v in result.facets["region_sub"]] == [("26110", "중구", 2)]


def test_ncs_facets_have_two_levels(world):
    result = search(SearchParams(ncs="20", include_closed=True))
    assert {v.value for v in result.facets["ncs1"]} == {"20", "02"}
    assert [v.value for v in result.facets["ncs2"]] == ["2001"]
    assert search(SearchParams()).facets["ncs2"] == []


def test_facets_label_their_values(world):
    facets = search(SearchParams()).facets
    assert {v.value: v.label for v in facets["ministry"]}["MSIT"] == "과학기술정보통신부"
    assert {v.value: v.label for v in facets["mode"]}["remote"] == "원격"
    month = world.runs["js"].start_date
    assert {v.value: v.label for v in facets["start_month"]}[
        month.strftime("%Y-%m")
    ] == f"{month.year}년 {month.month}월"
    assert {v.value: v.label for v in facets["self_pay_band"]}["unknown"] == "가격 미확정"


# -- sorting and paging --------------------------------------------------------------------------------------------


def test_sort_by_start_date(world):
    runs = [world.runs[k] for k in keys_of(world, found(sort="start", include_closed=False))]
    assert [r.start_date for r in runs] == sorted(r.start_date for r in runs)


def test_sort_by_employment_rate_and_satisfaction_unknown_last(world):
    assert keys_of(world, found(sort="employment"))[:2] == ["java", "python"]
    assert keys_of(world, found(sort="score"))[:2] == ["python", "java"]


def test_sort_by_price_unknown_last(world):
    order = keys_of(world, found(sort="price", include_closed=False))
    assert order[0] == "python"  # free academy: self-pay 0
    assert order[-1] == "cloud_en"  # no programme: price unknown


def test_relevance_without_a_query_is_by_start_date(world):
    assert found() == found(sort="start")


def test_pages_cover_every_result_once(world):
    everything = found(sort="start", include_closed=False)
    pages = [search(SearchParams(sort="start", page=n, per_page=7)) for n in range(1, 7)]
    assert [h.run_id for p in pages for h in p.items] == everything
    assert all(p.total == len(everything) for p in pages)
    assert search(SearchParams(page=99)).items == []
    assert search(SearchParams(per_page=1000)).per_page == 100


# -- result lines ------------------------------------------------------------------------------------------------


def test_a_hit_carries_its_values_and_highlights(world):
    result = search(SearchParams(q="판다스"))
    (hit,) = result.items
    run = world.runs["python"]
    assert (hit.run_id, hit.course_id, hit.title) == (run.id, run.course_id, "파이썬 데이터 분석 입문")
    assert (hit.region, hit.region_name) == ("41111", "경기도 수원시 장안구")
    assert (hit.programme, hit.ministry, hit.ministry_name) == ("MSIT-SWA", "MSIT", "과학기술정보통신부")
    assert (hit.fee, hit.self_pay, hit.seats_left) == (3_000_000, 0, 18)
    assert (hit.mode, hit.weekend, hit.employment_rate, hit.satisfaction) == ("blended", "mixed", 60.0, 95.0)
    assert hit.source_ids and all(s.startswith("hrdnet:AIG") for s in hit.source_ids)
    assert "<mark>판다스</mark>" in hit.snippet_html
    assert result.took_ms >= 0


def test_highlighting_escapes_html(world):
    (hit, *_rest) = search(SearchParams(q="UX/UI")).items
    assert "<mark>UX</mark>/<mark>UI</mark>" in hit.title_html or "<mark>UI</mark>/<mark>UX</mark>" in hit.title_html
    assert "<script" not in hit.title_html


@pytest.mark.parametrize(("q", "sort"), [("", "start"), ("자바", "relevance"), ("개발", "price"), ("", "deadline")])
def test_one_entry_per_course_follows_the_run_order_page_by_page(world, q, sort):
    runs = search(SearchParams(q=q, sort=sort, per_page=100)).items
    courses = list(dict.fromkeys(hit.course_id for hit in runs))  # each course at its first run
    pages = [
        search(SearchParams(q=q, sort=sort, per_page=2, page=n, by_course=True))
        for n in range(1, len(courses) // 2 + 2)
    ]
    assert [c.hit.course_id for p in pages for c in p.courses] == courses
    assert {p.course_total for p in pages} == {len(courses)}
    for course in (c for p in pages for c in p.courses):
        in_order = [hit.run_id for hit in runs if hit.course_id == course.hit.course_id]
        assert [chip.run_id for chip in course.runs] == in_order[:5] and course.more_runs == max(len(in_order) - 5, 0)
        assert course.runs[0].run_id == course.hit.run_id
