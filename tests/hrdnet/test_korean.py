"""Particles after a word (hrdnet.korean): the one rule the search page, the index's Kiwi checks and the demo
catalog share."""

from __future__ import annotations

import pytest

from hrdnet import korean


@pytest.mark.parametrize(
    ("word", "pair", "expected"),
    [
        ("파이썬", ("을", "를"), "파이썬을"),
        ("클라우드", ("을", "를"), "클라우드를"),
        ("데이터", ("과", "와"), "데이터와"),
        ("빅데이터 분석", ("과", "와"), "빅데이터 분석과"),
        ("부산", ("으로", "로"), "부산으로"),
        ("서울", ("으로", "로"), "서울로"),  # a final ㄹ takes 로, like a vowel
        ("웹 개발", ("으로", "로"), "웹 개발로"),
        ("서울", ("을", "를"), "서울을"),  # … but only (으)로 does
        ("python", ("을", "를"), "python을(를)"),  # what a user typed: both forms, never a guess
        ("C++", ("으로", "로"), "C++으로(로)"),
        ("", ("을", "를"), "을(를)"),
    ],
)
def test_the_particle_follows_how_the_word_ends(word, pair, expected):
    assert korean.with_particle(word, *pair) == expected


@pytest.mark.parametrize(
    ("word", "pair", "expected"),
    [
        ("Python", ("을", "를"), "을"),
        ("React", ("을", "를"), "를"),
        ("SQL", ("으로", "로"), "로"),  # 에스큐엘로
        ("ML", ("을", "를"), "을"),
        ("Web3", ("과", "와"), "와"),
        ("파이썬(Python)", ("을", "를"), "을"),  # the gloss in parentheses is not read
        ("AI(인공지능)", ("과", "와"), "와"),
    ],
)
def test_spoken_reads_latin_names_and_skips_a_gloss(word, pair, expected):
    assert korean.particle(word, *pair, spoken=True) == expected
