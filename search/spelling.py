"""Typo tolerance: the nearest words of the index to a query word that finds little (docs/search.md).

Hangul is compared letter by letter (jamo), so 파이선 is one step from 파이썬; English as written, against
the English words of course titles and of the synonym file (pyhton → python, secuirty → security). The
lookup is a symmetric-delete index (SymSpell): numpy arrays of hashed deletions, built once per version
(at most every SPELLER_MAX_AGE seconds).
"""

from __future__ import annotations

import threading
import time
from array import array
from collections import Counter
from collections.abc import Iterator, Mapping

import numpy as np

from search import analysis
from search.index.strings import Strings, Vocabulary, release_memory
from search.index.versions import Version
from search.ranking import WORD_PIECES, ParsedQuery, unit_found, word_units

SPELLER_MAX_AGE = 60.0  # seconds a spelling index may lag behind the live version
RARE_RATIO = 3  # a word that found something is replaced only by one this many times commoner


class Speller:
    """Nearest index words by edit distance (symmetric deletes; Hangul compared letter by letter)."""

    def __init__(self, vocabulary: Mapping[str, int]):
        # Compact (search.index.strings): the words, their letters and the deletions' hashes of the whole
        # vocabulary are kept by every web worker.
        words: list[str] = []
        forms: list[str] = []
        frequency: list[int] = []
        hashes = array("q")
        ids = array("i")
        for word, count in vocabulary.items():
            if count < 1 or not self._eligible(word):
                continue
            form = self._form(word)
            index = len(words)
            words.append(word)
            forms.append(form)
            frequency.append(count)
            for variant in analysis.deletes(form, 1):
                hashes.append(hash(variant))
                ids.append(index)
        self.words = Strings(words)
        self.forms = Strings(forms)
        self.frequency = np.asarray(frequency, dtype=np.int64)
        self._index = Vocabulary(dict(zip(words, range(1, len(words) + 1), strict=True)))  # word -> index + 1
        del words, forms, frequency
        hash_array = np.frombuffer(hashes, dtype=np.int64)
        order = np.argsort(hash_array, kind="stable")
        self._hashes = hash_array[order]
        self._ids = np.frombuffer(ids, dtype=np.int32)[order]
        self.built_at = time.monotonic()
        self.version_key = ""

    def frequency_of(self, word: str) -> int:
        index = self._index.get(word, 0)
        return int(self.frequency[index - 1]) if index else 0

    @staticmethod
    def _eligible(word: str) -> bool:
        if analysis.is_hangul_word(word):
            return len(word) >= 2
        return word.isascii() and word.isalpha() and len(word) >= 3

    @staticmethod
    def _form(word: str) -> str:
        return analysis.jamo(word) if analysis.is_hangul_word(word) else word

    def best(self, word: str) -> str | None:
        if not self._eligible(word):
            return None
        form = self._form(word)
        limit = 1 if len(form) < (8 if analysis.is_hangul_word(word) else 5) else 2
        probes = np.asarray([hash(v) for v in analysis.deletes(form, limit)], dtype=np.int64)
        lo = np.searchsorted(self._hashes, probes, side="left")
        hi = np.searchsorted(self._hashes, probes, side="right")
        candidates = {int(i) for a, b in zip(lo, hi, strict=True) for i in self._ids[a:b]}
        best = None
        for index in candidates:
            if self.words[index] == word:
                continue
            distance = analysis.damerau(form, self.forms[index], limit)
            if distance <= limit:
                rank = (distance, -int(self.frequency[index]), self.words[index])
                if best is None or rank < best[0]:
                    best = (rank, self.words[index])
        return best[1] if best else None


_spellers: dict[str, Speller] = {}
_speller_lock = threading.Lock()


def speller_for(version: Version) -> Speller:
    """The spelling index; may lag the live version by SPELLER_MAX_AGE (new words are rare and minor)."""
    found = _spellers.get(str(version.root))
    if found is not None and (found.version_key == version.key or time.monotonic() - found.built_at < SPELLER_MAX_AGE):
        return found
    with _speller_lock:
        words = {w: n for w, n in version.vocabulary().items() if analysis.is_hangul_word(w)}
        words.update(_english_words(version))
        speller = Speller(words)
        speller.version_key = version.key
        _spellers[str(version.root)] = speller
        del words
        release_memory(collect=True)
    return speller


def _english_words(version: Version) -> Counter:
    """English words as written (not stemmed) in course titles and the synonym file, with how many titles
    hold them: what a misspelt English word is corrected to (secuirty → security)."""
    words: Counter = Counter()
    for title in course_titles(version):
        words.update(set(analysis.latin_words(title)))
    for family in analysis.synonyms().families:
        for member in family:
            for word in analysis.latin_words(member):
                words[word] = max(words[word], 1)
    return words


def course_titles(version: Version) -> Iterator[str]:
    """The title of every live course document, from a column (not kept: only a new speller reads them)."""
    for docnum in np.flatnonzero(version.live & version.cols["is_course"]).tolist():
        yield version.course_text(docnum)[0]


def correction(version: Version, parsed: ParsedQuery, known) -> str | None:
    """The query with its unknown words replaced by their nearest index words, or None."""
    speller = speller_for(version)
    vocabulary = version.vocabulary()
    synonyms = analysis.synonyms()
    words = list(parsed.words)
    changed = False
    for i, word in enumerate(words):
        pieces = WORD_PIECES.findall(word)
        if len(pieces) != 1 or synonyms.family_of(analysis.synonym_key(word)):
            continue
        hangul = analysis.is_hangul_word(pieces[0])
        target = analysis.strip_particle(pieces[0], known) if hangul else pieces[0]
        found = any(unit_found(version, unit) for unit in word_units(word, known))
        # A word that finds nothing is replaced by its nearest index word; a word that finds a little is
        # replaced only by a much more common one (파이선 in one title vs 파이썬 in many).
        better = speller.best(target)
        if better is None:
            continue
        own = vocabulary.get(target, 0) if hangul else speller.frequency_of(target)
        if found and speller.frequency_of(better) < RARE_RATIO * max(own, 1):
            continue
        words[i] = _surface(better)
        changed = True
    return " ".join(words) if changed else None


def _surface(term: str) -> str:
    """How to show an index word: the synonym file's spelling when it has one (python → Python)."""
    for member in analysis.synonyms().family_of(analysis.synonym_key(term)):
        if analysis.synonym_key(member) == analysis.synonym_key(term):
            return member
    return term
