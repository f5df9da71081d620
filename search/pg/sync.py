"""Writing the PostgreSQL search tables: incremental updates (the outbox) and the full rebuild.

The rows are the Whoosh documents of search.index.build, made by the same code: `run_document` (its packed
row is read back as a numpy record, so every value — the generic split's price, the application window, the
"not seen since" flag — is computed once, in one place) and the courses' texts analysed by Kiwi through
`analyse_courses` (morphemes and bigrams of search.analysis). A course's tsvectors hold those tokens with
their positions, weighted A (title), B (keywords, provider, certificate), C (contents).

Sync: search.indexer's outbox handlers call update() after the catalog's change committed (as for Whoosh);
update() writes the rows, the vocabulary's counts and the generation in one transaction of its own, so a
search on any web node sees either none or all of a change. Delivering an item twice changes nothing. The
first item delivered before any build builds everything. rebuild() replaces every row in one transaction
and refreshes the tables' planner statistics (ANALYZE) in it: searches keep reading the old rows until it
commits (MVCC), and an update committed meanwhile waits on the
rows the rebuild deleted, then applies on top of it.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from courses.models import Course, Run
from courses.services import LISTED_STATUSES
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from search import analysis
from search.index import build, store
from search.index.schema import MODE_KINDS, ROW, TEXT_GROUPS, WEEKEND_KINDS, title_key_text

log = logging.getLogger(__name__)

WEIGHTS = {"t": "A", "k": "B", "b": "C"}  # title, keywords + provider + certificate, contents
MAX_POSITION = 16383  # PostgreSQL's largest tsvector position
MAX_POSITIONS = 256  # positions kept per lexeme
MAX_LEXEME = 500  # characters (PostgreSQL's limit is 2047 bytes)
_EPOCH = date(1970, 1, 1)


class BackendUnavailable(RuntimeError):
    """SEARCH_BACKEND = "postgresql" on a database that is not PostgreSQL."""


def check_database(app) -> None:
    """Refuse to start the PostgreSQL backend on another database (called by create_app)."""
    url = str(app.config.get("SQLALCHEMY_DATABASE_URI", ""))
    if not url.startswith("postgresql"):
        raise BackendUnavailable(
            'SEARCH_BACKEND = "postgresql" needs a PostgreSQL database (DATABASE_URL=postgresql+psycopg://…); '
            f'this one is {url.split(":", 1)[0] or "unset"}. Use SEARCH_BACKEND = "whoosh" with SQLite.'
        )


# -- rows --------------------------------------------------------------------------------------------


def _tsvector(groups: dict[str, list[str]]) -> str:
    """The tsvector text of tokens per group: 'word':1A,7A 'other':3C (positions count occurrences)."""
    positions: dict[str, list[str]] = {}
    position = 0
    for group in TEXT_GROUPS:
        weight = WEIGHTS[group]
        for token in groups.get(group, ()):
            position = min(position + 1, MAX_POSITION)
            found = positions.setdefault(token[:MAX_LEXEME], [])
            if len(found) < MAX_POSITIONS:
                found.append(f"{position}{weight}")
    return " ".join(
        "'" + token.replace("\\", "\\\\").replace("'", "''") + "':" + ",".join(places)
        for token, places in positions.items()
    )


@dataclass(frozen=True)
class CourseRow:
    values: dict
    terms: Counter  # (kind, term) -> the fields (title, keywords, contents) holding it: the vocabulary's count,
    # as search.index.versions counts a morpheme's documents over its fields


def course_row(course: Course, analysed: dict[str, analysis.Analysed]) -> CourseRow:
    morph = {group: analysed[group].morph.split() for group in TEXT_GROUPS}
    gram = {group: analysed[group].gram.split() for group in TEXT_GROUPS}
    values = {
        "course_id": course.id,
        "provider_id": course.provider.id,
        "title": course.title,
        "provider": course.provider.name,
        "contents": (course.contents or "")[: build.CONTENTS_STORED],
        "title_key": title_key_text(course.title),
        "title_len": len(morph["t"]),  # BM25's length normalisation of titles (search.index.versions)
        "morph": _tsvector(morph),
        "grams": _tsvector(gram),
    }
    terms: Counter = Counter()
    for kind, groups in (("m", morph), ("g", gram)):
        for tokens in groups.values():
            terms.update({(kind, t[:MAX_LEXEME]): 1 for t in set(tokens)})
    return CourseRow(values, terms)


def _day(days) -> date:
    return _EPOCH + timedelta(days=int(days))


def _text(value: bytes) -> str:
    return value.decode("ascii", "replace")


def run_row(run: Run, records, refs: build.References) -> dict:
    """A run's row: the values of its Whoosh document (search.index.build.run_document), read back."""
    doc = build.run_document(run, records, refs)
    row = np.frombuffer(doc["row"], dtype=ROW)[0]
    region, ncs = _text(row["region"]), _text(row["ncs"])
    start = _day(row["start"])
    return {
        "run_id": int(row["run_id"]),
        "course_id": int(row["course_id"]),
        "provider_id": int(row["provider_id"]),
        "start_date": start,
        "end_date": _day(row["end"]),
        "start_month": start.strftime("%Y-%m"),
        "fee": int(row["fee"]),
        "self_pay": int(row["self_pay"]) if row["self_pay"] >= 0 else None,
        "card_draw": int(row["card_draw"]) if row["card_draw"] >= 0 else None,
        # each learner price class's self-pay (search.index.schema; NULL = unknown), for sort=price
        "self_pay_classes": [int(v) if v >= 0 else None for v in row["self_pay_classes"]],
        "seats_left": int(row["seats_left"]),
        "employment": None if np.isnan(row["employment"]) else float(row["employment"]),
        "satisfaction": None if np.isnan(row["satisfaction"]) else float(row["satisfaction"]),
        "region": region,
        "sido": region[:2],
        "ncs": ncs,
        "ncs1": ncs[:2],
        "ncs2": ncs[:4] if len(ncs) >= 4 else "",
        "programme": _text(row["programme"]),
        "ministry": _text(row["ministry"]),
        "mode": MODE_KINDS[int(row["mode"])],
        "weekend": WEEKEND_KINDS[int(row["weekend"])],
        "dropped": bool(row["dropped"]),
        "apply_opens": _day(row["apply_opens"]),
        "apply_closes": _day(row["apply_closes"]),
        "window_by_provider": bool(row["window_by_provider"]),
        "lifecycle_closed": bool(row["lifecycle_closed"]),
        "run_number": int(row["run_number"]),
        "source_ids": list(doc["stored"]),
    }


RUN_COLUMNS = (
    "run_id course_id provider_id start_date end_date start_month fee self_pay card_draw self_pay_classes "
    "seats_left employment satisfaction region sido ncs ncs1 ncs2 programme ministry mode weekend dropped "
    "apply_opens apply_closes window_by_provider lifecycle_closed run_number source_ids"
).split()
COURSE_COLUMNS = "course_id provider_id title provider contents title_key title_len morph grams".split()


CASTS = {"morph": "tsvector", "grams": "tsvector", "self_pay_classes": "bigint[]"}  # what a bound value cannot say


def _upsert_sql(table: str, columns: list[str], key: str) -> str:
    names = ", ".join(columns)
    values = ", ".join(f"CAST(:{c} AS {CASTS[c]})" if c in CASTS else f":{c}" for c in columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
    return f"INSERT INTO {table} ({names}) VALUES ({values}) ON CONFLICT ({key}) DO UPDATE SET {updates}"


UPSERT_RUN = text(_upsert_sql("search_runs", RUN_COLUMNS, "run_id"))
UPSERT_COURSE = text(_upsert_sql("search_courses", COURSE_COLUMNS, "course_id"))
ADD_TERMS = text(
    "INSERT INTO search_terms (kind, term, df, letters) VALUES (:kind, :term, :df, :letters) "
    "ON CONFLICT (kind, term) DO UPDATE SET df = search_terms.df + EXCLUDED.df"
)


def _term_rows(counts: Counter) -> list[dict]:
    """(kind, term) → courses, as rows; sorted, so concurrent updates lock terms in one order."""
    return [
        {
            "kind": kind,
            "term": term,
            "df": df,
            "letters": analysis.jamo(term) if kind == "m" and analysis.is_hangul_word(term) else term,
        }
        for (kind, term), df in sorted(counts.items())
        if df
    ]


def _bump(runs: int | None = None, courses: int | None = None) -> None:
    if runs is None:
        db.session.execute(text("UPDATE search_state SET generation = generation + 1 WHERE id = 1"))
    else:
        db.session.execute(
            text(
                "UPDATE search_state SET generation = generation + 1, built_at = :now, runs = :runs, "
                "courses = :courses WHERE id = 1"
            ),
            {"now": utcnow(), "runs": runs, "courses": courses},
        )


# -- incremental updates -------------------------------------------------------------------------------


def apply(run_ids: list[int], course_ids: list[int]) -> int:
    """Bring these runs' rows, and these courses' and the runs' courses' rows, in line with the database, in
    the session's transaction (the caller commits). Returns the rows written."""
    refs = build.References.load()
    rows: dict[int, dict] = {}
    for runs in build.iter_run_chunks(run_ids):
        records = build.records_for([r.id for r in runs])
        for run in runs:
            rows[run.id] = run_row(run, records.get(run.id, []), refs)
    courses = set(course_ids)
    for start in range(0, len(run_ids), 1000):  # the runs' courses, whatever the runs' status now
        courses.update(db.session.scalars(select(Run.course_id).where(Run.id.in_(run_ids[start : start + 1000]))))
    ordered = sorted(courses)
    course_rows: dict[int, CourseRow] = {}
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        listed = sorted(
            set(
                db.session.scalars(
                    select(Run.course_id).where(Run.course_id.in_(chunk), Run.status.in_(LISTED_STATUSES)).distinct()
                )
            )
        )
        titles = build.titles_of_listings(listed)
        for course in db.session.scalars(select(Course).where(Course.id.in_(listed))):
            texts = build.course_texts(course, titles.get(course.id, []))
            course_rows[course.id] = course_row(course, build.analysed_course(course.id, texts))
    delta: Counter = Counter()
    if ordered:  # what the old rows held leaves the vocabulary's counts, what the new ones hold enters them
        db.session.execute(
            text("SELECT 1 FROM search_courses WHERE course_id = ANY(:ids) ORDER BY course_id FOR UPDATE"),
            {"ids": ordered},
        )
        for kind, term, weights in db.session.execute(
            text(
                "SELECT 'm', lexeme, weights FROM search_courses, unnest(morph) WHERE course_id = ANY(:ids) "
                "UNION ALL SELECT 'g', lexeme, weights FROM search_courses, unnest(grams) WHERE course_id = ANY(:ids)"
            ),
            {"ids": ordered},
        ):
            delta[(kind, term)] -= len(set(weights))
    for row in course_rows.values():
        delta.update(row.terms)
    gone_runs = [i for i in run_ids if i not in rows]
    gone_courses = [i for i in ordered if i not in course_rows]
    if rows:
        db.session.execute(UPSERT_RUN, [rows[i] for i in sorted(rows)])
    if gone_runs:  # gone, or no longer in a listed status
        db.session.execute(text("DELETE FROM search_runs WHERE run_id = ANY(:ids)"), {"ids": gone_runs})
    if course_rows:
        db.session.execute(UPSERT_COURSE, [course_rows[i].values for i in sorted(course_rows)])
    if gone_courses:  # no listed run left (or merged away)
        db.session.execute(text("DELETE FROM search_courses WHERE course_id = ANY(:ids)"), {"ids": gone_courses})
    changes = _term_rows(delta)
    if changes:
        db.session.execute(ADD_TERMS, changes)
    _bump()
    return len(rows) + len(course_rows)


def built() -> bool:
    return db.session.scalar(text("SELECT built_at IS NOT NULL FROM search_state WHERE id = 1")) or False


def update(run_ids: Iterable[int] = (), course_ids: Iterable[int] = ()) -> int:
    """The outbox handlers' update (idempotent), in its own transaction; the first one builds everything."""
    runs = sorted({int(i) for i in run_ids})
    courses = sorted({int(i) for i in course_ids})
    if not runs and not courses:
        return 0
    if not built():
        log.info("search: the PostgreSQL search tables were never built; building them from the database")
        db.session.rollback()
        result = rebuild(procs=1)  # IndexBusy while another build runs: the outbox delivers the item again later
        return result.runs + result.courses
    db.session.rollback()
    with unit_of_work():
        return apply(runs, courses)


# -- full rebuild ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RebuildResult:
    runs: int
    courses: int
    terms: int
    seconds: float


def rebuild(
    *,
    procs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    before_commit: Callable[[], None] | None = None,
) -> RebuildResult:
    """Every listed run and every course that has one, in one transaction (searches read the old rows until
    it commits). procs > 1 analyses courses in that many worker processes, as the Whoosh rebuild does.
    before_commit (tests) runs with every row written, just before the commit."""
    started = time.monotonic()
    total = build.count_listed()
    refs = build.References.load()
    db.session.rollback()
    terms: Counter = Counter()
    runs_written = courses_written = 0
    seen: set[int] = set()
    pool = multiprocessing.get_context("spawn").Pool(procs, initializer=build.worker_init) if procs > 1 else None
    pending: list = []

    def write_courses(courses: dict, analysed: dict) -> int:
        rows = [course_row(courses[course_id], found) for course_id, found in analysed.items()]
        for row in rows:
            terms.update(row.terms)
        if rows:
            db.session.execute(UPSERT_COURSE, [row.values for row in rows])
        return len(rows)

    try:
        with unit_of_work():
            try:  # one rebuild at a time: another one holds this row until it commits
                db.session.execute(text("SELECT 1 FROM search_state WHERE id = 1 FOR UPDATE NOWAIT"))
            except OperationalError:
                raise store.IndexBusy("another rebuild of the search tables is running") from None
            for table in ("search_runs", "search_courses", "search_terms"):
                db.session.execute(text(f"DELETE FROM {table}"))  # not TRUNCATE: searches keep reading
            for runs in build.iter_run_chunks():
                records = build.records_for([r.id for r in runs])
                db.session.execute(UPSERT_RUN, [run_row(run, records.get(run.id, []), refs) for run in runs])
                new = {}
                for run in runs:
                    if run.course_id not in seen:
                        seen.add(run.course_id)
                        new[run.course_id] = run.course
                titles = build.titles_of_listings(sorted(new))
                texts = [(cid, build.course_texts(course, titles.get(cid, []))) for cid, course in new.items()]
                db.session.expunge_all()  # keep the session small, as the Whoosh rebuild does
                if pool is None:
                    courses_written += write_courses(new, build.analyse_courses(texts))
                else:
                    pending.append((new, pool.apply_async(build.analyse_courses, (texts,))))
                    while pending and (len(pending) > procs * build.IN_FLIGHT or pending[0][1].ready()):
                        courses, result = pending.pop(0)
                        courses_written += write_courses(courses, result.get())
                runs_written += len(runs)
                if progress:
                    progress(runs_written, total)
            while pending:
                courses, result = pending.pop(0)
                courses_written += write_courses(courses, result.get())
            rows = _term_rows(terms)
            for start in range(0, len(rows), 5000):
                db.session.execute(ADD_TERMS, rows[start : start + 5000])
            # Fresh statistics in the same transaction: every row was replaced, and until autovacuum's ANALYZE
            # (minutes later, or never where autovacuum is off) the planner would guess the tables' sizes and
            # the facet columns' spread and pick nested loops over thousands of runs (p95 ×1.5 at 30,000 runs).
            db.session.execute(text("ANALYZE search_runs, search_courses, search_terms"))
            _bump(runs_written, courses_written)
            if before_commit is not None:
                before_commit()
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    result = RebuildResult(runs_written, courses_written, len(terms), time.monotonic() - started)
    log.info(
        "search tables rebuilt: %s runs, %s courses, %s terms in %.1f s",
        result.runs,
        result.courses,
        result.terms,
        result.seconds,
    )
    return result


def status() -> dict:
    """The search tables' state for /healthz and `hrdnet search status`."""
    row = db.session.execute(
        text("SELECT generation, built_at, runs, courses FROM search_state WHERE id = 1")
    ).one_or_none()
    if row is None or row.built_at is None:
        return {"status": "warning", "backend": "postgresql", "index": "missing"}
    return {
        "status": "ok",
        "backend": "postgresql",
        "index": "search_runs",
        "version": int(row.generation),
        "documents": db.session.scalar(text("SELECT count(*) FROM search_runs"))
        + db.session.scalar(text("SELECT count(*) FROM search_courses")),
        "built_at": row.built_at.isoformat(timespec="seconds"),
        "runs_at_build": row.runs,
        "courses_at_build": row.courses,
    }
