"""What a query means and which documents match it, with what score (docs/search.md, "Ranking").

Query analysis runs without Kiwi (search.analysis): words → synonym families (alternatives, OR) →
units that must all match (AND); a unit matches as whole morphemes or as Hangul bigrams, in any text
field of its course, or inside the names of its run's categories (NCS, programme, ministry, region).

Scores are BM25 × field boost, computed with numpy over posting arrays (search.reader): one dense array
per unit, groups ANDed, alternatives taking the best, narrower subjects ("인공지능 > 머신러닝") below
the subject itself, adjacent Hangul words also matched written together (빅 데이터 = 빅데이터), and an
exact title far above everything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from search import analysis, labels
from search.reader import CODES, Version
from search.schema import BOOSTS, CATEGORY_BOOST, GRAM_FIELDS, MORPH_FIELDS, title_hash

EXACT_TITLE_BONUS = 1000.0
JOIN_SHARE = 0.5  # two words matched as one written together share its score
KNOWN_GRAM_SHARE = 0.5  # a word the index has on its own: a substring match counts half
NARROWER_SHARE = 0.6  # a narrower subject found for a broader query ("인공지능 > 머신러닝") counts this much
DIRECT_BONUS = 100.0  # ... and ranks below every course found for the subject itself


# -- query analysis ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unit:
    """One piece of a query word that must match: as whole morphemes or, for Hangul, as bigrams."""

    text: str
    morph: tuple[str, ...]
    grams: tuple[str, ...]
    known: bool = False  # a word of the index on its own: its bigram matches are only substrings
    not_inside: tuple[str, ...] = ()  # words it must not match inside (자바 ≠ 자바스크립트)


@dataclass(frozen=True)
class Alternative:
    text: str
    units: tuple[Unit, ...]
    weight: float = 1.0  # NARROWER_SHARE for a narrower subject's spelling ("인공지능 > 머신러닝")


@dataclass(frozen=True)
class Group:
    """Query words that must match (through any one alternative: the words as typed or a synonym)."""

    words: tuple[str, ...]
    alternatives: tuple[Alternative, ...]
    joinable: str | None  # a plain Hangul word that may be written together with its neighbour


@dataclass(frozen=True)
class ParsedQuery:
    text: str
    words: tuple[str, ...]
    groups: tuple[Group, ...]

    def highlight_terms(self) -> tuple[list[str], list[str]]:
        """(Hangul strings, English words) to mark in titles and snippets."""
        hangul, latin = [], []
        for group in self.groups:
            for alternative in group.alternatives:
                for unit in alternative.units:
                    if unit.grams or analysis.has_hangul(unit.text):
                        hangul.append(unit.text)
                        hangul.extend(m for m in unit.morph if len(m) > 1)
                    else:
                        latin.append(unit.text)
        return list(dict.fromkeys(hangul)), list(dict.fromkeys(latin))


WORD_PIECES = re.compile(r"[가-힣]+|[a-z0-9]+(?:\+\+|#)?")


def normalise(q: str) -> str:
    return " ".join(analysis.nfkc(q).lower().split())


def word_units(text: str, known) -> tuple[Unit, ...]:
    """The units of a query word or synonym: its Hangul pieces and English words."""
    out = []
    distinct = analysis.synonyms().distinct
    for piece in WORD_PIECES.findall(analysis.nfkc(text).lower()):
        if analysis.is_hangul_word(piece):
            base = analysis.strip_particle(piece, known)
            whole = bool(known(base))
            morph = (base,) if whole else tuple(analysis.segment(base, known) or (base,))
            out.append(Unit(base, morph, tuple(dict.fromkeys(analysis.bigrams_of(base))), whole,
                            distinct.get(base, ())))
        elif piece not in analysis.ENGLISH_STOPWORDS:
            out.append(Unit(piece, (analysis.stem(piece),), ()))
    return tuple(out)


def _synonym_members(words: list[str], synonyms: analysis.Synonyms) -> tuple[str, ...] | None:
    joined = "".join(words)
    keys = [analysis.synonym_key(joined)]
    if analysis.has_hangul(joined[-1:]):
        keys += [analysis.synonym_key(joined[: -len(p)]) for p in analysis.PARTICLES
                 if joined.endswith(p) and len(joined) > len(p) + 1]
    for key in keys:
        members = synonyms.family_of(key)
        if members:
            return members
    return None


def parse_query(q: str, known=lambda word: False) -> ParsedQuery:
    text = normalise(analysis.strip_legal_form(q))
    words = [w for w in text.split() if WORD_PIECES.search(w)]
    synonyms = analysis.synonyms()
    groups: list[Group] = []
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + synonyms.max_words), i, -1):
            members = _synonym_members(words[i:j], synonyms)
            if members:
                # The family's members only: what was typed is one of them, spaces and case aside
                # (typed "빅 데이터" must search as 빅데이터, written together or not).
                alternatives = []
                seen: set[str] = set()
                for member in members:
                    key = analysis.synonym_key(member)
                    if key not in seen:
                        seen.add(key)
                        alternatives.append(Alternative(member, word_units(member, known)))
                for member in synonyms.narrower_members(analysis.synonym_key(members[0])):
                    key = analysis.synonym_key(member)
                    if key not in seen:
                        seen.add(key)
                        alternatives.append(Alternative(member, word_units(member, known), NARROWER_SHARE))
                alternatives = [a for a in alternatives if a.units]
                if alternatives:
                    groups.append(Group(tuple(words[i:j]), tuple(alternatives), None))
                i = j
                break
        else:
            word = words[i]
            pieces = word_units(word, known)
            if pieces:
                joinable = pieces[0].text if len(pieces) == 1 and analysis.is_hangul_word(word) else None
                groups.append(Group((word,), (Alternative(word, pieces),), joinable))
            i += 1
    return ParsedQuery(text, tuple(words), tuple(groups))


# -- matching and scoring ------------------------------------------------------------------------------

def _all_of(version: Version, fieldname: str, terms: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Documents holding every term in this field, with the terms' mean weight."""
    docs, weights = version.postings(fieldname, terms[0])
    for term in terms[1:]:
        if not len(docs):
            break
        other_docs, other_weights = version.postings(fieldname, term)
        docs, left, right = np.intersect1d(docs, other_docs, assume_unique=True, return_indices=True)
        weights = weights[left] + other_weights[right]
    if len(terms) > 1 and len(docs):
        weights = weights / len(terms)
    return docs, weights


def unit_scores(version: Version, unit: Unit) -> np.ndarray:
    """A unit's score on every document: its course's text match, plus its own category match (runs)."""
    morph_scores = np.zeros(version.size + 1, dtype=np.float32)  # the last slot: "no course"
    gram_scores = np.zeros(version.size + 1, dtype=np.float32)
    for fields_, terms, scores in ((MORPH_FIELDS, unit.morph, morph_scores), (GRAM_FIELDS, unit.grams, gram_scores)):
        if not terms:
            continue
        for fieldname in fields_:
            docs, weights = _all_of(version, fieldname, terms)
            if len(docs):
                scores[docs] += weights * BOOSTS[fieldname]
    if unit.not_inside:  # 자바 inside 자바스크립트 is not 자바: drop those substring matches
        for word in unit.not_inside:
            for fieldname in MORPH_FIELDS:
                docs, _weights = version.postings(fieldname, word)
                if len(docs):
                    gram_scores[docs[morph_scores[docs] == 0]] = 0
    if unit.known:
        gram_scores *= KNOWN_GRAM_SHARE
    scores = (morph_scores + gram_scores)[version.course_doc]
    categories = _category_mask(version, unit)
    if categories is not None:
        scores[categories] += CATEGORY_BOOST
    return scores


# Runs match category names (NCS at every level, programme, ministry, region) looked up in the names of
# the codes the runs carry: a few thousand short strings instead of text on every run (search.schema).

def _category_texts(version: Version) -> dict[str, list[tuple[int, str, frozenset[str]]]]:
    """column -> [(code id, the names without spaces joined by |, their English stems)] for codes in use."""
    names = labels.current()
    runs = version.live & version.cols["is_run"]
    out: dict[str, list] = {}
    for column in ("ncs", "programme", "ministry", "region"):
        interner = CODES[column]
        texts = []
        for code_id in np.unique(version.cols[column][runs]).tolist():
            code = interner.codes[code_id]
            if not code:
                continue
            if column == "ncs":
                found = [names.ncs.get(code[:n]) for n in (2, 4, 6, 8) if len(code) >= n]
            elif column == "region":
                found = [names.regions.get(code[:2])] + ([names.regions.get(code)] if len(code) == 5 else [])
            else:
                found = [(names.ministries if column == "ministry" else names.programmes).get(code)]
            found = [n for n in found if n]
            texts.append((code_id, "|".join(analysis.synonym_key(n) for n in found),
                          frozenset(analysis.latin_terms(" ".join(found)))))
        out[column] = texts
    return out


def _category_mask(version: Version, unit: Unit) -> np.ndarray | None:
    cache = version.derived("category_masks", lambda _v: {})
    if unit in cache:
        return cache[unit]
    texts = version.derived("category_texts", _category_texts)
    mask = None
    for column, entries in texts.items():
        if unit.grams or analysis.has_hangul(unit.text):
            if len(unit.text) < 2:
                continue
            ids = [code_id for code_id, hangul, _latin in entries if unit.text in hangul]
        else:
            ids = [code_id for code_id, _hangul, latin in entries if unit.morph and unit.morph[0] in latin]
        if ids:
            found = np.isin(version.cols[column], np.asarray(ids, dtype=np.int32))
            mask = found if mask is None else mask | found
    if mask is not None:
        mask &= version.cols["is_run"]
    if len(cache) > 512:
        cache.clear()
    cache[unit] = mask
    return mask


def alternative_scores(version: Version, alternative: Alternative) -> np.ndarray:
    total, matched = None, None
    for unit in alternative.units:
        scores = unit_scores(version, unit)
        total = scores if total is None else total + scores
        matched = scores > 0 if matched is None else matched & (scores > 0)
    return np.where(matched, total, np.float32(0))


def match(version: Version, parsed: ParsedQuery, known) -> tuple[np.ndarray, np.ndarray]:
    """(matching documents, relevance scores) for a non-empty query."""
    group_scores = []
    for group in parsed.groups:
        best = np.zeros(version.size, dtype=np.float32)
        narrow = None
        for alternative in group.alternatives:
            scores = alternative_scores(version, alternative)
            if alternative.weight == 1.0:
                np.maximum(best, scores, out=best)
            else:
                scores *= alternative.weight
                narrow = scores if narrow is None else np.maximum(narrow, scores)
        if narrow is not None:  # a narrower subject's course ranks below every course of the subject itself
            best = np.where(best > 0, best + DIRECT_BONUS, narrow)
        group_scores.append(best)
    # 빅 데이터 = 빅데이터: two plain Hangul words may also match as one word written together.
    for i in range(len(parsed.groups) - 1):
        left, right = parsed.groups[i].joinable, parsed.groups[i + 1].joinable
        if left and right:
            joined = word_units(left + right, known)
            if joined:
                share = alternative_scores(version, Alternative(left + right, joined)) * JOIN_SHARE
                np.maximum(group_scores[i], share, out=group_scores[i])
                np.maximum(group_scores[i + 1], share, out=group_scores[i + 1])
    mask = np.ones(version.size, dtype=bool)
    score = np.zeros(version.size, dtype=np.float32)
    for scores in group_scores:
        mask &= scores > 0
        score += scores
    key = title_hash(parsed.text)
    if key:
        exact = np.append(version.cols["title_key"] == np.uint64(key), False)[version.course_doc]
        score[mask & exact] += EXACT_TITLE_BONUS
    return mask, score
