"""Korean particles that follow a word: 파이썬을 but 자바를, 서울로 but 부산으로.

A particle's form depends on how the word it follows ends when read aloud: after a final consonant (받침)
을, 과, 이, 은, 으로; after a vowel 를, 와, 가, 는, 로; and (으)로 treats a final ㄹ like a vowel (서울로).
The one rule for the whole site: search messages ("혹시 파이썬을 찾으셨나요?"), the search index's Kiwi
checks (search.analysis) and the demo catalog's titles (courses.demo). It lives in the shell so that both
the catalog and search may use it (imports go `search → courses → hrdnet`).

When the ending cannot be told (a Latin word, a number, a symbol), both forms are written, the way Korean
forms do: 을(를). `spoken=True` guesses instead, as a reader would say the word: a trailing gloss in
parentheses is not read (인공지능(AI)을), a last Latin letter l reads as ㄹ and m or n as a consonant (SQL로,
Python을), and any other letter, digit or sign as a vowel (React를, AWS를, C++를). Good enough for a fixed list
of names someone has checked (the demo generator); for what a user typed, keep the default: both forms.
"""

from __future__ import annotations

_SYLLABLE_FIRST, _SYLLABLES = 0xAC00, 11172
_FINALS = 28  # final-consonant slots per syllable; slot 0 is "no final consonant"
_RIEUL = 8  # the slot of ㄹ

VOWEL, CONSONANT, RIEUL = "vowel", "consonant", "rieul"


def final_sound(word: str, *, spoken: bool = False) -> str | None:
    """How the word ends: VOWEL, CONSONANT, RIEUL (a final ㄹ), or None when that cannot be told."""
    if spoken:
        word = word.split("(")[0].strip() or word
    if not word:
        return None
    last = word[-1]
    code = ord(last) - _SYLLABLE_FIRST
    if 0 <= code < _SYLLABLES:
        final = code % _FINALS
        return VOWEL if final == 0 else RIEUL if final == _RIEUL else CONSONANT
    if spoken:
        return RIEUL if last in "lL" else CONSONANT if last in "mnMN" else VOWEL
    return None


def particle(word: str, after_consonant: str, after_vowel: str, *, spoken: bool = False) -> str:
    """Only the particle: particle("클라우드", "을", "를") → "를"; "을(를)" when the ending cannot be told."""
    sound = final_sound(word, spoken=spoken)
    if sound is None:
        return f"{after_consonant}({after_vowel})"
    if sound == VOWEL or (sound == RIEUL and after_consonant == "으로"):
        return after_vowel
    return after_consonant


def with_particle(word: str, after_consonant: str, after_vowel: str, *, spoken: bool = False) -> str:
    """The word and its particle: with_particle("파이썬", "을", "를") → "파이썬을"."""
    return word + particle(word, after_consonant, after_vowel, spoken=spoken)
