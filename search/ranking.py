"""What a query means and which documents match it, with what score (docs/search.md, "Ranking").

Query analysis runs without Kiwi (search.analysis): words → synonym families (alternatives, OR: the
members, their spaced spellings with the words apart, narrower and related subjects) → units that must all
match (AND); a unit matches as whole morphemes or as Hangul bigrams, in any text field of its course, or
inside the names of its run's categories (NCS, programme, ministry, region, schedule, mode; for a word that
names no region, the provider's address).

Scores are BM25 × field boost, computed with numpy over posting arrays (search.index.versions): one dense array
per unit, groups ANDed, every spelling of a subject at the subject's rarity (family_rarity), alternatives
taking the best plus a little of the others, narrower and related subjects ("인공지능 > 머신러닝",
"챗GPT ~ 생성형AI") at a share, adjacent Hangul words also matched written together (빅 데이터 = 빅데이터), and
an exact title far above everything else. combine(relaxed=True) also lets all groups but one match, below
every document that matches them all (search.query does so when few courses have every word).
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from search import analysis, labels
from search.index.columns import CODES
from search.index.schema import BOOSTS, CATEGORY_BOOST, GRAM_FIELDS, MODE_KINDS, MORPH_FIELDS, WEEKEND_KINDS, title_hash
from search.index.versions import Version

EXACT_TITLE_BONUS = 1000.0
FULL_MATCH_BONUS = 5000.0  # a relaxed query (all words but one): the documents with every word come first
JOIN_SHARE = 0.5  # two words matched as one written together share its score
KNOWN_GRAM_SHARE = 0.5  # a word the index has on its own: a substring match counts half
NARROWER_SHARE = 0.5  # a narrower subject found for a broader query ("인공지능 > 머신러닝") counts this much
RELATED_SHARE = 0.5  # a related subject ("챗GPT ~ 생성형AI") counts this much
TIE_SHARE = 0.3  # what the other alternatives a document matches add, after the best one
LOOSE_SHARE = 0.5  # a spaced compound's words found apart ("웹 개발" in 웹 서비스 개발) count this much


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
            out.append(
                Unit(base, morph, tuple(dict.fromkeys(analysis.bigrams_of(base))), whole, distinct.get(base, ()))
            )
        elif piece not in analysis.ENGLISH_STOPWORDS:
            out.append(Unit(piece, (analysis.stem(piece),), ()))
    return tuple(out)


def _synonym_members(words: list[str], synonyms: analysis.Synonyms) -> tuple[str, ...] | None:
    joined = "".join(words)
    keys = [analysis.synonym_key(joined)]
    if analysis.has_hangul(joined[-1:]):
        keys += [
            analysis.synonym_key(joined[: -len(p)])
            for p in analysis.PARTICLES
            if joined.endswith(p) and len(joined) > len(p) + 1
        ]
    for key in keys:
        members = synonyms.family_of(key)
        if members:
            return members
    return None


def _loose(member: str, known) -> Alternative | None:
    """A spaced spelling of a compound ("웹 개발" for 웹개발) as its words apart: each may stand anywhere in the
    course's text (웹 서비스 개발), counting LOOSE_SHARE. Not where a word inside is not the word (자바 스크립트)."""
    units = word_units(member, known)
    joined = analysis.squeeze(member)
    if len(units) < 2 or any(joined in unit.not_inside for unit in units):
        return None
    return Alternative(member, units, LOOSE_SHARE)


def _family_group(words: tuple[str, ...], members: tuple[str, ...], synonyms: analysis.Synonyms, known) -> Group:
    """The group of a synonym family: its members (what was typed is one of them, spaces and case aside: typed
    "빅 데이터" searches as 빅데이터), their spaced spellings loosely, then narrower and related subjects."""
    alternatives: list[Alternative] = []
    seen: set[str] = set()
    for member in members:
        key = analysis.synonym_key(member)
        if key not in seen:
            seen.add(key)
            alternatives.append(Alternative(member, word_units(member, known)))
    direct = {analysis.synonym_key(a.text): a.units for a in alternatives}
    for member in members:
        if " " in member.strip():
            loose = _loose(member, known)
            if loose is not None and loose.units != direct[analysis.synonym_key(member)]:
                alternatives.append(loose)
    family_key = analysis.synonym_key(members[0])
    for extra, weight in (
        (synonyms.narrower_members(family_key), NARROWER_SHARE),
        (synonyms.related_members(family_key), RELATED_SHARE),
    ):
        for member in extra:
            key = analysis.synonym_key(member)
            if key not in seen:
                seen.add(key)
                alternatives.append(Alternative(member, word_units(member, known), weight))
    return Group(words, tuple(a for a in alternatives if a.units), None)


_SCRIPT_RUNS = re.compile(r"[가-힣]+|[^가-힣]+")


def _query_words(text: str) -> list[str]:
    """The words of a query, a word that mixes Hangul and other letters cut where the script changes
    (UXUI디자인 → uxui 디자인, AI개발자 → ai 개발자), so each part finds its own synonyms; a particle after
    the other script belongs to the word before it (Python으로 → python)."""
    words: list[str] = []
    for word in text.split():
        runs = _SCRIPT_RUNS.findall(word)
        for k, run in enumerate(runs):
            if k and run in analysis.PARTICLES and not analysis.has_hangul(runs[k - 1]):
                continue
            if WORD_PIECES.search(run):
                words.append(run)
    return words


def parse_query(q: str, known=lambda word: False) -> ParsedQuery:
    text = normalise(analysis.strip_legal_form(q))
    words = _query_words(text)
    synonyms = analysis.synonyms()
    groups: list[Group] = []
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + 2 * synonyms.max_words), i, -1):
            members = _synonym_members(words[i:j], synonyms)
            if members:
                groups.append(_family_group(tuple(words[i:j]), members, synonyms, known))
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


def text_scores(version: Version, unit: Unit) -> np.ndarray:
    """A unit's text score on every course document (an array of size+1: the last slot is "no course")."""
    morph_scores = np.zeros(version.size + 1, dtype=np.float32)
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
    morph_scores += gram_scores
    return morph_scores


def unit_scores(version: Version, unit: Unit, text: np.ndarray | None = None, factor: float = 1.0) -> np.ndarray:
    """A unit's score on every document: its course's text match (× factor), plus its own category match (runs)."""
    if text is None:
        text = text_scores(version, unit)
    scores = text[version.course_doc]
    if factor != 1.0:
        scores *= np.float32(factor)
    categories, weight = _category_mask(version, unit)
    if categories is not None and weight:
        scores[categories] += np.float32(weight)
    return scores


# Runs match category names (NCS at every level, programme, ministry, region; the schedule and the mode of
# training) looked up in the names of the codes the runs carry: a few thousand short strings instead of text
# on every run (search.index.schema). A word that names no region may name a place in a provider's address
# (판교, 가산, 송도): those providers' runs match it the same way.

SCHEDULE_NAMES = {"weekend": ("주말", "주말반", "weekend"), "weekday": ("주중", "평일", "weekday")}
MODE_NAMES = {
    "remote": ("원격", "remote"),
    "classroom": ("집체", "교실", "오프라인", "offline"),
    "blended": ("혼합", "블렌디드", "blended"),
}


def _category_entry(code_id: int, found: list[str]) -> tuple[int, str, frozenset[str]]:
    return (code_id, "|".join(analysis.synonym_key(n) for n in found), frozenset(analysis.latin_terms(" ".join(found))))


def _category_texts(version: Version) -> dict[str, list[tuple[int, str, frozenset[str]]]]:
    """column -> [(code id, the names without spaces joined by |, their English stems)] for codes in use;
    "places": [(provider id, its address without spaces, ∅)]."""
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
            texts.append(_category_entry(code_id, found))
        out[column] = texts
    out["weekend"] = [_category_entry(WEEKEND_KINDS.index(kind), list(words)) for kind, words in SCHEDULE_NAMES.items()]
    out["mode"] = [_category_entry(MODE_KINDS.index(kind), list(words)) for kind, words in MODE_NAMES.items()]
    out["places"] = [
        (provider_id, analysis.synonym_key(names.places[provider_id]), frozenset())
        for provider_id in np.unique(version.cols["provider_id"][runs]).tolist()
        if names.places.get(provider_id)
    ]
    return out


CATEGORY_MASKS = 64  # category masks kept per version (packed: one bit per document)


def _category_mask(version: Version, unit: Unit) -> tuple[np.ndarray | None, float]:
    """The runs whose category names hold the unit, and what such a match is worth: CATEGORY_BOOST × the
    rarity (idf) of those runs, so 인공지능 (an NCS subject of a few runs) counts more than 개발 (in the name
    of every software NCS code). A Hangul word that names no region is looked up in providers' addresses.
    Which codes the unit names, and the weight, are the whole version's (kept per version: small); the mask
    is made over this version's (or Enrollable's) own columns, and only the last CATEGORY_MASKS are kept."""
    codes, weight = _per_version(version, "category_codes", unit, lambda root: _category_codes(root, unit))
    if not weight:
        return None, 0.0
    cache = version.derived("category_masks", lambda _v: OrderedDict())
    packed = cache.get(unit)
    if packed is None:
        packed = np.packbits(_codes_mask(version, codes))  # a bit per document: every worker keeps them
        with version.lock:
            cache[unit] = packed
            while len(cache) > CATEGORY_MASKS:
                cache.popitem(last=False)
    return np.unpackbits(packed, count=version.size).view(bool), weight


def _codes_mask(version: Version, codes: tuple[tuple[str, np.ndarray], ...]) -> np.ndarray:
    mask = None
    for column, ids in codes:
        found = np.isin(version.cols[column], ids)
        mask = found if mask is None else mask | found
    return mask & version.cols["is_run"]


def _category_codes(version: Version, unit: Unit) -> tuple[tuple[tuple[str, np.ndarray], ...], float]:
    """((column, code ids), …) of the categories whose names hold the unit, and the weight of a match."""
    texts = version.derived("category_texts", _category_texts)
    hangul = bool(unit.grams) or analysis.has_hangul(unit.text)
    codes, region = [], False
    for column, entries in texts.items():
        if column == "places" and (region or not hangul):
            continue
        if hangul:
            if len(unit.text) < 2:
                continue
            ids = [code_id for code_id, names, _latin in entries if unit.text in names]
        else:
            ids = [code_id for code_id, _names, latin in entries if unit.morph and unit.morph[0] in latin]
        if ids:
            column_of = "provider_id" if column == "places" else column
            codes.append((column_of, np.asarray(ids, dtype=version.cols[column_of].dtype)))
            region = region or column == "region"
    if not codes:
        return (), 0.0
    runs = version.derived("live_runs", lambda v: int(np.count_nonzero(v.live & v.cols["is_run"])))
    found = int(np.count_nonzero(_codes_mask(version, tuple(codes)) & version.live))
    weight = CATEGORY_BOOST * _idf(min(found, runs), max(runs, 1)) if found else 0.0
    return tuple(codes), weight


def alternative_scores(
    version: Version, alternative: Alternative, texts: dict | None = None, rarity: float | None = None
) -> np.ndarray:
    """An alternative's score on every document: its units' mean, when every unit matches. With `rarity`
    (a family's idf, family_rarity()), each unit's text score counts as if its word were that rare."""
    total, matched = None, None
    for unit in alternative.units:
        text = _text(version, unit, texts)
        factor = 1.0
        if rarity is not None:
            df = _df(version, unit, texts)
            factor = rarity / _idf(df, _courses(version)) if df else 1.0
        scores = unit_scores(version, unit, text, factor)
        total = scores if total is None else total + scores
        matched = scores > 0 if matched is None else matched & (scores > 0)
    if len(alternative.units) > 1:  # one subject however many words spell it: the words' mean
        total = total / np.float32(len(alternative.units))
    return np.where(matched, total, np.float32(0))


def _text(version: Version, unit: Unit, texts: dict | None) -> np.ndarray:
    if texts is None:
        return text_scores(version, unit)
    found = texts.get(unit)
    if found is None:
        found = texts[unit] = text_scores(version, unit)
    return found


def _hits(version: Version, unit: Unit, texts: dict) -> np.ndarray:
    """The live course documents whose text holds the unit (its text score, when this query computed it)."""
    key = ("hits", unit)
    found = texts.get(key)
    if found is None:
        scores = texts.get(unit)
        held = scores[:-1] > 0 if scores is not None else _holds(version, unit)
        found = texts[key] = held & version.live
    return found


def _holds(version: Version, unit: Unit) -> np.ndarray:
    """The documents text_scores() scores above 0, from the postings' document numbers alone: how many
    courses of the whole version hold a word (an Enrollable's rarity) needs no weights of the archive."""
    morph = np.zeros(version.size, dtype=bool)
    grams = np.zeros(version.size, dtype=bool)
    for fields_, terms, found in ((MORPH_FIELDS, unit.morph, morph), (GRAM_FIELDS, unit.grams, grams)):
        if not terms:
            continue
        for fieldname in fields_:
            docs = version.posting_docs(fieldname, terms[0])
            for term in terms[1:]:
                if not len(docs):
                    break
                docs = np.intersect1d(docs, version.posting_docs(fieldname, term), assume_unique=True)
            found[docs] = True
    for word in unit.not_inside:  # as text_scores: 자바 inside 자바스크립트 is not 자바
        for fieldname in MORPH_FIELDS:
            docs = version.posting_docs(fieldname, word)
            if len(docs):
                grams[docs[~morph[docs]]] = False
    return morph | grams


def _per_version(version: Version, table: str, key, compute):
    """A value of the whole version (for an Enrollable, its `parent`), computed once per version and key:
    queries repeat their words and subjects, and the value depends only on the version."""
    root = getattr(version, "parent", None) or version
    cache = root.derived(table, lambda _v: {})
    found = cache.get(key)
    if found is None:
        if len(cache) > 4096:
            cache.clear()
        found = cache[key] = compute(root)
    return found


def _df(version: Version, unit: Unit, texts: dict) -> int:
    """How many courses' text holds the unit (over the whole version, also for an Enrollable)."""
    own = getattr(version, "parent", None) is None  # the texts computed for this query are the version's
    return _per_version(version, "unit_df", unit, lambda root: _count_courses(root, unit, texts if own else {}))


def _count_courses(version: Version, unit: Unit, texts: dict) -> int:
    return min(int(np.count_nonzero(_hits(version, unit, texts))), _courses(version))


def _courses(version: Version) -> int:
    return max(version.courses, 1)


def _idf(df: int, n: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def family_rarity(version: Version, group: Group, texts: dict) -> float | None:
    """Every spelling of a subject counts alike: the idf of the subject (the courses any direct spelling
    finds), which alternative_scores() gives every word of the group's alternatives instead of the word's own.
    So a course titled "AI …" is not worth less than one titled "인공지능 …" because providers write AI more
    often, and a rare narrower word (프롬프트) does not outweigh the subject itself. None for a single spelling."""
    if len(group.alternatives) < 2:
        return None
    own = getattr(version, "parent", None) is None
    rarity = _per_version(
        version, "family_rarity", group, lambda root: _subject_rarity(root, group, texts if own else {}) or 0.0
    )
    return rarity or None


def _subject_rarity(version: Version, group: Group, texts: dict) -> float | None:
    direct, anything = None, None
    for alternative in group.alternatives:
        matched = None
        for unit in alternative.units:
            hit = _hits(version, unit, texts)
            matched = hit if matched is None else matched & hit
        anything = matched if anything is None else anything | matched
        if alternative.weight == 1.0:
            direct = matched if direct is None else direct | matched
    subject = int(np.count_nonzero(direct)) if direct is not None else 0
    subject = min(subject or int(np.count_nonzero(anything)), _courses(version))
    return _idf(subject, _courses(version)) if subject else None


def group_scores(version: Version, parsed: ParsedQuery, known) -> list[np.ndarray]:
    """Each group's score on every document (0 where the group does not match)."""
    out = []
    for group in parsed.groups:
        best = np.zeros(version.size, dtype=np.float32)
        total = np.zeros(version.size, dtype=np.float32) if len(group.alternatives) > 1 else None
        texts: dict = {}
        rarity = family_rarity(version, group, texts)
        for alternative in group.alternatives:  # the best alternative, a narrower or related one at its share
            scores = alternative_scores(version, alternative, texts, rarity)
            if alternative.weight != 1.0:
                scores *= alternative.weight
            np.maximum(best, scores, out=best)
            if total is not None:
                total += scores
        if total is not None and TIE_SHARE:  # the other spellings a course also has count a little
            best += (total - best) * np.float32(TIE_SHARE)
        out.append(best)
    # 빅 데이터 = 빅데이터: two plain Hangul words may also match as one word written together.
    for i in range(len(parsed.groups) - 1):
        left, right = parsed.groups[i].joinable, parsed.groups[i + 1].joinable
        if left and right:
            joined = word_units(left + right, known)
            if joined:
                share = alternative_scores(version, Alternative(left + right, joined)) * JOIN_SHARE
                np.maximum(out[i], share, out=out[i])
                np.maximum(out[i + 1], share, out=out[i + 1])
    return out


def combine(
    version: Version,
    parsed: ParsedQuery,
    scores_by_group: list[np.ndarray],
    relaxed: bool = False,
    least: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """(matching documents, relevance scores): every group must match; `relaxed`, all groups but one may do,
        and the documents that match every group get FULL_MATCH_BONUS, so they all come first. `least`: the groups
    a relaxed match needs at least (0 when the query's other words became filters: "제주 코딩" also lists the other
    runs in 제주, after the coding ones)."""
    matched = np.zeros(version.size, dtype=np.int16)
    score = np.zeros(version.size, dtype=np.float32)
    for scores in scores_by_group:
        matched += scores > 0
        score += scores
    full = matched == len(scores_by_group)
    mask = matched >= max(len(scores_by_group) - 1, least) if relaxed else full
    if relaxed:
        score[full] += FULL_MATCH_BONUS
    key = title_hash(parsed.text)
    if key:
        exact = np.append(version.cols["title_key"] == np.uint64(key), False)[version.course_doc]
        score[full & exact] += EXACT_TITLE_BONUS
    return mask, score


def unit_found(version: Version, unit: Unit) -> bool:
    """Does the unit match any live run of the whole version (its course's text or its categories)? Every
    course document has a listed run, so a course holding it is enough."""
    version = getattr(version, "parent", None) or version
    if _df(version, unit, {}) > 0:
        return True
    mask, weight = _category_mask(version, unit)
    return bool(weight) and mask is not None and bool((mask & version.live).any())


def match(version: Version, parsed: ParsedQuery, known) -> tuple[np.ndarray, np.ndarray]:
    """(matching documents, relevance scores) for a non-empty query."""
    return combine(version, parsed, group_scores(version, parsed, known))
