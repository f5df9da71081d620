"""The one place the search backend is chosen: SEARCH_BACKEND = "whoosh" (default) or "postgresql".

The page, the API, the job finder, saved searches, the outbox handlers, `hrdnet search reindex` and the tests call these
functions; each hands over to the configured engine, which answers in the types of search.interfaces:

- "whoosh": search.query over the index directory SEARCH_INDEX_DIR (search/index/), one copy per node;
- "postgresql": search.pg over the search tables of the site's PostgreSQL database, shared by every web node
  (docs/scaling.md says when to choose which). create_app refuses it on another database (check()).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import current_app

from search.interfaces import SearchParams, SearchResult, Suggestion

BACKENDS = ("whoosh", "postgresql")


def backend() -> str:
    return current_app.config.get("SEARCH_BACKEND", "whoosh")


def _postgresql() -> bool:
    return backend() == "postgresql"


def check(app) -> None:
    """At startup: a known backend, and PostgreSQL's only on a PostgreSQL database (a clear error otherwise)."""
    chosen = app.config.get("SEARCH_BACKEND", "whoosh")
    if chosen not in BACKENDS:
        raise RuntimeError(f"SEARCH_BACKEND must be one of {', '.join(BACKENDS)}, not {chosen!r}")
    if chosen == "postgresql":
        from search.pg import sync

        sync.check_database(app)


def search(params: SearchParams) -> SearchResult:
    if _postgresql():
        from search.pg import query as pg_query

        return pg_query.search(params)
    from search import query

    return query.search(params)


def suggest(q: str, limit: int = 10) -> list[Suggestion]:
    if _postgresql():
        from search.pg import query as pg_query

        return pg_query.suggest(q, limit)
    from search import query

    return query.suggest(q, limit)


def job_runs(job):
    """The job finder's runs of a job (search.jobs.JobRuns): its upcoming runs by employment × fit."""
    if _postgresql():
        from search.pg import jobs as pg_jobs

        return pg_jobs.runs_for(job)
    from search import jobs

    return jobs.runs_for(job)


def index_ready() -> bool:
    if _postgresql():
        from search.pg import query as pg_query

        return pg_query.index_ready()
    from search import query

    return query.index_ready()


def update(run_ids: Iterable[int] = (), course_ids: Iterable[int] = ()) -> int:
    """The outbox handlers' update of some runs and courses (search.indexer)."""
    if _postgresql():
        from search.pg import sync

        return sync.update(run_ids=run_ids, course_ids=course_ids)
    from search.index import build

    return build.update(run_ids=run_ids, course_ids=course_ids)


def rebuild(*, procs: int = 1, progress: Callable[[int, int], None] | None = None):
    """A full rebuild (`hrdnet search reindex`); the result has .runs, .courses and .seconds."""
    if _postgresql():
        from search.pg import sync

        return sync.rebuild(procs=procs, progress=progress)
    from search.index import build

    return build.rebuild(procs=procs, progress=progress)


def status(whoosh_status: Callable[[], dict]) -> dict:
    if _postgresql():
        from search.pg import sync

        return sync.status()
    return whoosh_status()
