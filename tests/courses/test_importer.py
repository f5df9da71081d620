"""The importer: idempotent upserts keyed by source + external key, provenance, never wipe, shrink guard."""

from __future__ import annotations

import json
from datetime import date, timedelta
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from courses.ingest.importer import ImportRefused, import_file
from courses.ingest.records import FeedUnreadable
from courses.models import Course, CourseListing, ImportRun, Provider, ProviderSourceId, Run, SourceRecord
from hrdnet import audit
from hrdnet.extensions import db

pytestmark = pytest.mark.both_dbs

START = date(2026, 3, 2)


def run_fields(i: int, **overrides) -> dict:
    fields = {
        "trprId": f"AIG2026000{i // 3:07d}",
        "trprDegr": str(i % 3 + 1),
        "title": f"파이썬 데이터 분석 실무 과정 {i // 3}",
        "subTitle": f"테스트아카데미 {i // 30}",
        "trainstCstId": f"50000{i // 30:05d}",
        "traStartDate": (START + timedelta(days=i)).isoformat(),
        "traEndDate": (START + timedelta(days=i + 60)).isoformat(),
        "courseMan": "1200000",
        "realMan": "1200000",
        "yardMan": "20",
        "regCourseMan": "5",
        "ncsCd": "20010202",
        "trngAreaCd": "11680",
        "trainTargetCd": "C0061",
        "wkendSe": "3",
        "address": "서울 강남구",
    }
    fields.update(overrides)
    return fields


def write_feed(path, runs: list[dict], *, truncate_at: int | None = None):
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<HRDNet><scn_cnt>{len(runs)}</scn_cnt><srchList>\n']
    for fields in runs:
        parts.append(
            "<scn_list>" + "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in sorted(fields.items())) + "</scn_list>\n"
        )
    parts.append("</srchList></HRDNet>\n")
    text = "".join(parts)
    path.write_text(text[:truncate_at] if truncate_at else text, encoding="utf-8")
    return path


def do_import(path, **kwargs):
    return import_file(path, "hrdnet-xml", source=kwargs.pop("source", "hrdnet"), actor="test", **kwargs)


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_first_import_creates_runs_courses_providers_and_provenance(app, tmp_path):
    result = do_import(write_feed(tmp_path / "feed.xml", [run_fields(i) for i in range(60)]))
    assert (result.created, result.updated, result.unchanged, result.rejected) == (60, 0, 0, 0)
    assert count(Run) == 60 and count(SourceRecord) == 60
    assert count(Course) == 20 and count(CourseListing) == 20
    assert count(Provider) == 2
    row = db.session.get(ImportRun, result.import_id)
    assert row.status == "done" and row.created == 60 and row.file_hash == result.file_hash
    assert (row.range_from, row.range_to) == (START, START + timedelta(days=59))
    assert audit.verify().ok


def test_reimporting_the_same_file_changes_nothing_and_says_so(app, tmp_path):
    feed = write_feed(tmp_path / "feed.xml", [run_fields(i) for i in range(30)])
    do_import(feed)
    before = db.session.execute(select(Run.id, Run.updated_at).order_by(Run.id)).all()
    again = do_import(feed)
    assert (again.created, again.updated, again.unchanged, again.marked_missing) == (0, 0, 30, 0)
    assert "변경 사항이 없습니다" in again.message
    db.session.rollback()
    assert db.session.execute(select(Run.id, Run.updated_at).order_by(Run.id)).all() == before


def test_a_changed_record_updates_only_what_changed_and_keeps_local_enrolments(app, tmp_path):
    runs = [run_fields(i) for i in range(9)]
    do_import(write_feed(tmp_path / "a.xml", runs))
    key_run = db.session.scalar(select(SourceRecord.run_id).where(SourceRecord.external_key == "AIG20260000000001:2"))
    run = db.session.get(Run, key_run)
    run.local_enrolled = 3  # enrolments made on this site
    db.session.commit()
    runs[4] = run_fields(4, courseMan="1500000", regCourseMan="9")
    result = do_import(write_feed(tmp_path / "b.xml", runs))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 8)
    db.session.rollback()
    run = db.session.get(Run, key_run)
    assert (run.fee, run.source_enrolled, run.local_enrolled) == (1_500_000, 9, 3)
    assert run.seats_left == 20 - 9 - 3


def test_the_same_run_twice_in_one_file(app, tmp_path):
    runs = [run_fields(0), run_fields(1), run_fields(0), run_fields(1, courseMan="999000")]
    result = do_import(write_feed(tmp_path / "dup.xml", runs))
    assert (result.created, result.unchanged, result.rejected) == (2, 1, 1)
    assert "두 번" in result.rejections[0].reason and result.rejections[0].key == "AIG20260000000000:2"
    db.session.rollback()
    assert (
        db.session.scalar(select(Run.fee).join(SourceRecord).where(SourceRecord.external_key == "AIG20260000000000:2"))
        == 1_200_000
    )  # the first one is kept


def test_a_broken_record_is_rejected_alone_with_its_position(app, tmp_path):
    runs = [run_fields(i) for i in range(5)]
    runs[2] = run_fields(2, traStartDate="2026-02-30")
    result = do_import(write_feed(tmp_path / "broken.xml", runs))
    assert (result.created, result.rejected) == (4, 1)
    rejection = result.rejections[0]
    assert rejection.key == "AIG20260000000000:3" and "line" in rejection.position
    stored = json.loads(db.session.get(ImportRun, result.import_id).rejections)
    assert stored[0]["key"] == "AIG20260000000000:3"


def test_runs_no_longer_listed_are_marked_not_seen_never_deleted(app, tmp_path):
    runs = [run_fields(i) for i in range(30)]
    do_import(write_feed(tmp_path / "a.xml", runs))
    gone = runs.pop(10)
    result = do_import(write_feed(tmp_path / "b.xml", runs))
    assert result.marked_missing == 1
    db.session.rollback()
    record = db.session.scalar(
        select(SourceRecord).where(SourceRecord.external_key == f"{gone['trprId']}:{gone['trprDegr']}")
    )
    assert record.not_seen_since is not None
    assert count(Run) == 30  # never deleted
    runs.append(gone)  # listed again later: the mark goes away
    do_import(write_feed(tmp_path / "c.xml", runs))
    db.session.rollback()
    assert db.session.get(SourceRecord, record.id).not_seen_since is None


def test_a_month_by_month_feed_never_marks_other_months_missing(app, tmp_path):
    march = [run_fields(i) for i in range(25)]  # March starts
    april = [
        run_fields(
            i,
            traStartDate=(START + timedelta(days=40 + i)).isoformat(),
            traEndDate=(START + timedelta(days=90 + i)).isoformat(),
            trprId=f"AIG2026100{i:07d}",
        )
        for i in range(25)
    ]
    do_import(write_feed(tmp_path / "march.xml", march))
    result = do_import(write_feed(tmp_path / "april.xml", april))
    assert result.created == 25 and result.marked_missing == 0


def test_an_empty_feed_is_refused(app, tmp_path):
    do_import(write_feed(tmp_path / "a.xml", [run_fields(i) for i in range(30)]))
    with pytest.raises(ImportRefused, match="--allow-shrink"):
        do_import(write_feed(tmp_path / "empty.xml", []))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(SourceRecord.not_seen_since.is_not(None))) == 0
    refused = db.session.scalars(select(ImportRun).where(ImportRun.status == "refused")).one()
    assert "유효한 과정 회차가 하나도 없어" in refused.message


def test_a_shrunken_feed_is_refused_unless_allowed(app, tmp_path):
    runs = [run_fields(i) for i in range(60)]
    do_import(write_feed(tmp_path / "a.xml", runs))
    small = write_feed(tmp_path / "small.xml", runs[::3])  # same dates covered, a third of the runs
    with pytest.raises(ImportRefused, match="절반"):
        do_import(small)
    assert db.session.scalar(select(func.count()).where(SourceRecord.not_seen_since.is_not(None))) == 0
    result = do_import(small, allow_shrink=True)
    assert result.marked_missing == 38  # runs 0–57 are in the covered range; 20 of them are listed


def test_a_truncated_file_keeps_what_was_read_and_marks_nothing_missing(app, tmp_path):
    runs = [run_fields(i) for i in range(30)]
    do_import(write_feed(tmp_path / "a.xml", runs))
    text = (write_feed(tmp_path / "full.xml", runs)).read_text(encoding="utf-8")
    cut = write_feed(tmp_path / "cut.xml", runs, truncate_at=len(text) // 2)
    result = do_import(cut)
    assert result.status == "partial" and result.marked_missing == 0
    assert result.unchanged > 0 and result.rejected == 1 and result.rejections[-1].key is None
    assert db.session.get(ImportRun, result.import_id).status == "partial"


def test_a_file_that_is_not_a_feed_is_unreadable_and_imports_nothing(app, tmp_path):
    path = tmp_path / "x.xml"
    path.write_text("this is not xml", encoding="utf-8")
    with pytest.raises(FeedUnreadable):
        do_import(path)
    assert count(Run) == 0


def test_the_same_course_from_two_sources_is_one_course_also_listed_by_the_other(app, tmp_path):
    do_import(
        write_feed(
            tmp_path / "hrd.xml",
            [run_fields(0, title="[KDT] 빅데이터 분석 실무 과정(3기)", subTitle="(주)코리아IT아카데미")],
        )
    )
    other = run_fields(
        0,
        title="빅 데이터 분석실무과정",
        subTitle="코리아IT아카데미",
        trprId="AIG20260009999999",
        trainstCstId="500009999",
        ncsCd="20010201",
        traStartDate="2026-05-04",
        traEndDate="2026-07-04",
    )
    do_import(write_feed(tmp_path / "msit.xml", [other]), source="msit-academy")
    assert count(Course) == 1 and count(CourseListing) == 2 and count(Run) == 2 and count(Provider) == 1
    sources = set(db.session.scalars(select(CourseListing.source)))
    assert sources == {"hrdnet", "msit-academy"}


def test_a_same_named_course_in_another_field_stays_apart(app, tmp_path):
    do_import(write_feed(tmp_path / "a.xml", [run_fields(0, title="데이터 분석", ncsCd="20010201")]))
    do_import(
        write_feed(
            tmp_path / "b.xml",
            [
                run_fields(
                    0,
                    title="데이터 분석",
                    ncsCd="02020301",
                    trprId="OTHER1",
                    traStartDate="2026-05-04",
                    traEndDate="2026-06-04",
                )
            ],
        ),
        source="other",
    )
    assert count(Course) == 2


def test_the_cli_prints_counts_and_writes_the_report(app, runner, tmp_path):
    runs = [run_fields(i) for i in range(6)]
    runs[3] = run_fields(3, courseMan="비쌈")
    feed = write_feed(tmp_path / "feed.xml", runs)
    report = tmp_path / "report.json"
    result = runner.invoke(args=["catalog", "import", str(feed), "--format", "hrdnet-xml", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "created 5 / updated 0 / unchanged 0 / rejected 1" in result.output
    body = json.loads(report.read_text(encoding="utf-8"))
    assert {k: body[k] for k in ("created", "updated", "unchanged", "rejected")} == {
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
    }
    assert body["rejections"][0]["key"] == "AIG20260000000001:1" and body["rejections"][0]["position"]
    unreadable = tmp_path / "bad.xml"
    unreadable.write_text("<nope", encoding="utf-8")
    failed = runner.invoke(args=["catalog", "import", str(unreadable), "--format", "hrdnet-xml"])
    assert failed.exit_code != 0 and "읽을 수 없습니다" in failed.output


def test_the_feeds_grade_is_stored_on_the_provider_and_follows_the_latest_feed(app, tmp_path):
    # HRD-Net `grade`: the provider's accreditation (훈련기관 인증 등급); it used to end in FeedRecord.extra.
    do_import(write_feed(tmp_path / "a.xml", [run_fields(0, grade="3년인증"), run_fields(30, grade="")]))
    db.session.rollback()
    graded, ungraded = (
        db.session.scalar(select(Provider).join(ProviderSourceId).where(ProviderSourceId.external_id == external))
        for external in ("5000000000", "5000000001")
    )
    assert (graded.grade, ungraded.grade) == ("3년인증", None)
    do_import(write_feed(tmp_path / "b.xml", [run_fields(0, grade="5년인증", courseMan="1300000")]))
    db.session.rollback()
    assert db.session.get(Provider, graded.id, populate_existing=True).grade == "5년인증"
