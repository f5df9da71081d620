"""Query expansion and ranking rules on one small catalog indexed once for the module (docs/search.md, "Ranking").

Places in addresses, schedule and mode words, narrower and related subjects, spaced compounds found with their
words apart, one idf for every spelling of a subject, and the relaxed query when few courses have every word.
Built like tests/search/test_query.py: the `Catalog` factory in a database of its own, the real indexer
(tests/support/search_index.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import current_app

from search import ranking
from search.analysis import synonym_key
from search.engine import search
from search.interfaces import SearchParams
from search.query import RELAX_BELOW
from tests.support.catalog import Catalog
from tests.support.search_index import SEARCH_BACKENDS, indexed_catalog

# key: (title, contents, provider key)
COURSES = {
    "ai_pangyo": ("AI 서비스 개발자 양성과정", "모델을 학습시키고 서비스로 배포합니다.", "pangyo"),
    "ai_gangnam": ("인공지능 서비스 개발자 과정", "데이터 수집부터 모델 배포까지 실습합니다.", "gangnam"),
    "ai_seocho": ("AI 융합 개발자 과정", "제조 데이터에 모델을 적용합니다.", "seocho"),
    "ml": ("머신러닝 엔지니어 실무", "예측 모델을 만들고 실험을 관리합니다.", "gangnam"),
    "ai_mention": ("사무 자동화 실무", "문서 작성에 인공지능 도구를 씁니다.", "gangnam"),
    "javascript": ("모던 자바스크립트 완전정복", "클래스와 모듈, 비동기 문법을 익힙니다.", "gangnam"),
    "react": ("React 프론트엔드 개발자 부트캠프", "컴포넌트와 상태 관리를 익힙니다.", "seocho"),
    "web_mention": ("파이썬 업무 자동화", "엑셀과 웹 업무를 스크립트로 자동화합니다.", "gangnam"),
    "web_dev": ("웹개발 입문", "HTML과 CSS로 화면을 만듭니다.", "gangnam"),
    "web_apart": ("Next.js 기반 웹 서비스 개발 실무", "서버 사이드 렌더링을 실습합니다.", "seocho"),
    "java_script": ("자바 서버 프로그래밍", "쉘 스크립트로 배포를 자동화합니다.", "busan"),
    "chatgpt": ("ChatGPT 업무 활용", "보고서 초안을 맡기는 법을 익힙니다.", "gangnam"),
    "genai": ("생성형AI 서비스 개발자 부트캠프", "API로 업무용 에이전트를 만듭니다.", "seocho"),
    "old_spelling": ("데이타 분석 첫걸음", "엑셀로 표를 정리합니다.", "busan"),
    "factory": ("제조 설비 데이터 수집 실무", "설비 센서 데이터를 모읍니다.", "changwon"),
    "python_weekend": ("파이썬 프로그래밍 기초", "조건문과 반복문을 배웁니다.", "busan"),
    "python_remote": ("파이썬 데이터 처리", "판다스를 온라인으로 배웁니다.", "gangnam"),
    "java_basics": ("자바 프로그래밍 실무", "객체지향 설계를 배웁니다.", "gangnam"),
    "intro": ("엑셀 입문", "함수와 피벗을 배웁니다.", "gangnam"),
}

PROVIDERS = {  # key: (name, region code, address)
    "pangyo": ("넥스트브레인랩", "41135", "경기도 성남시 분당구 판교역로 235, 7층"),
    "gangnam": ("한빛 디지털아카데미", "11680", "서울특별시 강남구 테헤란로 1"),
    "seocho": ("위드코드", "11650", "서울특별시 서초구 강남대로 311, 드림플러스 강남"),
    "busan": ("바다코딩", "26230", "부산광역시 부산진구 서면로 39"),
    "changwon": ("경남스마트제조혁신센터", "48123", "경상남도 창원시 성산구 중앙대로 257"),
}


@dataclass
class World:
    runs: dict[str, int]  # run id per course key (and "python_weekday")
    courses: dict[str, int]


def _build(catalog: Catalog) -> World:
    providers = {
        key: catalog.provider(name, region_code=region, address=address)
        for key, (name, region, address) in PROVIDERS.items()
    }
    runs, courses = {}, {}
    for n, (key, (title, contents, provider)) in enumerate(COURSES.items()):
        course = catalog.course(title, provider=providers[provider], contents=contents, certificate=None)
        courses[key] = course.id
        values = {"region_code": PROVIDERS[provider][1]}
        if key == "python_weekend":
            values["weekend"] = "weekend"
        if key == "python_remote":
            values["mode"] = "remote"
        runs[key] = catalog.run(course, start=catalog.today + timedelta(days=20 + n), **values).id
        if key == "python_weekend":  # the same course also has a weekday run
            runs["python_weekday"] = catalog.run(
                course, start=catalog.today + timedelta(days=60), region_code=PROVIDERS[provider][1]
            ).id
    return World(runs, courses)


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def world(request, tmp_path_factory):
    yield from indexed_catalog(request, tmp_path_factory, "search-ranking", _build, backend=request.param)


def ranked(world: World, q: str, **params) -> list[str]:
    """Course keys in the order of their first run."""
    by_id = {cid: key for key, cid in world.courses.items()}
    out: list[str] = []
    for hit in search(SearchParams(q=q, per_page=100, **params)).items:
        key = by_id[hit.course_id]
        if key not in out:
            out.append(key)
    return out


def run_keys(world: World, q: str) -> list[str]:
    by_id = {rid: key for key, rid in world.runs.items()}
    return [by_id[hit.run_id] for hit in search(SearchParams(q=q, per_page=100)).items]


# -- places, schedule and mode -------------------------------------------------------------------------


def test_a_place_that_is_no_region_is_found_in_providers_addresses(world):
    """판교 is no 시·군·구: it is in the address (판교역로) of the provider, whose name does not say it."""
    assert ranked(world, "판교") == ["ai_pangyo"]
    assert ranked(world, "판교 AI")[0] == "ai_pangyo"
    assert set(ranked(world, "서면")) == {key for key, value in COURSES.items() if value[2] == "busan"}  # 서면로


def test_a_region_word_means_the_region_not_an_address_that_mentions_it(world):
    """강남 is 강남구: the provider in 서초구 on 강남대로 is not in it."""
    found = ranked(world, "강남")
    assert found and all(COURSES[key][2] == "gangnam" for key in found)
    assert set(ranked(world, "강남 AI")[:1]) == {"ai_gangnam"}


def test_a_region_word_ranks_the_region_first(world):
    found = ranked(world, "부산 파이썬")
    assert found[0] == "python_weekend"
    assert "python_remote" not in found[:1]


def test_a_schedule_word_matches_weekend_runs_whatever_the_title_says(world):
    assert run_keys(world, "주말 파이썬")[0] == "python_weekend"  # its weekend run, not its weekday run
    assert "python_weekday" not in run_keys(world, "주말 파이썬")[:2]
    assert ranked(world, "주말반")[:1] == ["python_weekend"]


def test_a_mode_word_matches_remote_runs(world):
    assert ranked(world, "원격 파이썬")[0] == "python_remote"
    assert ranked(world, "온라인 파이썬")[0] == "python_remote"  # 온라인 = 원격 (synonyms.txt)


# -- expansions -------------------------------------------------------------------------------------------


def test_narrower_subjects_count_less_than_the_subject_but_more_than_a_passing_mention(world):
    found = ranked(world, "인공지능")
    assert {"ai_pangyo", "ai_gangnam", "ai_seocho", "ml", "ai_mention"} <= set(found)
    assert found.index("ml") > max(found.index(k) for k in ("ai_pangyo", "ai_gangnam", "ai_seocho"))
    assert found.index("ml") < found.index("ai_mention"), "머신러닝 in a title beats 인공지능 in the contents"


def test_narrower_subjects_reach_any_depth(world):
    (group,) = ranking.parse_query("인공지능").groups
    spelled = {synonym_key(a.text): a.weight for a in group.alternatives}
    assert spelled["딥러닝"] == ranking.NARROWER_SHARE  # 인공지능 > 머신러닝 > 딥러닝
    assert spelled["프롬프트엔지니어링"] == ranking.NARROWER_SHARE  # 인공지능 > 생성형AI > 프롬프트 엔지니어링
    assert "인공지능" not in {synonym_key(a.text) for a in ranking.parse_query("딥러닝").groups[0].alternatives}


def test_web_finds_javascript_and_front_end_courses(world):
    found = ranked(world, "웹")
    assert {"javascript", "react", "web_dev", "web_apart"} <= set(found)
    assert found.index("react") < found.index("web_mention"), "프론트엔드 in a title beats 웹 in the contents"
    assert "java_script" not in found


def test_javascript_finds_its_frameworks_but_never_java(world):
    found = ranked(world, "자바스크립트")
    assert found[0] == "javascript"
    assert "react" in found and "web_apart" in found  # React; Next.js
    assert "java_script" not in found and "java_basics" not in found
    assert "java_script" not in ranked(world, "자바 스크립트"), "자바 스크립트 is one word, never 자바 … 스크립트"


def test_a_related_subject_comes_after_the_subject(world):
    found = ranked(world, "챗GPT")
    assert found[:2] == ["chatgpt", "genai"]
    (group,) = ranking.parse_query("LLM").groups
    assert {synonym_key(a.text): a.weight for a in group.alternatives}["생성형ai"] == ranking.RELATED_SHARE


def test_a_spaced_compound_also_finds_its_words_apart(world):
    found = ranked(world, "웹 개발")
    assert found[0] == "web_dev"  # 웹개발, written together
    assert "web_apart" in found  # 웹 서비스 개발
    assert ranked(world, "웹개발") == found


def test_the_old_spelling_of_data_is_data(world):
    assert "old_spelling" in ranked(world, "데이터 분석")
    assert "old_spelling" in ranked(world, "data analysis")


def test_smart_manufacturing_is_smart_factory(world):
    assert ranked(world, "스마트팩토리") == ["factory"]  # 경남스마트제조혁신센터


# -- spellings and relaxing ----------------------------------------------------------------------------


def test_every_spelling_of_a_subject_has_the_subject_s_rarity(world):
    """AI is written more often than 인공지능, but a course does not count more for the rarer spelling: every
    spelling of the family is scored with the idf of the courses any of them finds."""
    from search.index import versions

    if current_app.config["SEARCH_BACKEND"] != "whoosh":
        pytest.skip("reads the Whoosh index's own rarity; search.pg.query.Planner.family_rarity is the same rule")

    with versions.using() as version:
        (group,) = ranking.parse_query("AI").groups
        rarity = ranking.family_rarity(version, group, {})
        # AI: ai_pangyo, ai_seocho, genai (생성형AI); 인공지능: ai_gangnam, ai_mention
        courses, subject = len(COURSES), 5
        assert rarity == pytest.approx(math.log(1 + (courses - subject + 0.5) / (subject + 0.5)), rel=1e-6)
        (single,) = ranking.parse_query("판교").groups
        assert ranking.family_rarity(version, single, {}) is None  # one spelling: its own idf


def test_a_query_whose_words_few_courses_share_also_shows_all_words_but_one(world):
    found = ranked(world, "자바 입문")  # no course has both
    assert {"java_basics", "java_script", "intro"} <= set(found)
    both = ranked(world, "엑셀 입문")
    assert both[0] == "intro", "the course with every word comes first"
    assert len(ranked(world, "zzzz 입문")) >= 1
    assert RELAX_BELOW >= 10


def test_a_single_word_is_never_relaxed(world):
    assert ranked(world, "판교") == ["ai_pangyo"]


def test_a_word_mixing_scripts_finds_the_synonyms_of_each_part(world):
    assert [g.words for g in ranking.parse_query("UXUI디자인").groups] == [("uxui",), ("디자인",)]
    assert [g.words for g in ranking.parse_query("Python으로").groups] == [("python",)]  # the particle goes
    # every AI developer course, 인공지능 … 개발자 and 생성형AI … 개발자 too
    assert set(ranked(world, "AI개발자")[:4]) == {"ai_pangyo", "ai_gangnam", "ai_seocho", "genai"}
    assert ranked(world, "Python으로") == ranked(world, "파이썬")
