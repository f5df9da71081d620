"""초성 queries: "ㅍㅇㅆ" + Enter searches the words it abbreviates (파이썬), never the whole catalogue.

A query word written only in initial consonants (compatibility jamo ㄱ…ㅎ, two or more) is replaced by the
index's commonest morpheme with exactly those initials; failing that, by the fewest such morphemes that
spell it in a row (ㄷㅇㅌㅂㅅ → 데이터 분석). A word nothing spells stays as typed and finds nothing, which
the page says. The table (initials → commonest morpheme) is built once per index version from the morpheme
vocabulary, so a query costs a few dictionary lookups.
"""

from __future__ import annotations

from collections.abc import Mapping

from search import analysis
from search.index.strings import StringMap
from search.index.versions import Version

MAX_PIECES = 4  # a 초성 word split into more known words than this is not a guess worth making


def is_initials(word: str) -> bool:
    """A word of two or more initial consonants and nothing else (ㅍㅇㅆ, not 빅ㄷ nor ㅋ)."""
    return len(word) >= 2 and all(analysis.is_choseong(ch) for ch in word)


def _table(version: Version) -> StringMap:
    best: dict[str, tuple[int, str]] = {}
    for word, count in version.vocabulary().items():
        if len(word) < 2 or not analysis.is_hangul_word(word):
            continue
        key = analysis.choseong(word)
        if count > best.get(key, (0, ""))[0]:
            best[key] = (count, word)
    return StringMap({key: word for key, (_count, word) in best.items()})  # compact: every worker keeps it


def _spell(initials: str, table: Mapping[str, str]) -> list[str] | None:
    """The words whose initials spell `initials`: one word if possible, else the fewest pieces."""
    if initials in table:
        return [table[initials]]
    fewest: dict[int, list[str]] = {0: []}  # position -> the fewest words covering initials[:position]
    for end in range(2, len(initials) + 1):
        for start in range(0, end - 1):
            if start in fewest and initials[start:end] in table:
                candidate = fewest[start] + [table[initials[start:end]]]
                if end not in fewest or len(candidate) < len(fewest[end]):
                    fewest[end] = candidate
    found = fewest.get(len(initials))
    return found if found and len(found) <= MAX_PIECES else None


def expand(version: Version, q: str) -> str | None:
    """The query with its 초성 words spelled out ("ㅍㅇㅆ 부산" → "파이썬 부산"), or None when it has none
    that the index can spell."""
    words = q.split()
    if not any(is_initials(word) for word in words):
        return None
    table = version.derived("initials", _table)
    out, changed = [], False
    for word in words:
        spelled = _spell(word, table) if is_initials(word) else None
        if spelled:
            out.extend(spelled)
            changed = True
        else:
            out.append(word)
    return " ".join(out) if changed else None
