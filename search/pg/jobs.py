"""The job finder (search.jobs) over the PostgreSQL search tables: the same jobs, ranking and programmes.

A run trains for a job when its NCS code is one of the job's (fit 1.0) or its course's text has the job's
words, matched as the search matches them (search.pg.query's Planner: every group of the words); only runs
still recruiting. The ranking (employment × fit, then the earlier start, one run per course) and the
programme counts are computed over those rows as search.jobs does over the index's columns.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import text

from hrdnet.extensions import db
from hrdnet.timeutil import kst_today
from search import labels
from search.interfaces import SearchParams
from search.jobs import COURSES_SHOWN, FIT_TEXT_ONLY, Job, JobRuns, ProgrammeCount
from search.pg import snapshot as snapshots
from search.pg.query import (
    HIT_COLUMNS,
    Binds,
    Planner,
    courses_of,
    materialised,
    plain_match,
    run_hit,
    scored_source,
    visible_condition,
)
from search.ranking import parse_query


def runs_for(job: Job) -> JobRuns:
    snap = snapshots.current()
    if snap is None:
        return JobRuns(job, [], 0, 0, [])
    today, names, binds = kst_today(), labels.current(), Binds()
    visible = visible_condition(SearchParams(), binds, today)  # the runs still recruiting, as the search's default
    codes = binds.add(list(job.codes))
    by_text = "FALSE"
    parsed = parse_query(job.words or job.name, snap.known)
    if parsed.groups:
        scored = Planner(snap, names, binds).plan(parsed, snap.known)
        source = materialised(scored_source(scored, visible), len(scored.groups), binds)
        predicate, _score = plain_match(scored, binds)
        by_text = f"r.run_id IN (SELECT r.run_id FROM {source} WHERE {predicate})"
    rows = db.session.execute(
        text(
            f"SELECT {HIT_COLUMNS}, r.ncs = ANY({codes}) AS by_code FROM search_runs r "
            f"WHERE {visible} AND (r.ncs = ANY({codes}) OR {by_text})"
        ),
        binds,
    ).all()
    if not rows:
        return JobRuns(job, [], 0, 0, [])
    rates = [float(row.employment) for row in rows if row.employment is not None]
    unknown_rate = sum(rates) / len(rates) if rates else 0.0

    def score(row) -> float:
        rate = unknown_rate if row.employment is None else float(row.employment)
        return rate * (1.0 if row.by_code else FIT_TEXT_ONLY)

    ordered = sorted(rows, key=lambda row: (-score(row), row.start_date, row.run_id))
    leaders, seen = [], set()
    for row in ordered:
        if row.course_id not in seen:
            seen.add(row.course_id)
            leaders.append(row)
    shown = leaders[:COURSES_SHOWN]
    texts = courses_of(row.course_id for row in shown)
    hits = [run_hit(row, texts.get(row.course_id), names, None, today) for row in shown]
    counts = Counter(row.programme for row in rows if row.programme)
    programmes = [
        ProgrammeCount(code, names.programmes.get(code, ""), runs)
        for code, runs in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return JobRuns(job, hits, len(rows), len(leaders), programmes)
