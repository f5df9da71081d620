"""Korean analysis for the index and for queries (search.analysis), and query parsing (search.query)."""

from __future__ import annotations

import pytest

from search import analysis
from search.query import did_you_mean
from search.ranking import parse_query

SYNONYMS = analysis.synonyms()


# -- index side: Kiwi morphemes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "absent"),
    [
        ("자바스크립트 프론트엔드", {"자바스크립트", "프론트엔드"}, {"자바"}),
        ("자바 스크립트 기초", {"자바스크립트", "기초"}, {"자바"}),  # spaced spelling of a known compound
        ("자바로 배우는 백엔드", {"자바", "백엔드"}, set()),  # Kiwi alone reads 자/IC 바로/MAG
        ("웹개발자 양성과정", {"웹", "개발자", "웹개발자", "양성", "과정"}, set()),  # compound and its parts
        ("인공지능개발자 양성", {"인공지능", "개발자", "인공지능개발자"}, {"인공", "지능"}),  # synonym compound whole
        ("빅 데이터 분석", {"빅데이터", "분석"}, {"빅"}),
        ("도커와 쿠버네티스", {"도커", "쿠버네티스"}, set()),
        ("React.js와 Python Programming", {"react", "js", "python", "program"}, set()),  # English stemmed
        ("UX/UI 디자인, C++ 그리고 C#", {"ux", "ui", "디자인", "c++", "c#"}, set()),
    ],
)
def test_morphemes_keep_words_compounds_and_english_stems(text, expected, absent):
    found = set(analysis.morphemes(text))
    assert expected <= found
    assert not (absent & found)


def test_bigrams_ignore_spacing_and_leave_english_out():
    assert analysis.bigrams("빅 데이터") == analysis.bigrams("빅데이터") == ["빅데", "데이", "이터"]
    assert analysis.bigrams("웹개발자") == ["웹개", "개발", "발자"]
    assert analysis.bigrams("Java 웹") == []  # a single syllable has no bigram; English is not n-grammed
    assert analysis.bigrams("자바 (Java) 기초") == ["자바", "기초"]  # no bigram across punctuation


def test_analyse_many_never_makes_a_bigram_across_two_texts():
    analysed = analysis.analyse_many(["파이썬", "기초"])
    assert analysed.gram.split() == ["파이", "이썬", "기초"]


def test_english_is_case_folded_and_stemmed():
    assert analysis.latin_terms("Programming PROGRAMS the Courses") == ["program", "program", "cours"]
    assert analysis.latin_terms("AWS JS C++") == ["aws", "js", "c++"]  # short words are not stemmed


# -- jamo, 초성, edit distance --------------------------------------------------------------------------


def test_choseong_and_jamo():
    assert analysis.choseong("빅데이터 분석") == "ㅂㄷㅇㅌ ㅂㅅ"
    assert analysis.jamo("파이썬") == "ㅍㅏㅇㅣㅆㅓㄴ"
    assert analysis.synonym_key("ㅂㄷㅇㅌ") == "ㅂㄷㅇㅌ"  # NFKC would turn them into conjoining jamo


def test_edit_distance_sees_a_swap_and_a_near_jamo_as_one_step():
    assert analysis.damerau("pyhton", "python") == 1
    assert analysis.damerau(analysis.jamo("파이선"), analysis.jamo("파이썬")) == 1
    assert analysis.damerau("java", "javascript", limit=2) == 3  # capped at limit + 1


# -- query side, without Kiwi ---------------------------------------------------------------------------


def test_query_words_are_split_on_the_vocabulary_and_lose_their_particles():
    vocabulary = {"웹", "개발자", "파이썬", "데이터"}
    known = vocabulary.__contains__
    assert analysis.segment("웹개발자", known) == ["웹", "개발자"]
    assert analysis.segment("알수없음", known) is None
    assert analysis.strip_particle("파이썬으로", known) == "파이썬"
    assert analysis.strip_particle("데이터를", known) == "데이터"
    assert analysis.strip_particle("데이", known) == "데이"  # not a particle when nothing known is left


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("파이썬", "혹시 파이썬을 찾으셨나요?"),
        ("자바", "혹시 자바를 찾으셨나요?"),
        ("Python", "혹시 Python을(를) 찾으셨나요?"),
    ],
)
def test_did_you_mean_picks_the_particle(word, expected):
    assert did_you_mean(word) == expected


# -- the synonym file -----------------------------------------------------------------------------------


def test_the_synonym_file_has_at_least_sixty_families_including_the_required_ones():
    assert len(SYNONYMS.families) >= 60
    for pair in (
        ("파이썬", "python"),
        ("인공지능", "ai"),
        ("자바스크립트", "javascript", "js"),
        ("빅데이터", "bigdata"),
        ("코딩", "프로그래밍"),
        ("클라우드", "cloud"),
        ("정보보안", "보안", "security"),
        ("uxui", "uiux"),
    ):
        families = [set(SYNONYMS.by_key[key]) for key in pair]
        assert set.intersection(*families), pair


def test_java_and_javascript_never_share_a_family():
    assert not set(SYNONYMS.by_key["자바"]) & set(SYNONYMS.by_key["자바스크립트"])
    assert not set(SYNONYMS.by_key["java"]) & set(SYNONYMS.by_key["javascript"])


@pytest.mark.parametrize("family", SYNONYMS.families, ids=lambda family: family[0])
def test_every_member_of_a_family_expands_to_every_other_member(family):
    keys = {analysis.synonym_key(member) for member in family}
    for member in family:
        (group,) = parse_query(member).groups
        assert {analysis.synonym_key(a.text) for a in group.alternatives} >= keys, member


def test_a_family_is_found_inside_a_longer_query_and_with_a_particle():
    groups = parse_query("빅 데이터를 활용한 파이썬").groups
    assert [g.words for g in groups] == [("빅", "데이터를"), ("활용한",), ("파이썬",)]
    assert {a.text for a in groups[0].alternatives} >= {"빅데이터", "Big Data"}
    assert {a.text for a in groups[2].alternatives} == {"파이썬", "Python"}
