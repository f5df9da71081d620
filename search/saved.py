"""Saved searches with alerts (issue 17, point 12): a learner keeps a search of /courses under a short name,
and hears of each new run it finds.

A saved search holds the page's query string (search.presenters.to_args: only what differs from the
defaults, without page and sort), so re-running it is a link to /courses and matching it is the search
itself (search.query.search through the search interface), never a second matcher.

Alerts: the worker job `saved_searches.match` (every few minutes) runs each saved search over the index and
keeps the hits whose run was created (a feed import or a provider's approved submission makes the Run row)
after the search's watermark `checked_at`, up to the new watermark. The new watermark is now, or, while the
outbox still holds catalog changes the index has not taken in, a margin before the oldest of them: a run
whose change is not indexed yet is then looked at again on the next pass instead of being skipped. Each
match becomes an outbox item `alerts.saved_search` {user_id, saved_search_id, run_id, text, path}; the
voucher side's reminders (vouchers.reminders) turn it into the in-app notification and the e-mail, keyed
per (saved search, run), unless the learner turned the kind "saved_search" off. Search never imports
vouchers (the layers contract), hence the outbox between them.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.datastructures import MultiDict

from courses.models import Run
from hrdnet import outbox
from hrdnet.db import unit_of_work
from hrdnet.errors import NotFound
from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow
from hrdnet.worker import scheduled
from search import forms, presenters
from search.engine import search
from search.interfaces import PER_PAGE_MAX, SearchParams

ALERT_TOPIC = "alerts.saved_search"
NAME_MAX = 40
SAVED_MAX = 20  # saved searches per learner
PAGES_MAX = 5  # pages of PER_PAGE_MAX hits looked at per saved search and pass (newest start dates last)
INDEX_MARGIN = timedelta(minutes=10)  # a catalog change's transaction may start this long before its item
_CATALOG_TOPICS = ("catalog.runs_changed", "catalog.courses_changed", "catalog.provider_changed")


class SavedSearch(db.Model):
    """One learner's saved search of /courses and the watermark of its alerts."""

    __tablename__ = "saved_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    query: Mapped[str] = mapped_column(String(1000))  # the page's query string (presenters.to_args)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # runs created after: new

    @property
    def args(self) -> dict[str, str]:
        return dict(parse_qsl(self.query))

    @property
    def params(self) -> SearchParams:
        params, _ignored = forms.parse_page_args(MultiDict(parse_qsl(self.query)))
        return params


class SavedSearchError(Exception):
    """A saved search refused; str() is the Korean message."""


# -- the learner's saved searches ---------------------------------------------------------------------------


def query_of(params: SearchParams) -> str:
    """What a saved search keeps of a search: its conditions, not the page, the sort or the card balance."""
    args = presenters.to_args(dataclasses.replace(params, page=1, per_page=SearchParams.per_page))
    for name in ("sort", "page", "per_page"):
        args.pop(name, None)
    return urlencode(args)


def save(user_id: int, name: str, params: SearchParams, now: datetime) -> SavedSearch:
    name = " ".join(name.split())[:NAME_MAX]
    if not name:
        raise SavedSearchError("이름을 입력해 주세요.")
    count = db.session.scalar(select(func.count()).where(SavedSearch.user_id == user_id))
    if count >= SAVED_MAX:
        raise SavedSearchError(f"검색은 {SAVED_MAX}개까지 저장할 수 있습니다. 쓰지 않는 검색을 지워 주세요.")
    saved = SavedSearch(user_id=user_id, name=name, query=query_of(params), created_at=now, checked_at=now)
    db.session.add(saved)
    db.session.flush()
    return saved


def of_user(user_id: int) -> list[SavedSearch]:
    return list(db.session.scalars(select(SavedSearch).where(SavedSearch.user_id == user_id).order_by(SavedSearch.id)))


def own(user_id: int, saved_id: int) -> SavedSearch:
    """The learner's own saved search; 404 for anyone else's (whether it exists is not told)."""
    saved = db.session.get(SavedSearch, saved_id)
    if saved is None or saved.user_id != user_id:
        raise NotFound("저장한 검색을 찾을 수 없습니다.")
    return saved


def rename(user_id: int, saved_id: int, name: str) -> None:
    name = " ".join(name.split())[:NAME_MAX]
    if not name:
        raise SavedSearchError("이름을 입력해 주세요.")
    own(user_id, saved_id).name = name
    db.session.flush()


def delete(user_id: int, saved_id: int) -> None:
    db.session.delete(own(user_id, saved_id))
    db.session.flush()


# -- alerts -------------------------------------------------------------------------------------------------


def watermark(now: datetime) -> datetime:
    """Up to when the index has taken in every catalog change: now, or a margin before the oldest pending."""
    oldest = db.session.scalar(
        select(func.min(outbox.OutboxItem.created_at)).where(
            outbox.OutboxItem.status == outbox.PENDING, outbox.OutboxItem.topic.in_(_CATALOG_TOPICS)
        )
    )
    return now if oldest is None else min(now, oldest - INDEX_MARGIN)


def new_runs(saved: SavedSearch, until: datetime) -> list[Run]:
    """The runs the saved search finds that were created after its watermark and by `until`."""
    params = dataclasses.replace(saved.params, sort="start", per_page=PER_PAGE_MAX, by_course=False)
    run_ids: list[int] = []
    for page in range(1, PAGES_MAX + 1):
        result = search(dataclasses.replace(params, page=page))
        run_ids += [hit.run_id for hit in result.items]
        if page * PER_PAGE_MAX >= result.total:
            break
    if not run_ids:
        return []
    return list(
        db.session.scalars(
            select(Run)
            .where(Run.id.in_(run_ids), Run.created_at > saved.checked_at, Run.created_at <= until)
            .order_by(Run.id)
        )
    )


def match_all(now: datetime) -> int:
    """Announce every saved search's new runs (outbox items) and move the watermarks; how many matches."""
    until = watermark(now)
    made = 0
    for saved in db.session.scalars(select(SavedSearch).where(SavedSearch.checked_at < until).order_by(SavedSearch.id)):
        for run in new_runs(saved, until):
            text = f"저장한 검색 ‘{saved.name}’에 맞는 새 회차: {run.course.title} {run.run_number}회차"
            outbox.enqueue(
                ALERT_TOPIC,
                {
                    "user_id": saved.user_id,
                    "saved_search_id": saved.id,
                    "run_id": run.id,
                    "text": text,
                    "path": f"/runs/{run.id}",
                },
            )
            made += 1
        saved.checked_at = until
    db.session.flush()
    return made


@scheduled("saved_searches.match", every=timedelta(minutes=5))
def match_due() -> int:
    with unit_of_work(write_lock=True):
        return match_all(utcnow())
