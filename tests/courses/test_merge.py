"""Admins correct course matching: merge two courses into one, split a listing off into a course of its own.

Both go through the admin pages (HTTP, CSRF, the admin's TOTP login), pin the listings they touch, and write
an audit entry under the admin's pseudonym.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from courses.ingest import importer
from courses.ingest.records import FeedRecord
from courses.models import Course, CourseListing, Run
from hrdnet.audit import AuditEntry, verify
from hrdnet.extensions import db
from tests.conftest import csrf_token
from tests.support.pages import page, text_of


def merge(client, keep_id: int, merge_id) -> object:
    return client.post(
        f"/admin/courses/{keep_id}/merge",
        data={"merge_id": merge_id, "csrf_token": csrf_token(client, f"/admin/courses/{keep_id}")},
    )


def split(client, course_id: int, listing_id: int) -> object:
    return client.post(
        f"/admin/courses/{course_id}/listings/{listing_id}/split",
        data={"csrf_token": csrf_token(client, f"/admin/courses/{course_id}")},
    )


def audit_entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


@pytest.fixture
def duplicated(catalog):
    """One course that matching left as two: HRD-Net's listing and the SW아카데미's, each with runs."""
    provider = catalog.provider()
    keep = catalog.course("클라우드 백엔드 개발자 양성과정", provider=provider)
    other = catalog.course("클라우드 백엔드 개발 과정 (SW아카데미)", provider=provider, certificate=None)
    keep_listing = catalog.listing(keep, "hrdnet")
    other_listing = catalog.listing(other, "msit-swa", title="클라우드 백엔드 개발 과정 (SW아카데미)")
    keep_run = catalog.run(keep, listing=keep_listing)
    other_runs = [catalog.run(other, listing=other_listing), catalog.run(other, listing=other_listing)]
    return keep, other, keep_listing, other_listing, keep_run, other_runs


@pytest.mark.both_dbs
def test_admin_merges_two_courses_into_one(client, login_as, duplicated):
    keep, other, keep_listing, other_listing, keep_run, other_runs = duplicated
    keep_id, other_id, other_run_id = keep.id, other.id, other_runs[0].id
    admin = login_as("admin")
    assert "다른 출처에도" not in text_of(client.get(f"/runs/{keep_run.id}"))

    response = merge(client, keep_id, other_id)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/courses/{keep_id}"
    assert "과정 " + str(
        other_id
    ) + "번을 이 과정으로 합쳤습니다: 목록 1개, 회차 2개를 옮겼습니다. 빈 과정은 삭제했습니다." in text_of(
        client.get(response.headers["Location"])
    )

    db.session.expire_all()
    assert db.session.get(Course, other_id) is None  # nothing referred to it any more
    assert {run.course_id for run in db.session.scalars(select(Run))} == {keep_id}
    listings = db.session.scalars(select(CourseListing).order_by(CourseListing.id)).all()
    assert [(item.id, item.course_id, item.pinned) for item in listings] == [
        (keep_listing.id, keep_id, True),
        (other_listing.id, keep_id, True),
    ]

    also = text_of(client.get(f"/runs/{keep_run.id}"))
    assert "다른 출처에도 올라 있습니다 기관 제공 목록 클라우드 백엔드 개발 과정 (SW아카데미)" in also
    assert client.get(f"/runs/{other_run_id}").status_code == 200  # run ids (and links) survive

    (entry,) = audit_entries("course.merged")
    assert entry.actor == admin.pseudonym
    assert (entry.subject_type, entry.subject_id) == ("course", str(keep_id))
    assert json.loads(entry.data) == {
        "merged_course": other_id,
        "listings": [other_listing.id],
        "runs": 2,
        "merged_course_removed": True,
    }
    assert verify().ok


def test_merge_fills_in_what_the_kept_course_lacks(client, login_as, catalog):
    provider = catalog.provider()
    keep = catalog.course(provider=provider, certificate=None, contents=None)
    other = catalog.course(provider=provider, certificate="SQLD", contents="SQL 기초")
    login_as("admin")
    assert merge(client, keep.id, other.id).status_code == 302
    db.session.expire_all()
    kept = db.session.get(Course, keep.id)
    assert (kept.certificate, kept.contents) == ("SQLD", "SQL 기초")


@pytest.mark.parametrize(
    ("merge_id", "status", "message"),
    [
        ("same", 400, "같은 과정끼리는 합칠 수 없습니다."),
        ("999999", 404, "과정 번호 999999을(를) 찾을 수 없습니다."),
        ("other_provider", 400, "훈련기관이 다른 과정은 합칠 수 없습니다."),
        ("", 400, "합칠 과정의 번호를 입력해 주세요."),
        ("abc", 400, "합칠 과정 번호"),
    ],
)
def test_a_bad_merge_is_refused_with_a_korean_message_and_changes_nothing(
    client, login_as, catalog, duplicated, merge_id, status, message
):
    keep, other, *_ = duplicated
    stranger = catalog.course("남의 과정")  # another provider
    target = {"same": keep.id, "other_provider": stranger.id}.get(merge_id, merge_id)
    login_as("admin")
    response = merge(client, keep.id, target)
    assert response.status_code == status
    assert message in text_of(response)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Run).where(Run.course_id == other.id)) == 2
    assert not any(db.session.scalars(select(CourseListing.pinned)))
    assert audit_entries("course.merged") == []


def test_merging_into_an_unknown_course_is_404(client, login_as, duplicated):
    _keep, other, *_ = duplicated
    login_as("admin")
    response = client.post(
        "/admin/courses/999999/merge", data={"merge_id": other.id, "csrf_token": csrf_token(client, "/admin/courses")}
    )
    assert response.status_code == 404


def test_merge_without_a_csrf_token_is_refused(client, login_as, duplicated):
    keep, other, *_ = duplicated
    login_as("admin")
    assert client.post(f"/admin/courses/{keep.id}/merge", data={"merge_id": other.id}).status_code == 400
    assert db.session.get(Course, other.id) is not None


@pytest.mark.both_dbs
def test_admin_splits_a_wrongly_matched_listing_into_its_own_course(client, login_as, catalog):
    course = catalog.course("웹 개발자 양성과정")
    right = catalog.listing(course, "hrdnet")
    wrong = catalog.listing(course, "msit-swa", title="웹 개발자 양성과정 (게임 서버)")
    right_run = catalog.run(course, listing=right)
    wrong_runs = [catalog.run(course, listing=wrong) for _ in range(3)]
    admin = login_as("admin")
    assert "웹 개발자 양성과정 (게임 서버)" in text_of(client.get(f"/runs/{right_run.id}"))

    response = split(client, course.id, wrong.id)
    assert response.status_code == 302
    db.session.expire_all()
    moved = db.session.get(CourseListing, wrong.id)
    new_course = db.session.get(Course, moved.course_id)
    assert new_course.id != course.id and moved.pinned
    assert response.headers["Location"] == f"/admin/courses/{new_course.id}"
    assert f"목록을 새 과정 {new_course.id}번으로 분리했습니다 (회차 3개)." in text_of(
        client.get(response.headers["Location"])
    )
    assert (new_course.title, new_course.provider_id) == ("웹 개발자 양성과정 (게임 서버)", course.provider_id)
    assert {db.session.get(Run, r.id).course_id for r in wrong_runs} == {new_course.id}
    assert db.session.get(Run, right_run.id).course_id == course.id
    assert not db.session.get(CourseListing, right.id).pinned

    assert "다른 출처에도" not in text_of(client.get(f"/runs/{right_run.id}"))
    assert "웹 개발자 양성과정 (게임 서버)" in text_of(client.get(f"/runs/{wrong_runs[0].id}"))

    (entry,) = audit_entries("course.listing_split")
    assert entry.actor == admin.pseudonym
    assert (entry.subject_type, entry.subject_id) == ("course_listing", str(wrong.id))
    assert json.loads(entry.data) == {
        "from_course": course.id,
        "to_course": new_course.id,
        "runs": 3,
        "source": "msit-swa",
        "external_id": wrong.external_id,
    }


def test_the_only_listing_of_a_course_cannot_be_split(client, login_as, catalog):
    run = catalog.run()
    listing_id = run.listing_id
    login_as("admin")
    response = split(client, run.course_id, listing_id)
    assert response.status_code == 409
    assert "이 과정에는 이 목록 하나뿐이라 분리할 것이 없습니다." in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(Course)) == 1
    assert audit_entries("course.listing_split") == []


def test_splitting_an_unknown_listing_is_404(client, login_as, catalog):
    course = catalog.course()
    login_as("admin")
    response = split(client, course.id, 999999)
    assert response.status_code == 404
    assert "과정 목록(출처별 등록 정보)을 찾을 수 없습니다." in text_of(response)


def _feed_record(listing: CourseListing, run: Run, **changes) -> FeedRecord:
    values = dict(
        position="record 1",
        course_id=listing.external_id,
        run_number=run.run_number,
        title=listing.title,
        provider_name="한빛 디지털아카데미",
        provider_id="P-1",
        start_date=run.start_date,
        end_date=run.end_date,
        fee=run.fee,
        capacity=run.capacity,
        programme_code="C0104",
    )
    return FeedRecord(**{**values, **changes})


def test_a_reimport_leaves_a_split_listing_and_its_runs_where_the_admin_put_them(client, login_as, catalog):
    """The importer finds a listing by (source, external id) before any title matching, so a listing an admin
    moved stays moved; new runs of it land on its new course too."""
    course = catalog.course("웹 개발자 양성과정")
    catalog.listing(course, "hrdnet")
    wrong = catalog.listing(course, "msit-swa", title="웹 개발자 양성과정")  # same title: matching joins them
    run = catalog.run(course, listing=wrong)
    login_as("admin")
    assert split(client, course.id, wrong.id).status_code == 302
    db.session.expire_all()
    new_course_id = db.session.get(CourseListing, wrong.id).course_id

    records = [
        _feed_record(wrong, run, capacity=40),  # changed: updates the run in place
        _feed_record(
            wrong, run, run_number=run.run_number + 100, start_date=date(2027, 3, 2), end_date=date(2027, 6, 30)
        ),
    ]  # a new run of the same listing
    result = importer.import_records(
        iter(records), source="msit-swa", fmt="csv", actor="cli", range_from=run.start_date, range_to=date(2027, 3, 2)
    )
    assert (result.created, result.updated) == (1, 1)
    db.session.expire_all()
    assert db.session.get(CourseListing, wrong.id).course_id == new_course_id
    runs = db.session.scalars(select(Run).where(Run.listing_id == wrong.id)).all()
    assert len(runs) == 2 and {r.course_id for r in runs} == {new_course_id}
    assert db.session.get(Run, run.id).capacity == 40


@pytest.mark.parametrize("role", ["learner", "provider", "auditor"])
def test_only_admins_merge_or_split(client, login_as, duplicated, role):
    keep, other, keep_listing, *_ = duplicated
    login_as(role)
    token = csrf_token(client, "/")
    assert client.get("/admin/courses").status_code == 403
    assert client.get(f"/admin/courses/{keep.id}").status_code == 403
    assert (
        client.post(f"/admin/courses/{keep.id}/merge", data={"merge_id": other.id, "csrf_token": token}).status_code
        == 403
    )
    assert (
        client.post(
            f"/admin/courses/{keep.id}/listings/{keep_listing.id}/split", data={"csrf_token": token}
        ).status_code
        == 403
    )
    db.session.expire_all()
    assert db.session.get(Course, other.id) is not None
    assert audit_entries("course.merged") == [] and audit_entries("course.listing_split") == []


def test_anonymous_visitors_are_sent_to_log_in(client, duplicated):
    keep, *_ = duplicated
    response = client.get(f"/admin/courses/{keep.id}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_admin_finds_courses_by_number_or_title(client, login_as, catalog):
    wanted = catalog.course("빅데이터 분석 전문가 과정")
    catalog.course("사무 자동화 과정")
    login_as("admin")
    by_title = page(client.get("/admin/courses?q=빅데이터"))
    assert f'href="/admin/courses/{wanted.id}"' in by_title and "사무 자동화" not in by_title
    assert "빅데이터 분석 전문가 과정" in page(client.get(f"/admin/courses?q={wanted.id}"))
    assert "조건에 맞는 과정이 없습니다" in text_of(client.get("/admin/courses?q=없는과정"))
