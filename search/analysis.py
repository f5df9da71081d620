"""Korean (and English) text analysis for the search index and its queries.

Every text field is indexed twice (docs/search.md):

- **morphemes** — Kiwi's nouns and roots (NNG, NNP, XR, SH), plus the joined form of a compound Kiwi split
  (웹개발자 → 웹, 개발자, 웹개발자), plus English words case-folded and stemmed (Programming → program).
  This field tells 자바 from 자바스크립트 and ranks whole words first.
- **bigrams** — two-syllable windows over every run of Hangul with the spaces inside it removed
  (빅 데이터 → 빅데 데이 이터). A query's bigrams must all occur, so 개발 finds 웹개발자 and 빅데이터 finds
  빅 데이터; English is left out (substrings of English words are noise: java ⊂ javascript).

Kiwi (≈300 MB, ≈1 s to load) is loaded once per process, lazily, and only where text is *indexed* (the
worker, `hrdnet search reindex`). Queries are analysed without it: a query word is looked up in the index's
own morpheme vocabulary and, if absent, split into known morphemes (segment()), with a trailing particle
dropped (strip_particle()); the bigram field covers what the split misses. So a web process never pays for
Kiwi (docs/search.md has the measurements).

The synonym file (search/synonyms.txt) is read here too: its Hangul members written without spaces become
Kiwi user words, and their spaced spellings in the text are joined before analysis (자바 스크립트 →
자바스크립트), so a JavaScript course never carries the morpheme 자바.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from whoosh.lang.porter2 import stem as _porter2

from hrdnet.korean import with_particle

SYNONYMS_FILE = Path(__file__).with_name("synonyms.txt")

HANGUL_RE = re.compile(r"[가-힣]")
_HANGUL_RUN = re.compile(r"[가-힣]+(?:\s+[가-힣]+)*")
_SPACES = re.compile(r"\s+")
# English words and numbers; C++ and C# keep their suffix.
_LATIN = re.compile(r"[a-z0-9]+(?:\+\+|#)?")
_KEY_DROP = re.compile(r"[^0-9a-z가-힣ㄱ-ㅎ+#]")
ENGLISH_STOPWORDS = frozenset({"a", "an", "and", "the", "of", "for", "to", "in", "on", "with", "by", "or", "at"})
MORPHEME_TAGS = frozenset({"NNG", "NNP", "XR", "SH"})
NOUN_TAGS = frozenset({"NNG", "NNP"})

# Particles a query word may end with (파이썬으로 → 파이썬), longest first.
PARTICLES = (
    "에서부터",
    "으로부터",
    "에서는",
    "까지는",
    "부터는",
    "에게서",
    "으로는",
    "이라는",
    "에서",
    "으로",
    "부터",
    "까지",
    "에게",
    "한테",
    "이랑",
    "처럼",
    "보다",
    "라는",
    "하고",
    "이",
    "가",
    "을",
    "를",
    "은",
    "는",
    "의",
    "에",
    "로",
    "와",
    "과",
    "도",
    "만",
    "랑",
)


def nfkc(text: str | None) -> str:
    """NFKC, except that 초성 typed as compatibility jamo (ㅂㄷㅇㅌ) stay compatibility jamo."""
    out = unicodedata.normalize("NFKC", text or "")
    if any("\u1100" <= ch <= "\u1112" for ch in out):
        out = out.translate(_CONJOINING_TO_COMPATIBILITY)
    return out


def has_hangul(text: str) -> bool:
    return HANGUL_RE.search(text) is not None


def is_hangul_word(text: str) -> bool:
    return bool(text) and all("가" <= ch <= "힣" for ch in text)


# -- jamo and 초성 ----------------------------------------------------------------------------------

CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNGSEONG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONGSEONG = (
    "",
    "ㄱ",
    "ㄲ",
    "ㄳ",
    "ㄴ",
    "ㄵ",
    "ㄶ",
    "ㄷ",
    "ㄹ",
    "ㄺ",
    "ㄻ",
    "ㄼ",
    "ㄽ",
    "ㄾ",
    "ㄿ",
    "ㅀ",
    "ㅁ",
    "ㅂ",
    "ㅄ",
    "ㅅ",
    "ㅆ",
    "ㅇ",
    "ㅈ",
    "ㅊ",
    "ㅋ",
    "ㅌ",
    "ㅍ",
    "ㅎ",
)
_CHOSEONG_SET = frozenset(CHOSEONG)
_CONJOINING_TO_COMPATIBILITY = {ord(unicodedata.normalize("NFKC", ch)): ch for ch in CHOSEONG}


def choseong(text: str) -> str:
    """초성 of each syllable, other characters as they are (빅데이터 → ㅂㄷㅇㅌ)."""
    out = []
    for ch in text:
        code = ord(ch) - 0xAC00
        out.append(CHOSEONG[code // 588] if 0 <= code < 11172 else ch)
    return "".join(out)


def jamo(text: str) -> str:
    """Syllables decomposed into letters (파이썬 → ㅍㅏㅇㅣㅆㅓㄴ), for edit distances that see 선/썬 as close."""
    out = []
    for ch in text:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            out.append(CHOSEONG[code // 588] + JUNGSEONG[(code % 588) // 28] + JONGSEONG[code % 28])
        else:
            out.append(ch)
    return "".join(out)


def is_choseong(ch: str) -> bool:
    return ch in _CHOSEONG_SET


# -- English ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """Porter2 stem of a lower-case English word; short words, numbers and C++/C# stay as they are."""
    if len(word) < 4 or not word.isalpha() or not word.isascii():
        return word
    return _porter2(word)


def latin_words(text: str) -> list[str]:
    """Lower-case English words and numbers in the text, unstemmed ("React.js" → react, js)."""
    return [w for w in _LATIN.findall(nfkc(text).lower()) if w not in ENGLISH_STOPWORDS]


def latin_terms(text: str) -> list[str]:
    return [stem(w) for w in latin_words(text)]


# -- bigrams ---------------------------------------------------------------------------------------------


def squeeze(text: str) -> str:
    return _SPACES.sub("", text)


_LEGAL_FORMS = re.compile(
    r"\((?:주|사|재|유|합|학|복)\)|(?<![가-힣])(?:주식회사|유한회사|유한책임회사|합자회사|합명회사|"
    r"사단법인|재단법인|학교법인|사회복지법인)(?![가-힣])"
)


def strip_legal_form(text: str) -> str:
    """A provider's name without its legal form: ㈜코드캠퍼스, (주)코드캠퍼스, 코드캠퍼스 주식회사 → 코드캠퍼스."""
    return " ".join(_LEGAL_FORMS.sub(" ", nfkc(text)).split())


def hangul_runs(text: str) -> list[str]:
    """Runs of Hangul with the spaces inside them removed: "빅 데이터 (AI) 분석" → ["빅데이터", "분석"]."""
    return [squeeze(run) for run in _HANGUL_RUN.findall(nfkc(text))]


def bigrams_of(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def bigrams(text: str) -> list[str]:
    out: list[str] = []
    for run in hangul_runs(text):
        out.extend(bigrams_of(run))
    return out


# -- synonyms --------------------------------------------------------------------------------------------


def synonym_key(text: str) -> str:
    """What two spellings of one term share: case, width, spaces and punctuation ignored (UI/UX → uiux)."""
    return _KEY_DROP.sub("", nfkc(text).lower())


@dataclass(frozen=True)
class Synonyms:
    families: tuple[tuple[str, ...], ...]
    by_key: dict[str, tuple[int, ...]]  # synonym_key(member) -> indexes of the families holding it
    max_words: int  # the most words any member has
    compounds: tuple[str, ...] = ()  # compound_words(), computed once
    distinct: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "자바 ≠ 자바스크립트" lines, by key
    narrower: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "인공지능 > 머신러닝, …" lines, by key
    related: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "챗GPT ~ 생성형AI, …" lines, by key

    def narrower_members(self, key: str) -> tuple[str, ...]:
        """Members of the families narrower than this key's families ("broad > narrow" lines), at any depth:
        what is narrower than a narrower subject is narrower too (인공지능 > 생성형AI > 챗GPT)."""
        out: list[str] = []
        own = set(self.family_of(key))
        seen_keys = {synonym_key(m) for m in own} | {key}
        frontier = list(own or (key,))
        while frontier:
            nxt: list[str] = []
            for member in frontier:
                for narrow in self.narrower.get(synonym_key(member), ()):
                    for spelling in self.family_of(synonym_key(narrow)) or (narrow,):
                        spelling_key = synonym_key(spelling)
                        if spelling_key in seen_keys:
                            continue
                        seen_keys.add(spelling_key)
                        out.append(spelling)
                        nxt.append(spelling)
            frontier = nxt
        return tuple(out)

    def related_members(self, key: str) -> tuple[str, ...]:
        """Members of the families related to this key's families ("word ~ related, …" lines, one level)."""
        out: list[str] = []
        for member in self.family_of(key) or (key,):
            for other in self.related.get(synonym_key(member), ()):
                for spelling in self.family_of(synonym_key(other)) or (other,):
                    if spelling not in out:
                        out.append(spelling)
        return tuple(out)

    def family_of(self, key: str) -> tuple[str, ...]:
        """Every member of the families holding this key (the key's own spelling included)."""
        members: list[str] = []
        for index in self.by_key.get(key, ()):
            members.extend(m for m in self.families[index] if m not in members)
        return tuple(members)

    def compound_words(self) -> list[str]:
        """Hangul members written without spaces (kept whole by Kiwi, joined when spaced in the text)."""
        return list(self.compounds)


def parse_synonyms(text: str) -> Synonyms:
    families: list[tuple[str, ...]] = []
    by_key: dict[str, list[int]] = {}
    distinct: dict[str, list[str]] = {}
    narrower: dict[str, list[str]] = {}
    related: dict[str, list[str]] = {}
    max_words = 1
    for line in text.splitlines():
        if "~" in line:
            word, _, others = line.partition("~")
            related.setdefault(synonym_key(word), []).extend(o.strip() for o in others.split(",") if o.strip())
            continue
        if ">" in line:
            broad, _, narrow = line.partition(">")
            narrower.setdefault(synonym_key(broad), []).extend(n.strip() for n in narrow.split(",") if n.strip())
            continue
        if "≠" in line or "!=" in line:
            word, _, others = line.replace("!=", "≠").partition("≠")
            distinct.setdefault(synonym_key(word), []).extend(
                squeeze(o.strip()) for o in others.split(",") if o.strip()
            )
            continue
        members = tuple(dict.fromkeys(m.strip() for m in line.split(",") if m.strip()))
        if len(members) < 2:
            continue
        index = len(families)
        families.append(members)
        for member in members:
            key = synonym_key(member)
            if key and index not in by_key.setdefault(key, []):
                by_key[key].append(index)
            max_words = max(max_words, len(member.split()))
    compounds = {m for family in families for m in family if re.fullmatch(r"[가-힣]{2,}", m)}
    return Synonyms(
        tuple(families),
        {k: tuple(v) for k, v in by_key.items()},
        max_words,
        tuple(sorted(compounds, key=lambda w: (-len(w), w))),
        {k: tuple(dict.fromkeys(v)) for k, v in distinct.items()},
        {k: tuple(dict.fromkeys(v)) for k, v in narrower.items()},
        {k: tuple(dict.fromkeys(v)) for k, v in related.items()},
    )


def _strip_comment(line: str) -> str:
    """A # starts a comment unless it ends a member such as C#."""
    return re.sub(r"(^|\s)#.*$", "", line)


@functools.lru_cache(maxsize=4)
def _load_synonyms(path: str, _mtime_ns: int) -> Synonyms:
    raw = Path(path).read_text(encoding="utf-8")
    return parse_synonyms("\n".join(_strip_comment(line) for line in raw.splitlines()))


def synonyms(path: Path | None = None) -> Synonyms:
    """The synonym file (re-read when it changes on disk)."""
    chosen = path or SYNONYMS_FILE
    return _load_synonyms(str(chosen), chosen.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _compound_pattern(words: tuple[str, ...]) -> re.Pattern | None:
    """Spaced spellings of the compound words as whole words ("자바 스크립트", "자바 스크립트로")."""
    spaced = ["\\s*".join(map(re.escape, w)) for w in words if len(w) >= 2]
    if not spaced:
        return None
    particles = "|".join(sorted(PARTICLES, key=len, reverse=True))
    return re.compile(rf"(?<![가-힣])(?:{'|'.join(spaced)})(?=$|[^가-힣]|(?:{particles})(?![가-힣]))")


def join_compounds(text: str, words: Iterable[str] | None = None) -> str:
    words = tuple(words) if words is not None else synonyms().compounds
    pattern = _compound_pattern(words)
    if pattern is None:
        return text
    return pattern.sub(lambda m: squeeze(m.group(0)) if " " in m.group(0) or "\t" in m.group(0) else m.group(0), text)


# -- Kiwi (index side) -----------------------------------------------------------------------------------

_kiwi = None
_kiwi_lock = threading.Lock()


def _contexts(word: str) -> list[str]:
    """A Hangul compound in the contexts Kiwi is tried on: alone, and before particles and a noun."""
    return [
        word,
        with_particle(word, "으로", "로"),
        with_particle(word, "을", "를"),
        with_particle(word, "과", "와") + " 과정",
        word + " 과정",
    ]


def _kiwi_keeps(instance, word: str) -> bool:
    """Does Kiwi read the word as nouns (whole, or a run of nouns that spells it) in a few contexts?"""
    for text in _contexts(word):
        nouns = "".join(t.form for t in instance.tokenize(text) if t.tag in NOUN_TAGS and t.start < len(word))
        if nouns != word:
            return False
    return True


def kiwi():
    """The process's Kiwi, loaded on first use.

    Compounds of the synonym file that Kiwi mangles in some context (도커 → 도/JX 크/VA, 자바로 → 자/IC
    바로/MAG) are added as user words. Only those: a user word that Kiwi did not need can swallow the
    start of a longer word (웹개발 would turn 웹개발자 into 웹개발 + 자).
    """
    global _kiwi
    if _kiwi is None:
        with _kiwi_lock:
            if _kiwi is None:
                from kiwipiepy import Kiwi

                # No typo and multi-word dictionaries: we index what providers wrote, and they cost ~190 MB.
                instance = Kiwi(load_typo_dict=False, load_multi_dict=False)
                words = synonyms().compound_words()
                for word in [w for w in words if not _kiwi_keeps(instance, w)]:
                    instance.add_user_word(word, "NNP")
                instance.tokenize("")  # finish the lazy initialisation now, not in the first real call
                _kiwi = instance
    return _kiwi


def kiwi_loaded() -> bool:
    """Has this process loaded Kiwi? (A web process never should: bench/search_speed.py reports it.)"""
    return _kiwi is not None


def _compound_tokens(pieces: list[str], members: frozenset[str]) -> list[str]:
    """The morphemes of a run of nouns written together (웹 + 개발자 → 웹, 개발자, 웹개발자).

    A stretch that spells a synonym-file compound is one token and its pieces are dropped
    (인공 + 지능 + 개발자 → 인공지능, 개발자, 인공지능개발자): 정보보안 is not a match for 정보.
    """
    if len(pieces) == 1:
        return pieces
    out: list[str] = []
    i = 0
    while i < len(pieces):
        for j in range(len(pieces), i + 1, -1):
            joined = "".join(pieces[i:j])
            if joined in members:
                out.append(joined)
                i = j
                break
        else:
            out.append(pieces[i])
            i += 1
    whole = "".join(pieces)
    if whole not in out:
        out.append(whole)
    return out


@functools.lru_cache(maxsize=4)
def _members(compounds: tuple[str, ...]) -> frozenset[str]:
    return frozenset(compounds)


def morphemes(text: str) -> list[str]:
    """Index-side morphemes: Kiwi nouns/roots, joined compounds, and English stems."""
    text = nfkc(text)
    if not text.strip():
        return []
    out: list[str] = []
    if has_hangul(text):
        members = _members(synonyms().compounds)
        run: list[str] = []
        end = -1
        for token in kiwi().tokenize(join_compounds(text)):
            form = token.form
            if token.tag in NOUN_TAGS and is_hangul_word(form):
                if token.start != end and run:
                    out.extend(_compound_tokens(run, members))
                    run = []
                run.append(form)
                end = token.start + token.len
                continue
            if run:
                out.extend(_compound_tokens(run, members))
                run, end = [], -1
            if token.tag in MORPHEME_TAGS and is_hangul_word(form):
                out.append(form)
        if run:
            out.extend(_compound_tokens(run, members))
    out.extend(latin_terms(text))
    return out


@dataclass(frozen=True)
class Analysed:
    """One text as the index stores it: space-separated morpheme and bigram tokens."""

    morph: str
    gram: str


def analyse(text: str | None) -> Analysed:
    text = nfkc(text)
    return Analysed(" ".join(morphemes(text)), " ".join(bigrams(text)))


def analyse_many(texts: Iterable[str | None], analyse_one: Callable[[str], Analysed] = analyse) -> Analysed:
    """Several texts into one field: analysed apart, so no bigram spans two of them. analyse_one: analyse, or
    a cache of it (search.index.build's rebuild workers)."""
    parts = [analyse_one(t) for t in texts if t]
    return Analysed(" ".join(p.morph for p in parts if p.morph), " ".join(p.gram for p in parts if p.gram))


# -- query side (no Kiwi) --------------------------------------------------------------------------------


def strip_particle(word: str, known: Callable[[str], bool]) -> str:
    """파이썬으로 → 파이썬 when 파이썬 is a known word; otherwise the word unchanged."""
    if known(word):
        return word
    for particle in PARTICLES:
        if len(word) > len(particle) + 1 and word.endswith(particle) and known(word[: -len(particle)]):
            return word[: -len(particle)]
    return word


def segment(word: str, known: Callable[[str], bool], max_piece: int = 12) -> list[str] | None:
    """Split a Hangul word into known morphemes, preferring few and long pieces (웹개발자 → 웹, 개발자).

    Returns None when the word cannot be covered by known pieces. Single-syllable pieces cost extra, so
    a split into two-syllable words wins over one that strands single syllables.
    """
    n = len(word)
    best: list[tuple[float, list[str]] | None] = [None] * (n + 1)
    best[0] = (0.0, [])
    for i in range(n):
        if best[i] is None:
            continue
        cost, pieces = best[i]
        for j in range(i + 1, min(n, i + max_piece) + 1):
            piece = word[i:j]
            if not known(piece):
                continue
            step = 1.0 + (1.5 if len(piece) == 1 else 0.0)
            candidate = (cost + step, pieces + [piece])
            if best[j] is None or candidate[0] < best[j][0]:
                best[j] = candidate
    return best[n][1] if best[n] is not None else None


def damerau(a: str, b: str, limit: int = 3) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap neighbours), capped at limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def deletes(word: str, distance: int) -> set[str]:
    """Every string made by deleting up to `distance` characters (the symmetric-delete spelling index)."""
    found = {word}
    frontier = {word}
    for _ in range(distance):
        nxt = set()
        for w in frontier:
            for i in range(len(w)):
                nxt.add(w[:i] + w[i + 1 :])
        found |= nxt
        frontier = nxt
    return found
