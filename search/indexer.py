"""The search index's listener: catalog changes announced through the outbox reach the index.

The index itself (documents, rebuild, incremental updates, where it lives) is search/index/.

Sync: the catalog enqueues outbox items in the same transaction as its change (courses/changes.py):
"catalog.runs_changed" {"run_ids"}, "catalog.courses_changed" {"course_ids"}, "catalog.provider_changed"
{"provider_id"}. The
handlers below re-read those rows from the database and update or delete their documents, so delivering
an item twice does no harm. A process that dies between the commit and the delivery leaves the item
pending, and the next worker pass delivers it. While a full rebuild runs, handlers update the live index
*and* journal what they changed; the rebuild replays the journal under the write lock just before it
swaps, so no change committed during a rebuild is lost. The first item delivered when there is no index
at all builds the whole index.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from courses.models import Course, Run
from hrdnet import outbox
from hrdnet.extensions import db
from search import engine
from search.engine import update
from search.index import status as index_status

TOPIC_RUNS = "catalog.runs_changed"
TOPIC_COURSES = "catalog.courses_changed"
TOPIC_PROVIDER = "catalog.provider_changed"


def runs_of_courses(course_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(i) for i in course_ids})
    out: list[int] = []
    for start in range(0, len(ids), 1000):
        out += db.session.scalars(select(Run.id).where(Run.course_id.in_(ids[start : start + 1000]))).all()
    return out


@outbox.handler(TOPIC_RUNS)
def _handle_runs(payload: dict) -> None:
    update(run_ids=payload.get("run_ids") or [])


@outbox.handler(TOPIC_COURSES)
def _handle_courses(payload: dict) -> None:
    course_ids = payload.get("course_ids") or []
    update(run_ids=runs_of_courses(course_ids), course_ids=course_ids)


@outbox.handler(TOPIC_PROVIDER)
def _handle_provider(payload: dict) -> None:
    course_ids = db.session.scalars(select(Course.id).where(Course.provider_id == int(payload["provider_id"]))).all()
    update(run_ids=runs_of_courses(course_ids), course_ids=course_ids)


# -- status (for /healthz and `hrdnet search status`) --------------------------------------------------
def status() -> dict:
    """The live index for /healthz and `hrdnet search status`, with the changes still waiting in the outbox."""
    return engine.status(lambda: index_status.status(pending_changes=_pending_search_items()))


def _pending_search_items() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(outbox.OutboxItem)
        .where(outbox.OutboxItem.status == outbox.PENDING, outbox.OutboxItem.topic.like("search.%"))
    )
