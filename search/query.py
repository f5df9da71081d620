"""Searching the catalog: `search(params)` and `suggest(q)`, the engine behind search.interfaces (docs/search.md).

How a search runs, at 120,000 runs in a few milliseconds of numpy rather than Whoosh's own scorer:

1. The query is analysed without Kiwi (search.analysis): words → synonym families (OR) → units that
   must all match; a unit matches as whole morphemes or as Hangul bigrams, in any text field.
2. Each unit's postings come from the open index as numpy arrays (search.index.versions caches them per
   segment) and are scattered into one dense score array per unit: BM25 × field boost, morphemes above
   bigrams, title above contents. Groups are ANDed, alternatives take the best; adjacent Hangul words may
   also match written together (빅 데이터 = 빅데이터). An exact title match gets a bonus that puts it first.
   When fewer than RELAX_BELOW courses have every word, the documents with all words but one follow them.
3. Filters are boolean masks over column arrays; every facet is counted with `numpy.bincount` over the
   matching documents with every *other* filter applied (so a chosen facet still shows its siblings).
4. Only the page's documents are ranked fully (`argpartition`, then a stable `lexsort`) and only those
   ~20 have their stored values read and highlighted.

A query that finds fewer than LITTLE runs is checked for typos against the index vocabulary (jamo-level
edit distance, so 파이선 → 파이썬; pyhton → python): with no result at all the corrected query is run
instead (`corrected_from` says so), otherwise it is offered as `suggestion`; `did_you_mean()` words it.

No index yet: search() answers an empty result and suggest() an empty list (and a warning is logged once);
`index_ready()` tells a page to say so. `hrdnet search reindex` builds the index.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
from collections import OrderedDict
from datetime import date, timedelta

import numpy as np
from markupsafe import Markup, escape

from courses import enrolment_window
from hrdnet import korean
from hrdnet.timeutil import kst_today
from search import analysis, completion, facets, initials, intent, labels, spelling
from search.index import enrollable, versions
from search.index.columns import CODES
from search.index.schema import MODE_KINDS, WEEKEND_KINDS
from search.index.versions import Version
from search.interfaces import (
    DEFAULT_SORT,
    PER_PAGE,
    PER_PAGE_MAX,
    RUNS_PER_COURSE,
    SORTS,
    CourseHit,
    Hit,
    RunChip,
    SearchParams,
    SearchResult,
    Suggestion,
)
from search.ranking import ParsedQuery, combine, group_scores, match, parse_query

log = logging.getLogger(__name__)

LITTLE = 3  # fewer results than this: look for a better spelling
RELAX_BELOW = 20  # fewer courses than this have every word of a query: also show those with all words but one
ORIGINAL_FIRST = 10_000.0  # with a suggestion, what was typed still ranks above what the suggestion adds
SNIPPET_CHARS = 140
RELAXED_NOTE = "검색어를 모두 담은 과정이 적어, 일부 낱말만 맞는 과정도 그 뒤에 보여 드립니다."
_EPOCH = date(1970, 1, 1)


def index_ready() -> bool:
    """Is there an index to search? (A page can say "검색 색인을 준비하고 있습니다" when not.)"""
    return versions.current() is not None


def did_you_mean(suggestion: str) -> str:
    """ "혹시 파이썬을 찾으셨나요?" with the particle the word takes (을(를) when it cannot tell)."""
    return f"혹시 {korean.with_particle(suggestion, '을', '를')} 찾으셨나요?"


# -- ranking and hits ----------------------------------------------------------------------------------


def _order(
    version: Version,
    candidates: np.ndarray,
    score: np.ndarray | None,
    sort: str,
    count: int,
    today_days: int,
    price_classes: tuple[int, ...] = (),
) -> np.ndarray:
    """The first `count` candidates in the requested order (ties: earlier start, then run id); whatever the
    order, runs still recruiting come before the others (shown with include_closed / include_past)."""
    if not len(candidates):
        return candidates
    closed = ~version.recruiting(today_days)[candidates]
    if closed.any():
        return np.concatenate(
            [
                _order_within(version, candidates[~closed], score, sort, count, price_classes),
                _order_within(version, candidates[closed], score, sort, count, price_classes),
            ]
        )[:count]
    return _order_within(version, candidates, score, sort, count, price_classes)


def _order_within(
    version: Version,
    candidates: np.ndarray,
    score: np.ndarray | None,
    sort: str,
    count: int,
    price_classes: tuple[int, ...] = (),
):
    cols = version.cols
    if not len(candidates):
        return candidates
    relevance = -score[candidates] if score is not None else np.zeros(len(candidates), dtype=np.float32)
    start, run_id = cols["start"][candidates], cols["run_id"][candidates]
    if sort == "relevance" and score is not None:
        if len(candidates) > count * 4:
            kth = np.partition(relevance, count - 1)[count - 1]
            keep = relevance <= kth
            candidates, relevance, start, run_id = candidates[keep], relevance[keep], start[keep], run_id[keep]
        keys = (run_id, start, relevance)
    elif sort == "deadline":  # the window that closes first; an upcoming one closes after the open ones
        keys = (run_id, start, relevance, cols["apply_closes"][candidates])
    elif sort == "employment":
        keys = (run_id, start, relevance, _desc_nan_last(cols["employment"][candidates]))
    elif sort == "score":
        keys = (run_id, start, relevance, _desc_nan_last(cols["satisfaction"][candidates]))
    elif sort == "price":
        self_pay = _self_pay(cols, candidates, price_classes)
        keys = (
            run_id,
            start,
            relevance,
            cols["fee"][candidates],
            np.where(self_pay < 0, np.iinfo(np.int64).max, self_pay),
        )
    else:  # start, and relevance without a query
        keys = (run_id, relevance, start)
    return candidates[np.lexsort(keys)][:count]


def _self_pay(cols: dict, candidates: np.ndarray, price_classes: tuple[int, ...]) -> np.ndarray:
    """The self-pay sort=price orders by: the learner's own (the lowest over their price classes' indexed
    amounts, courses.pricing.price_classes_of) or, for anyone else, the generic split's; -1 = unknown."""
    if not price_classes:
        return cols["self_pay"][candidates]
    return cols["self_pay_classes"][candidates][:, list(price_classes)].min(axis=1)


def _desc_nan_last(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), np.inf, -values.astype(np.float64))


_MARK_OPEN, _MARK_CLOSE = Markup("<mark>"), Markup("</mark>")


def highlighter(parsed: ParsedQuery | None) -> re.Pattern | None:
    if parsed is None:
        return None
    hangul, latin = parsed.highlight_terms()
    patterns = [r"\s*".join(map(re.escape, h)) for h in sorted(hangul, key=len, reverse=True) if h]
    patterns += [rf"(?<![a-z0-9]){re.escape(w)}[a-z0-9]*" for w in sorted(latin, key=len, reverse=True) if w]
    return re.compile("|".join(patterns), re.IGNORECASE) if patterns else None


def mark_html(text: str, pattern: re.Pattern | None) -> str:
    if not pattern or not text:
        return str(escape(text or ""))
    out, last = [], 0
    for found in pattern.finditer(text):
        if found.end() == found.start():
            continue
        out += [escape(text[last : found.start()]), _MARK_OPEN, escape(found.group(0)), _MARK_CLOSE]
        last = found.end()
    out.append(escape(text[last:]))
    return str(Markup("").join(out))


def snippet(text: str, pattern: re.Pattern | None) -> str:
    text = " ".join((text or "").split())
    if not text:
        return ""
    start = 0
    if pattern:
        positions = [m.start() for m in pattern.finditer(text) if m.end() > m.start()]
        if positions:
            best = max(positions, key=lambda p: sum(1 for q in positions if p <= q < p + SNIPPET_CHARS - 30))
            start = max(0, best - 30)
            while start > 0 and not text[start - 1].isspace() and best - start < 45:
                start -= 1
    piece = text[start : start + SNIPPET_CHARS]
    html = mark_html(piece, pattern)
    return ("…" if start > 0 else "") + html + ("…" if start + SNIPPET_CHARS < len(text) else "")


def _code(column: str, value: int) -> str | None:
    return CODES[column].codes[value] or None


def _optional(value) -> float | None:
    return None if np.isnan(value) else round(float(value), 2)


def _day(days: int) -> date:
    return _EPOCH + timedelta(days=int(days))


def _recruitment(cols: dict, docnum: int, today: date) -> enrolment_window.Recruitment:
    """The run's recruitment status on the search's day, from the window and lifecycle its row stores."""
    window = enrolment_window.Window(
        _day(cols["apply_opens"][docnum]),
        _day(cols["apply_closes"][docnum]),
        "provider" if cols["window_by_provider"][docnum] else "programme",
    )
    return enrolment_window.derive(
        lifecycle="closed" if cols["lifecycle_closed"][docnum] else "open",
        start=_day(cols["start"][docnum]),
        end=_day(cols["end"][docnum]),
        seats_left=int(cols["seats_left"][docnum]),
        window=window,
        today=today,
    )


def _hit(version: Version, docnum: int, names: labels.Labels, pattern: re.Pattern | None, today: date) -> Hit:
    """A result line from the run's row, its course document and the names of its codes."""
    cols = version.cols
    course_docnum = int(version.course_doc[docnum])
    if course_docnum < version.size:
        title, provider = version.course_text(course_docnum)
        contents = version.stored(course_docnum) or ""
    else:  # cannot happen while runs and courses are written together; never fail a whole search for it
        title, provider, contents = "", "", ""
    region, ncs = _code("region", cols["region"][docnum]), _code("ncs", cols["ncs"][docnum])
    programme, ministry = _code("programme", cols["programme"][docnum]), _code("ministry", cols["ministry"][docnum])
    self_pay = int(cols["self_pay"][docnum])
    return Hit(
        run_id=int(cols["run_id"][docnum]),
        course_id=int(cols["course_id"][docnum]),
        title=title,
        title_html=mark_html(title, pattern),
        provider=provider,
        start_date=_day(cols["start"][docnum]),
        end_date=_day(cols["end"][docnum]),
        fee=int(cols["fee"][docnum]),
        self_pay=self_pay if self_pay >= 0 else None,
        seats_left=int(cols["seats_left"][docnum]),
        region=region,
        region_name=labels.region_name(region, names),
        ncs=ncs,
        ncs_name=names.ncs.get(ncs) if ncs else None,
        programme=programme,
        programme_name=names.programmes.get(programme) if programme else None,
        ministry=ministry,
        ministry_name=names.ministries.get(ministry) if ministry else None,
        mode=MODE_KINDS[cols["mode"][docnum]],
        weekend=WEEKEND_KINDS[cols["weekend"][docnum]],
        employment_rate=_optional(cols["employment"][docnum]),
        satisfaction=_optional(cols["satisfaction"][docnum]),
        source_ids=list(version.stored(docnum) or []),
        snippet_html=snippet(contents, pattern),
        recruitment=_recruitment(cols, docnum, today),
        run_number=int(cols["run_number"][docnum]) or None,
    )


def result_line(version: Version, docnum: int, today: date) -> Hit:
    """A run's result line without highlighting (the job finder's)."""
    return _hit(version, docnum, labels.current(), None, today)


# -- search ----------------------------------------------------------------------------------------------


def _empty(params: SearchParams, page: int, per_page: int, started: float) -> SearchResult:
    return SearchResult(0, [], {}, None, None, page, per_page, (time.perf_counter() - started) * 1000)


def search(params: SearchParams) -> SearchResult:
    """Search the live index (inside an app context). Never raises for a missing index: empty result."""
    started = time.perf_counter()
    page = max(int(params.page or 1), 1)
    per_page = min(max(int(params.per_page or PER_PAGE), 1), PER_PAGE_MAX)
    today = kst_today()
    with versions.using() as version:
        if version is None:
            return _empty(params, page, per_page, started)
        if not params.include_closed and not params.include_past:
            # The default search: only the runs still open for enrolment, whatever the archive holds.
            version = enrollable.of(version, facets.days(today))
        if (params.q or "").strip():
            return _search(version, params, page, per_page, started, today)
        # Browsing (no text): the landing page and its facet states repeat, and their answer depends only on
        # the version and the day, so it is kept with the version (its Enrollable is per day already).
        cache = version.derived("browse_results", lambda _v: Recent(BROWSE_CACHED))
        key = (params, page, per_page, today)
        found = cache.get(key)
        if found is None:
            found = _search(version, params, page, per_page, started, today)
            cache.put(key, found)
        return dataclasses.replace(found, took_ms=round((time.perf_counter() - started) * 1000, 2))


BROWSE_CACHED = 256  # browse answers kept per version (and day)


class Recent:
    """The last `size` answers, thread-safe enough for a cache (a lost entry is only recomputed)."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)


def _courses_in(version: Version, matching: np.ndarray, enough: int) -> int:
    """Distinct courses among the matching runs (counted exactly only up to `enough`, cheaply)."""
    docs = np.flatnonzero(matching)
    if len(docs) >= enough * 50:
        return len(docs)
    return len(np.unique(version.cols["course_id"][docs]))


def _search(
    version: Version, params: SearchParams, page: int, per_page: int, started: float, today: date
) -> SearchResult:
    notes: list[str] = []
    if params.q and any(initials.is_initials(word) for word in params.q.split()):
        spelled = initials.expand(version, params.q)
        if spelled is not None:
            notes.append(
                f"초성 ‘{params.q}’{korean.particle(params.q, '을', '를')} ‘{spelled}’{korean.particle(spelled, '으로', '로')} 찾았습니다."
            )
            params = dataclasses.replace(params, q=spelled)
        if any(initials.is_initials(word) for word in params.q.split()):  # a 초성 word nothing spells finds nothing
            return dataclasses.replace(_empty(params, page, per_page, started), notes=tuple(notes), params=params)
    params, applied = intent.interpret(version, params, labels.current())
    notes += [item.note for item in applied]
    result = _search_text(version, params, page, per_page, started, today, read_filters=bool(applied))
    return dataclasses.replace(result, notes=tuple(notes) + result.notes, applied=applied, params=params)


def _search_text(
    version: Version,
    params: SearchParams,
    page: int,
    per_page: int,
    started: float,
    today: date,
    read_filters: bool = False,
) -> SearchResult:
    """The search of the text and filters. `read_filters`: some of the query's words became filters; they
    count as words of the query that every result matches, for the relaxed fallback (RELAX_BELOW)."""
    known = versions.analysis_known(version)
    names = labels.current()
    base = version.visible(facets.days(today), params.include_past, params.include_closed)
    filters = facets.filters(version, params, names)
    everything = facets.all_of(base, filters.values())
    parsed = parse_query(params.q, known) if params.q and params.q.strip() else None
    if parsed is not None and not parsed.groups:
        parsed = None  # nothing searchable (punctuation, stop words): browse
    score = None
    text_mask = None
    scores_by_group = None
    relaxed = False
    if parsed is not None:
        scores_by_group = group_scores(version, parsed, known)
        text_mask, score = combine(version, parsed, scores_by_group)
    matching = everything & text_mask if text_mask is not None else everything
    total = int(np.count_nonzero(matching))
    suggestion = corrected_from = None
    if parsed is not None and total < LITTLE:
        corrected = spelling.correction(version, parsed, known)
        if corrected is not None:
            better = parse_query(corrected, known)
            better_mask, better_score = match(version, better, known)
            better_total = int(np.count_nonzero(everything & better_mask))
            if better_total > total:
                suggestion = corrected
                if total == 0:  # nothing for what was typed: show the correction's results instead
                    corrected_from, parsed, text_mask, score = params.q, better, better_mask, better_score
                else:  # a little for what was typed: show it first, then the correction's results
                    score = np.where(text_mask, score + ORIGINAL_FIRST, better_score)
                    text_mask = text_mask | better_mask
                    parsed = ParsedQuery(parsed.text, parsed.words, parsed.groups + better.groups)
                matching = everything & text_mask
                total = int(np.count_nonzero(matching))
    if (
        parsed is not None
        and suggestion is None
        and (len(parsed.groups) > 1 or read_filters)
        and _courses_in(version, matching, RELAX_BELOW) < RELAX_BELOW
    ):
        # Few courses have every word: also show those with all words but one, after them (a word read as a
        # filter counts as one every run matches: "제주 코딩" lists 제주's other runs after its coding ones).
        least = 0 if read_filters else 1
        relaxed_mask, relaxed_score = combine(version, parsed, scores_by_group, relaxed=True, least=least)
        relaxed_matching = everything & relaxed_mask
        relaxed_total = int(np.count_nonzero(relaxed_matching))
        if relaxed_total > total:
            text_mask, score, matching, total = relaxed_mask, relaxed_score, relaxed_matching, relaxed_total
            relaxed = True
    if params.run_ids is not None:  # after the fallback, so a run matches exactly as in the whole search
        matching = matching & np.isin(version.cols["run_id"], np.asarray(params.run_ids, dtype=np.int64))
        total = int(np.count_nonzero(matching))
    facet_base = base & text_mask if text_mask is not None else base
    counted = facets.facets(version, params, facet_base, filters, names)
    sort = params.sort if params.sort in SORTS else DEFAULT_SORT
    pattern = highlighter(parsed)
    courses = course_total = None
    if params.by_course:
        courses, course_total = _courses_page(
            version, np.flatnonzero(matching), score, sort, page, per_page, names, pattern, today, params.price_classes
        )
        items = [course.hit for course in courses]
    else:
        ordered = _order(
            version, np.flatnonzero(matching), score, sort, page * per_page, facets.days(today), params.price_classes
        )
        page_docs = ordered[(page - 1) * per_page : page * per_page]
        items = [_hit(version, int(docnum), names, pattern, today) for docnum in page_docs]
    return SearchResult(
        total,
        items,
        counted,
        suggestion,
        corrected_from,
        page,
        per_page,
        round((time.perf_counter() - started) * 1000, 2),
        notes=(RELAXED_NOTE,) if relaxed else (),
        courses=courses,
        course_total=course_total,
    )


def _courses_page(
    version: Version,
    candidates: np.ndarray,
    score: np.ndarray | None,
    sort: str,
    page: int,
    per_page: int,
    names,
    pattern,
    today: date,
    price_classes: tuple[int, ...] = (),
) -> tuple[list[CourseHit], int]:
    """One entry per course, in the order of each course's first run; only the page's courses are read.

    The first runs in order are taken four times as many as the page's courses (more while they hold too few
    courses: a prefix of the full order, so each course's first run is its best), the courses counted with one
    bincount, and only the page's courses' runs ordered for their chips: no full sort of every match."""
    cols, today_days = version.cols, facets.days(today)
    need = page * per_page
    count = need * 4
    while True:
        ordered = _order(version, candidates, score, sort, count, today_days, price_classes)
        _unique, first = np.unique(cols["course_id"][ordered], return_index=True)
        if len(first) >= need or len(ordered) >= len(candidates):
            break
        count *= 4
    leaders = ordered[np.sort(first)]
    total = int(np.count_nonzero(np.bincount(version.course_doc[candidates]))) if len(candidates) else 0
    page_leaders = leaders[(page - 1) * per_page : need]
    if not len(page_leaders):
        return [], total
    page_ids = cols["course_id"][page_leaders]
    theirs = candidates[np.isin(cols["course_id"][candidates], page_ids)]
    theirs = _order(version, theirs, score, sort, len(theirs), today_days, price_classes)
    runs_of: dict[int, list[int]] = {}
    counts: dict[int, int] = {}
    for docnum, course_id in zip(theirs.tolist(), cols["course_id"][theirs].tolist(), strict=True):
        counts[course_id] = counts.get(course_id, 0) + 1
        chosen = runs_of.setdefault(course_id, [])
        if len(chosen) < RUNS_PER_COURSE:
            chosen.append(docnum)
    out = []
    for docnum in page_leaders.tolist():
        course_id = int(cols["course_id"][docnum])
        chips = [_chip(version, run, today) for run in runs_of[course_id]]
        out.append(CourseHit(_hit(version, docnum, names, pattern, today), chips, counts[course_id] - len(chips)))
    return out, total


def _chip(version: Version, docnum: int, today: date) -> RunChip:
    cols = version.cols
    self_pay = int(cols["self_pay"][docnum])
    return RunChip(
        run_id=int(cols["run_id"][docnum]),
        run_number=int(cols["run_number"][docnum]) or None,
        start_date=_day(cols["start"][docnum]),
        seats_left=int(cols["seats_left"][docnum]),
        self_pay=self_pay if self_pay >= 0 else None,
        recruitment=_recruitment(cols, docnum, today),
    )


def suggest(q: str, limit: int = 10) -> list[Suggestion]:
    """Autocomplete: titles, providers, topics and regions starting with q (from any word on), 초성 input
    (ㅂㄷㅇㅌ → 빅데이터), and the synonym family of what was typed (파이 → 파이썬, Python)."""
    key = analysis.synonym_key(q or "")
    limit = max(1, min(int(limit), 50))
    if not key:
        return []
    with versions.using() as version:
        if version is None:
            return []
        index = completion.index_for(version)
    return [Suggestion(text, kind) for text, kind in completion.complete(index, key, limit)]


__all__ = ["did_you_mean", "index_ready", "search", "suggest"]
