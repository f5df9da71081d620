"""Autocomplete: titles, providers, topics and regions by prefix, 초성 and synonyms (docs/search.md).

The lists are built from the live version (course titles and providers from the course documents'
columns, weights = upcoming runs) and rebuilt in the background when the index changed, at most every
SUGGEST_MAX_AGE seconds; the old lists answer meanwhile.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from bisect import bisect_left
from collections.abc import Sequence

import numpy as np
from flask import current_app

from hrdnet.timeutil import kst_today
from search import analysis, labels
from search.facets import days
from search.index.columns import CODES
from search.index.strings import Strings, encode, release_memory
from search.index.versions import Version
from search.ranking import WORD_PIECES

log = logging.getLogger(__name__)

SUGGEST_MAX_AGE = 30.0
KIND_RANK = {"topic": 0, "course": 1, "provider": 2, "region": 3}
SUGGEST_WORDS = 6  # an entry is found from any of its first six words on
KINDS = tuple(KIND_RANK)


class SuggestIndex:
    """Prefix lookups over titles, providers, topics and regions, by whole text or from any of the first
    words on, in plain and 초성 form. Sorted key tables + bisect; the best entries of a range come out with
    argpartition on a precomputed rank. Texts and keys are `Strings` (search.index.strings: one UTF-8 buffer
    each, not a str object per key: ~60 MB at national scale); the 초성 table points into the plain table for
    the plain keys (memory: docs/search.md)."""

    def __init__(self, entries: list[tuple[str, str, int]]):
        # entries: (text, kind, weight)
        self.texts = Strings(e[0] for e in entries)
        self._kinds = np.asarray([KINDS.index(e[1]) for e in entries], dtype=np.uint8)
        self.kinds = _Kinds(self._kinds)
        self.weights = np.asarray([e[2] for e in entries], dtype=np.int64)
        rows = []
        for index, (text, _kind, _weight) in enumerate(entries):
            words = text.split()
            seen = set()
            for position in range(min(len(words), SUGGEST_WORDS)):
                key = analysis.synonym_key(" ".join(words[position:]))
                if key and key not in seen:
                    seen.add(key)
                    rows.append((key, index, 0 if position == 0 else 1))
        rows.sort()
        ids = np.asarray([r[1] for r in rows], dtype=np.int32)
        tiers = np.asarray([r[2] for r in rows], dtype=np.int64)
        initials = [analysis.choseong(r[0]) for r in rows]
        self.keys = Strings(r[0] for r in rows)
        del rows
        order = np.asarray(sorted(range(len(initials)), key=initials.__getitem__), dtype=np.int32)
        initials_keys = Strings(initials[i] for i in order.tolist())
        del initials
        self.plain = (self.keys.encoded, np.arange(len(ids), dtype=np.int32), ids, self._rank(ids, tiers))
        self.initials = (initials_keys.encoded, order, ids[order], self._rank(ids[order], tiers[order]))
        self.built_at = time.monotonic()
        self.version_key = ""

    def _rank(self, ids: np.ndarray, tiers: np.ndarray) -> np.ndarray:
        if not len(ids):
            return np.zeros(0, dtype=np.int64)
        kinds = RANK_OF_KIND[self._kinds[ids]]
        weights = np.minimum(self.weights[ids], (1 << 40) - 1)
        return (tiers * 4 + kinds) * (1 << 40) + ((1 << 40) - 1 - weights)

    def lookup(self, key: str, table: str = "plain", want: int = 30, accept=None) -> list[tuple[int, int]]:
        """[(rank, entry index)] of entries with a key starting with `key`, best first; accept(plain key)
        filters the range further (a query mixing syllables and 초성)."""
        keys, rows, ids, rank = self.plain if table == "plain" else self.initials
        encoded = encode(key)
        lo = bisect_left(keys, encoded)
        hi = bisect_left(keys, encoded + b"\xff", lo)  # 0xff never occurs in UTF-8: past every longer key
        if hi <= lo:
            return []
        span_rank, span_ids = rank[lo:hi], ids[lo:hi]
        if accept is not None:
            plain = self.keys
            keep = np.fromiter((accept(plain[int(rows[i])]) for i in range(lo, hi)), dtype=bool, count=hi - lo)
            span_rank, span_ids = span_rank[keep], span_ids[keep]
        if len(span_rank) > want:
            top = np.argpartition(span_rank, want)[:want]
            span_rank, span_ids = span_rank[top], span_ids[top]
        order = np.argsort(span_rank, kind="stable")
        return [(int(span_rank[i]), int(span_ids[i])) for i in order]


RANK_OF_KIND = np.asarray([KIND_RANK[kind] for kind in KINDS], dtype=np.int64)


class _Kinds(Sequence):
    def __init__(self, codes: np.ndarray):
        self._codes = codes

    def __len__(self) -> int:
        return len(self._codes)

    def __getitem__(self, index):
        return KINDS[int(self._codes[index])]


_suggest_indexes: dict[str, SuggestIndex] = {}
_suggest_lock = threading.Lock()
_suggest_building: set[str] = set()


def _suggest_entries(version: Version) -> list[tuple[str, str, int]]:
    cols = version.cols
    visible = version.visible(days(kst_today()), False)
    entries: dict[tuple[str, str], int] = {}

    def add(text: str, kind: str, weight: int) -> None:
        text = " ".join((text or "").split())
        if text and weight > 0:
            entries[(text, kind)] = entries.get((text, kind), 0) + weight

    # Weights: visible runs per course document and per provider.
    course_runs = np.bincount(version.course_doc[visible], minlength=version.size + 1)
    providers, provider_runs = np.unique(cols["provider_id"][visible], return_counts=True)
    provider_weight = dict(zip(providers.tolist(), provider_runs.tolist(), strict=True))
    seen_providers: set[int] = set()
    for docnum in np.flatnonzero(course_runs[:-1]).tolist():
        title, provider = version.course_text(docnum)
        add(display_title(title), "course", int(course_runs[docnum]))
        provider_id = int(cols["provider_id"][docnum])
        if provider_id not in seen_providers and provider_weight.get(provider_id):
            seen_providers.add(provider_id)
            # Without its legal form, so "아이티윌" finds (주)아이티윌아카데미 (picking it searches its runs).
            add(analysis.strip_legal_form(provider), "provider", provider_weight[provider_id])
    vocabulary = version.vocabulary()
    for family in analysis.synonyms().families:
        weight = max((term_frequency(vocabulary, member) for member in family), default=0)
        for member in family:
            add(member, "topic", weight)
    names = labels.current()
    for name, column, interner in (("sido", cols["sido"], CODES["sido"]), ("region", cols["region"], CODES["region"])):
        counts = np.bincount(column[visible], minlength=len(interner))
        for index in np.flatnonzero(counts):
            code = interner.codes[index]
            if not code or (name == "region" and len(code) != 5):
                continue
            text = names.regions.get(code)
            if len(code) == 5 and code[:2] in names.regions and text:
                text = f"{short_sido(names.regions[code[:2]])} {text}"
            if text:
                add(text, "region", int(counts[index]))
    return [(text, kind, weight) for (text, kind), weight in entries.items()]


def short_sido(name: str) -> str:
    for suffix in ("특별자치시", "특별자치도", "특별시", "광역시"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def display_title(title: str) -> str:
    return re.sub(r"^\s*(?:(?:\[[^\]]*\]|【[^】]*】)\s*)+", "", title).strip() or title


def term_frequency(vocabulary, member: str) -> int:
    """About how many documents hold a synonym-file member (its rarest word)."""
    counts = []
    for piece in WORD_PIECES.findall(analysis.nfkc(member).lower()):
        counts.append(vocabulary.get(piece if analysis.is_hangul_word(piece) else analysis.stem(piece), 0))
    return min(counts) if counts else 0


def index_for(version: Version) -> SuggestIndex:
    """The suggestion lists; rebuilt in the background when the index changed (the old ones serve meanwhile)."""
    root = str(version.root)
    found = _suggest_indexes.get(root)
    if found is not None and (found.version_key == version.key or time.monotonic() - found.built_at < SUGGEST_MAX_AGE):
        return found
    if found is None:
        with _suggest_lock:
            found = _suggest_indexes.get(root)
            if found is None:
                found = _build_suggest(version)
        return found
    with _suggest_lock:
        if root in _suggest_building:
            return found
        _suggest_building.add(root)
    app = current_app._get_current_object()
    if not version.retain():
        with _suggest_lock:
            _suggest_building.discard(root)
        return found

    def rebuild() -> None:
        try:
            with app.app_context():
                _build_suggest(version)
        except Exception:  # noqa: BLE001 - the old lists keep serving
            log.exception("search: rebuilding the suggestion lists failed")
        finally:
            version.release()
            with _suggest_lock:
                _suggest_building.discard(root)

    threading.Thread(target=rebuild, name="search-suggest", daemon=True).start()
    return found


def _build_suggest(version: Version) -> SuggestIndex:
    index = SuggestIndex(_suggest_entries(version))
    index.version_key = version.key
    _suggest_indexes[str(version.root)] = index
    release_memory(collect=True)  # the entries and key rows of every course were built to be thrown away
    return index


def _initials_match(query: str):
    """For a query mixing syllables and 초성 (빅ㄷ): does a key match it letter by letter?"""

    def accept(key: str) -> bool:
        if len(key) < len(query):
            return False
        for typed, actual in zip(query, key, strict=False):
            if analysis.is_choseong(typed):
                if analysis.choseong(actual) != typed:
                    return False
            elif typed != actual:
                return False
        return True

    return accept


def complete(index: SuggestIndex, key: str, limit: int) -> list[tuple[str, str]]:
    found: list[tuple[tuple, int]] = []
    if any(analysis.is_choseong(ch) for ch in key):
        initials = analysis.choseong(key)
        accept = None if all(analysis.is_choseong(ch) for ch in key) else _initials_match(key)
        found += [((0, rank), i) for rank, i in index.lookup(initials, "initials", limit * 3, accept)]
    else:
        found += [((0, rank), i) for rank, i in index.lookup(key, "plain", limit * 3)]
        synonyms = analysis.synonyms()
        families = (
            {i for k, ids in synonyms.by_key.items() if k.startswith(key) for i in ids} if len(key) >= 2 else set()
        )
        for family_index in sorted(families)[:5]:
            for member in synonyms.families[family_index]:
                member_key = analysis.synonym_key(member)
                if member_key == key or member_key.startswith(key):
                    continue
                found += [((1, rank), i) for rank, i in index.lookup(member_key, "plain", 3)]
    found.sort()
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for _rank, entry in found:
        text = index.texts[entry]
        if text.lower() in seen:
            continue
        seen.add(text.lower())
        out.append((text, index.kinds[entry]))
        if len(out) >= limit:
            break
    return out
