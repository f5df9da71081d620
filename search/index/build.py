"""Building and updating the index from the catalog: documents, the full rebuild, incremental updates.

Documents (search.index.schema): one per course, with its text analysed by Kiwi once however many runs it has,
and one per listed run, with the values filters, facets and result lines need. A full rebuild reads the
database in (course, run) order, analyses courses in worker processes, writes a new directory and swaps
it in atomically (search.index.store, CURRENT); searches keep using the old one until then.

update() brings some runs' and courses' documents in line with the database, idempotently: the outbox
listener (search.indexer) calls it for every catalog change. While a full rebuild runs, update() changes the
live index *and* journals what it changed; the rebuild replays the journal under the write lock just before
it swaps, so no change committed during a rebuild is lost. The first update when there is no index at all
builds the whole index.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import multiprocessing
import os
import shutil
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import func, select, tuple_
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import SegmentWriter

from courses import enrolment_window, pricing, reference
from courses.models import Course, CourseListing, Ministry, Programme, Provider, Run, SourceRecord
from courses.services import LISTED_STATUSES
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from search import analysis
from search.index import analysis_cache, store
from search.index.schema import (
    COURSE,
    MODE_KINDS,
    PRICE_CLASSES_MAX,
    RUN,
    SCHEMA_VERSION,
    TEXT_GROUPS,
    WEEKEND_KINDS,
    build_schema,
    course_key,
    pack_row,
    run_key,
    title_hash,
)
from search.interfaces import UNKNOWN

log = logging.getLogger(__name__)

CHUNK = 2000  # runs read from the database at a time
IN_FLIGHT = 2  # analysis chunks queued ahead per worker process
CONTENTS_STORED = 1000  # characters of contents kept for snippets
_EPOCH = date(1970, 1, 1)


# -- reading the catalog ----------------------------------------------------------------------------


@dataclass(frozen=True)
class References:
    """What every document of a batch needs besides its own rows: the pricing rules, loaded once."""

    rules: pricing.RuleBook
    prices: dict = field(default_factory=dict)  # _prices(): what a run's price inputs cost, computed once

    @classmethod
    def load(cls) -> References:
        return cls(pricing.load_rules())


def _runs_query():
    return select(Run).where(Run.status.in_(LISTED_STATUSES))


def iter_run_chunks(run_ids: Iterable[int] | None = None, chunk: int = CHUNK) -> Iterator[list[Run]]:
    """Listed runs (with course, provider, programme and ministry) in (course, run) order, chunk by chunk."""
    if run_ids is not None:
        ids = sorted(set(run_ids))
        for start in range(0, len(ids), chunk):
            runs = (
                db.session.scalars(
                    _runs_query().where(Run.id.in_(ids[start : start + chunk])).order_by(Run.course_id, Run.id)
                )
                .unique()
                .all()
            )
            if runs:
                yield list(runs)
        return
    after: tuple[int, int] | None = None
    while True:
        query = _runs_query().order_by(Run.course_id, Run.id).limit(chunk)
        if after is not None:
            query = query.where(tuple_(Run.course_id, Run.id) > after)
        runs = list(db.session.scalars(query).unique().all())
        if not runs:
            return
        yield runs
        after = (runs[-1].course_id, runs[-1].id)


# The full rebuild reads plain rows (Core selects of the columns the documents need) instead of ORM objects:
# a Run loads its course (contents included) and programme with it, and an ORM object per row costs more than
# the row. These stand in for the ORM objects in run_document(), course_texts() and course_document(), and in
# the pricing and application-window rules they call (which read the same attributes).


@dataclass(frozen=True, slots=True)
class _Named:
    id: int
    name: str = ""
    code: str = ""


@dataclass(frozen=True, slots=True)
class _Programme:
    code: str
    pricing_rule: str | None
    voucher_kind: str
    ministry: _Named | None


@dataclass(frozen=True, slots=True)
class _CourseOfRun:
    id: int
    ncs_code: str | None
    provider: _Named


@dataclass(frozen=True, slots=True)
class _RunRow:
    id: int
    course: _CourseOfRun
    programme: _Programme | None
    run_number: int
    start_date: date
    end_date: date
    weekend: str
    mode: str
    apply_from: date | None
    apply_until: date | None
    fee: int
    support_amount: int | None
    general_self_pay: int | None
    capacity: int
    source_enrolled: int
    local_enrolled: int
    status: str
    ncs_code: str | None
    region_code: str | None
    satisfaction: float | None
    employment_rate_3m: float | None

    @property
    def course_id(self) -> int:
        return self.course.id

    @property
    def seats_left(self) -> int:  # as courses.models.Run.seats_left
        return max(self.capacity - self.source_enrolled - self.local_enrolled, 0)


@dataclass(frozen=True, slots=True)
class _CourseRow:
    id: int
    title: str
    keywords: str | None
    certificate: str | None
    contents: str | None
    provider: _Named


_RUN_COLUMNS = (
    Run.run_number,
    Run.start_date,
    Run.end_date,
    Run.weekend,
    Run.mode,
    Run.apply_from,
    Run.apply_until,
    Run.fee,
    Run.support_amount,
    Run.general_self_pay,
    Run.capacity,
    Run.source_enrolled,
    Run.local_enrolled,
    Run.status,
    Run.ncs_code,
    Run.region_code,
    Run.satisfaction,
    Run.employment_rate_3m,
)


def _programmes() -> dict[int, _Programme]:
    ministries = {m.id: _Named(m.id, code=m.code) for m in db.session.execute(select(Ministry.id, Ministry.code))}
    return {
        p.id: _Programme(p.code, p.pricing_rule, p.voucher_kind, ministries.get(p.ministry_id))
        for p in db.session.execute(
            select(Programme.id, Programme.code, Programme.pricing_rule, Programme.voucher_kind, Programme.ministry_id)
        )
    }


def iter_run_rows(chunk: int = CHUNK) -> Iterator[list[_RunRow]]:
    """Every listed run as a plain row, in (course, run) order, chunk by chunk (the full rebuild's reader)."""
    programmes = _programmes()
    courses: dict[int, _CourseOfRun] = {}
    query = (
        select(
            Run.id,
            Run.course_id,
            Run.programme_id,
            Course.ncs_code.label("course_ncs"),
            Course.provider_id.label("course_provider"),
            *_RUN_COLUMNS,
        )
        .join(Course, Course.id == Run.course_id)
        .where(Run.status.in_(LISTED_STATUSES))
        .order_by(Run.course_id, Run.id)
        .limit(chunk)
    )
    after: tuple[int, int] | None = None
    while True:
        rows = db.session.execute(query if after is None else query.where(tuple_(Run.course_id, Run.id) > after)).all()
        if not rows:
            return
        out = []
        for row in rows:
            run_id, course_id, programme_id, course_ncs, provider_id, *values = row
            course = courses.get(course_id)
            if course is None:
                if len(courses) > 4 * chunk:  # runs come in course order: only the last few are needed again
                    courses.clear()
                course = courses[course_id] = _CourseOfRun(course_id, course_ncs, _Named(provider_id))
            out.append(_RunRow(run_id, course, programmes.get(programme_id), *values))
        yield out
        after = (rows[-1].course_id, rows[-1].id)


def course_rows(course_ids: list[int]) -> dict[int, _CourseRow]:
    """The courses' texts (and provider) as plain rows."""
    return {
        row.id: _CourseRow(
            row.id, row.title, row.keywords, row.certificate, row.contents, _Named(row.provider_id, row.name)
        )
        for row in db.session.execute(
            select(
                Course.id,
                Course.title,
                Course.keywords,
                Course.certificate,
                Course.contents,
                Course.provider_id,
                Provider.name,
            )
            .join(Provider, Provider.id == Course.provider_id)
            .where(Course.id.in_(course_ids))
        )
    }


def records_for(run_ids: list[int]) -> dict[int, list[tuple[str, str, date | None]]]:
    out: dict[int, list] = {}
    for run_id, source, key, missing in db.session.execute(
        select(SourceRecord.run_id, SourceRecord.source, SourceRecord.external_key, SourceRecord.not_seen_since)
        .where(SourceRecord.run_id.in_(run_ids))
        .order_by(SourceRecord.id)
    ):
        out.setdefault(run_id, []).append((source, key, missing))
    return out


def titles_of_listings(course_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for course_id, title in db.session.execute(
        select(CourseListing.course_id, CourseListing.title)
        .where(CourseListing.course_id.in_(course_ids))
        .order_by(CourseListing.id)
    ):
        out.setdefault(course_id, []).append(title)
    return out


def course_texts(course, listing_titles: list[str]) -> dict[str, list[str]]:
    titles = [course.title] + [t for t in dict.fromkeys(listing_titles) if t != course.title]
    provider = analysis.strip_legal_form(course.provider.name)
    return {"t": titles, "k": [course.keywords, provider, course.certificate], "b": [course.contents]}


# -- analysis (in this process or in workers) ---------------------------------------------------------


# In a full rebuild's worker process: each distinct text's analysis, by text. Courses share their contents,
# keywords, provider and certificate (the archive repeats a course's texts year after year), and Kiwi is most
# of a rebuild's work. A worker lives for one rebuild, so a changed synonym file cannot leave it stale. _cache
# holds the previous rebuilds' analyses (search.index.analysis_cache): an unchanged text is not analysed again.
_texts: dict[str, analysis.Analysed] | None = None
_cache: analysis_cache.Cache | None = None
TEXTS_KEPT = 200_000  # distinct texts a worker keeps (≈ 100 MB) before it starts again


def _analysed_text(text: str | None) -> analysis.Analysed:
    found = _texts.get(text)
    if found is None:
        if len(_texts) >= TEXTS_KEPT:
            _texts.clear()
        found = _cache.get(text) if _cache is not None else None
        if found is None:
            found = analysis.analyse(text)
            if _cache is not None:
                _cache.put(text, found)
        _texts[text] = found
    return found


def analyse_courses(courses: list[tuple[int, dict[str, list[str]]]]) -> dict[int, dict[str, analysis.Analysed]]:
    """Analyse course texts (runs in a worker process during a full rebuild)."""
    one = analysis.analyse if _texts is None else _analysed_text
    out = {
        course_id: {group: analysis.analyse_many(texts, one) for group, texts in groups.items()}
        for course_id, groups in courses
    }
    if _cache is not None:
        _cache.flush()
    return out


def worker_init(cache: str | None = None, build_name: str | None = None) -> None:
    """A rebuild's worker process: the text memo started, the analysis cache (a path) opened, and Kiwi loaded
    now, or with a cache on the first text it does not hold (a rebuild of unchanged texts never loads it:
    ~300 MB and a second per worker)."""
    if not cache:
        analysis.kiwi()
    _start_texts(cache, build_name)


def _start_texts(cache: str | None, build_name: str | None) -> None:
    global _texts, _cache
    _texts = {}
    _cache = analysis_cache.Cache(Path(cache), build_name) if cache and build_name else None


def _end_texts() -> None:
    global _texts, _cache
    if _cache is not None:
        _cache.close()
    _texts, _cache = None, None


class _LRU(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def put(self, key, value):
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


_course_cache: _LRU = _LRU(2048)  # (course id, texts) -> analysis, for incremental updates in one process


def analysed_course(course_id: int, texts: dict[str, list[str]]) -> dict[str, analysis.Analysed]:
    key = (course_id, json.dumps(texts, ensure_ascii=False, sort_keys=True))
    found = _course_cache.get(key)
    if found is None:
        found = analyse_courses([(course_id, texts)])[course_id]
        _course_cache.put(key, found)
    return found


# -- documents ---------------------------------------------------------------------------------------


def _days(value: date) -> int:
    return (value - _EPOCH).days


def _price(run: Run, rules: pricing.RuleBook) -> tuple[int | None, int | None]:
    """The generic split's (self-pay, card draw) (courses.pricing), the values price facets, filters and the
    "내 카드 잔액으로 가능" filter use; the card draw is the government share where a voucher account pays it."""
    try:
        split = pricing.split_for_run(run, rules=rules)
    except (ValueError, TypeError, pricing.PricingRulesError) as exc:
        log.warning("search: no price for run %s (%s)", run.id, type(exc).__name__)
        return None, None
    if split is None:
        return None, None
    return split.self_pay, (split.government_share if split.account != "none" else 0)


def _class_prices(run: Run, rules: pricing.RuleBook, generic: int | None) -> list[int]:
    """The run's self-pay for each learner price class (courses.pricing.price_classes), -1 when unknown."""
    if generic is None:
        return [-1] * PRICE_CLASSES_MAX
    try:
        prices = pricing.class_self_pays(run, rules)
    except (ValueError, TypeError, pricing.PricingRulesError):
        return [-1] * PRICE_CLASSES_MAX
    return prices + [-1] * (PRICE_CLASSES_MAX - len(prices))


PRICES_KEPT = 200_000


def _prices(run: Run, refs: References) -> tuple[int | None, int | None, list[int]]:
    """(self-pay, card draw, the self-pay of each price class) of a run, computed once per distinct input.

    A split reads the run's fee, approved support, feed self-pay and employment rate, its programme's rule, code
    and account kind, and its start date only to choose the rule's period (courses.pricing.RuleBook.split and
    class_self_pays): runs that agree on all of those, with the start date in the same period, cost the same.
    The archive repeats a course's price year after year, so a rebuild prices far fewer runs than it indexes."""
    programme = run.programme
    rule = refs.rules.rules.get(programme.pricing_rule) if programme is not None and programme.pricing_rule else None
    start = run.start_date
    period = rule.period_for(start) if rule is not None and type(start) is date else None
    if period is None:  # no rule, or no period: nothing to share (and whatever error it raises, raised per run)
        return _computed_prices(run, refs.rules)
    key = (
        programme.code,
        programme.pricing_rule,
        programme.voucher_kind,
        id(period),
        run.fee,
        run.support_amount,
        run.general_self_pay,
        run.employment_rate_3m,
    )
    found = refs.prices.get(key)
    if found is None:
        if len(refs.prices) >= PRICES_KEPT:
            refs.prices.clear()
        found = refs.prices[key] = _computed_prices(run, refs.rules)
    return found[0], found[1], list(found[2])


def _computed_prices(run: Run, rules: pricing.RuleBook) -> tuple[int | None, int | None, list[int]]:
    self_pay, card_draw = _price(run, rules)
    return self_pay, card_draw, _class_prices(run, rules, self_pay)


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def run_document(run: Run, records: list[tuple[str, str, date | None]], refs: References) -> dict:
    """The Whoosh document of one run: values only (its text is its course's document)."""
    course, programme = run.course, run.programme
    provider = course.provider
    ministry = programme.ministry if programme is not None else None
    ncs = run.ncs_code or course.ncs_code
    self_pay, card_draw, class_prices = _prices(run, refs)
    dropped = bool(records) and all(missing is not None for _, _, missing in records)
    window = enrolment_window.window_of(run)
    row = pack_row(
        {
            "kind": RUN,
            "run_id": run.id,
            "course_id": course.id,
            "provider_id": provider.id,
            "start": _days(run.start_date),
            "end": _days(run.end_date),
            "fee": run.fee,
            "self_pay": -1 if self_pay is None else self_pay,
            "seats_left": run.seats_left,
            "employment": _nan(run.employment_rate_3m),
            "satisfaction": _nan(run.satisfaction),
            "region": (run.region_code or "").encode(),
            "ncs": (ncs or "").encode(),
            "programme": (programme.code if programme else "").encode(),
            "ministry": (ministry.code if ministry else "").encode(),
            "mode": MODE_KINDS.index(run.mode) if run.mode in MODE_KINDS else MODE_KINDS.index(UNKNOWN),
            "weekend": WEEKEND_KINDS.index(run.weekend)
            if run.weekend in WEEKEND_KINDS
            else WEEKEND_KINDS.index(UNKNOWN),
            "dropped": int(dropped),
            "apply_opens": _days(window.opens),
            "apply_closes": _days(window.closes),
            "window_by_provider": int(window.set_by == "provider"),
            "lifecycle_closed": int(run.status == "closed"),
            "run_number": run.run_number,
            "card_draw": -1 if card_draw is None else card_draw,
            "self_pay_classes": class_prices,
        }
    )
    return {"key": run_key(run.id), "row": row, "stored": [f"{source}:{key}" for source, key, _ in records]}


def course_document(course, analysed: dict[str, analysis.Analysed]) -> dict:
    """The Whoosh document of one course: its analysed text, and what suggestions and snippets show."""
    provider = course.provider
    row = pack_row(
        {
            "kind": COURSE,
            "course_id": course.id,
            "provider_id": provider.id,
            "title_len": min(len(analysed["t"].morph.split()), 65535),
            "title_key": title_hash(course.title),
        }
    )
    doc = {
        "key": course_key(course.id),
        "row": row,
        "title": course.title.encode("utf-8"),
        "provider": provider.name.encode("utf-8"),
        "stored": (course.contents or "")[:CONTENTS_STORED],
    }
    for group in TEXT_GROUPS:
        doc[f"{group}_m"], doc[f"{group}_g"] = analysed[group].morph, analysed[group].gram
    return doc


# -- full rebuild ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildResult:
    name: str
    runs: int
    courses: int
    seconds: float
    size_bytes: int
    replayed: int  # runs and courses changed during the build and re-applied before the swap


def rebuild(
    *, procs: int = 1, progress: Callable[[int, int], None] | None = None, before_swap: Callable[[], None] | None = None
) -> BuildResult:
    """Build a complete new index from the database next to the live one, then swap it in atomically.

    procs > 1 analyses in that many worker processes. progress(done, total) follows the runs written.
    before_swap is a test hook (called after the build, before the journal replay and the swap).
    Raises IndexBusy when another rebuild is running.
    """
    root = store.index_root()
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with store.flock(root / ".reindex.lock", blocking=False):
        previous = store.current_name(root)
        store.cleanup(root, {n for n in (previous, store.previous_name(root)) if n})
        name = f"{store.PREFIX}{store.stamp()}"
        build_dir = root / f"{name}{store.BUILD_SUFFIX}"
        build_dir.mkdir()
        journal = root / f"{name}.journal"
        with store.write_lock(root):
            journal.write_text("", encoding="utf-8")
            store.atomic_write(root / store.BUILDING, name)
        try:
            ix = FileStorage(str(build_dir)).create_index(build_schema())
            cache = _prepared_cache(root)
            runs, courses = _write_everything(ix, procs=procs, progress=progress, cache=cache, build_name=name)
            if before_swap:
                before_swap()
            with store.write_lock(root):
                replayed = _replay(ix, journal)
                ix.close()
                final = root / name
                os.rename(build_dir, final)
                meta = {
                    "name": name,
                    "built_at": utcnow().isoformat(timespec="seconds"),
                    "runs": runs,
                    "courses": courses,
                    "schema_version": SCHEMA_VERSION,
                    "pricing_rules_version": pricing.rules_version(),
                    "application_windows_version": reference.application_window_rules().version,
                    "seconds": round(time.monotonic() - started, 1),
                }
                store.atomic_write(final / store.META, json.dumps(meta, ensure_ascii=False, indent=1))
                store.atomic_write(root / store.CURRENT, name)
                if previous:
                    store.atomic_write(root / ".previous", previous)
                (root / store.BUILDING).unlink(missing_ok=True)
                journal.unlink(missing_ok=True)
        except BaseException:
            with store.write_lock(root):
                (root / store.BUILDING).unlink(missing_ok=True)
                journal.unlink(missing_ok=True)
            shutil.rmtree(build_dir, ignore_errors=True)
            raise
        store.cleanup(root, {n for n in (name, previous) if n})
        if cache is not None:
            _prune_cache(cache, name)
    size = store.dir_size(root / name)
    result = BuildResult(name, runs, courses, time.monotonic() - started, size, replayed)
    log.info(
        "search index %s built: %s runs, %s courses in %.1f s (%.1f MB, %s replayed)",
        name,
        runs,
        courses,
        result.seconds,
        size / 1e6,
        replayed,
    )
    return result


def _prepared_cache(root: Path) -> str | None:
    """The analysis cache's path, ready for this rebuild's workers; None (analyse everything) if it cannot be."""
    path = analysis_cache.path_in(root)
    try:
        analysis_cache.prepare(path, analysis_cache.analyser_version())
    except (OSError, sqlite3.Error) as exc:
        log.warning("search: no analysis cache in %s (%s); every text is analysed", path, exc)
        return None
    return str(path)


def _prune_cache(cache: str, name: str) -> None:
    try:
        analysis_cache.prune(Path(cache), name)
    except (OSError, sqlite3.Error) as exc:  # the index is built; a larger cache file is harmless
        log.warning("search: the analysis cache %s was not pruned (%s)", cache, exc)


def count_listed() -> int:
    return db.session.scalar(select(func.count()).select_from(Run).where(Run.status.in_(LISTED_STATUSES)))


def _write_everything(
    ix,
    *,
    procs: int,
    progress: Callable[[int, int], None] | None,
    cache: str | None = None,
    build_name: str | None = None,
) -> tuple[int, int]:
    """Every listed run and every course that has one, into a fresh index. Returns (runs, courses).
    cache: the analysis cache's path (search.index.analysis_cache), read and written as `build_name`."""
    total = count_listed()
    refs = References.load()
    # Not a compound segment: Whoosh would copy a compound file's parts into memory in every reader,
    # where separate files are memory-mapped (docs/search.md, "Memory"). With procs > 1 the course documents
    # (nearly all of Whoosh's work: their postings) are indexed by `procs` sub-writer processes, one segment
    # each, and the runs by this process into its own segment (multisegment: nothing merged at the end).
    if procs > 1:
        writer = ix.writer(procs=procs, multisegment=True, batchsize=200, limitmb=256, compound=False)
        add_run = functools.partial(SegmentWriter.add_document, writer)
    else:
        writer = ix.writer(limitmb=256, compound=False)
        add_run = writer.add_document
    runs_written = courses_written = 0
    seen: set[int] = set()
    pool = (
        multiprocessing.get_context("spawn").Pool(procs, initializer=worker_init, initargs=(cache, build_name))
        if procs > 1
        else None
    )
    if pool is None:
        _start_texts(cache, build_name)
    pending: list = []  # (course objects by id, async result), oldest first
    try:
        for runs in iter_run_rows():
            records = records_for([r.id for r in runs])
            for run in runs:
                add_run(**run_document(run, records.get(run.id, []), refs))
            new_ids = []
            for run in runs:
                if run.course_id not in seen:
                    seen.add(run.course_id)
                    new_ids.append(run.course_id)
            rows = course_rows(new_ids)
            new = {course_id: rows[course_id] for course_id in new_ids}
            titles = titles_of_listings(sorted(new))
            texts = [(course_id, course_texts(course, titles.get(course_id, []))) for course_id, course in new.items()]
            if pool is None:
                for course_id, analysed in analyse_courses(texts).items():
                    writer.add_document(**course_document(new[course_id], analysed))
                courses_written += len(new)
            else:
                pending.append((new, pool.apply_async(analyse_courses, (texts,))))
                while pending and (len(pending) > procs * IN_FLIGHT or pending[0][1].ready()):
                    courses_written += _write_courses(writer, *pending.pop(0))
            runs_written += len(runs)
            if progress:
                progress(runs_written, total)
        while pending:
            courses_written += _write_courses(writer, *pending.pop(0))
    except BaseException:
        writer.cancel()
        raise
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        else:
            _end_texts()
    writer.commit(optimize=procs == 1)
    db.session.rollback()  # end the long read transaction
    with ix.reader() as reader:  # a sub-writer that died would leave its documents out: never swap that in
        if reader.doc_count() != runs_written + courses_written:
            raise RuntimeError(
                f"the new index holds {reader.doc_count()} documents, not {runs_written + courses_written}"
            )
    return runs_written, courses_written


def _write_courses(writer, courses: dict, result) -> int:
    for course_id, analysed in result.get().items():
        writer.add_document(**course_document(courses[course_id], analysed))
    return len(courses)


def _replay(ix, journal: Path) -> int:
    """Apply the runs and courses that changed while the build ran (called under the write lock)."""
    try:
        entries = journal.read_text(encoding="utf-8").split()
    except FileNotFoundError:
        return 0
    run_ids = {int(e[1:]) for e in entries if e[:1] == "r" and e[1:].isdigit()}
    course_ids = {int(e[1:]) for e in entries if e[:1] == "c" and e[1:].isdigit()}
    if run_ids or course_ids:
        _apply(ix, sorted(run_ids), sorted(course_ids))
    return len(run_ids) + len(course_ids)


# -- incremental updates -------------------------------------------------------------------------------


def _apply(ix, run_ids: list[int], course_ids: list[int]) -> int:
    """Update or delete the documents of these runs, and of these courses and the runs' courses, in one
    Whoosh commit. Returns the documents written."""
    refs = References.load()
    run_docs: dict[int, dict] = {}
    for runs in iter_run_chunks(run_ids):
        records = records_for([r.id for r in runs])
        for run in runs:
            run_docs[run.id] = run_document(run, records.get(run.id, []), refs)
    courses = set(course_ids)
    for start in range(0, len(run_ids), 1000):  # the runs' courses, whatever the runs' status now
        courses.update(db.session.scalars(select(Run.course_id).where(Run.id.in_(run_ids[start : start + 1000]))))
    course_docs: dict[int, dict] = {}
    ordered = sorted(courses)
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        listed = set(
            db.session.scalars(
                select(Run.course_id).where(Run.course_id.in_(chunk), Run.status.in_(LISTED_STATUSES)).distinct()
            )
        )
        titles = titles_of_listings(sorted(listed))
        for course in db.session.scalars(select(Course).where(Course.id.in_(sorted(listed)))):
            texts = course_texts(course, titles.get(course.id, []))
            course_docs[course.id] = course_document(course, analysed_course(course.id, texts))
    db.session.rollback()
    writer = ix.writer(timeout=store.LOCK_TIMEOUT, compound=False)
    try:
        for run_id in run_ids:
            if run_id in run_docs:
                writer.update_document(**run_docs[run_id])
            else:  # gone, or no longer in a listed status
                writer.delete_by_term("key", run_key(run_id))
        for course_id in ordered:
            if course_id in course_docs:
                writer.update_document(**course_docs[course_id])
            else:  # no listed run left (or merged away)
                writer.delete_by_term("key", course_key(course_id))
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return len(run_docs) + len(course_docs)


def update(run_ids: Iterable[int] = (), course_ids: Iterable[int] = ()) -> int:
    """Bring these runs' and courses' documents in line with the database (idempotent). Builds the whole
    index first when there is none yet (or only one of another schema). Returns the number of documents
    written."""
    runs = sorted({int(i) for i in run_ids})
    courses = sorted({int(i) for i in course_ids})
    if not runs and not courses:
        return 0
    root = store.index_root()
    root.mkdir(parents=True, exist_ok=True)
    with store.write_lock(root):
        stale = store.stale_schema(root, SCHEMA_VERSION)
        ix = None if stale else store.open_live(root)
        building = store.building(root)
        written = _apply(ix, runs, courses) if ix is not None else 0
        if building:
            with open(root / f"{building}.journal", "a", encoding="utf-8") as handle:
                handle.write("".join(f"r{i}\n" for i in runs) + "".join(f"c{i}\n" for i in courses))
        if ix is not None:
            ix.close()
        if ix is not None or building:
            return written
    if stale:  # rows of another layout cannot take these documents: the whole index is built anew
        log.info("search: the index in %s has another schema; rebuilding it from the database", root)
    else:
        log.info("search: no index yet in %s; building it from the database", root)
    try:
        result = rebuild(procs=1)
    except store.IndexBusy:
        return 0  # a rebuild started meanwhile: it reads or journals these changes itself
    return result.runs + result.courses
