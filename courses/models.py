"""Catalog models: who funds (ministries, programmes), who teaches (providers), what is taught (courses)
and when (runs), plus where every record came from (sources, imports).

A *course* is the canonical thing a learner recognises; each source's listing of it is a CourseListing, so
the same course arriving from two ministries' feeds is one course "also listed by" the other. A *run* (회차)
is one dated offering, identified per source by its SourceRecord (source + external key).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses import calendar
from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow


class Ministry(db.Model):
    """A ministry that funds programmes (고용노동부 MOEL, 과학기술정보통신부 MSIT, …)."""

    __tablename__ = "ministries"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class Programme(db.Model):
    """A funding programme: which ministry pays, which voucher account is drawn and under which pricing rule.

    `code` is the HRD-Net training-course kind (crseTracseSe / trainTargetCd, e.g. C0104 KDT) or, for other
    ministries' academies, a code of our own (e.g. MSIT-SWA).
    """

    __tablename__ = "programmes"
    __table_args__ = (CheckConstraint("voucher_kind IN ('card', 'kdigital', 'none')", name="voucher_kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    ministry_id: Mapped[int] = mapped_column(ForeignKey("ministries.id"), index=True)
    voucher_kind: Mapped[str] = mapped_column(String(16))
    pricing_rule: Mapped[str | None] = mapped_column(String(32))  # key into courses.pricing; None = unknown

    ministry: Mapped[Ministry] = relationship(lazy="joined")


class Provider(db.Model):
    """A training provider (훈련기관)."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True, default="")  # courses.matching.normalise_name
    business_number: Mapped[str | None] = mapped_column(String(10), unique=True)
    region_code: Mapped[str | None] = mapped_column(String(5), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(30))
    # The accreditation grade the feed gives (HRD-Net `grade`: 5년인증, 3년인증, 1년인증 …); None: not given.
    grade: Mapped[str | None] = mapped_column(String(30))
    # When an admin verified the provider (documents seen, out-of-band check recorded): only verified
    # providers submit runs. The audit console's "newly verified provider" rule reads it too.
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(32))  # the admin's pseudonym
    verification_note: Mapped[str | None] = mapped_column(String(1000))  # the out-of-band check, as recorded
    # Registration here (courses.portal.registration); feed-only providers have none of these.
    representative: Mapped[str | None] = mapped_column(String(50))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


class ProviderSourceId(db.Model):
    """A provider's id in one source (HRD-Net trainstCstId, …): how feeds and claims find the provider."""

    __tablename__ = "provider_source_ids"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(64))


class Course(db.Model):
    """The canonical course (과정). `match_key` = normalised title + provider + NCS, see courses.matching."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    ncs_code: Mapped[str | None] = mapped_column(String(8), index=True)
    match_key: Mapped[str] = mapped_column(String(64), index=True)
    contents: Mapped[str | None] = mapped_column(Text)
    certificate: Mapped[str | None] = mapped_column(String(300))
    keywords: Mapped[str | None] = mapped_column(String(500))
    summary: Mapped[str | None] = mapped_column(String(500))  # a provider's own one-paragraph summary
    target_learners: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    provider: Mapped[Provider] = relationship(lazy="joined")


class CourseListing(db.Model):
    """One source's listing of a course (e.g. HRD-Net trprId AIG20240000412345)."""

    __tablename__ = "course_listings"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))  # as that source spells it
    url: Mapped[str | None] = mapped_column(String(500))
    # Set when an admin pinned this listing to its course by hand: re-imports then never move it.
    pinned: Mapped[bool] = mapped_column(default=False)


RUN_STATUSES = ("open", "closed", "cancelled", "draft", "submitted", "rejected", "withdrawn")
WEEKEND_KINDS = ("weekday", "weekend", "mixed", "unknown")
MODES = ("classroom", "remote", "blended", "unknown")


class Run(db.Model):
    """One dated offering of a course (회차).

    Seats: the feed reports its own enrolment count (source_enrolled, `regCourseMan`); enrolments made on
    this site are counted apart (local_enrolled), so a re-import never erases them.
    seats left = capacity − source_enrolled − local_enrolled.

    Calendar: `schedule` marks each calendar day from start to end as a training day ("1") or not ("0"), a
    provider's own or derived from the feed (courses.calendar); every rule that counts training days reads it.
    It is kept in step with the dates whenever the ORM writes a run (the mapper events below) and by the
    importer's bulk insert.
    Application window: `apply_from`/`apply_until` as the provider set them; None means the programme's
    default.
    """

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
        CheckConstraint(
            "fee >= 0 AND capacity >= 0 AND source_enrolled >= 0 AND local_enrolled >= 0", name="amounts_not_negative"
        ),
        CheckConstraint(f"status IN {RUN_STATUSES}", name="status_known"),
        CheckConstraint(f"weekend IN {WEEKEND_KINDS}", name="weekend_known"),
        CheckConstraint(f"mode IN {MODES}", name="mode_known"),
        CheckConstraint(f"schedule_source IN {calendar.SOURCES}", name="schedule_source_known"),
        CheckConstraint(
            "apply_until IS NULL OR apply_from IS NULL OR apply_from <= apply_until", name="window_in_order"
        ),
        Index("ix_runs_start_date", "start_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("course_listings.id"), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"), index=True)
    run_number: Mapped[int] = mapped_column(Integer)  # trprDegr
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    weekend: Mapped[str] = mapped_column(String(8), default="unknown")
    mode: Mapped[str] = mapped_column(String(10), default="unknown")
    hours: Mapped[int | None] = mapped_column(Integer)  # trtm
    days: Mapped[int | None] = mapped_column(Integer)  # trDcnt, as the feed says (the calendar is `schedule`)
    schedule: Mapped[str] = mapped_column(Text)  # one "1"/"0" per calendar day from start to end
    schedule_source: Mapped[str] = mapped_column(String(8), default="feed", server_default="feed")
    apply_from: Mapped[date | None] = mapped_column(Date)  # application window as the provider set it
    apply_until: Mapped[date | None] = mapped_column(Date)
    fee: Mapped[int] = mapped_column(Integer)  # courseMan (원)
    actual_cost: Mapped[int | None] = mapped_column(Integer)  # realMan
    support_amount: Mapped[int | None] = mapped_column(Integer)  # approved government support (perTrco)
    general_self_pay: Mapped[int | None] = mapped_column(Integer)  # tgcrGnrlTrneOwepAllt, as the feed says
    capacity: Mapped[int] = mapped_column(Integer)  # yardMan
    source_enrolled: Mapped[int] = mapped_column(Integer, default=0)  # regCourseMan
    local_enrolled: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default="open")
    ncs_code: Mapped[str | None] = mapped_column(String(8), index=True)
    region_code: Mapped[str | None] = mapped_column(String(5), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    satisfaction: Mapped[float | None] = mapped_column()  # 0–100
    employment_rate_3m: Mapped[float | None] = mapped_column()  # %
    employment_rate_6m: Mapped[float | None] = mapped_column()
    employment_count_3m: Mapped[int | None] = mapped_column(Integer)
    completers: Mapped[int | None] = mapped_column(Integer)  # sample size behind the outcomes, when known
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    course: Mapped[Course] = relationship(lazy="joined")
    programme: Mapped[Programme | None] = relationship(lazy="joined")

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.source_enrolled - self.local_enrolled, 0)


@event.listens_for(Run, "before_insert")
@event.listens_for(Run, "before_update")
def _keep_calendar_in_step(_mapper, _connection, run: Run) -> None:
    calendar.refresh(run)


class SourceRecord(db.Model):
    """Provenance of a run: which source listed it under which key, what it said (hash), and when."""

    __tablename__ = "source_records"
    __table_args__ = (UniqueConstraint("source", "external_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    external_key: Mapped[str] = mapped_column(String(80))  # e.g. "AIG20240000412345:3"
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    not_seen_since: Mapped[date | None] = mapped_column(Date)  # set when a later full feed no longer lists it
    last_import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), index=True)


class ImportRun(db.Model):
    """One import of a feed file or fetch: who, when, what file, what range, and what happened."""

    __tablename__ = "imports"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'done', 'partial', 'failed', 'refused')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    format: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str | None] = mapped_column(String(300))
    file_hash: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))  # user pseudonym or "cli"
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    range_from: Mapped[date | None] = mapped_column(Date)  # training start dates the feed covers
    range_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default="running")
    records: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    marked_missing: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(String(500))
    rejections: Mapped[str | None] = mapped_column(Text)  # JSON list of the first rejections, for the admin page


class NcsCode(db.Model):
    """NCS classification (reference data shipped in courses/data/ncs.csv)."""

    __tablename__ = "ncs_codes"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(String(8))


class Region(db.Model):
    """시·도 (2 digits) and 시·군·구 (5 digits) codes (courses/data/regions.csv)."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(String(50))
    parent_code: Mapped[str | None] = mapped_column(String(5))


class RegionAlias(db.Model):
    """An old region code that feeds may still send, and today's code for it (e.g. 29110 → 12210).

    An old district that was split (인천 서구 28260 → 서해구 28275 and 검단구 28290) has one row per successor.
    """

    __tablename__ = "region_aliases"

    old_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
