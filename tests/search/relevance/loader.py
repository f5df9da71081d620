"""Load the fixed relevance catalog (catalog.json) into a migrated database through the real importer.

    from tests.search.relevance import loader

    catalog = loader.read_catalog()                 # the parsed catalog.json
    judgements = loader.read_judgements()           # the parsed judgements.json (checked by check_judgements)
    loaded = loader.load(work_dir)                  # inside an app context, on a migrated, empty catalog
    loaded.course_ids["K001"]                       # -> courses.id
    loaded.course_key(course_id)                    # -> "K001"
    loaded.run_ids["K001:2"]                        # -> runs.id
    loaded.course_key_of_run(run_id)                # -> "K001" (also for the runs of a cross listing)

The catalog is written as the generic JSON Lines feeds of docs/feeds.md (one file per source: hrdnet,
msit-academy, mss-digital, motie-academy, moe-kmooc) and imported with courses.ingest.importer.import_file,
so loading it also exercises the parser, the validation, provider matching by business number and canonical
course matching (three courses are listed by a second source under another spelling and become one course
"also listed by" the other).

Dates: catalog.json is dated around its "anchor" (a Monday). Searches hide runs that started in the past, so
load() moves every date forward by whole weeks until the anchor is not before `today` (KST by default);
weekdays stay weekdays and Saturdays stay Saturdays. Nothing else changes with the calendar.

Nothing here is random and nothing is generated at test time: the catalog is data, committed with its
judgements (README.md in this folder says how both were made).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATALOG_PATH = HERE / "catalog.json"
JUDGEMENTS_PATH = HERE / "judgements.json"
ACTOR = "relevance"
# HRD-Net first, as courses.demo does, so the other sources' listings find their providers and courses.
SOURCE_ORDER = ("hrdnet", "msit-academy", "mss-digital", "motie-academy", "moe-kmooc")
KINDS = (
    "title-variant",
    "typo",
    "two-syllable",
    "spacing",
    "en-ko",
    "topic",
    "provider",
    "region-topic",
    "facet",
    "level",
    "schedule",
    "programme",
    "certificate",
    "synonym",
    "symbol",
    "mixed",
)
FILTER_NAMES = ("region", "mode", "weekend", "programme", "ministry")
SPLITS = ("tune", "report")

# FeedRecord fields a run of the catalog carries over into the feed as they are.
_RUN_FIELDS = (
    "run_number",
    "weekend",
    "mode",
    "hours",
    "days",
    "fee",
    "support_amount",
    "capacity",
    "source_enrolled",
    "region_code",
    "address",
    "satisfaction",
)


def read_catalog(path: Path = CATALOG_PATH) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_judgements(path: Path = JUDGEMENTS_PATH) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def shift_days(catalog: dict, today: date) -> int:
    """Whole weeks (in days) that move the catalog's anchor to today or later."""
    anchor = date.fromisoformat(catalog["anchor"])
    if today <= anchor:
        return 0
    return math.ceil((today - anchor).days / 7) * 7


def _moved(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def feed_records(catalog: dict, days: int = 0) -> dict[str, list[dict]]:
    """The generic-JSON records of every source, dates moved by `days` (source -> records in file order)."""
    providers = {p["key"]: p for p in catalog["providers"]}
    courses = {c["key"]: c for c in catalog["courses"]}
    out: dict[str, list[dict]] = {source: [] for source in SOURCE_ORDER}

    def records(
        course: dict, source: str, course_id: str, title: str, programme: str, run_numbers: list[int] | None = None
    ) -> None:
        provider = providers[course["provider"]]
        for run in course["runs"]:
            if run_numbers is not None and run["run_number"] not in run_numbers:
                continue
            record = {
                "course_id": course_id,
                "title": title,
                "provider_name": provider["name"],
                "provider_id": provider["provider_id"],
                "business_number": provider["business_number"],
                "phone": provider["phone"],
                "start_date": _moved(run["start_date"], days),
                "end_date": _moved(run["end_date"], days),
                "programme_code": programme,
                "ncs_code": course["ncs_code"],
                "contents": course["contents"],
                "certificate": course["certificate"],
                "keywords": course["keywords"],
            }
            record.update({name: run.get(name) for name in _RUN_FIELDS})
            out[source].append({key: value for key, value in record.items() if value is not None})

    for course in catalog["courses"]:
        records(course, course["source"], course["course_id"], course["title"], course["programme_code"])
    for cross in catalog["cross_listings"]:
        records(
            courses[cross["course"]],
            cross["source"],
            cross["course_id"],
            cross["title"],
            cross["programme_code"],
            cross["runs"],
        )
    return {source: items for source, items in out.items() if items}


def write_feeds(folder: Path, catalog: dict, days: int = 0) -> list[tuple[Path, str]]:
    """Write one JSON Lines feed per source into `folder`; [(path, source)] in import order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for source, items in feed_records(catalog, days).items():
        path = folder / f"relevance-{source}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
        written.append((path, source))
    return written


@dataclass
class Loaded:
    """What load() imported: catalog keys ↔ database ids."""

    catalog: dict
    shift_days: int
    course_ids: dict[str, int] = field(default_factory=dict)  # course key -> courses.id
    run_ids: dict[str, int] = field(default_factory=dict)  # "K001:2" (or "AIC-2026-0133:1" cross) -> runs.id
    results: list = field(default_factory=list)  # ImportResult per feed
    _course_keys: dict[int, str] = field(default_factory=dict)
    _run_courses: dict[int, str] = field(default_factory=dict)

    def course_key(self, course_id: int) -> str | None:
        return self._course_keys.get(course_id)

    def course_key_of_run(self, run_id: int) -> str | None:
        return self._run_courses.get(run_id)


def load(work_dir: Path, *, today: date | None = None, catalog: dict | None = None) -> Loaded:
    """Import the catalog through import_file (inside an app context on a migrated database)."""
    from sqlalchemy import select

    from courses.ingest.importer import import_file
    from courses.models import CourseListing, Run, SourceRecord
    from hrdnet.extensions import db
    from hrdnet.timeutil import kst_today

    catalog = catalog or read_catalog()
    days = shift_days(catalog, today or kst_today())
    loaded = Loaded(catalog=catalog, shift_days=days)
    for path, source in write_feeds(Path(work_dir), catalog, days):
        result = import_file(path, "json", source=source, actor=ACTOR)
        if result.status != "done" or result.rejected:
            raise RuntimeError(
                f"the relevance catalog did not import cleanly ({source}): {result.message} "
                f"{[r.as_dict() for r in result.rejections[:5]]}"
            )
        loaded.results.append(result)

    listing_key = {(c["source"], c["course_id"]): c["key"] for c in catalog["courses"]}
    listing_key.update({(x["source"], x["course_id"]): x["course"] for x in catalog["cross_listings"]})
    for source, external_id, course_id in db.session.execute(
        select(CourseListing.source, CourseListing.external_id, CourseListing.course_id)
    ):
        key = listing_key.get((source, external_id))
        if key is None:
            continue
        if key in loaded.course_ids and loaded.course_ids[key] != course_id:
            raise RuntimeError(f"{key}: its listings became two courses ({loaded.course_ids[key]}, {course_id})")
        loaded.course_ids[key] = course_id
        loaded._course_keys[course_id] = key
    missing = set(listing_key.values()) - set(loaded.course_ids)
    if missing:
        raise RuntimeError(f"courses of the catalog not found after the import: {sorted(missing)}")
    for external_key, run_id, course_id in db.session.execute(
        select(SourceRecord.external_key, SourceRecord.run_id, Run.course_id).join(Run, Run.id == SourceRecord.run_id)
    ):
        key = loaded._course_keys.get(course_id)
        if key is None:
            continue
        loaded.run_ids[external_key] = run_id
        loaded._run_courses[run_id] = key
    return loaded


# -- the judgements' shape ---------------------------------------------------------------------------


def check_judgements(judgements: list[dict], catalog: dict) -> list[str]:
    """Every problem with the judgement file, in words (an empty list: well-formed)."""
    problems = []
    course_keys = {c["key"] for c in catalog["courses"]}
    run_keys = {r["key"] for c in catalog["courses"] for r in c["runs"]}
    seen_ids: set[str] = set()
    seen_queries: set[tuple] = set()
    allowed = {"id", "query", "kind", "split", "relevant", "partial", "filters", "note"}
    for item in judgements:
        qid = item.get("id", "?")
        extra = set(item) - allowed
        if extra:
            problems.append(f"{qid}: unknown fields {sorted(extra)}")
        if not isinstance(item.get("id"), str) or qid in seen_ids:
            problems.append(f"{qid}: the id is missing or repeated")
        seen_ids.add(qid)
        if not isinstance(item.get("query"), str) or not item["query"].strip():
            problems.append(f"{qid}: no query text")
        if item.get("kind") not in KINDS:
            problems.append(f"{qid}: unknown kind {item.get('kind')!r}")
        if item.get("split") not in SPLITS:
            problems.append(f"{qid}: split must be tune or report, not {item.get('split')!r}")
        filters = item.get("filters") or {}
        if not isinstance(filters, dict) or set(filters) - set(FILTER_NAMES):
            problems.append(f"{qid}: filters may only set {', '.join(FILTER_NAMES)}")
        signature = (item.get("query"), json.dumps(filters, sort_keys=True))
        if signature in seen_queries:
            problems.append(f"{qid}: the same query and filters are judged twice")
        seen_queries.add(signature)
        relevant = item.get("relevant")
        if not isinstance(relevant, list) or not relevant:
            problems.append(f"{qid}: relevant must be a non-empty list")
            relevant = []
        partial = item.get("partial", [])
        for key in [*relevant, *partial]:
            if key not in course_keys and key not in run_keys:
                problems.append(f"{qid}: {key} is no course or run of catalog.json")
        if len(set(relevant)) != len(relevant) or len(set(partial)) != len(partial) or set(relevant) & set(partial):
            problems.append(f"{qid}: a key is listed twice (relevant and partial are disjoint)")
    return problems


def course_keys_of(keys: list[str]) -> list[str]:
    """Judged keys as course keys ("K001:2" → "K001"), order kept, duplicates dropped."""
    return list(dict.fromkeys(key.split(":")[0] for key in keys))
