"""Catalog rows for tests: Provider/Course/CourseListing/Run/SourceRecord inserted directly.

Tests of what the pages, the search and the vouchers do with a catalog need rows, not feeds: the `catalog`
fixture (tests/conftest.py) and `make_course`/`make_run` hand out one `Catalog` per test.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from courses.models import Course, CourseListing, ImportRun, Programme, Provider, Run, SourceRecord
from hrdnet.extensions import db


class Catalog:
    """Makes catalog rows with sensible defaults; every keyword overrides one column.

    `today` is the date the test reasons about (the `today` fixture, or the date a module-scoped catalog was
    built on): a run starts two weeks after it unless the test says otherwise.
    """

    def __init__(self, today: date):
        self.today = today
        self._numbers = itertools.count(1)

    def programme(self, code: str = "C0104") -> Programme:
        return db.session.scalar(select(Programme).where(Programme.code == code))

    def provider(self, name: str = "한빛 디지털아카데미", **values) -> Provider:
        n = next(self._numbers)
        provider = Provider(
            name=name,
            **{
                "business_number": f"{2000000000 + n}",
                "region_code": "11680",
                "address": "서울특별시 강남구 테헤란로 1",
                "phone": "02-555-0100",
                **values,
            },
        )
        db.session.add(provider)
        db.session.flush()
        return provider

    def course(
        self, title: str = "클라우드 네이티브 백엔드 개발자 양성과정", provider: Provider | None = None, **values
    ) -> Course:
        course = Course(
            title=title,
            provider_id=(provider or self.provider()).id,
            match_key=f"test-{next(self._numbers)}",
            **{
                "ncs_code": "20010202",
                "contents": "자바와 스프링으로 백엔드를 만듭니다.\n클라우드 배포까지.",
                "certificate": "정보처리기사",
                **values,
            },
        )
        db.session.add(course)
        db.session.flush()
        return course

    def listing(self, course: Course, source: str = "hrdnet", title: str | None = None, **values) -> CourseListing:
        listing = CourseListing(
            course_id=course.id,
            source=source,
            external_id=f"AIG2026{next(self._numbers):010d}",
            title=title or course.title,
            **values,
        )
        db.session.add(listing)
        db.session.flush()
        return listing

    def run(
        self,
        course: Course | None = None,
        *,
        listing: CourseListing | None | bool = True,
        programme: str | None = "C0104",
        start: date | None = None,
        days: int = 90,
        feed_days: int | None = 80,
        last_seen: datetime | None = None,
        not_seen_since: date | None = None,
        **values,
    ) -> Run:
        """A run from `start` to `start + days`; `feed_days` is the feed's training-day count (총 훈련일수,
        None: not given), from which its calendar is derived (courses.calendar)."""
        course = course or self.course()
        if listing is True:
            listing = db.session.scalar(
                select(CourseListing).where(CourseListing.course_id == course.id).order_by(CourseListing.id)
            ) or self.listing(course)
        start = start or self.today + timedelta(days=14)
        run = Run(
            course_id=course.id,
            listing_id=listing.id if listing else None,
            programme_id=self.programme(programme).id if programme else None,
            run_number=next(self._numbers),
            start_date=start,
            end_date=start + timedelta(days=days),
            **{
                "weekend": "weekday",
                "mode": "classroom",
                "hours": 640,
                "days": feed_days,
                "fee": 2_000_000,
                "capacity": 30,
                "source_enrolled": 10,
                "local_enrolled": 2,
                "status": "open",
                "ncs_code": course.ncs_code,
                "region_code": "11680",
                **values,
            },
        )
        db.session.add(run)
        db.session.flush()
        if listing:
            db.session.add(
                SourceRecord(
                    run_id=run.id,
                    source=listing.source,
                    external_key=f"{listing.external_id}:{run.run_number}",
                    content_hash="0" * 64,
                    first_seen=datetime(2026, 11, 1, tzinfo=UTC),
                    last_seen=last_seen or datetime(2026, 11, 20, 1, 30, tzinfo=UTC),
                    not_seen_since=not_seen_since,
                )
            )
        db.session.commit()
        return run

    def import_run(
        self, source: str = "hrdnet", *, finished: datetime | None, status: str = "done", **values
    ) -> ImportRun:
        row = ImportRun(
            source=source,
            finished_at=finished,
            status=status,
            **{
                "format": "hrdnet-xml",
                "actor": "cli",
                "started_at": (finished or datetime(2026, 11, 1, tzinfo=UTC)) - timedelta(minutes=5),
                **values,
            },
        )
        db.session.add(row)
        db.session.commit()
        return row
