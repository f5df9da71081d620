"""Saved searches with alerts (issue 17, point 12): a learner keeps a search of /courses under a short name,
and hears of each new run it finds.

A saved search holds the page's query string (search.presenters.to_args: only what differs from the
defaults, without page and sort), so re-running it is a link to /courses and matching it is the search
itself (search.query.search through the search interface), never a second matcher.

Alerts: a learner hears once of each run that *comes to match* the saved search — created after it was saved,
or changed (a feed re-import, a provider's approved edit) so that it matches now — and never twice of one run.
Each saved search keeps the runs it knows (SavedSearchRun): those it found when saved, then what each look
finds. The worker job `saved_searches.match` (every few minutes) looks only at the runs changed since the
search's watermark `checked_at` (Run.updated_at) and asks the search itself which of them match
(SearchParams.run_ids, chunks of CANDIDATES_CHUNK so every match is read); a match it did not know and never
told of is new. The new watermark is now, or, while the outbox still holds catalog changes the index has not
taken in, a margin before the oldest of them: a run whose change is not indexed yet is looked at again on the
next pass instead of being skipped. Up to ALERTS_PER_LOOK new runs per saved search and look become one outbox
item `alerts.saved_search` each {user_id, saved_search_id, run_id, text, path, key}; more become one item that
says how many and links to the search (nothing dropped, no partial list). The voucher side's reminders
(vouchers.reminders) turn an item into the in-app notification and the e-mail, keyed by `key`, unless the
learner turned the kind "saved_search" off. Search never imports vouchers (the layers contract), hence the
outbox between them.

A limit: the runs a new saved search knows are read through the search's pages (PAGE_MAX × PER_PAGE_MAX =
50,000); for a search matching more, a run beyond them that an edit touches later is announced as if new.
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
from search.engine import index_ready, search
from search.interfaces import PAGE_MAX, PER_PAGE_MAX, SearchParams

ALERT_TOPIC = "alerts.saved_search"
NAME_MAX = 40
SAVED_MAX = 20  # saved searches per learner
CANDIDATES_CHUNK = 10_000  # changed runs looked up at a time: fewer than PAGE_MAX × PER_PAGE_MAX, so all are read
ALERTS_PER_LOOK = 20  # runs of one saved search told of one by one per look; more become one alert with the count
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
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # runs changed after: looked at next
    # When it read what it already finds (SavedSearchRun); None: saved while there was no index, so the first
    # look reads it instead of announcing anything.
    known_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

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
    # Its first look is up to where the index is complete: a change still on its way is looked at later.
    saved = SavedSearch(user_id=user_id, name=name, query=query_of(params), created_at=now, checked_at=watermark(now))
    db.session.add(saved)
    db.session.flush()
    if index_ready():
        remember_matches(saved, now)
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


class SavedSearchRun(db.Model):
    """A run a saved search knows: it matched when the search was saved or at a later look (`matched`), and
    whether the learner was told of it (`alerted_at`). A run told of is never told of again, whatever its
    later edits; a run without a row did not match at any look."""

    __tablename__ = "saved_search_runs"

    saved_search_id: Mapped[int] = mapped_column(ForeignKey("saved_searches.id", ondelete="CASCADE"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    matched: Mapped[bool] = mapped_column(default=True)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def watermark(now: datetime) -> datetime:
    """Up to when the index has taken in every catalog change: now, or a margin before the oldest pending."""
    oldest = db.session.scalar(
        select(func.min(outbox.OutboxItem.created_at)).where(
            outbox.OutboxItem.status == outbox.PENDING, outbox.OutboxItem.topic.in_(_CATALOG_TOPICS)
        )
    )
    return now if oldest is None else min(now, oldest - INDEX_MARGIN)


def _matching(saved: SavedSearch, run_ids: list[int] | None) -> list[int]:
    """The runs the saved search finds now (of `run_ids` only, when given), through the search itself."""
    params = dataclasses.replace(saved.params, sort="start", per_page=PER_PAGE_MAX, by_course=False)
    found: list[int] = []
    for start in range(0, len(run_ids), CANDIDATES_CHUNK) if run_ids is not None else [None]:
        chunk = None if start is None else tuple(run_ids[start : start + CANDIDATES_CHUNK])
        for page in range(1, PAGE_MAX + 1):
            result = search(dataclasses.replace(params, run_ids=chunk, page=page))
            found += [hit.run_id for hit in result.items]
            if page * PER_PAGE_MAX >= result.total:
                break
    return found


def remember_matches(saved: SavedSearch, now: datetime, leave_out: frozenset[int] | set[int] = frozenset()) -> None:
    """What a new saved search finds already: known, so only runs that come to match later alert. `leave_out`:
    runs changed since it was saved, which its next look judges (saved while there was no index)."""
    for run_id in sorted(set(_matching(saved, None)) - set(leave_out)):
        db.session.add(SavedSearchRun(saved_search_id=saved.id, run_id=run_id, matched=True))
    saved.known_at = now
    db.session.flush()


def changed_runs(saved: SavedSearch, until: datetime) -> list[int]:
    """Runs created or changed (a feed import, an approved provider submission, seats) after the saved
    search's last look and by `until`: the only ones whose match can have changed."""
    return list(
        db.session.scalars(
            select(Run.id).where(Run.updated_at > saved.checked_at, Run.updated_at <= until).order_by(Run.id)
        )
    )


def newly_matching(saved: SavedSearch, candidates: list[int], now: datetime) -> list[int]:
    """Of the runs changed since the last look (`candidates`), those that came to match the saved search and
    were never told of (by id), now marked as told; the look's other findings update what the search knows."""
    if not candidates:
        return []
    matching = set(_matching(saved, candidates))
    known = {
        row.run_id: row
        for start in range(0, len(candidates), CANDIDATES_CHUNK)
        for row in db.session.scalars(
            select(SavedSearchRun).where(
                SavedSearchRun.saved_search_id == saved.id,
                SavedSearchRun.run_id.in_(candidates[start : start + CANDIDATES_CHUNK]),
            )
        )
    }
    new: list[int] = []
    for run_id in candidates:
        row = known.get(run_id)
        if run_id not in matching:
            if row is not None and row.alerted_at is None:
                db.session.delete(row)  # no longer matches: it would be new again if it came back
            elif row is not None:
                row.matched = False
            continue
        if row is None:
            row = SavedSearchRun(saved_search_id=saved.id, run_id=run_id, matched=False)
            db.session.add(row)
        if not row.matched and row.alerted_at is None:
            row.alerted_at = now
            new.append(run_id)
        row.matched = True
    db.session.flush()
    return new


def match_all(now: datetime) -> int:
    """Announce every saved search's newly matching runs (outbox items) and move the watermarks; how many.

    Up to ALERTS_PER_LOOK runs of one saved search are told of one by one; more than that (a large feed
    import) become one alert that says how many and links to the search, so none is lost or buried."""
    if not index_ready():  # nothing can be matched: keep every watermark where it is, for the next pass
        return 0
    until = watermark(now)
    made = 0
    for saved in db.session.scalars(select(SavedSearch).where(SavedSearch.checked_at < until).order_by(SavedSearch.id)):
        candidates = changed_runs(saved, until)
        if saved.known_at is None:  # saved while there was no index: learn what it finds but the changed runs
            remember_matches(saved, now, leave_out=set(candidates))
        new = newly_matching(saved, candidates, now)
        if len(new) > ALERTS_PER_LOOK:
            _announce(
                saved,
                new[0],
                f"저장한 검색 ‘{saved.name}’에 새로 맞는 회차가 {len(new):,}건 있습니다.",
                f"/me/saved-searches/{saved.id}/results",
                key=f"saved:{saved.id}:from:{new[0]}:{len(new)}",
            )
            made += len(new)
        else:
            for run in db.session.scalars(select(Run).where(Run.id.in_(new)).order_by(Run.id)) if new else []:
                text = f"저장한 검색 ‘{saved.name}’에 새로 맞는 회차: {run.course.title} {run.run_number}회차"
                _announce(saved, run.id, text, f"/runs/{run.id}", key=f"saved:{saved.id}:{run.id}")
                made += 1
        saved.checked_at = until
    db.session.flush()
    return made


def _announce(saved: SavedSearch, run_id: int, text: str, path: str, *, key: str) -> None:
    outbox.enqueue(
        ALERT_TOPIC,
        {
            "user_id": saved.user_id,
            "saved_search_id": saved.id,
            "run_id": run_id,
            "text": text,
            "path": path,
            "key": key,
        },
    )


@scheduled("saved_searches.match", every=timedelta(minutes=5))
def match_due() -> int:
    with unit_of_work(write_lock=True):
        return match_all(utcnow())


# -- the demo learner's saved search (courses.demo.register_demo_step; `hrdnet demo load`) ----------------------

DEMO_SAVED_SEARCH = ("부산 파이썬", {"q": "파이썬", "region": "26"})


def demo_saved_search(learner_id: int) -> list[str]:
    """The demo learner's saved search, once."""
    if of_user(learner_id):
        return []
    name, conditions = DEMO_SAVED_SEARCH
    found = save(learner_id, name, SearchParams(**conditions), utcnow())
    found.checked_at = utcnow()  # the catalog just loaded is what it finds already, indexed yet or not
    return [f"저장한 검색: ‘{name}’ (새 회차 알림)"]
