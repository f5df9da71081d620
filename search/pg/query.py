"""`search(params)` and `suggest(q)` over the PostgreSQL search tables (docs/search.md, "The PostgreSQL backend").

The steps of search.query, in SQL:

1. 초성 and intent run first, with the same code (search.initials, search.intent) over the tables' vocabulary
   (search.pg.snapshot); the query is parsed by search.ranking.parse_query into groups → alternatives → units.
2. Each unit is a tsquery on the courses' morphemes and one on their bigrams (GIN indexes); its score on a
   course is ts_rank with the fields' boosts as tsvector weights (title A, keywords B, contents C) × the
   unit's rarity (idf, from `search_terms`; a synonym family's spellings all at the family's rarity), plus the
   run's category names (NCS, programme, ministry, region, schedule, mode, provider address) as a condition on
   the run's columns worth CATEGORY_BOOST × their idf. Alternatives need every unit (their mean), a group
   takes its best alternative plus TIE_SHARE of the others, groups add up, an exact title gets
   EXACT_TITLE_BONUS; the relaxed fallback and the spelling suggestion work as in search.query.
3. Filters are conditions on `search_runs`; the facets are counted in one statement over the matching runs
   (materialised once), each facet with every other filter applied.
4. The page is ordered in SQL (runs still recruiting first, then the sort); one card per course with
   ROW_NUMBER() over each course's runs.
"""

from __future__ import annotations

import dataclasses
import math
import time
from datetime import date

from sqlalchemy import text

from courses import enrolment_window
from courses.services import MODE_LABELS, WEEKEND_LABELS
from hrdnet import korean
from hrdnet.extensions import db
from hrdnet.timeutil import kst_today
from search import analysis, completion, facets, initials, intent, labels
from search.index.schema import BOOSTS, CATEGORY_BOOST, MODE_KINDS, WEEKEND_KINDS, title_key_text
from search.interfaces import (
    DEFAULT_SORT,
    FEE_BANDS,
    PER_PAGE,
    PER_PAGE_MAX,
    RUNS_PER_COURSE,
    SELF_PAY_BANDS,
    SORTS,
    CourseHit,
    FacetValue,
    Hit,
    RunChip,
    SearchParams,
    SearchResult,
    Suggestion,
)
from search.pg import snapshot as snapshots
from search.query import (
    BROWSE_CACHED,
    LITTLE,
    ORIGINAL_FIRST,
    RELAX_BELOW,
    RELAXED_NOTE,
    Recent,
    highlighter,
    mark_html,
    snippet,
)
from search.ranking import (
    EXACT_TITLE_BONUS,
    FULL_MATCH_BONUS,
    JOIN_SHARE,
    KNOWN_GRAM_SHARE,
    MODE_NAMES,
    SCHEDULE_NAMES,
    TIE_SHARE,
    Alternative,
    Group,
    ParsedQuery,
    Unit,
    parse_query,
    word_units,
)

RANK_ONE = 0.6079271  # ts_rank of one occurrence at weight 1.0: scaled to 1, as BM25 scores a single term
# Each field is ranked on its own (ts_rank's weights {D, C, B, A} keep one weight), so its boost adds up as the
# fields' BM25 scores do: (the weight that keeps it, the Whoosh field whose boost it takes, a title?)
FIELDS = {
    "morph": (("{0,0,0,1}", "t_m", True), ("{0,0,1,0}", "k_m", False), ("{0,1,0,0}", "b_m", False)),
    "grams": (("{0,0,0,1}", "t_g", True), ("{0,0,1,0}", "k_g", False), ("{0,1,0,0}", "b_g", False)),
}
K1, TITLE_B = 1.2, 0.5  # search.index.versions' BM25: titles are length-normalised
TYPO_DISTANCE = 2  # letters (jamo for Hangul) a corrected word may differ by
TYPO_SIMILARITY = 0.25  # pg_trgm similarity of the letters a typo candidate needs (pyhton ~ python: 0.27)
RARE_RATIO = 3  # a word that finds a little is corrected only to one this many times commoner


class SearchBackendError(RuntimeError):
    pass


def index_ready() -> bool:
    return snapshots.current() is not None


# -- SQL pieces ----------------------------------------------------------------------------------------


class Binds(dict):
    """Bound parameters of one statement: add(value) → the placeholder."""

    def add(self, value) -> str:
        name = f"p{len(self)}"
        self[name] = value
        return f":{name}"


def _tsquery(terms: tuple[str, ...], joiner: str = " & ") -> str:
    """Every term (or, joiner " | ", any) as tsquery text."""
    return joiner.join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms)


def _ranked(column: str, terms: tuple[str, ...], idf: float, binds: Binds, title_norm: str) -> str:
    """BM25 of the terms over the three fields of a tsvector: per field, ts_rank of any of the terms (the mean of
    their frequencies, as search.ranking._all_of takes the mean of their weights; ts_rank of all of them would
    reward their proximity instead) × the field's boost × idf; titles length-normalised."""
    query = f"CAST({binds.add(_tsquery(terms, ' | '))} AS tsquery)"
    parts = []
    for weights, field, title in FIELDS[column]:
        scale = BOOSTS[field] * idf / RANK_ONE
        parts.append(f"ts_rank('{weights}', {column}, {query}) * {scale:.6f}" + (f" * {title_norm}" if title else ""))
    return "(" + " + ".join(parts) + ")"


def _idf(df: int, n: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


@dataclasses.dataclass
class Scored:
    """A parsed query as SQL: per-run group score expressions over the joined course columns."""

    course_columns: list[str]  # expressions computed per matching course (c.u0 …)
    course_where: str  # the courses some unit's text matches
    category_any: str  # runs some unit's category names match
    unit_columns: list[str]  # per run: u<k> = text × factor + category
    groups: list[str]  # per run: a group's score, over the unit columns
    title_key: str
    courses: str = ""  # the matching courses' text scores, computed once (materialise()), as a FROM item
    per_course: bool = False  # no category name matches: the groups' scores are the course's (g<j> in courses)
    ranked: str = ""  # the SQL of `courses` while it is a subquery (Planner.fetched binds its rows instead)
    run_flags: dict[str, str] = dataclasses.field(default_factory=dict)  # b<j> -> its condition (Planner._flag)
    names: list[str] = dataclasses.field(default_factory=list)  # its score columns


_names_cache: dict[float, dict] = {}


def _category_names(names: labels.Labels) -> dict[str, list[tuple]]:
    """column → [(code, its names without spaces joined by |, their English stems)], as search.ranking's
    _category_texts, computed once per load of the labels (a few thousand names)."""
    found = _names_cache.get(names.loaded_at)
    if found is not None:
        return found

    def entry(code, found_names: list[str]) -> tuple:
        found_names = [n for n in found_names if n]
        keys = "|".join(analysis.synonym_key(n) for n in found_names)
        return (code, keys, frozenset(analysis.latin_terms(" ".join(found_names))))

    ncs = [entry(c, [n]) for c, n in names.ncs.items()]
    out = {
        "ncs1": [e for e in ncs if len(e[0]) == 2],
        "ncs2": [e for e in ncs if len(e[0]) == 4],
        "ncs_prefix": [e for e in ncs if len(e[0]) > 4],
        "programme": [entry(c, [n]) for c, n in names.programmes.items()],
        "ministry": [entry(c, [n]) for c, n in names.ministries.items()],
        "sido": [entry(c, [n]) for c, n in names.regions.items() if len(c) == 2],
        "region": [entry(c, [n]) for c, n in names.regions.items() if len(c) == 5],
        "weekend": [entry(kind, list(words)) for kind, words in SCHEDULE_NAMES.items() if kind in WEEKEND_KINDS],
        "mode": [entry(kind, list(words)) for kind, words in MODE_NAMES.items() if kind in MODE_KINDS],
        "provider_id": [(pid, analysis.synonym_key(address), frozenset()) for pid, address in names.places.items()],
    }
    _names_cache.clear()
    _names_cache[names.loaded_at] = out
    return out


class Planner:
    """Turns a ParsedQuery into SQL expressions, with the rarities and category weights it needs."""

    def __init__(self, snap: snapshots.Snapshot, names: labels.Labels, binds: Binds):
        self.snap, self.names, self.binds = snap, names, binds
        self.gram_df: dict[str, int] = {}
        self.flags: dict[str, str] = {}  # a category condition's codes -> its run column b<j>
        self.flag_sql: dict[str, str] = {}  # b<j> -> its SQL condition on search_runs r
        # BM25's saturation of one occurrence in a title of title_len morphemes (search.index.versions)
        self.title_norm = (
            f"({K1 + 1.0} / (1.0 + {K1} * ({1.0 - TITLE_B} + {TITLE_B} * title_len / {snap.avg_title_len:.6f})))"
        )

    # rarity ---------------------------------------------------------------------------------------

    def _gram_dfs(self, grams: tuple[str, ...]) -> dict[str, int]:
        """The bigrams' counts (read for the whole query at once by prefetch())."""
        missing = [g for g in grams if g not in self.gram_df]
        if missing:
            self.prefetch(missing)
        return self.gram_df

    def prefetch(self, grams) -> None:
        grams = sorted(set(grams) - set(self.gram_df))
        if not grams:
            return
        self.gram_df.update({g: 0 for g in grams})
        rows = db.session.execute(
            text("SELECT term, df FROM search_terms WHERE kind = 'g' AND term = ANY(:t)"), {"t": grams}
        )
        self.gram_df.update({term: int(df) for term, df in rows})

    def idfs(self, unit: Unit) -> tuple[float, float, float]:
        """(the unit's own idf: the courses holding it, its morphemes' mean idf, its bigrams' mean idf), as BM25
        weighs each term of search.ranking's postings by its own idf."""
        n = max(self.snap.courses, 1)
        vocab = self.snap.vocabulary()
        morph = [min(vocab.get(t, 0), n) for t in unit.morph]
        grams = self._gram_dfs(unit.grams)
        gram = [min(grams.get(t, 0), n) for t in unit.grams]
        df = max(min(morph, default=0), min(gram, default=0))  # about the courses holding it either way
        mean = lambda dfs: sum(_idf(d, n) for d in dfs) / len(dfs) if dfs else 0.0  # noqa: E731
        return _idf(df, n), mean(morph), mean(gram)

    def _text_match(self, unit: Unit, binds: Binds) -> str:
        parts = []
        if unit.morph:
            parts.append(f"morph @@ CAST({binds.add(_tsquery(unit.morph))} AS tsquery)")
        if unit.grams:
            parts.append(f"grams @@ CAST({binds.add(_tsquery(unit.grams))} AS tsquery)")
        return "(" + " OR ".join(parts) + ")" if parts else "FALSE"

    def family_rarity(self, group: Group) -> float | None:
        """The idf of the courses the group's direct spellings find (search.ranking.family_rarity)."""
        if len(group.alternatives) < 2:
            return None
        binds = Binds()
        direct = [
            " AND ".join(self._text_match(u, binds) for u in a.units) for a in group.alternatives if a.weight == 1.0
        ]
        if not direct:
            return None
        cache = self.snap.derived("pg_family_rarity", lambda _s: Recent(2048))  # group -> idf, per generation
        found = cache.get(group)
        if found is None:
            subject = db.session.scalar(text("SELECT count(*) FROM search_courses WHERE " + " OR ".join(direct)), binds)
            n = max(self.snap.courses, 1)
            found = (_idf(min(int(subject), n), n) if subject else None,)
            cache.put(group, found)
        return found[0]

    # categories -----------------------------------------------------------------------------------

    def _category_codes(self, unit: Unit) -> dict[str, list]:
        """column → the codes whose names hold the unit (search.ranking._category_mask, by name)."""
        hangul = bool(unit.grams) or analysis.has_hangul(unit.text)
        if hangul and len(unit.text) < 2:
            return {}
        out: dict[str, list] = {}
        for column, entries in _category_names(self.names).items():
            if column == "provider_id" and (not hangul or "sido" in out or "region" in out):
                continue  # a provider's address only for a Hangul word that names no region
            if hangul:
                codes = [code for code, keys, _latin in entries if unit.text in keys]
            else:
                codes = [code for code, _keys, latin in entries if unit.morph and unit.morph[0] in latin]
            if codes:
                out[column] = codes
        return out

    def _category_sql(self, codes: dict[str, list], binds: Binds) -> str | None:
        parts = []
        for column, values in codes.items():
            if column == "ncs_prefix":  # 6- and 8-digit codes: equality on the code's first digits, which
                # PostgreSQL answers with a hash of the list (LIKE ANY tried every pattern on every run)
                for size in sorted({len(v) for v in values}):
                    prefix = "r.ncs" if size >= 8 else f"left(r.ncs, {size})"
                    parts.append(f"{prefix} = ANY({binds.add(sorted(v for v in values if len(v) == size))})")
            else:
                parts.append(f"r.{column} = ANY({binds.add(values)})")
        return "(" + " OR ".join(parts) + ")" if parts else None

    def category(self, unit: Unit) -> tuple[str | None, float]:
        """The unit's condition on a run's categories, and what a match is worth (CATEGORY_BOOST × idf)."""
        cache = self.snap.derived("pg_categories", lambda _s: {})  # unit -> (codes, weight), per generation
        found = cache.get(unit)
        if found is None:
            codes = self._category_codes(unit)
            weight = 0.0
            if codes:
                weight = self._category_weight(codes)
            if len(cache) > 2048:
                cache.clear()
            found = cache[unit] = (codes, weight)
        codes, weight = found
        if not codes:
            return None, 0.0
        return self._flag(codes), weight

    def _flag(self, codes: dict[str, list]) -> str:
        """A run's column (r.b<j>) holding whether its categories are these codes: each distinct condition is
        evaluated once per run (run_flags), however many units and groups refer to it."""
        key = repr(sorted((column, sorted(values)) for column, values in codes.items()))
        name = self.flags.get(key)
        if name is None:
            name = f"b{len(self.flags)}"
            self.flags[key] = name
            self.flag_sql[name] = self._category_sql(codes, self.binds)
        return f"r.{name}"

    def _category_weight(self, codes: dict[str, list]) -> float:
        """CATEGORY_BOOST × the idf of the runs whose categories match."""
        count_binds = Binds()
        found = db.session.scalar(
            text("SELECT count(*) FROM search_runs r WHERE " + self._category_sql(codes, count_binds)), count_binds
        )
        runs = max(self.snap.runs, 1)
        return CATEGORY_BOOST * _idf(min(int(found), runs), runs) if found else 0.0

    # expressions ----------------------------------------------------------------------------------

    def _text_score(self, unit: Unit, morph_idf: float, gram_idf: float) -> str:
        """A unit's text score on a course (0 where its text does not hold it)."""
        binds, parts = self.binds, []
        if unit.morph:
            q = f"CAST({binds.add(_tsquery(unit.morph))} AS tsquery)"
            rank = _ranked("morph", unit.morph, morph_idf, binds, self.title_norm)
            parts.append(f"CASE WHEN morph @@ {q} THEN {rank} ELSE 0 END")
        if unit.grams:
            q = f"CAST({binds.add(_tsquery(unit.grams))} AS tsquery)"
            share = KNOWN_GRAM_SHARE if unit.known else 1.0
            gram = _ranked("grams", unit.grams, gram_idf * share, binds, self.title_norm)
            guard = f"grams @@ {q}"
            if unit.not_inside:  # 자바 inside 자바스크립트 is not 자바: no substring match there
                inside = _tsquery(tuple(unit.not_inside), " | ")
                own = f"morph @@ CAST({binds.add(_tsquery(unit.morph))} AS tsquery)" if unit.morph else "FALSE"
                guard += f" AND (NOT morph @@ CAST({binds.add(inside)} AS tsquery) OR {own})"
            parts.append(f"CASE WHEN {guard} THEN {gram} ELSE 0 END")
        return " + ".join(parts) if parts else "0"

    def _any_unit(self, course_match: dict[str, dict[str, None]]) -> str:
        """The courses some unit's text matches: one tsquery per column, its units OR-ed (one GIN scan each,
        and one look at each tsvector where PostgreSQL scans the table instead)."""
        parts = [
            f"{column} @@ CAST({self.binds.add(' | '.join(f'({q})' for q in queries))} AS tsquery)"
            for column, queries in course_match.items()
        ]
        return " OR ".join(parts) or "FALSE"

    def plan(self, parsed: ParsedQuery, known) -> Scored:
        course_columns, categories, unit_columns, groups = [], [], [], []
        course_match: dict[str, dict[str, None]] = {}  # column -> each unit's tsquery, once
        self.prefetch(g for group in parsed.groups for a in group.alternatives for u in a.units for g in u.grams)

        def unit_column(unit: Unit, rarity: float | None) -> str:
            own, morph_idf, gram_idf = self.idfs(unit)
            factor = rarity / own if rarity is not None and own else 1.0  # the family's rarity (family_rarity)
            k = len(course_columns)
            course_columns.append(f"{self._text_score(unit, morph_idf * factor, gram_idf * factor)} AS t{k}")
            if unit.morph:
                course_match.setdefault("morph", {})[_tsquery(unit.morph)] = None
            if unit.grams:
                course_match.setdefault("grams", {})[_tsquery(unit.grams)] = None
            condition, weight = self.category(unit)
            score = f"coalesce(c.t{k}, 0)"
            if condition and weight:
                categories.append(condition)
                score += f" + CASE WHEN {condition} THEN {weight} ELSE 0 END"
            unit_columns.append(f"({score}) AS u{k}")
            return f"u{k}"

        def alternative_sql(alternative: Alternative, rarity: float | None) -> str:
            cols = [unit_column(unit, rarity) for unit in alternative.units]
            mean = "(" + " + ".join(cols) + f") / {len(cols)}.0"
            every = " AND ".join(f"{c} > 0" for c in cols)
            share = f" * {alternative.weight}" if alternative.weight != 1.0 else ""
            return f"(CASE WHEN {every} THEN {mean}{share} ELSE 0 END)"

        for group in parsed.groups:
            rarity = self.family_rarity(group)
            alternatives = [alternative_sql(a, rarity) for a in group.alternatives]
            if len(alternatives) == 1:
                groups.append(alternatives[0])
            else:
                best = "GREATEST(" + ", ".join(alternatives) + ")"
                groups.append(f"({best} + ({' + '.join(alternatives)} - {best}) * {TIE_SHARE})")
        for i in range(len(parsed.groups) - 1):  # 빅 데이터 = 빅데이터 (search.ranking.group_scores)
            left, right = parsed.groups[i].joinable, parsed.groups[i + 1].joinable
            if left and right:
                joined = word_units(left + right, known)
                if joined:
                    share = f"({alternative_sql(Alternative(left + right, joined), None)} * {JOIN_SHARE})"
                    groups[i] = f"GREATEST({groups[i]}, {share})"
                    groups[i + 1] = f"GREATEST({groups[i + 1]}, {share})"
        scored = Scored(
            course_columns,
            self._any_unit(course_match),
            " OR ".join(dict.fromkeys(categories)) or "FALSE",
            unit_columns,
            groups,
            title_key_text(parsed.text),
            run_flags=dict(self.flag_sql),
        )
        return self.materialise(scored)

    def materialise(self, scored: Scored) -> Scored:
        """The text scores of the matching courses (the ts_rank work) as SQL the runs' statement computes once
        (a MATERIALIZED CTE of scored_source). Only the statement that scores the runs reads it
        (_runs_scored_once); the search's later ones read the runs' scores."""
        per_course = scored.category_any == "FALSE"
        exact = f"(title_key = {self.binds.add(scored.title_key)})::int" if scored.title_key else "0"
        # The matching courses' tsvectors are read (and decompressed) once each: every unit's ts_rank below reads
        # the copy the subquery made (`|| ''`), not the table's compressed or TOASTed value again.
        matching = (
            "(SELECT course_id, title_key, title_len, morph || ''::tsvector AS morph, grams || ''::tsvector AS grams "
            f"FROM search_courses WHERE {scored.course_where} OFFSET 0) search_courses"
        )
        ranked = f"SELECT course_id, {exact} AS exact, {', '.join(scored.course_columns)} FROM {matching}"
        if per_course:  # every run of a course scores as the course: the groups are computed here, once
            units = ", ".join(scored.unit_columns)
            groups = ", ".join(f"{g} AS g{j}" for j, g in enumerate(scored.groups))
            ranked = (
                f"SELECT course_id, exact, {groups} FROM (SELECT c.course_id, c.exact, {units} "
                f"FROM ({ranked} OFFSET 0) c OFFSET 0) x"
            )
        return dataclasses.replace(scored, courses=f"({ranked})", per_course=per_course)


# -- filters -------------------------------------------------------------------------------------------


def _band_sql(column: str, bands, code: str) -> str:
    band = next((b for b in bands if b[0] == code), None)
    if band is None:
        return "FALSE"
    _code, _label, low, high = band
    if low is None:
        return f"{column} IS NULL"
    return f"({column} >= {int(low)}" + (f" AND {column} <= {int(high)})" if high is not None else ")")


def _band_case(column: str, bands) -> str:
    whens = " ".join(f"WHEN {_band_sql(column, bands, b[0])} THEN '{b[0]}'" for b in bands)
    return f"CASE {whens} END"


def visible_condition(params: SearchParams, binds: Binds, today: date) -> str:
    if params.include_past:
        return "TRUE"
    day = binds.add(today)
    out = f"r.end_date >= {day} AND NOT r.dropped"
    if not params.include_closed:
        out += f" AND {_recruiting(day)}"
    return out


def _recruiting(day: str) -> str:
    """courses.enrolment_window's 모집 예정 / 모집 중 / 마감 임박 (search.index.versions.Version.recruiting)."""
    return f"(NOT r.lifecycle_closed AND r.apply_closes >= {day} AND r.seats_left > 0 AND r.end_date >= {day})"


def _month(value: str | None) -> str | None:
    number = facets.month_number(value)
    if number is None:
        return None
    return f"{1970 + number // 12:04d}-{number % 12 + 1:02d}"


def filters(params: SearchParams, snap, names: labels.Labels, binds: Binds) -> dict[str, str]:
    """One SQL condition per active filter, by facet name (search.facets.filters)."""
    out: dict[str, str] = {}
    if params.region:
        parts = []
        for code in facets.region_codes(params):
            if len(code) == 2:
                parts.append(f"r.sido = {binds.add(code)}")
            else:
                parts.append(f"r.region = ANY({binds.add(facets.district_codes(code, names))})")
        out["region"] = "(" + " OR ".join(parts) + ")" if parts else "FALSE"
    if params.provider:
        ids = intent.providers(snap).ids.get(analysis.synonym_key(params.provider))
        out["provider"] = f"r.provider_id = ANY({binds.add([int(i) for i in ids])})" if ids is not None else "FALSE"
    if params.ncs:
        prefix = params.ncs.strip()
        if len(prefix) == 2:
            out["ncs"] = f"r.ncs1 = {binds.add(prefix)}"
        elif len(prefix) == 4:
            out["ncs"] = f"r.ncs2 = {binds.add(prefix)}"
        else:
            out["ncs"] = f"r.ncs LIKE {binds.add(prefix + '%')}"
    for name in ("programme", "ministry"):
        value = getattr(params, name)
        if value:
            out[name] = f"r.{name} = {binds.add(value.strip())}"
    if params.mode:
        out["mode"] = f"r.mode = {binds.add(params.mode)}" if params.mode in MODE_KINDS else "FALSE"
    if params.weekend:
        out["weekend"] = f"r.weekend = {binds.add(params.weekend)}" if params.weekend in WEEKEND_KINDS else "FALSE"
    if params.start_month:
        month = _month(params.start_month)
        out["start_month"] = f"r.start_month = {binds.add(month)}" if month else "FALSE"
    if params.seats:
        out["seats"] = "r.seats_left > 0"
    if params.fee_band:
        out["fee_band"] = _band_sql("r.fee", FEE_BANDS, params.fee_band)
    if params.self_pay_band:
        out["self_pay_band"] = _band_sql("r.self_pay", SELF_PAY_BANDS, params.self_pay_band)
    plain = []
    if params.start_from:
        plain.append(f"r.start_date >= {binds.add(params.start_from)}")
    if params.start_to:
        plain.append(f"r.start_date <= {binds.add(params.start_to)}")
    if params.max_self_pay is not None:
        plain.append(f"r.self_pay <= {binds.add(int(params.max_self_pay))}")
    if params.max_card_draw is not None:
        plain.append(f"r.card_draw <= {binds.add(int(params.max_card_draw))}")
    if plain:
        out["_plain"] = " AND ".join(plain)
    return out


# -- the matching runs -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Match:
    """Which runs a search matches and with what score, as SQL over the run `r` (and its course `c`)."""

    source: str  # FROM …: search_runs r, with the score columns of the text
    predicate: str  # the text's condition (TRUE without a query)
    score: str  # the relevance (0 without a query)


def scored_source(scored: Scored | list[Scored], visible: str, every_run: bool = False) -> str:
    """search_runs r with, per text, the group scores g<i>_<j>; each text's courses joined as c<i>. Only the
    runs some unit matches, unless `every_run` (a relaxed match that needs no word: "제주 코딩")."""
    texts = scored if isinstance(scored, list) else [scored]
    ctes, joins, selects, wheres = [], [], [], []
    for i, s in enumerate(texts):
        # Only the courses' runs can match when no category name does: a plain join lets PostgreSQL start from
        # the (few) matching courses and reach their runs through ix_search_runs_course_id.
        only_courses = len(texts) == 1 and not every_run and s.category_any == "FALSE"
        ctes.append(f"c{i} AS MATERIALIZED {s.courses}")
        joins.append(f"{'' if only_courses else 'LEFT '}JOIN c{i} ON c{i}.course_id = r.course_id")
        if s.per_course:
            selects += [f"coalesce(c{i}.g{j}, 0) AS g{i}_{j}" for j in range(len(s.groups))]
        else:
            selects += [u.replace("c.t", f"c{i}.t").replace(" AS u", f" AS u{i}_") for u in s.unit_columns]
        selects += [f"coalesce(c{i}.exact, 0) AS exact{i}"]
        wheres.append(f"c{i}.course_id IS NOT NULL OR {s.category_any}")
    flags = {name: sql for s in texts for name, sql in s.run_flags.items()}
    runs = "search_runs r"
    if flags:  # each category condition evaluated once per run, as a column the units read
        columns = ", ".join(f"({sql}) AS {name}" for name, sql in flags.items())
        runs = f"(SELECT r.*, {columns} FROM search_runs r WHERE {visible} OFFSET 0) r"
    # The courses' ranks as CTEs: computed once per statement whatever plan joins them (a subquery on the inner
    # side of a nested loop would rank every course again for each run).
    inner = (
        f"WITH {', '.join(ctes)} SELECT r.*, {', '.join(selects)} FROM {runs} {' '.join(joins)} WHERE ({visible})"
        + ("" if every_run else f" AND ({' OR '.join(wheres)})")
    )
    groups = []
    for i, s in enumerate(texts):
        if not s.per_course:
            groups += [_rename_units(g, i) + f" AS g{i}_{j}" for j, g in enumerate(s.groups)]
    if not groups:
        return f"(SELECT x.* FROM ({inner}) x) r"
    # OFFSET 0 keeps each level a subquery PostgreSQL computes once per run: flattened, every reference to a unit
    # column in the groups (and every group in the conditions on them) would evaluate its category conditions and
    # CASEs again, dozens of times per run for a subject with many spellings.
    return f"(SELECT x.*{''.join(', ' + g for g in groups)} FROM ({inner} OFFSET 0) x OFFSET 0) r"


def materialised(source: str, groups: int, binds: Binds) -> str:
    """The runs a scored source yields, scored once: their group scores come back as arrays that the search's
    later statements (counts, facets, the page) join to search_runs, instead of each scoring every run again."""
    matched = " + ".join(f"(r.g0_{j} > 0)::int" for j in range(groups)) or "0"
    least = max(groups - 1, 1)  # what the relaxed match needs at least (the one that needs none has its own source)
    return _runs_scored_once(source, [groups], f"{matched} >= {least}", binds)


def _runs_scored_once(source: str, groups: list[int], where: str, binds: Binds) -> str:
    """The runs of a scored source (one or more texts: groups[i] group scores of text i) that `where` keeps,
    with their scores, as a FROM item over search_runs: the scoring runs once, in this statement."""
    names = [f"exact{i}" for i in range(len(groups))]
    names += [f"g{i}_{j}" for i, count in enumerate(groups) for j in range(count)]
    rows = db.session.execute(
        text(f"SELECT r.run_id, {', '.join('r.' + n for n in names)} FROM {source} WHERE {where}"), binds
    )
    scores = _arrays(rows.all(), ["run_id", *names], binds, "s")
    return f"(SELECT r.*, {', '.join('s.' + n for n in names)} FROM search_runs r JOIN {scores} USING (run_id)) r"


def _arrays(rows, names: list[str], binds: Binds, alias: str) -> str:
    """Rows (an id, then numbers) as a FROM item: unnest() of one array per column, each bound as the text of
    a PostgreSQL array (one string: psycopg would adapt a list of thousands of numbers one by one)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    arrays = [f"CAST({binds.add('{' + ','.join(map(str, columns[0])) + '}')} AS bigint[])"]
    arrays += [
        f"CAST({binds.add('{' + ','.join(map(repr, map(float, column))) + '}')} AS float8[])" for column in columns[1:]
    ]
    return f"unnest({', '.join(arrays)}) AS {alias}({', '.join(names)})"


def _rename_units(expression: str, i: int) -> str:
    import re

    return re.sub(r"\bu(\d+)\b", lambda m: f"u{i}_{m.group(1)}", expression)


def _full(s: Scored, i: int) -> str:
    return " AND ".join(f"r.g{i}_{j} > 0" for j in range(len(s.groups))) or "FALSE"


def _sum(s: Scored, i: int) -> str:
    return " + ".join(f"r.g{i}_{j}" for j in range(len(s.groups))) or "0"


def _matched(s: Scored, i: int) -> str:
    return " + ".join(f"(r.g{i}_{j} > 0)::int" for j in range(len(s.groups))) or "0"


def _exact(s: Scored, i: int, binds: Binds) -> str:
    if not s.title_key:
        return "0"
    return f"CASE WHEN {_full(s, i)} AND r.exact{i} = 1 THEN {EXACT_TITLE_BONUS} ELSE 0 END"


def plain_match(s: Scored, binds: Binds) -> tuple[str, str]:
    return _full(s, 0), f"({_sum(s, 0)} + {_exact(s, 0, binds)})"


def _relaxed_match(s: Scored, least: int, binds: Binds) -> tuple[str, str]:
    need = max(len(s.groups) - 1, least)
    score = f"({_sum(s, 0)} + CASE WHEN {_full(s, 0)} THEN {FULL_MATCH_BONUS} ELSE 0 END + {_exact(s, 0, binds)})"
    return f"({_matched(s, 0)}) >= {need}", score


def _count(source: str, where: str, binds: Binds, courses: bool = False) -> int:
    what = "count(DISTINCT r.course_id)" if courses else "count(*)"
    return int(db.session.scalar(text(f"SELECT {what} FROM {source} WHERE {where}"), binds))


# -- correcting typos with pg_trgm ------------------------------------------------------------------------


def _nearest(word: str, hangul: bool) -> tuple[str, int] | None:
    """The commonest vocabulary word within TYPO_DISTANCE letters (jamo for Hangul), found through pg_trgm."""
    letters = analysis.jamo(word) if hangul else word
    rows = db.session.execute(
        text(
            "SELECT term, df, letters FROM search_terms WHERE kind = 'm' AND df > 0 AND letters % :letters "
            "ORDER BY similarity(letters, :letters) DESC, df DESC LIMIT 30"
        ),
        {"letters": letters},
    ).all()
    best = None
    for term, df, term_letters in rows:
        if term == word or analysis.is_hangul_word(term) != hangul:
            continue
        distance = analysis.damerau(letters, term_letters, TYPO_DISTANCE + 1)
        if distance <= TYPO_DISTANCE and (best is None or (distance, -df) < (best[2], -best[1])):
            best = (term, df, distance)
    return (best[0], best[1]) if best else None


def correction(snap, parsed: ParsedQuery, known) -> str | None:
    """The query with its unknown words replaced by their nearest vocabulary words (search.spelling's rules)."""
    from search.ranking import WORD_PIECES

    vocabulary = snap.vocabulary()
    synonyms = analysis.synonyms()
    words, changed = list(parsed.words), False
    db.session.execute(
        text("SELECT set_limit(CAST(:limit AS real))"), {"limit": TYPO_SIMILARITY}
    )  # pg_trgm's % (this session)
    for i, word in enumerate(words):
        pieces = WORD_PIECES.findall(word)
        if len(pieces) != 1 or synonyms.family_of(analysis.synonym_key(word)):
            continue
        hangul = analysis.is_hangul_word(pieces[0])
        target = analysis.strip_particle(pieces[0], known) if hangul else analysis.stem(pieces[0])
        own = vocabulary.get(target, 0)
        found = _nearest(target, hangul)
        if found is None:
            continue
        better, frequency = found
        if own and frequency < RARE_RATIO * own:
            continue
        words[i] = better
        changed = True
    return " ".join(words) if changed else None


# -- facets ------------------------------------------------------------------------------------------


FACET_COLUMNS = {
    "region": "r.sido",
    "ministry": "r.ministry",
    "programme": "r.programme",
    "ncs1": "r.ncs1",
    "mode": "r.mode",
    "weekend": "r.weekend",
    "start_month": "r.start_month",
    "fee_band": _band_case("r.fee", FEE_BANDS),
    "self_pay_band": _band_case("r.self_pay", SELF_PAY_BANDS),
}
FACET_FILTER = {"region": "region", "ncs1": "ncs", "region_sub": "region", "ncs2": "ncs"}


def _facet_counts(source: str, where: str, active: dict[str, str], params, binds: Binds) -> dict[str, dict]:
    """Every facet's counts in one statement: the matching runs (before the filters) materialised once, each
    facet counted over them with every other filter applied."""
    flags = ", ".join(f"({condition}) AS f_{name.lstrip('_')}" for name, condition in active.items())
    columns = ", ".join(f"{expr} AS v_{name}" for name, expr in FACET_COLUMNS.items())
    extra = ", r.region AS v_region_sub, r.ncs2 AS v_ncs2, r.seats_left > 0 AS v_seats"
    selects = []

    def others(excluded: str) -> str:
        kept = [f"f_{name.lstrip('_')}" for name in active if name != excluded]
        return " AND ".join(kept) or "TRUE"

    for name in (*FACET_COLUMNS, "region_sub", "ncs2"):
        condition = others(FACET_FILTER.get(name, name))
        if name == "region_sub":
            regions = facets.region_codes(params)
            if len(regions) != 1:
                continue
            condition += f" AND v_region LIKE {binds.add(regions[0][:2])}"
        if name == "ncs2":
            if not (params.ncs or "").strip():
                continue
            condition += f" AND v_ncs1 = {binds.add(params.ncs.strip()[:2])}"
        selects.append(
            f"SELECT '{name}' AS facet, v_{name}::text AS value, count(*) AS n FROM m WHERE {condition} GROUP BY 2"
        )
    selects.append(f"SELECT 'seats', 'true', count(*) FROM m WHERE {others('seats')} AND v_seats")
    sql = (
        f"WITH m AS MATERIALIZED (SELECT {columns}{extra}{', ' + flags if flags else ''} FROM {source} WHERE {where}) "
        + " UNION ALL ".join(selects)
    )
    out: dict[str, dict] = {}
    for facet, value, n in db.session.execute(text(sql), binds):
        out.setdefault(facet, {})[value or ""] = int(n)
    return out


def _code_values(counts: dict, names: dict, selected: set[str], order: str = "code", keep=None) -> list[FacetValue]:
    values = [
        FacetValue(code, names.get(code, code), n, code in selected)
        for code, n in counts.items()
        if code and n and (keep is None or keep(code))
    ]
    for code in selected - {v.value for v in values}:
        values.append(FacetValue(code, names.get(code, code), 0, True))
    values.sort(key=(lambda v: (-v.count, v.label)) if order == "count" else (lambda v: v.value))
    return values


def _facets(counted: dict[str, dict], params: SearchParams, names: labels.Labels) -> dict[str, list[FacetValue]]:
    """FacetValues as search.facets.facets gives them (the same labels, order and chosen values)."""
    out: dict[str, list[FacetValue]] = {}
    chosen_regions = facets.region_codes(params)
    out["region"] = _code_values(counted.get("region", {}), names.regions, {c[:2] for c in chosen_regions})
    region = chosen_regions[0] if len(chosen_regions) == 1 else ""
    if region:
        out["region_sub"] = _code_values(
            counted.get("region_sub", {}),
            names.regions,
            {region} if len(region) == 5 else set(),
            keep=lambda code: len(code) == 5,
        )
    for name, table in (("ministry", names.ministries), ("programme", names.programmes)):
        value = (getattr(params, name) or "").strip()
        out[name] = _code_values(counted.get(name, {}), table, {value} if value else set(), order="count")
    ncs = (params.ncs or "").strip()
    out["ncs1"] = _code_values(counted.get("ncs1", {}), names.ncs, {ncs[:2]} if ncs else set())
    out["ncs2"] = _code_values(counted.get("ncs2", {}), names.ncs, {ncs[:4]} if len(ncs) >= 4 else set()) if ncs else []
    for name, kinds, kind_labels in (("mode", MODE_KINDS, MODE_LABELS), ("weekend", WEEKEND_KINDS, WEEKEND_LABELS)):
        counts, chosen = counted.get(name, {}), getattr(params, name)
        out[name] = [
            FacetValue(kind, kind_labels.get(kind, kind), counts.get(kind, 0), kind == chosen)
            for kind in kinds
            if counts.get(kind) or kind == chosen
        ]
    months = {m: n for m, n in counted.get("start_month", {}).items() if n}
    chosen = _month(params.start_month)
    if chosen is not None:
        months.setdefault(chosen, 0)
    out["start_month"] = [
        FacetValue(m, f"{int(m[:4])}년 {int(m[5:])}월", n, m == chosen) for m, n in sorted(months.items())
    ]
    seats = counted.get("seats", {}).get("true", 0)
    out["seats"] = [FacetValue("1", "남은 자리 있음", seats, params.seats)] if seats or params.seats else []
    for name, bands in (("fee_band", FEE_BANDS), ("self_pay_band", SELF_PAY_BANDS)):
        counts, chosen = counted.get(name, {}), getattr(params, name)
        out[name] = [
            FacetValue(code, label, counts.get(code, 0), code == chosen)
            for code, label, _low, _high in bands
            if counts.get(code) or code == chosen
        ]
    return {
        name: out[name]
        for name in (
            "region",
            "region_sub",
            "ncs1",
            "ncs2",
            "ministry",
            "programme",
            "mode",
            "weekend",
            "start_month",
            "seats",
            "self_pay_band",
            "fee_band",
        )
        if name in out
    }


# -- ordering and hits -----------------------------------------------------------------------------------


def _self_pay(price_classes: tuple[int, ...]) -> str:
    """search.query._self_pay: the learner's own self-pay (the lowest over their price classes), else the
    generic split's; NULL = unknown."""
    if not price_classes:
        return "r.self_pay"
    return "LEAST(" + ", ".join(f"r.self_pay_classes[{int(c) + 1}]" for c in price_classes) + ")"


def _order_by(sort: str, has_score: bool, day: str, price_classes: tuple[int, ...] = ()) -> str:
    """search.query._order: runs still recruiting first; then the sort; ties: relevance, start, run id."""
    relevance = "score DESC, " if has_score else ""
    keys = {
        "deadline": f"r.apply_closes, {relevance}",
        "employment": f"r.employment DESC NULLS LAST, {relevance}",
        "score": f"r.satisfaction DESC NULLS LAST, {relevance}",
        "price": f"{_self_pay(price_classes)} NULLS LAST, r.fee, {relevance}",
    }
    if sort == "relevance" and has_score:
        middle = "score DESC, "
    elif sort in keys:
        middle = keys[sort]
    else:  # start, and relevance without a query
        return f"NOT {_recruiting(day)}, r.start_date, {relevance}r.run_id"
    return f"NOT {_recruiting(day)}, {middle}r.start_date, r.run_id"


HIT_COLUMNS = (
    "r.run_id, r.course_id, r.start_date, r.end_date, r.fee, r.self_pay, r.seats_left, r.region, r.ncs, "
    "r.programme, r.ministry, r.mode, r.weekend, r.employment, r.satisfaction, r.source_ids, r.apply_opens, "
    "r.apply_closes, r.window_by_provider, r.lifecycle_closed, r.run_number, r.self_pay_classes"
)


def _recruitment(row, today: date) -> enrolment_window.Recruitment:
    window = enrolment_window.Window(
        row.apply_opens, row.apply_closes, "provider" if row.window_by_provider else "programme"
    )
    return enrolment_window.derive(
        lifecycle="closed" if row.lifecycle_closed else "open",
        start=row.start_date,
        end=row.end_date,
        seats_left=int(row.seats_left),
        window=window,
        today=today,
    )


def _optional(value) -> float | None:
    return None if value is None else round(float(value), 2)


def courses_of(course_ids) -> dict[int, tuple[str, str, str]]:
    rows = db.session.execute(
        text("SELECT course_id, title, provider, contents FROM search_courses WHERE course_id = ANY(:ids)"),
        {"ids": sorted({int(i) for i in course_ids})},
    )
    return {row.course_id: (row.title, row.provider, row.contents) for row in rows}


def run_hit(row, course, names: labels.Labels, pattern, today: date) -> Hit:
    title, provider, contents = course or ("", "", "")
    return Hit(
        run_id=int(row.run_id),
        course_id=int(row.course_id),
        title=title,
        title_html=mark_html(title, pattern),
        provider=provider,
        start_date=row.start_date,
        end_date=row.end_date,
        fee=int(row.fee),
        self_pay=None if row.self_pay is None else int(row.self_pay),
        seats_left=int(row.seats_left),
        region=row.region or None,
        region_name=labels.region_name(row.region or None, names),
        ncs=row.ncs or None,
        ncs_name=names.ncs.get(row.ncs) if row.ncs else None,
        programme=row.programme or None,
        programme_name=names.programmes.get(row.programme) if row.programme else None,
        ministry=row.ministry or None,
        ministry_name=names.ministries.get(row.ministry) if row.ministry else None,
        mode=row.mode,
        weekend=row.weekend,
        employment_rate=_optional(row.employment),
        satisfaction=_optional(row.satisfaction),
        source_ids=list(row.source_ids or []),
        snippet_html=snippet(contents, pattern),
        recruitment=_recruitment(row, today),
        run_number=int(row.run_number) or None,
    )


def _chip(row, today: date) -> RunChip:
    return RunChip(
        run_id=int(row.run_id),
        run_number=int(row.run_number) or None,
        start_date=row.start_date,
        seats_left=int(row.seats_left),
        self_pay=None if row.self_pay is None else int(row.self_pay),
        recruitment=_recruitment(row, today),
    )


# -- search --------------------------------------------------------------------------------------------


def _empty(page: int, per_page: int, started: float) -> SearchResult:
    return SearchResult(0, [], {}, None, None, page, per_page, (time.perf_counter() - started) * 1000)


def search(params: SearchParams) -> SearchResult:
    started = time.perf_counter()
    page = max(int(params.page or 1), 1)
    per_page = min(max(int(params.per_page or PER_PAGE), 1), PER_PAGE_MAX)
    snap, generation = snapshots.current_and_generation()
    if snap is None:
        return _empty(page, per_page, started)
    if not (params.q or "").strip():
        # Browsing (no text): the landing page and its facet states repeat, and their answer depends only on
        # the rows and the day: kept per generation of the tables (every write bumps it), as search.query keeps
        # it per index version.
        cache = snap.derived("browse_results", lambda _s: Recent(BROWSE_CACHED))
        key = (generation, params, page, per_page, kst_today())
        found = cache.get(key)
        if found is None:
            found = dataclasses.replace(
                _search_text(snap, params, page, per_page, started, read_filters=False), params=params
            )
            cache.put(key, found)
        return dataclasses.replace(found, took_ms=round((time.perf_counter() - started) * 1000, 2))
    notes: list[str] = []
    if params.q and any(initials.is_initials(word) for word in params.q.split()):
        spelled = initials.expand(snap, params.q)
        if spelled is not None:
            notes.append(
                f"초성 ‘{params.q}’{korean.particle(params.q, '을', '를')} "
                f"‘{spelled}’{korean.particle(spelled, '으로', '로')} 찾았습니다."
            )
            params = dataclasses.replace(params, q=spelled)
        if any(initials.is_initials(word) for word in params.q.split()):
            return dataclasses.replace(_empty(page, per_page, started), notes=tuple(notes), params=params)
    params, applied = intent.interpret(snap, params, labels.current())
    notes += [item.note for item in applied]
    result = _search_text(snap, params, page, per_page, started, read_filters=bool(applied))
    return dataclasses.replace(result, notes=tuple(notes) + result.notes, applied=applied, params=params)


def _browsed(visible: str) -> str:
    return f"(SELECT r.* FROM search_runs r WHERE {visible}) r"


def _search_text(snap, params: SearchParams, page: int, per_page: int, started: float, read_filters: bool):
    names = labels.current()
    today = kst_today()
    known = snap.known
    binds = Binds()
    visible = visible_condition(params, binds, today)
    active = filters(params, snap, names, binds)
    filtered = " AND ".join(f"({c})" for c in active.values()) or "TRUE"
    parsed = parse_query(params.q, known) if params.q and params.q.strip() else None
    if parsed is not None and not parsed.groups:
        parsed = None
    suggestion = corrected_from = None
    relaxed = False
    facet_source = facet_predicate = None  # the facets' runs when they are not the page's (source, predicate)
    if parsed is None:
        source, predicate, score = _browsed(visible), "TRUE", None
        total = _count(source, filtered, binds)
    else:
        planner = Planner(snap, names, binds)
        scored = planner.plan(parsed, known)
        source = materialised(scored_source(scored, visible), len(scored.groups), binds)
        predicate, score = plain_match(scored, binds)
        total = _count(source, f"{predicate} AND {filtered}", binds)
        if total < LITTLE:
            corrected = correction(snap, parsed, known)
            if corrected is not None:
                better = parse_query(corrected, known)
                better_scored = planner.plan(better, known) if better.groups else None
                if better_scored is not None:
                    both = _runs_scored_once(
                        scored_source([scored, better_scored], visible),
                        [len(scored.groups), len(better_scored.groups)],
                        f"({_full(scored, 0)}) OR ({_full(better_scored, 1)})",
                        binds,
                    )
                    better_predicate = _full(better_scored, 1)
                    better_score = f"({_sum(better_scored, 1)} + {_exact(better_scored, 1, binds)})"
                    better_total = _count(both, f"{better_predicate} AND {filtered}", binds)
                    if better_total > total:
                        suggestion = corrected
                        source = both
                        if total == 0:
                            corrected_from, parsed = params.q, better
                            predicate, score = better_predicate, better_score
                        else:
                            score = f"CASE WHEN {predicate} THEN {score} + {ORIGINAL_FIRST} ELSE {better_score} END"
                            predicate = f"(({predicate}) OR ({better_predicate}))"
                            parsed = ParsedQuery(parsed.text, parsed.words, parsed.groups + better.groups)
                        total = _count(source, f"{predicate} AND {filtered}", binds)
        if (
            suggestion is None
            and (len(parsed.groups) > 1 or read_filters)
            and _count(source, f"{predicate} AND {filtered}", binds, courses=True) < RELAX_BELOW
        ):
            least = 0 if read_filters else 1
            every_run = max(len(scored.groups) - 1, least) == 0  # only the filter the query's words set
            relaxed_predicate, relaxed_score = _relaxed_match(scored, least, binds)
            relaxed_source = source
            if every_run:
                # Every visible run matches (the words only order them): the facets count them as browsing does,
                # and only the runs the filters keep are scored, once.
                relaxed_source = _runs_scored_once(
                    scored_source(scored, f"({visible}) AND ({filtered})", every_run=True),
                    [len(scored.groups)],
                    "TRUE",
                    binds,
                )
            relaxed_total = _count(relaxed_source, f"{relaxed_predicate} AND {filtered}", binds)
            if relaxed_total > total:
                source, predicate, score, total, relaxed = (
                    relaxed_source,
                    relaxed_predicate,
                    relaxed_score,
                    relaxed_total,
                    True,
                )
                if every_run:
                    facet_source, facet_predicate = _browsed(visible), "TRUE"
    counted = _facets(
        _facet_counts(facet_source or source, facet_predicate or predicate, active, params, binds), params, names
    )
    if params.run_ids is not None:  # after the fallback, so a run matches exactly as in the whole search
        filtered = f"{filtered} AND r.run_id = ANY({binds.add(list(params.run_ids))})"
        total = _count(source, f"{predicate} AND {filtered}", binds)
    sort = params.sort if params.sort in SORTS else DEFAULT_SORT
    pattern = highlighter(parsed)
    order = _order_by(sort, score is not None, binds.add(today), params.price_classes)
    selected = f"SELECT {HIT_COLUMNS}, {score or '0'} AS score FROM {source} WHERE {predicate} AND {filtered}"
    courses = course_total = None
    if params.by_course:
        courses, course_total = _courses_page(selected, order, binds, page, per_page, names, pattern, today)
        items = [course.hit for course in courses]
    else:
        rows = db.session.execute(
            text(f"SELECT * FROM ({selected}) r ORDER BY {order} LIMIT {per_page} OFFSET {(page - 1) * per_page}"),
            binds,
        ).all()
        texts = courses_of(row.course_id for row in rows)
        items = [run_hit(row, texts.get(row.course_id), names, pattern, today) for row in rows]
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


def _courses_page(selected: str, order: str, binds: Binds, page: int, per_page: int, names, pattern, today: date):
    """One entry per course in the order of each course's first run (search.query._courses_page)."""
    ranked = (
        f"SELECT r.*, row_number() OVER (PARTITION BY r.course_id ORDER BY {order}) AS place, "
        f"count(*) OVER (PARTITION BY r.course_id) AS runs, row_number() OVER (ORDER BY {order}) AS overall "
        f"FROM ({selected}) r"
    )
    rows = db.session.execute(
        text(
            f"WITH ranked AS MATERIALIZED ({ranked}), "
            f"leaders AS (SELECT course_id, overall FROM ranked WHERE place = 1 ORDER BY overall "
            f"LIMIT {per_page} OFFSET {(page - 1) * per_page}) "
            f"SELECT ranked.*, leaders.overall AS lead, (SELECT count(*) FROM ranked WHERE place = 1) AS course_total "
            f"FROM ranked JOIN leaders USING (course_id) WHERE ranked.place <= {RUNS_PER_COURSE} "
            f"ORDER BY leaders.overall, ranked.place"
        ),
        binds,
    ).all()
    if not rows:
        total = db.session.scalar(text(f"SELECT count(DISTINCT course_id) FROM ({selected}) r"), binds)
        return [], int(total or 0)
    texts = courses_of(row.course_id for row in rows)
    out: list[CourseHit] = []
    for row in rows:
        if row.place == 1:
            out.append(CourseHit(run_hit(row, texts.get(row.course_id), names, pattern, today), [], int(row.runs)))
        course = out[-1]
        course.runs.append(_chip(row, today))
    out = [dataclasses.replace(c, more_runs=c.more_runs - len(c.runs)) for c in out]
    return out, int(rows[0].course_total)


# -- suggest ---------------------------------------------------------------------------------------------


def _suggest_entries(snap) -> list[tuple[str, str, int]]:
    """search.completion's entries from the tables: titles and providers weighted by visible runs, topics,
    regions."""
    today = kst_today()
    entries: dict[tuple[str, str], int] = {}

    def add(value: str, kind: str, weight: int) -> None:
        value = " ".join((value or "").split())
        if value and weight > 0:
            entries[(value, kind)] = entries.get((value, kind), 0) + weight

    visible = "r.end_date >= :today AND NOT r.dropped"
    for title, runs in db.session.execute(
        text(
            f"SELECT c.title, count(*) FROM search_runs r JOIN search_courses c USING (course_id) "
            f"WHERE {visible} GROUP BY c.course_id, c.title ORDER BY c.course_id"
        ),
        {"today": today},
    ):
        add(completion.display_title(title), "course", int(runs))
    for provider, runs in db.session.execute(
        text(
            f"SELECT min(c.provider), count(*) FROM search_runs r JOIN search_courses c USING (course_id) "
            f"WHERE {visible} GROUP BY r.provider_id"
        ),
        {"today": today},
    ):
        add(analysis.strip_legal_form(provider), "provider", int(runs))
    vocabulary = snap.vocabulary()
    for family in analysis.synonyms().families:
        weight = max((completion.term_frequency(vocabulary, member) for member in family), default=0)
        for member in family:
            add(member, "topic", weight)
    names = labels.current()
    for code, runs in db.session.execute(
        text(
            f"SELECT r.sido, count(*) FROM search_runs r WHERE {visible} AND r.sido <> '' GROUP BY r.sido "
            f"UNION ALL SELECT r.region, count(*) FROM search_runs r WHERE {visible} AND length(r.region) = 5 "
            f"GROUP BY r.region"
        ),
        {"today": today},
    ):
        value = names.regions.get(code)
        if len(code) == 5 and code[:2] in names.regions and value:
            value = f"{completion.short_sido(names.regions[code[:2]])} {value}"
        if value:
            add(value, "region", int(runs))
    return [(value, kind, weight) for (value, kind), weight in entries.items()]


def suggest(q: str, limit: int = 10) -> list[Suggestion]:
    key = analysis.synonym_key(q or "")
    limit = max(1, min(int(limit), 50))
    if not key:
        return []
    snap = snapshots.current()
    if snap is None:
        return []
    index = snap.derived("pg_suggest", lambda s: completion.SuggestIndex(_suggest_entries(s)))
    return [Suggestion(value, kind) for value, kind in completion.complete(index, key, limit)]


__all__ = ["index_ready", "search", "suggest"]
