"""The demo catalog (courses.demo): deterministic, realistic feeds that go through the real importer."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from courses import demo, matching
from courses.ingest.importer import parser_for
from courses.ingest.records import FeedRecord, Rejection
from courses.reference import read_csv
from hrdnet import korean
from hrdnet.extensions import db

ANCHOR = date(2026, 11, 1)
HANGUL = re.compile(r"[\uac00-\ud7a3]")
LATIN = re.compile(r"[A-Za-z]{2,}")


def _parse_all(feeds) -> dict[str, list[FeedRecord | Rejection]]:
    parsed = {}
    for path, fmt, source in feeds:
        with open(path, "rb") as stream:
            parsed[source] = list(parser_for(fmt)(stream, source=source))
    return parsed


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """2,400 runs parsed (no database): enough for every 시·도 and every programme family."""
    folder = tmp_path_factory.mktemp("demo")
    feeds = demo.generate(folder, runs=2400, seed=11, anchor=ANCHOR)
    return feeds, _parse_all(feeds)


def _records(parsed) -> list[FeedRecord]:
    return [item for items in parsed.values() for item in items if isinstance(item, FeedRecord)]


# -- determinism --------------------------------------------------------------------------------------


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path):
    first = demo.generate(tmp_path / "a", runs=800, seed=3, anchor=ANCHOR)
    again = demo.generate(tmp_path / "b", runs=800, seed=3, anchor=ANCHOR)
    other = demo.generate(tmp_path / "c", runs=800, seed=4, anchor=ANCHOR)
    assert [(p.name, fmt, source) for p, fmt, source in first] == [(p.name, fmt, source) for p, fmt, source in again]
    for (path, _, _), (twin, _, _) in zip(first, again, strict=True):
        assert path.read_bytes() == twin.read_bytes(), path.name
    assert first[0][0].read_bytes() != other[0][0].read_bytes()


def test_every_source_gets_a_file_and_runs_counts_every_record_written(tmp_path):
    feeds = demo.generate(tmp_path, runs=300, seed=1, anchor=ANCHOR)
    assert [(fmt, source) for _, fmt, source in feeds] == [(f.fmt, f.source) for f in demo.FEEDS]
    assert sum(len(items) for items in _parse_all(feeds).values()) == 300


def test_providers_scale_with_the_catalog():
    assert demo.provider_count(300) == 20
    assert demo.provider_count(12_000) == 100
    assert demo.provider_count(120_000) == 1000
    assert demo.provider_count(1_000_000) == 1000


def test_the_hrdnet_only_file_and_the_changed_copy_differ_only_in_changed_runs(tmp_path):
    base = demo.generate(tmp_path / "base", runs=2000, seed=2, anchor=ANCHOR, hrdnet_only=True)
    churned = demo.generate(tmp_path / "churn", runs=2000, seed=2, anchor=ANCHOR, hrdnet_only=True, churn=0.1)
    assert [source for _, _, source in base] == ["hrdnet"]
    before, after = (_parse_all(feeds)["hrdnet"] for feeds in (base, churned))
    changed = sum(a != b for a, b in zip(before, after, strict=True))
    assert 0.05 * len(before) < changed < 0.15 * len(before)


# -- what the catalog looks like ---------------------------------------------------------------------


def test_about_85_percent_of_runs_come_from_hrdnet_and_every_ministry_is_there(catalog):
    _feeds, parsed = catalog
    total = sum(len(items) for items in parsed.values())
    assert 0.78 < len(parsed["hrdnet"]) / total < 0.92
    programmes = {r.programme_code for r in _records(parsed)}
    assert {"C0104", "C0105", "C0102", "MSIT-SWA", "MSS-DGA", "MOTIE-IDA", "MOE-LLL"} <= programmes
    assert programmes & {"C0061", "C0061S", "C0061I"} and programmes & {"C0054", "C0054G", "C0054Y", "C0054S"}
    assert programmes & {"C0055", "C0031", "C0031F", "C0031C"}


def test_every_sido_and_many_districts_are_covered(catalog):
    _feeds, parsed = catalog
    regions = [r.region_code for r in _records(parsed) if r.region_code]
    sidos = {row["code"] for row in read_csv("regions.csv") if row["level"] == "1"}
    assert len(sidos) == 16
    assert {code[:2] for code in regions} == sidos
    assert len({code for code in regions if len(code) == 5}) >= 15


def test_titles_mix_korean_and_english_and_real_feed_quirks_are_there(catalog):
    feeds, parsed = catalog
    titles = {r.title for r in _records(parsed)}
    assert all(HANGUL.search(t) or LATIN.search(t) for t in titles)
    assert sum(bool(HANGUL.search(t) and LATIN.search(t)) for t in titles) > 0.15 * len(titles)
    assert sum(not LATIN.search(t) for t in titles) > 0.2 * len(titles)
    assert any(t.startswith(("[KDT]", "【국비지원】", "[K-디지털")) for t in titles)
    xml = feeds[0][0].read_text(encoding="utf-8")
    assert "&amp;amp;" in xml or "&amp;lt;" in xml  # HTML entities inside the XML text, as HRD-Net sends
    assert any("&" in t or "<" in t for t in titles)  # ... decoded by the parser
    starts = re.findall(r"<traStartDate>([^<]*)</traStartDate>", xml)
    assert any(re.fullmatch(r"\d{8}", s) for s in starts) and any(re.fullmatch(r"\d{4}-\d\d-\d\d", s) for s in starts)
    scores = [float(s) for s in re.findall(r"<stdgScor>([^<]*)</stdgScor>", xml) if s not in ("", "0")]
    assert any(s > 100 for s in scores) and any(0 < s <= 100 for s in scores)  # 10,000 and 100 scales
    old_codes = {old for row in read_csv("regions.csv") for old in row["old_code"].split(";") if old}
    assert set(re.findall(r"<trngAreaCd>(\d+)</trngAreaCd>", xml)) & old_codes
    csv_text = "".join(path.read_text(encoding="utf-8") for path, fmt, _ in feeds if fmt == "csv")
    assert re.search(r",\d{7},\d{5},", csv_text)  # an NCS code that lost its leading zero in a CSV copy


# (word, particle) in the title shapes that put a particle after a subject, with the particle's two forms.
PARTICLES_IN_TITLES = (
    (re.compile(r"(\S+?)(을|를) 활용한"), ("을", "를")),
    (re.compile(r"^(?:\S*\s)?(\S+?)(과|와) "), ("과", "와")),
    (re.compile(r"(\S+?)(으로|로) 배우는"), ("으로", "로")),
)


def test_titles_take_the_particle_a_reader_would_say(tmp_path):
    """파이썬을 활용한, 자바를 활용한; 웹 개발로 배우는, not 개발으로 (a final ㄹ takes 로): the titles follow
    hrdnet.korean. Seed 6 at 300 runs writes a title whose second subject ends in ㄹ."""
    parsed = _parse_all(demo.generate(tmp_path, runs=300, seed=6, anchor=ANCHOR))
    wrong, checked = set(), 0
    for title in {record.title for record in _records(parsed)}:
        for pattern, forms in PARTICLES_IN_TITLES:
            for match in pattern.finditer(title):
                word, used = match.groups()
                checked += 1
                if korean.particle(word, *forms, spoken=True) != used:
                    wrong.add(title)
    assert checked > 3
    assert not wrong, sorted(wrong)[:10]


def test_codes_amounts_and_schedules_are_in_realistic_ranges(catalog):
    _feeds, parsed = catalog
    records = _records(parsed)
    ncs = [r.ncs_code for r in records if r.ncs_code]
    assert all(len(code) == 8 for code in ncs)
    assert Counter(code[:2] for code in ncs).most_common(1)[0][0] == "20"
    assert {"02", "08"} <= {code[:2] for code in ncs}
    known_ncs = {row["code"] for row in read_csv("ncs.csv")}
    assert set(ncs) <= known_ncs
    for record in records:
        assert 15 <= record.capacity <= 40 and 0 <= record.source_enrolled <= record.capacity
        assert record.hours is None or 40 <= record.hours <= 1000
        assert record.start_date <= record.end_date
        if record.programme_code == "C0104":
            assert 5_000_000 <= record.fee <= 18_000_000
        elif record.programme_code in ("C0055", "C0031"):
            assert 100_000 <= record.fee <= 600_000
        elif record.programme_code in ("MSIT-SWA", "MSIT-AIC", "MOTIE-IDA", "MOE-LLL"):
            assert record.fee == 0
        elif record.programme_code in ("C0061", "C0061S", "C0061I"):
            assert 300_000 <= record.fee <= 3_000_000
    assert any(r.support_amount and r.support_amount < r.fee for r in records)  # overage
    starts = [r.start_date for r in records]
    assert 0.15 < sum(s < ANCHOR for s in starts) / len(starts) < 0.45  # some past, most future
    weekend = Counter(r.weekend for r in records)
    assert weekend.most_common(1)[0][0] == "unknown" and {"weekday", "weekend", "mixed"} <= set(weekend)
    assert {"classroom", "remote", "blended"} <= {r.mode for r in records}
    assert any(r.employment_rate_3m for r in records) and any(r.employment_rate_3m is None for r in records)


def test_a_few_records_are_broken_or_repeated(catalog):
    _feeds, parsed = catalog
    items = [item for items in parsed.values() for item in items]
    rejected = [item for item in items if isinstance(item, Rejection)]
    assert 0 < len(rejected) < 0.02 * len(items)
    keys = Counter(r.key for r in parsed["hrdnet"] if isinstance(r, FeedRecord))
    assert any(count > 1 for count in keys.values())


def test_some_courses_are_also_listed_by_another_source_with_a_variant_title(catalog):
    _feeds, parsed = catalog
    by_provider_title = {}
    for source, items in parsed.items():
        for r in items:
            if isinstance(r, FeedRecord):
                key = (matching.normalise_name(r.provider_name), matching.normalise_title(r.title))
                by_provider_title.setdefault(key, {}).setdefault(source, r.title)
    shared = [spellings for spellings in by_provider_title.values() if len(spellings) > 1]
    assert shared
    assert any(len(set(spellings.values())) > 1 for spellings in shared)


def test_records_without_files_equal_what_the_parsers_read_from_the_files(catalog):
    """demo.records() (the benchmark's fast path) hands the importer the files' records, in file order."""
    _feeds, parsed = catalog
    direct: dict[str, list] = {}
    for feed, item in demo.records(runs=2400, seed=11, anchor=ANCHOR):
        direct.setdefault(feed.source, []).append(item)

    def comparable(item):  # the file parsers' positions also name the line
        return replace(item, position="")

    assert direct.keys() == parsed.keys()
    for source, items in parsed.items():
        assert [comparable(i) for i in direct[source]] == [comparable(i) for i in items], source


# -- through the importer ----------------------------------------------------------------------------


def test_loading_imports_every_source_and_loading_again_changes_nothing(app):
    from courses.models import Course, CourseListing, Provider

    first = demo.load(runs=1500, seed=5, anchor=ANCHOR)
    assert [r.source for r in first] == [f.source for f in demo.FEEDS]
    assert all(r.status == "done" for r in first)
    records = sum(r.records + r.rejected for r in first)
    created = sum(r.created for r in first)
    rejected = sum(r.rejected for r in first)
    assert created > 0.95 * records and 0 < rejected < 0.02 * records

    # a course listed by two sources is one canonical course with two listings, same provider
    shared = (
        db.session.execute(
            select(CourseListing.course_id)
            .group_by(CourseListing.course_id)
            .having(func.count(func.distinct(CourseListing.source)) > 1)
        )
        .scalars()
        .all()
    )
    assert shared
    for course_id in shared:
        listings = db.session.scalars(select(CourseListing).where(CourseListing.course_id == course_id)).all()
        assert "hrdnet" in {listing.source for listing in listings}
        assert len({matching.normalise_title(listing.title) for listing in listings}) == 1
    providers = db.session.scalar(select(func.count()).select_from(Provider))
    assert providers <= demo.provider_count(1500) + 1  # the same provider from two sources is one provider
    courses = db.session.scalar(select(func.count()).select_from(Course))

    again = demo.load(runs=1500, seed=5, anchor=ANCHOR)
    for before, after in zip(first, again, strict=True):
        assert (after.created, after.updated, after.marked_missing) == (0, 0, 0), after.source
        assert after.unchanged == before.created + before.unchanged and after.rejected == before.rejected
    assert db.session.scalar(select(func.count()).select_from(Course)) == courses


def test_on_the_day_it_is_loaded_the_demo_shows_every_recruitment_status(app):
    """Relative to the load date (any day of the anchor's month): many runs recruiting, some upcoming, some
    closing soon or closed, some in training and finished."""
    from courses.enrolment_window import status_of
    from courses.models import Run

    demo.load(runs=1000, seed=7, anchor=ANCHOR)
    runs = db.session.scalars(select(Run)).all()
    for load_day in (ANCHOR, ANCHOR + timedelta(days=15), ANCHOR + timedelta(days=29)):
        codes = Counter(status_of(run, load_day).code for run in runs)
        assert set(codes) == {"upcoming", "open", "closing_soon", "closed", "in_training", "finished"}, load_day
        share = {code: count / len(runs) for code, count in codes.items()}
        assert share["open"] + share["closing_soon"] > 0.2, share  # many recruiting
        assert share["open"] > max(share["closing_soon"], share["closed"]), share
        assert 0.1 < share["upcoming"] < 0.45, share
        assert share["closing_soon"] > 0.01 and share["closed"] > 0.01, share
        assert share["in_training"] + share["finished"] > 0.2, share


def test_a_smaller_demo_replaces_a_bigger_one_without_deleting(app):
    from courses.models import SourceRecord

    demo.load(runs=600, seed=1, anchor=ANCHOR)
    smaller = demo.load(runs=200, seed=1, anchor=ANCHOR)
    assert sum(r.marked_missing for r in smaller) > 0
    kept = db.session.scalar(select(func.count()).select_from(SourceRecord))
    assert kept > 500


def test_demo_load_command_prints_the_catalog_counts_and_the_logins(runner):
    result = runner.invoke(args=["demo", "load", "--runs", "400", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert re.search(r"hrdnet\s+새 회차\s+\d+", result.output)
    assert "learner@demo.hrdnet.kr" in result.output
    again = runner.invoke(args=["demo", "load", "--runs", "400", "--seed", "2"])
    assert again.exit_code == 0 and re.search(r"hrdnet\s+새 회차\s+0 ", again.output)


def test_the_demo_learner_holds_one_full_card_however_often_the_demo_is_loaded(runner):
    from hrdnet.auth import services
    from vouchers.cards import operations as cards

    for _ in range(2):
        assert runner.invoke(args=["demo", "load", "--runs", "50", "--seed", "3"]).exit_code == 0
    learner = services.find_user_by_email("learner@demo.hrdnet.kr")
    (card,) = cards.cards_of_user(learner.id)
    figures = cards.figures(card.id)
    # one card of the full limit; its one demo enrolment (vouchers.demo) drew from it once, not once per load
    assert (figures.issued, figures.top_ups, figures.held) == (3_000_000, 0, 0)
    assert figures.available + figures.spent == 3_000_000 and 0 < figures.spent < 3_000_000


def test_the_default_anchor_is_the_first_of_this_month_in_kst(monkeypatch):
    import hrdnet.timeutil

    monkeypatch.setattr(hrdnet.timeutil, "kst_today", lambda: date(2026, 11, 25))
    assert demo.default_anchor() == date(2026, 11, 1)


def test_generate_writes_as_it_goes_so_memory_does_not_grow_with_the_file(tmp_path):
    import tracemalloc

    peaks = []
    for runs in (400, 4000):
        tracemalloc.start()
        feeds = demo.generate(tmp_path / str(runs), runs=runs, seed=1, anchor=ANCHOR)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert not list((tmp_path / str(runs)).glob("*.part"))
    size_ratio = feeds[0][0].stat().st_size / (tmp_path / "400" / "hrdnet.xml").stat().st_size
    assert size_ratio > 8 and peaks[1] < 2.5 * peaks[0], peaks
