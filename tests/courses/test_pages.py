"""Catalog pages and the run API, through HTTP on a real migrated database.

Catalog rows come from the `catalog` fixture (tests/support/catalog.py), inserting Provider/Course/
CourseListing/Run/SourceRecord directly: these tests check what the pages show, not how feeds are parsed.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from courses.models import Programme
from hrdnet.extensions import db
from tests.support.pages import page, run_ids_on, text_of

# -- the run page ------------------------------------------------------------------------------------


def test_run_page_shows_what_a_learner_needs_to_decide(client, catalog):
    run = catalog.run(start=date(2026, 12, 7), days=83, address="서울특별시 강남구 테헤란로 1, 5층")
    response = client.get(f"/runs/{run.id}")
    assert response.status_code == 200
    text = text_of(response)
    assert f"클라우드 네이티브 백엔드 개발자 양성과정 {run.run_number}회차" in text
    assert f'href="/providers/{run.course.provider_id}">한빛 디지털아카데미</a>' in page(response)
    assert "K-디지털 트레이닝" in text and "고용노동부" in text
    # schedule
    assert "2026-12-07(월) ~ 2027-02-28(일)" in text
    for shown in (
        "훈련 요일 주중",
        "훈련 방식 집체(교실)",
        "총 훈련시간 640시간",
        "훈련일수 80일",
        "훈련 장소 서울특별시 강남구 테헤란로 1, 5층",
    ):
        assert shown in text
    # the generic split (KDT from 2026: 10 % of the fee, at most 300,000) and its explanation
    assert "내가 낼 금액 200,000원" in text
    assert "훈련비 2,000,000원 정부 지원금 1,800,000원 자비부담금 200,000원" in text
    assert "2026년 이후 K-디지털 트레이닝: 훈련비의 10%(최대 30만원)" in text
    assert "카드 잔액은 차감되지 않음" in text
    # seats: capacity 30 − source 10 − here 2
    assert "남은 자리 18석" in text
    # classification, region, certificate, contents, provenance
    assert "정보통신 › 정보기술 › 정보기술개발 › 응용SW엔지니어링 (20010202)" in text
    assert "지역 서울특별시 강남구" in text
    assert "관련 자격증 정보처리기사" in text
    assert "자바와 스프링으로 백엔드를 만듭니다." in text
    assert "데이터 기준: 2026-11-20 10:30 (출처에서 이 회차를 마지막으로 확인한 때)" in text
    assert "목록에 올리지 않습니다" not in text
    assert "가격 정보 미확정" not in text


def test_general_card_course_priced_by_the_feeds_self_pay(client, catalog):
    run = catalog.run(programme="C0061", fee=1_000_000, general_self_pay=280_000)
    text = text_of(client.get(f"/runs/{run.id}"))
    assert "훈련비 1,000,000원 정부 지원금 720,000원 자비부담금 280,000원" in text
    assert "국민내일배움카드 잔액에서 차감" in text


@pytest.mark.parametrize("programme", [None, "MOE-LLL-unknown"])
def test_run_without_a_known_price_cannot_be_enrolled_here(client, catalog, programme):
    if programme:  # a programme whose pricing rule is not known yet
        db.session.add(
            Programme(
                code=programme,
                name="시범 사업",
                ministry_id=catalog.programme().ministry_id,
                voucher_kind="card",
                pricing_rule=None,
            )
        )
        db.session.commit()
    run = catalog.run(programme=programme, fee=1_500_000)
    text = text_of(client.get(f"/runs/{run.id}"))
    assert "가격 정보 미확정 — 이 사이트에서 신청할 수 없습니다" in text
    assert "훈련비 1,500,000원" in text
    assert not re.search(r"정부 지원금 [\d,]+원", text)
    body = client.get(f"/api/v1/runs/{run.id}").get_json()
    assert body["price"] is None and body["enrollable"] is False


def test_seats_left_count_enrolments_from_the_source_and_from_this_site(client, catalog):
    full = catalog.run(capacity=20, source_enrolled=15, local_enrolled=5)
    over = catalog.run(capacity=20, source_enrolled=19, local_enrolled=3)  # the feed caught up late
    assert "남은 자리 0석" in text_of(client.get(f"/runs/{full.id}"))
    assert "남은 자리 0석" in text_of(client.get(f"/runs/{over.id}"))
    assert client.get(f"/api/v1/runs/{over.id}").get_json()["seats_left"] == 0


@pytest.mark.parametrize(
    ("completers", "employed", "caution"),
    [
        (None, None, True),  # nothing tells how many people the figures rest on
        (None, 4, True),
        (7, 5, True),
        (None, 12, False),  # twelve people found work: at least twelve completed
        (25, 3, False),
    ],
)
def test_outcomes_on_a_small_or_unknown_sample_carry_a_caution(client, catalog, completers, employed, caution):
    run = catalog.run(
        satisfaction=91.25,
        employment_rate_3m=62.5,
        employment_rate_6m=70.0,
        employment_count_3m=employed,
        completers=completers,
    )
    text = text_of(client.get(f"/runs/{run.id}"))
    assert "만족도 91.2점 (100점 만점)" in text or "만족도 91.3점 (100점 만점)" in text
    assert "3개월 취업률 62.5%" in text and "6개월 취업률 70.0%" in text
    assert ("표본이 적어 참고용입니다" in text) is caution
    assert client.get(f"/api/v1/runs/{run.id}").get_json()["outcomes"]["small_sample"] is caution


def test_a_run_without_outcomes_says_so_without_a_caution(client, catalog):
    text = text_of(client.get(f"/runs/{catalog.run().id}"))
    assert "아직 공개된 훈련 성과가 없습니다" in text
    assert "표본이 적어" not in text


def test_the_same_course_from_another_source_is_shown_as_also_listed_by(client, catalog):
    course = catalog.course()
    ours = catalog.listing(course, "hrdnet")
    theirs = catalog.listing(
        course, "msit-swa", title="[SW아카데미] 클라우드 네이티브 백엔드 과정", url="https://example.org/courses/77"
    )
    run = catalog.run(course, listing=ours)
    response = client.get(f"/runs/{run.id}")
    text = text_of(response)
    also = text[text.index("다른 출처에도 올라 있습니다") :]
    assert f"기관 제공 목록 [SW아카데미] 클라우드 네이티브 백엔드 과정 ({theirs.external_id})" in also
    assert ours.external_id not in also
    assert 'href="https://example.org/courses/77" rel="noopener noreferrer external"' in page(response)
    listings = client.get(f"/api/v1/runs/{run.id}").get_json()["listings"]
    assert [(item["source"], item["this_run"]) for item in listings] == [("hrdnet", True), ("msit-swa", False)]


def test_a_run_listed_by_one_source_only_has_no_also_listed_by(client, catalog):
    assert "다른 출처에도" not in text_of(client.get(f"/runs/{catalog.run().id}"))


def test_a_run_the_source_stopped_listing_carries_a_banner(client, catalog):
    run = catalog.run(not_seen_since=date(2026, 11, 21))
    text = text_of(client.get(f"/runs/{run.id}"))
    assert "출처가 2026-11-21부터 이 회차를 목록에 올리지 않습니다" in text
    assert client.get(f"/api/v1/runs/{run.id}").get_json()["not_seen_since"] == "2026-11-21"


def test_a_run_registered_here_has_no_source_and_no_banner(client, catalog):
    run = catalog.run(listing=None)
    text = text_of(client.get(f"/runs/{run.id}"))
    assert "이 사이트에 직접 등록된 회차입니다" in text
    assert "목록에 올리지 않습니다" not in text


def test_a_cancelled_run_keeps_its_page_with_a_notice(client, catalog):
    run = catalog.run(status="cancelled")
    assert "이 회차는 취소되었습니다." in text_of(client.get(f"/runs/{run.id}"))


@pytest.mark.parametrize("status", ["draft", "submitted", "rejected"])
def test_runs_not_approved_yet_are_not_public(client, catalog, status):
    run = catalog.run(status=status)
    assert client.get(f"/runs/{run.id}").status_code == 404
    assert client.get(f"/api/v1/runs/{run.id}").status_code == 404


def test_unknown_run_is_a_korean_404_page_and_a_json_404(client):
    response = client.get("/runs/999999")
    assert response.status_code == 404
    assert "훈련과정 회차를 찾을 수 없습니다." in text_of(response)
    response = client.get("/api/v1/runs/999999")
    assert response.status_code == 404
    assert response.get_json() == {"error": {"code": "run_not_found", "message": "훈련과정 회차를 찾을 수 없습니다."}}


# -- the run API ----------------------------------------------------------------------------------------


@pytest.mark.both_dbs
def test_run_api_returns_the_run_with_course_provider_outcomes_and_generic_price(client, catalog):
    run = catalog.run(satisfaction=88.0, employment_rate_3m=55.5, employment_count_3m=11, completers=20)
    response = client.get(f"/api/v1/runs/{run.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert {
        "run_id",
        "course_id",
        "title",
        "start_date",
        "end_date",
        "fee",
        "seats_left",
        "region",
        "ncs",
        "programme",
        "ministry",
        "provider",
        "course",
        "outcomes",
        "listings",
        "source_ids",
        "price",
        "data_as_of",
        "not_seen_since",
        "enrollable",
    } <= set(body)
    assert (body["run_id"], body["course_id"], body["seats_left"], body["fee"]) == (
        run.id,
        run.course_id,
        18,
        2_000_000,
    )
    assert body["start_date"] == run.start_date.isoformat()
    assert body["provider"] == {
        "id": run.course.provider_id,
        "name": "한빛 디지털아카데미",
        "region_code": "11680",
        "address": "서울특별시 강남구 테헤란로 1",
        "phone": "02-555-0100",
    }
    assert body["programme"]["code"] == "C0104" and body["ministry"] == {"code": "MOEL", "name": "고용노동부"}
    assert body["ncs"] == {"code": "20010202", "name": "응용SW엔지니어링"}
    assert body["region"] == {"code": "11680", "name": "서울특별시 강남구"}
    assert body["outcomes"] == {
        "satisfaction": 88.0,
        "employment_rate_3m": 55.5,
        "employment_rate_6m": None,
        "employment_count_3m": 11,
        "completers": 20,
        "small_sample": False,
    }
    assert body["price"] == {
        "basis": "generic",
        "fee": 2_000_000,
        "government_share": 1_800_000,
        "self_pay": 200_000,
        "account": "none",
        "rule": "capped2026",
        "explanation": "2026년 이후 K-디지털 트레이닝: 훈련비의 10%(최대 30만원)",
        "effective_from": "2026-01-01",
        "priced_as": "",  # KDT has no status table; a general run's generic price says 일반훈련생
    }
    assert body["enrollable"] is True
    (source_id,) = body["source_ids"]
    assert source_id["source"] == "hrdnet" and source_id["external_id"].endswith(f":{run.run_number}")
    assert body["data_as_of"] == "2026-11-20T01:30:00+00:00"


def test_run_api_is_documented_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/runs/{run_id}"]["get"]
    assert {"200", "404"} <= set(operation["responses"])
    assert "price" in json.dumps(spec["components"]["schemas"])


# -- browsing -----------------------------------------------------------------------------------------


@pytest.mark.both_dbs
def test_browse_by_ncs_prefix_at_both_levels(client, catalog):
    backend = catalog.run(catalog.course(ncs_code="20010202"))
    network = catalog.run(catalog.course("네트워크 보안 엔지니어", ncs_code="20020101"))
    accounting = catalog.run(catalog.course("전산회계 실무", ncs_code="02030201"))
    assert set(run_ids_on(client.get("/browse/ncs/20"))) == {backend.id, network.id}
    assert run_ids_on(client.get("/browse/ncs/2001")) == [backend.id]
    assert run_ids_on(client.get("/browse/ncs/02")) == [accounting.id]
    top = text_of(client.get("/browse/ncs/20"))
    assert "정보통신" in top and "정보기술" in top  # the 중분류 to narrow down to
    assert "홈 분야별 찾기 정보통신 정보기술" in text_of(client.get("/browse/ncs/2001"))  # breadcrumb


@pytest.mark.parametrize("code", ["2", "200", "200101", "20010202", "99", "ab"])
def test_browse_by_ncs_accepts_only_known_2_or_4_digit_codes(client, code):
    assert client.get(f"/browse/ncs/{code}").status_code == 404


@pytest.mark.both_dbs
def test_browse_by_region_prefix_sido_and_sigungu(client, catalog):
    gangnam = catalog.run(region_code="11680")
    jongno = catalog.run(region_code="11110")
    busan = catalog.run(region_code="26110")
    suwon_jangan = catalog.run(region_code="41111")
    assert set(run_ids_on(client.get("/browse/region/11"))) == {gangnam.id, jongno.id}
    assert run_ids_on(client.get("/browse/region/11680")) == [gangnam.id]
    assert run_ids_on(client.get("/browse/region/26")) == [busan.id]
    # a city divided into 일반구 includes its 구
    assert run_ids_on(client.get("/browse/region/41110")) == [suwon_jangan.id]
    assert client.get("/browse/region/29").status_code == 404  # 광주 became 12 in 2026
    assert client.get("/browse/region/116").status_code == 404


@pytest.mark.both_dbs
def test_browse_lists_hide_finished_dropped_and_cancelled_runs_unless_asked(client, catalog, today):
    course = catalog.course()
    upcoming = catalog.run(course, start=today + timedelta(days=30))
    ends_today = catalog.run(course, start=today - timedelta(days=60), days=60)
    finished = catalog.run(course, start=today - timedelta(days=61), days=60)
    dropped = catalog.run(course, not_seen_since=today - timedelta(days=1))
    cancelled = catalog.run(course, status="cancelled")
    draft = catalog.run(course, status="draft")
    full = catalog.run(course, start=today + timedelta(days=30), capacity=12, source_enrolled=12, local_enrolled=0)
    closed = catalog.run(course, start=today + timedelta(days=30), status="closed")
    window_past = catalog.run(course, start=today + timedelta(days=30), apply_until=today - timedelta(days=1))
    # By default only what a learner can still apply for: not the started, full, closed or past-window runs.
    response = client.get("/browse/programme/C0104")
    assert set(run_ids_on(response)) == {upcoming.id}
    assert "모집 중이거나 모집 예정인 회차만 보여 줍니다" in text_of(response)
    everything = set(run_ids_on(client.get("/browse/programme/C0104?old=1")))
    assert everything == {upcoming.id, ends_today.id, finished.id, dropped.id, full.id, closed.id, window_past.id}
    assert cancelled.id not in everything and draft.id not in everything


def test_browse_lists_runs_by_start_date(client, catalog, today):
    late = catalog.run(start=today + timedelta(days=40))
    soon = catalog.run(start=today + timedelta(days=3))
    middle = catalog.run(start=today + timedelta(days=20))
    assert run_ids_on(client.get("/browse/ministry/MOEL")) == [soon.id, middle.id, late.id]


def test_browse_pages_are_paginated_by_twenty(client, catalog, today):
    course = catalog.course()
    runs = [catalog.run(course, start=today + timedelta(days=n)) for n in range(1, 26)]
    first = client.get("/browse/programme/C0104")
    assert run_ids_on(first) == [r.id for r in runs[:20]]
    assert "훈련과정 회차 25개" in text_of(first)
    assert 'href="/browse/programme/C0104?page=2"' in page(first)
    second = client.get("/browse/programme/C0104?page=2")
    assert run_ids_on(second) == [r.id for r in runs[20:]]
    assert run_ids_on(client.get("/browse/programme/C0104?page=9")) == []
    assert 'href="/browse/programme/C0104?old=1&amp;page=2"' in page(client.get("/browse/programme/C0104?old=1"))


def test_browse_pages_without_runs_show_an_empty_state(client):
    response = client.get("/browse/programme/MSIT-SWA")
    assert response.status_code == 200
    assert "보여 줄 회차가 없습니다" in text_of(response)


@pytest.mark.parametrize("path", ["/browse/ministry/NOPE", "/browse/programme/C9999", "/browse/other/11"])
def test_unknown_browse_categories_are_404(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.both_dbs
def test_browse_index_counts_upcoming_runs_per_programme_ncs_and_sido(client, catalog, today):
    catalog.run()
    catalog.run(programme="C0061")
    catalog.run(start=today - timedelta(days=200), days=30)  # finished: not counted
    text = text_of(client.get("/browse/"))
    assert "고용노동부" in text and "과학기술정보통신부" in text
    assert "K-디지털 트레이닝 (1)" in text
    assert "국민내일배움카드 일반과정 (1)" in text
    assert "SW아카데미 (0)" in text
    assert "정보통신 (2)" in text and "서울특별시 (2)" in text and "부산광역시 (0)" in text


# -- providers ----------------------------------------------------------------------------------------


@pytest.mark.both_dbs
def test_provider_page_shows_the_provider_and_only_its_runs_paginated(client, catalog, today):
    provider = catalog.provider("가나다 코딩스쿨", phone="031-123-4567")
    mine = catalog.course("데이터 분석가 과정", provider=provider)
    runs = [catalog.run(mine, start=today + timedelta(days=n)) for n in range(1, 23)]
    someone_elses = catalog.run()
    response = client.get(f"/providers/{provider.id}")
    text = text_of(response)
    assert "가나다 코딩스쿨" in text
    assert "전화번호 031-123-4567" in text  # as the provider published it, not masked
    assert "주소 서울특별시 강남구 테헤란로 1" in text
    assert run_ids_on(response) == [r.id for r in runs[:20]]
    assert someone_elses.id not in run_ids_on(response)
    assert run_ids_on(client.get(f"/providers/{provider.id}?page=2")) == [r.id for r in runs[20:]]
    assert client.get("/providers/999999").status_code == 404


def test_provider_without_upcoming_runs_has_an_empty_state(client, catalog):
    provider = catalog.provider("새내기 교육원")
    assert "보여 줄 회차가 없습니다" in text_of(client.get(f"/providers/{provider.id}"))


# -- the footer: how fresh the data is --------------------------------------------------------------


def test_footer_says_when_nothing_was_imported_yet(client):
    assert "데이터 기준: 아직 수집된 과정 정보가 없습니다" in text_of(client.get("/"))


@pytest.mark.both_dbs
def test_footer_shows_the_latest_finished_import_per_source_in_kst(client, catalog):
    catalog.import_run("hrdnet", finished=datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
    catalog.import_run("hrdnet", finished=datetime(2026, 11, 24, 15, 30, tzinfo=UTC), status="partial")
    catalog.import_run("hrdnet", finished=datetime(2026, 11, 25, 2, 0, tzinfo=UTC), status="refused")
    catalog.import_run("hrdnet", finished=None, status="running")
    catalog.import_run("msit-swa", finished=datetime(2026, 11, 23, 0, 5, tzinfo=UTC), format="csv")
    for path in ("/", "/browse/", "/runs/999999"):
        assert "데이터 기준: HRD-Net(고용24) 2026-11-25 00:30 · 기관 제공 목록 2026-11-23 09:05" in text_of(
            client.get(path)
        )


# -- admin: the import log ------------------------------------------------------------------------------

REJECTIONS = [
    {"position": "record 3 (line 40)", "key": "AIG20260000000001:2", "reason": "훈련 종료일이 시작일보다 빠릅니다."},
    {"position": "record 9 (line 112)", "key": None, "reason": "과정 ID(trprId)가 없습니다."},
]


def test_admin_sees_the_import_log_and_the_rejections_of_one_import(client, login_as, catalog):
    row = catalog.import_run(
        "hrdnet",
        finished=datetime(2026, 11, 24, 3, 0, tzinfo=UTC),
        file_name="hrdnet-2026-11.xml",
        file_hash="ab12cd34ef56" + "0" * 52,
        range_from=date(2026, 12, 1),
        range_to=date(2026, 12, 31),
        records=120,
        created=100,
        updated=10,
        unchanged=8,
        rejected=2,
        marked_missing=3,
        message="새 회차 100건",
        rejections=json.dumps(REJECTIONS),
    )
    catalog.import_run(
        "hrdnet",
        finished=datetime(2026, 11, 25, 3, 0, tzinfo=UTC),
        status="refused",
        message="피드의 회차 수가 절반에 못 미쳐 가져오지 않았습니다.",
    )
    login_as("admin")
    response = client.get("/admin/imports")
    assert response.status_code == 200
    text = text_of(response)
    assert text.index("피드의 회차 수가 절반에 못 미쳐") < text.index("hrdnet-2026-11.xml")  # newest first
    for shown in (
        "hrdnet-2026-11.xml",
        "ab12cd34ef56",
        "2026-12-01 ~ 2026-12-31",
        "신규 100 · 변경 10 · 동일 8",
        "거부 2 · 빠짐 3",
        "완료",
        "거부",
        "cli",
        "새 회차 100건",
        "2026-11-24 11:55",
    ):
        assert shown in text
    detail = text_of(client.get(f"/admin/imports/{row.id}"))
    assert "record 3 (line 40) AIG20260000000001:2 훈련 종료일이 시작일보다 빠릅니다." in detail
    assert "record 9 (line 112) 과정 ID(trprId)가 없습니다." in detail
    assert client.get("/admin/imports/999999").status_code == 404


def test_import_log_is_paginated_and_empty_at_first(client, login_as, catalog):
    login_as("admin")
    assert "가져오기 기록이 없습니다" in text_of(client.get("/admin/imports"))
    for day in range(1, 23):
        catalog.import_run(finished=datetime(2026, 11, day, tzinfo=UTC))
    assert 'href="/admin/imports?page=2"' in page(client.get("/admin/imports"))


@pytest.mark.parametrize("role", ["learner", "provider", "auditor"])
def test_only_admins_see_the_import_log(client, login_as, catalog, role):
    row = catalog.import_run(finished=datetime(2026, 11, 24, tzinfo=UTC))
    login_as(role)
    assert client.get("/admin/imports").status_code == 403
    assert client.get(f"/admin/imports/{row.id}").status_code == 403


def test_catalog_pages_are_public(client, catalog):
    run = catalog.run()
    for path in (
        f"/runs/{run.id}",
        f"/providers/{run.course.provider_id}",
        "/browse/",
        "/browse/ministry/MOEL",
        f"/api/v1/runs/{run.id}",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/imports").status_code == 302  # to the login page
