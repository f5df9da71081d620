"""The compact tables a web worker keeps over the whole catalogue answer as the dicts and lists they replace."""

from collections import Counter

from search import analysis
from search.completion import SuggestIndex, complete
from search.index.strings import StringMap, Strings, Vocabulary
from search.spelling import Speller

# Code points of every UTF-8 length (ASCII, Latin-1, Hangul, 초성, an emoji), so byte order must be code-point order.
WORDS = ["java", "é", "자바", "자바스크립트", "파이썬", "ㅍㅇㅆ", "\U0001f600", "", "z", "가"]


def test_strings_hold_any_text_in_order():
    table = Strings(WORDS)
    assert list(table) == WORDS
    assert table[-1] == WORDS[-1] and table[2:4] == WORDS[2:4]
    ordered = Strings(sorted(WORDS))
    raw = [ordered.encoded[i] for i in range(len(ordered))]
    assert raw == sorted(raw)  # sorted as str is sorted as UTF-8 bytes: bisect needs no decoding


def test_a_vocabulary_answers_as_the_counter_it_replaces():
    counts = Counter({word: n + 1 for n, word in enumerate(WORDS) if word})
    counts["없음"] = 0  # a Counter keeps a zero; get() answers 0 either way
    vocabulary = Vocabulary(counts)
    for word in [*WORDS, "자", "자바스", "파이썬으로", "none", "없음"]:
        assert vocabulary.get(word, 0) == counts.get(word, 0)
        assert (word in vocabulary) == (counts.get(word, 0) > 0)
    assert dict(vocabulary.items()) == {w: n for w, n in counts.items() if n}
    other = Vocabulary(Counter({"자바": 5, "코틀린": 2}))
    merged = Vocabulary.merged([vocabulary, other])
    assert dict(merged.items()) == dict((+counts) + Counter({"자바": 5, "코틀린": 2}))


def test_a_string_map_answers_as_a_dict():
    source = {"ㅍㅇㅆ": "파이썬", "ㄷㅇㅌ": "데이터", "ㅈㅂ": "자바"}
    table = StringMap(source)
    assert dict(table) == source
    assert "ㅈㅂ" in table and "ㅈ" not in table and table.get("ㅂ") is None and table["ㄷㅇㅌ"] == "데이터"


def _reference(entries, key, initials=False):
    """Every entry with a key (its text from one of the first words on) starting with `key`, by brute force."""
    found = set()
    for index, (text, _kind, _weight) in enumerate(entries):
        words = text.split()
        for position in range(min(len(words), 6)):
            entry_key = analysis.synonym_key(" ".join(words[position:]))
            if (analysis.choseong(entry_key) if initials else entry_key).startswith(key):
                found.add(index)
    return found


def test_suggestion_lookups_find_what_a_scan_of_the_entries_finds():
    entries = [
        ("파이썬 데이터 분석", "course", 5),
        ("데이터 분석 입문", "course", 9),
        ("빅데이터 엔지니어", "course", 3),
        ("자바 스프링 백엔드", "course", 4),
        ("자바스크립트 웹 개발", "course", 7),
        ("Python for AI", "course", 2),
        ("그린컴퓨터아카데미", "provider", 11),
        ("파이썬", "topic", 20),
        ("서울 강남구", "region", 30),
    ]
    index = SuggestIndex(entries)
    for key in ("파이", "데이터", "자바", "자바스", "python", "p", "분석", "강남", "없는말", "파이썬데"):
        assert {i for _rank, i in index.lookup(key, want=100)} == _reference(entries, key)
    for key in ("ㅍㅇ", "ㄷㅇㅌ", "ㅈㅂ"):
        assert {i for _rank, i in index.lookup(key, "initials", want=100)} == _reference(entries, key, initials=True)
    # Best first (more upcoming runs), the synonym family's other spellings after (파이 → Python …)
    assert complete(index, "자바", 3) == [("자바스크립트 웹 개발", "course"), ("자바 스프링 백엔드", "course")]
    assert complete(index, "파이", 10) == [
        ("파이썬", "topic"),
        ("파이썬 데이터 분석", "course"),
        ("Python for AI", "course"),
    ]
    assert complete(index, "빅ㄷ", 10) == [("빅데이터 엔지니어", "course")]  # syllables and 초성 mixed


def test_the_speller_keeps_its_words_compactly_and_corrects_as_before():
    speller = Speller({"파이썬": 40, "파이선": 1, "자바스크립트": 12, "python": 9, "security": 3, "ab": 5})
    assert isinstance(speller.words, Strings) and isinstance(speller.forms, Strings)
    assert speller.best("파이선") == "파이썬"  # one letter off: the commoner word
    assert speller.best("pyhton") == "python" and speller.best("secuirty") == "security"
    assert speller.frequency_of("자바스크립트") == 12 and speller.frequency_of("ab") == 0  # too short to correct
    assert speller.frequency_of("없는말") == 0
