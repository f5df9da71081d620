"""The importer every feed format goes through: validate, upsert, record provenance, never wipe.

import_file() reads a feed twice, streaming both times so memory stays flat:
1. a dry pass counts the valid records and the training-start range they cover, and hashes the file;
   an empty feed, or one far smaller than what this source currently lists for that range, is refused
   here (unless allow_shrink) before anything is written;
2. the import pass upserts records in batches, each batch in its own transaction: a record whose content
   hash is unchanged only has its last-seen time moved; a changed one updates only the columns that
   changed; a new one creates the run (and its provider, canonical course and listing as needed).
Only after a complete parse are the runs of this source inside the covered range that the feed no longer
lists marked "not seen since <date>"; nothing is ever deleted. Local enrolments (Run.local_enrolled) are
never touched by an import.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import date
from itertools import islice
from pathlib import Path

from sqlalchemy import func, insert, select, update

from courses import calendar, changes, matching
from courses.ingest.records import FeedRecord, FeedUnreadable, Rejection
from courses.models import Course, CourseListing, ImportRun, Programme, Provider, ProviderSourceId, Run, SourceRecord
from hrdnet import audit
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import kst_today, utcnow

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
SHRINK_RATIO = 0.5  # a feed with fewer than half the runs this source lists for the range is suspicious
SHRINK_MIN_PREVIOUS = 20  # ... once there is enough to compare with
REPORT_REJECTIONS = 1000  # rejections kept in the database row (the JSON report has them all)

# FeedRecord fields that are copied onto the run; the rest belong to the provider, course or listing.
RUN_FIELDS = (
    "run_number",
    "start_date",
    "end_date",
    "weekend",
    "mode",
    "hours",
    "days",
    "fee",
    "actual_cost",
    "support_amount",
    "general_self_pay",
    "capacity",
    "source_enrolled",
    "ncs_code",
    "region_code",
    "address",
    "satisfaction",
    "employment_rate_3m",
    "employment_rate_6m",
    "employment_count_3m",
)
HASHED_FIELDS = tuple(f.name for f in fields(FeedRecord) if f.name not in ("position", "extra"))


class ImportRefused(Exception):
    """The feed was read but not imported (empty, or shrunk without --allow-shrink)."""


@dataclass
class ImportResult:
    import_id: int | None = None
    source: str = ""
    status: str = "running"
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    marked_missing: int = 0
    range_from: date | None = None
    range_to: date | None = None
    file_hash: str | None = None
    message: str = ""
    rejections: list[Rejection] = field(default_factory=list)

    def as_report(self) -> dict:
        """The --report JSON: the four counts as integers at the top level, then the details."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "marked_missing": self.marked_missing,
            "records": self.records,
            "status": self.status,
            "message": self.message,
            "import_id": self.import_id,
            "source": self.source,
            "range": [d.isoformat() if d else None for d in (self.range_from, self.range_to)],
            "file_sha256": self.file_hash,
            "rejections": [r.as_dict() for r in self.rejections],
        }


PARSER_MODULES = {
    "hrdnet-xml": "courses.ingest.hrdnet_xml",
    "csv": "courses.ingest.generic_csv",
    "json": "courses.ingest.generic_json",
}


def parser_for(fmt: str) -> Callable[..., Iterator[FeedRecord | Rejection]]:
    return importlib.import_module(PARSER_MODULES[fmt]).parse


def content_hash(record: FeedRecord) -> str:
    values = {name: getattr(record, name) for name in HASHED_FIELDS}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- the dry pass -------------------------------------------------------------------------------------


@dataclass
class Survey:
    records: int = 0
    range_from: date | None = None
    range_to: date | None = None
    complete: bool = True


def survey(path: Path, fmt: str, source: str, progress: Callable[[int], None] | None = None) -> Survey:
    """Count valid records and the start-date range without writing (raises FeedUnreadable at once)."""
    result = Survey()
    with path.open("rb") as stream:
        try:
            for item in parser_for(fmt)(stream, source=source):
                if isinstance(item, FeedRecord):
                    result.records += 1
                    start = item.start_date
                    result.range_from = min(result.range_from or start, start)
                    result.range_to = max(result.range_to or start, start)
                if progress:
                    progress(stream.tell())
        except FeedUnreadable:
            if result.records == 0:
                raise
            result.complete = False
    return result


def _earlier_survey(source: str, digest: str) -> Survey | None:
    """The survey of this very file from an earlier complete import of the source (skips the dry pass)."""
    row = db.session.execute(
        select(ImportRun.records, ImportRun.range_from, ImportRun.range_to)
        .where(ImportRun.source == source, ImportRun.file_hash == digest, ImportRun.status == "done")
        .order_by(ImportRun.id.desc())
        .limit(1)
    ).first()
    return Survey(records=row.records, range_from=row.range_from, range_to=row.range_to) if row else None


def listed_in_range(source: str, start: date, end: date) -> int:
    """How many runs this source currently lists with a start date in [start, end]."""
    return db.session.scalar(
        select(func.count())
        .select_from(SourceRecord)
        .join(Run, Run.id == SourceRecord.run_id)
        .where(SourceRecord.source == source, SourceRecord.not_seen_since.is_(None), Run.start_date.between(start, end))
    )


def check_shrink(source: str, found: Survey, allow_shrink: bool) -> None:
    if found.records == 0:
        if not allow_shrink:
            raise ImportRefused(
                "피드에 유효한 과정 회차가 하나도 없어 가져오지 않았습니다. "
                "정말 비어 있는 피드라면 --allow-shrink 로 다시 실행하세요."
            )
        return
    previous = listed_in_range(source, found.range_from, found.range_to)
    if not allow_shrink and _is_shrunk(found.records, previous):
        raise ImportRefused(
            f"피드의 회차 수({found.records:,})가 같은 기간({found.range_from}~{found.range_to})에 이 출처가 "
            f"지금 제공하는 회차 수({previous:,})의 절반에 못 미쳐 가져오지 않았습니다. "
            "일부만 받은 파일이 아닌지 확인하고, 맞다면 --allow-shrink 로 다시 실행하세요."
        )


# -- the import pass ----------------------------------------------------------------------------------


class _Lookups:
    """Per-import caches of what earlier batches resolved (a few thousand rows at most)."""

    def __init__(self, source: str):
        self.source = source
        self.programmes: dict[str, int] = dict(db.session.execute(select(Programme.code, Programme.id)).all())
        self.providers: dict[str, int] = dict(
            db.session.execute(
                select(ProviderSourceId.external_id, ProviderSourceId.provider_id).where(
                    ProviderSourceId.source == source
                )
            ).all()
        )
        self.listings: dict[str, tuple[int, int]] = {}  # course external id -> (listing id, course id)


def _provider_for(record: FeedRecord, lookups: _Lookups) -> int:
    """Find the provider by this source's id, then by business number, then by name within the 시·도."""
    provider_id = lookups.providers.get(record.provider_id)
    if provider_id is None:
        provider_id = _find_provider(record)
        if provider_id is None:
            provider_id = db.session.execute(
                insert(Provider).returning(Provider.id),
                [
                    {
                        "name": record.provider_name,
                        "name_key": matching.normalise_name(record.provider_name),
                        "business_number": record.business_number,
                        "region_code": record.region_code,
                        "address": record.address,
                        "phone": record.phone,
                        "grade": record.provider_grade,
                        "created_at": utcnow(),
                        "updated_at": utcnow(),
                    }
                ],
            ).scalar_one()
        db.session.execute(
            insert(ProviderSourceId).values(
                provider_id=provider_id, source=lookups.source, external_id=record.provider_id
            )
        )
        lookups.providers[record.provider_id] = provider_id
    return provider_id


def _find_provider(record: FeedRecord) -> int | None:
    """A provider another source already brought: same business number, or same name in the same 시·도."""
    if record.business_number:
        found = db.session.scalar(select(Provider.id).where(Provider.business_number == record.business_number))
        if found is not None:
            return found
    sido = (record.region_code or "")[:2]
    for provider_id, region in db.session.execute(
        select(Provider.id, Provider.region_code).where(
            Provider.name_key == matching.normalise_name(record.provider_name)
        )
    ):
        if not sido or not region or region[:2] == sido:
            return provider_id
    return None


def _resolve_listings(records: list[FeedRecord], lookups: _Lookups) -> None:
    """Make lookups.listings know the (listing id, course id) of every course these records belong to.

    Set-based: one query for known listings, one for candidate canonical courses, one insert for new
    courses and one for new listings, however many courses the batch brings.
    """
    wanted = {}
    for record in records:
        if record.course_id not in lookups.listings:
            wanted.setdefault(record.course_id, record)
    if not wanted:
        return
    for external_id, listing_id, course_id in db.session.execute(
        select(CourseListing.external_id, CourseListing.id, CourseListing.course_id).where(
            CourseListing.source == lookups.source, CourseListing.external_id.in_(wanted)
        )
    ):
        lookups.listings[external_id] = (listing_id, course_id)
        del wanted[external_id]
    if not wanted:
        return
    keys = {
        external_id: matching.match_key(record.title, _provider_for(record, lookups))
        for external_id, record in wanted.items()
    }
    candidates: dict[str, list[tuple[int | str, str | None]]] = defaultdict(list)
    for course_id, key, ncs in db.session.execute(
        select(Course.id, Course.match_key, Course.ncs_code).where(Course.match_key.in_(set(keys.values())))
    ):
        candidates[key].append((course_id, ncs))
    course_of: dict[str, int | str] = {}  # an existing course id, or the external id that creates the course
    creators = []
    for external_id, record in wanted.items():
        key = keys[external_id]
        found = next((cid for cid, ncs in candidates[key] if matching.ncs_compatible(ncs, record.ncs_code)), None)
        if found is None:  # the first of its kind in this batch creates the course; later ones join it
            found = external_id
            creators.append(external_id)
            candidates[key].append((external_id, record.ncs_code))
        course_of[external_id] = found
    if creators:
        now = utcnow()
        created = db.session.scalars(
            insert(Course.__table__).returning(Course.__table__.c.id, sort_by_parameter_order=True),
            [
                {
                    "title": wanted[e].title,
                    "provider_id": lookups.providers[wanted[e].provider_id],
                    "ncs_code": wanted[e].ncs_code,
                    "match_key": keys[e],
                    "contents": wanted[e].contents,
                    "certificate": wanted[e].certificate,
                    "keywords": wanted[e].keywords,
                    "created_at": now,
                    "updated_at": now,
                }
                for e in creators
            ],
        ).all()
        new_ids = dict(zip(creators, created, strict=True))
        course_of = {e: new_ids.get(c, c) if isinstance(c, str) else c for e, c in course_of.items()}
    externals = list(wanted)
    listing_ids = db.session.scalars(
        insert(CourseListing.__table__).returning(CourseListing.__table__.c.id, sort_by_parameter_order=True),
        [
            {
                "course_id": course_of[e],
                "source": lookups.source,
                "external_id": e,
                "title": wanted[e].title,
                "url": wanted[e].url,
                "pinned": False,
            }
            for e in externals
        ],
    ).all()
    for external_id, listing_id in zip(externals, listing_ids, strict=True):
        lookups.listings[external_id] = (listing_id, course_of[external_id])


def _run_values(record: FeedRecord, lookups: _Lookups) -> dict:
    values = {name: getattr(record, name) for name in RUN_FIELDS}
    values["programme_id"] = lookups.programmes.get(record.programme_code or "")
    return values


def _import_batch(batch: list[FeedRecord], lookups: _Lookups, import_id: int, result: ImportResult) -> None:
    keys = {record.key for record in batch}
    existing = {
        row.external_key: row
        for row in db.session.execute(
            select(
                SourceRecord.id,
                SourceRecord.external_key,
                SourceRecord.run_id,
                SourceRecord.content_hash,
                SourceRecord.last_import_id,
                SourceRecord.not_seen_since,
            ).where(SourceRecord.source == lookups.source, SourceRecord.external_key.in_(keys))
        )
    }
    now = utcnow()
    seen_in_batch: dict[str, tuple[str, str]] = {}
    touched, changed, new = [], [], []
    returned = []  # runs listed again after a feed had dropped them: visible again
    for record in batch:
        digest = content_hash(record)
        earlier = seen_in_batch.get(record.key)
        known = existing.get(record.key)
        if earlier is None and known is not None and known.last_import_id == import_id:
            earlier = (known.content_hash, "이 파일의 앞부분")
        if earlier is not None:  # the same run twice in one file
            if earlier[0] == digest:
                result.unchanged += 1
            else:
                _reject(
                    result,
                    Rejection(
                        record.position,
                        record.key,
                        f"같은 회차가 파일에 두 번 나오며 내용이 다릅니다 (처음: {earlier[1]}). 처음 것을 유지합니다.",
                    ),
                )
            continue
        seen_in_batch[record.key] = (digest, record.position)
        if known is None:
            new.append((record, digest))
            result.created += 1
        elif known.content_hash == digest:
            touched.append(known.id)
            if known.not_seen_since is not None:
                returned.append(known.run_id)
            result.unchanged += 1
        else:
            changed.append((known, record, digest))
            result.updated += 1
    if touched:
        db.session.execute(
            update(SourceRecord)
            .where(SourceRecord.id.in_(touched))
            .values(last_seen=now, not_seen_since=None, last_import_id=import_id)
        )
    if changed:
        _update_runs(changed, lookups, import_id, now)
    if new:
        returned += _create_runs(new, lookups, import_id, now)
    # The search index follows through the outbox, committed with this batch (courses/changes.py).
    changes.runs_changed(returned + [known.run_id for known, _, _ in changed])


def _create_runs(new: list[tuple[FeedRecord, str]], lookups: _Lookups, import_id: int, now) -> list[int]:
    """Insert the batch's new runs and their source records in two multi-row statements; returns the run ids."""
    _resolve_listings([record for record, _digest in new], lookups)
    rows = []
    for record, _digest in new:
        listing_id, course_id = lookups.listings[record.course_id]
        rows.append(
            {
                **_run_values(record, lookups),
                "course_id": course_id,
                "listing_id": listing_id,
                "status": "open",
                "local_enrolled": 0,
                # A bulk insert skips the ORM's calendar hook (courses.models.Run): derive it here.
                "schedule": calendar.derive_schedule(record.start_date, record.end_date, record.weekend, record.days),
                "schedule_source": "feed",
                "created_at": now,
                "updated_at": now,
            }
        )
    # Core inserts into the tables (here and for courses and listings): the ORM's bulk insert groups the rows by
    # which values are None and splices the RETURNING rows group after group, quadratic in the batch; Core
    # sends the batch as one executemany (insertmanyvalues). Column defaults apply either way.
    run_ids = db.session.scalars(
        insert(Run.__table__).returning(Run.__table__.c.id, sort_by_parameter_order=True), rows
    ).all()
    db.session.execute(
        insert(SourceRecord.__table__),
        [
            {
                "run_id": run_id,
                "source": lookups.source,
                "external_key": record.key,
                "content_hash": digest,
                "first_seen": now,
                "last_seen": now,
                "last_import_id": import_id,
            }
            for run_id, (record, digest) in zip(run_ids, new, strict=True)
        ],
    )
    return list(run_ids)


def _update_runs(changed: list, lookups: _Lookups, import_id: int, now) -> None:
    """Set only the columns whose values changed (the ORM writes just the dirty ones)."""
    runs = {
        run.id: run
        for run in db.session.scalars(select(Run).where(Run.id.in_([known.run_id for known, _, _ in changed])))
    }
    for known, record, digest in changed:
        run = runs[known.run_id]
        for name, value in _run_values(record, lookups).items():
            if getattr(run, name) != value:
                setattr(run, name, value)
        provider_id = _provider_for(record, lookups)
        if _update_provider(provider_id, record):
            changes.provider_changed(provider_id)
        if run.listing_id is not None and _update_course(run.course_id, run.listing_id, record):
            changes.courses_changed([run.course_id])
        db.session.execute(
            update(SourceRecord)
            .where(SourceRecord.id == known.id)
            .values(content_hash=digest, last_seen=now, not_seen_since=None, last_import_id=import_id)
        )
    db.session.flush()


def _update_provider(provider_id: int, record: FeedRecord) -> bool:
    """Returns True when the provider's name changed (what search shows of a provider)."""
    provider = db.session.get(Provider, provider_id)
    renamed = bool(record.provider_name) and provider.name != record.provider_name
    for name, value in (
        ("name", record.provider_name),
        ("address", record.address),
        ("phone", record.phone),
        ("grade", record.provider_grade),
        ("region_code", record.region_code),
    ):
        if value and getattr(provider, name) != value:
            setattr(provider, name, value)
    provider.name_key = matching.normalise_name(provider.name)
    return renamed


def _update_course(course_id: int, listing_id: int, record: FeedRecord) -> bool:
    """Descriptive fields follow the latest feed that has them; the canonical title stays as first seen.
    Returns True when something search indexes for every run of the course changed."""
    course = db.session.get(Course, course_id)
    changed = False
    for name in ("contents", "certificate", "keywords", "ncs_code"):
        value = getattr(record, name)
        if value and getattr(course, name) != value:
            setattr(course, name, value)
            changed = True
    listing = db.session.get(CourseListing, listing_id)
    if listing.title != record.title or (record.url and listing.url != record.url):
        changed = changed or listing.title != record.title
        listing.title, listing.url = record.title, record.url or listing.url
    return changed


def _reject(result: ImportResult, rejection: Rejection) -> None:
    result.rejected += 1
    result.rejections.append(rejection)


def mark_missing(source: str, import_id: int, start: date, end: date) -> int:
    """Runs of this source in [start, end] that this import did not list: not seen since today."""
    stale = (
        select(SourceRecord.id)
        .join(Run, Run.id == SourceRecord.run_id)
        .where(
            SourceRecord.source == source,
            SourceRecord.not_seen_since.is_(None),
            (SourceRecord.last_import_id != import_id) | SourceRecord.last_import_id.is_(None),
            Run.start_date.between(start, end),
        )
    )
    run_ids = db.session.scalars(
        update(SourceRecord)
        .where(SourceRecord.id.in_(stale))
        .values(not_seen_since=kst_today())
        .returning(SourceRecord.run_id)
    ).all()
    changes.runs_changed(run_ids)  # hidden from search unless another source still lists them
    return len(run_ids)


def _until_break(items: Iterator, broken: list[FeedUnreadable]) -> Iterator:
    """Pass items on until the parser reports the file broke off; note the break instead of raising."""
    try:
        yield from items
    except FeedUnreadable as exc:
        broken.append(exc)


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def import_file(
    path: Path,
    fmt: str,
    *,
    source: str,
    actor: str,
    allow_shrink: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import one feed file. Raises FeedUnreadable (nothing imported) or ImportRefused (nothing imported)."""
    path = Path(path)
    digest = file_sha256(path)
    found = _earlier_survey(source, digest) or survey(path, fmt, source, progress)
    try:
        check_shrink(source, found, allow_shrink)
    except ImportRefused as refused:
        _record_refusal(source, fmt, actor, path.name, digest, found, str(refused))
        raise
    with path.open("rb") as stream:
        return import_records(
            parser_for(fmt)(stream, source=source),
            source=source,
            fmt=fmt,
            actor=actor,
            range_from=found.range_from,
            range_to=found.range_to,
            file_name=path.name,
            file_hash=digest,
            after_batch=(lambda: progress(stream.tell())) if progress else None,
        )


def _record_refusal(
    source: str, fmt: str, actor: str, file_name: str, digest: str, found: Survey, message: str
) -> None:
    with unit_of_work(write_lock=True):
        db.session.add(
            ImportRun(
                source=source,
                format=fmt,
                file_name=file_name,
                file_hash=digest,
                actor=actor,
                range_from=found.range_from,
                range_to=found.range_to,
                status="refused",
                finished_at=utcnow(),
                message=message[:500],
            )
        )


def import_records(
    items: Iterator[FeedRecord | Rejection],
    *,
    source: str,
    fmt: str,
    actor: str,
    range_from: date | None,
    range_to: date | None,
    file_name: str | None = None,
    file_hash: str | None = None,
    after_batch: Callable[[], None] | None = None,
    guard_shrink: bool = False,
    allow_shrink: bool = False,
    whole_range: Callable[[], bool] = lambda: True,
) -> ImportResult:
    """Upsert a stream of parsed records in batches (each batch committed before after_batch is called).

    range_from/range_to is the training-start range the stream covers: runs of the source in it that the
    stream did not list are marked missing once the stream ended normally. guard_shrink checks the stream's
    size against what the source lists for that range *after* the fact (a live fetch cannot be counted
    beforehand): a shrunken stream keeps its upserts but marks nothing missing unless allow_shrink.
    whole_range() is asked at the end whether the stream really covered the whole range (a resumed fetch
    did not: the pages of the interrupted attempt came in another import), else nothing is marked.
    """
    result = ImportResult(source=source, file_hash=file_hash, range_from=range_from, range_to=range_to)
    previous = listed_in_range(source, range_from, range_to) if guard_shrink and range_from else 0
    with unit_of_work(write_lock=True):
        row = ImportRun(
            source=source,
            format=fmt,
            file_name=file_name,
            file_hash=file_hash,
            actor=actor,
            range_from=range_from,
            range_to=range_to,
        )
        db.session.add(row)
        db.session.flush()
        result.import_id = row.id
    lookups = _Lookups(source)
    broken: list[FeedUnreadable] = []
    for batch in _batches(_until_break(items, broken), BATCH_SIZE):
        records = [item for item in batch if isinstance(item, FeedRecord)]
        for rejection in (item for item in batch if isinstance(item, Rejection)):
            _reject(result, rejection)
        result.records += len(records)
        with unit_of_work(write_lock=True):
            _import_batch(records, lookups, result.import_id, result)
        if after_batch:
            after_batch()
    mark = not broken and whole_range()
    if broken:
        result.message = str(broken[0])
    elif not mark:
        result.message = "이어받기로 일부 기간만 새로 받아, 빠진 회차 표시는 다음 전체 수집 때 합니다."
    elif guard_shrink and not allow_shrink and _is_shrunk(result.records, previous):
        mark = False
        result.message = (
            f"받은 회차 수({result.records:,})가 이 기간에 지금 제공되는 회차 수({previous:,})의 "
            "절반에 못 미쳐, 받은 회차만 반영하고 빠진 회차 표시는 하지 않았습니다 (--allow-shrink)."
        )
    _finish(result, complete=not broken, mark=mark, actor=actor)
    return result


def _is_shrunk(found: int, previous: int) -> bool:
    return found == 0 or (previous >= SHRINK_MIN_PREVIOUS and found < previous * SHRINK_RATIO)


def _finish(result: ImportResult, *, complete: bool, mark: bool, actor: str) -> None:
    with unit_of_work(write_lock=True):
        if complete and mark and result.range_from is not None:
            result.marked_missing = mark_missing(result.source, result.import_id, result.range_from, result.range_to)
        if not complete:
            result.status = "partial"
            result.message = (
                f"{result.message} 끝까지 읽지 못해, 읽은 회차만 반영하고 빠진 회차 표시는 하지 않았습니다."
            ).strip()
        else:
            result.status = "done"
            if not result.message and result.created == result.updated == result.marked_missing == 0:
                result.message = "변경 사항이 없습니다 (모든 회차가 이전과 같습니다)."
            result.message = result.message or (
                f"새 회차 {result.created:,}건, 바뀐 회차 {result.updated:,}건, 그대로 {result.unchanged:,}건, "
                f"거부 {result.rejected:,}건, 목록에서 빠진 회차 {result.marked_missing:,}건."
            )
        row = db.session.get(ImportRun, result.import_id)
        for name in ("status", "records", "created", "updated", "unchanged", "rejected", "marked_missing"):
            setattr(row, name, getattr(result, name))
        row.message = result.message[:500]
        row.finished_at = utcnow()
        row.rejections = json.dumps([r.as_dict() for r in result.rejections[:REPORT_REJECTIONS]], ensure_ascii=False)
        audit.append(
            "catalog.imported",
            actor=actor,
            subject_type="import",
            subject_id=result.import_id,
            data={
                "source": result.source,
                "status": result.status,
                "file_sha256": result.file_hash,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "rejected": result.rejected,
                "marked_missing": result.marked_missing,
            },
        )
