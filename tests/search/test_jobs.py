"""The job finder /jobs (issue 17, point 13): a job typed in Korean, its upcoming runs ranked by employment
outcome and fit, and the programmes that pay for them. Through HTTP on the real index, of either search engine
(both_search_backends: Whoosh on SQLite, search.pg.jobs on PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.support.pages import page, run_ids_on, text_of

pytestmark = pytest.mark.both_search_backends


def test_a_job_lists_its_runs_by_employment_and_fit_with_the_programmes_that_pay(client, catalog, reindex, today):
    start = today + timedelta(days=20)
    # Filed under 빅데이터분석 (the job's NCS code), with and without a known employment rate.
    strong = catalog.run(
        catalog.course("빅데이터 분석 실무", ncs_code="20010105"), start=start, employment_rate_3m=80.0
    )
    weak = catalog.run(catalog.course("통계 분석 입문", ncs_code="20010105"), start=start, employment_rate_3m=40.0)
    # Says the job's words but filed elsewhere: fits less (×0.8), so 70 % ranks below 80 % but above 40 %.
    text_only = catalog.run(
        catalog.course("데이터 분석 파이썬", ncs_code="20010202"),
        start=start,
        employment_rate_3m=70.0,
        programme="C0061",
    )
    unrelated = catalog.run(catalog.course("전산회계 실무", ncs_code="02030201"), start=start, employment_rate_3m=95.0)
    full = catalog.run(
        catalog.course("빅데이터 기획", ncs_code="20010107"), start=start, capacity=10, source_enrolled=10
    )
    reindex()

    found = client.get("/jobs?q=분석가")
    assert "데이터 분석가" in text_of(found)
    (link,) = [h for h in re.findall(r'href="(/jobs\?job=[^"]*)"', page(found)) if "%EB%B6%84%EC%84%9D%EA%B0%80" in h][
        :1
    ]
    response = client.get(link.replace("&amp;", "&"))
    assert run_ids_on(response) == [strong.id, text_only.id, weak.id]  # 80, 70 × 0.8 = 56, 40
    assert unrelated.id not in run_ids_on(response) and full.id not in run_ids_on(response)  # full: not open
    text = text_of(response)
    assert "NCS 세분류: 빅데이터분석, 빅데이터기획" in text
    assert "지원하는 사업 K-디지털 트레이닝 회차 2개 국민내일배움카드 일반과정 회차 1개" in text


def test_an_ncs_subdivision_is_a_job_too(client, catalog, reindex, today):
    run = catalog.run(catalog.course("보안 관제 실무", ncs_code="20010603"), start=today + timedelta(days=20))
    reindex()
    found = client.get("/jobs?q=보안사고")
    assert "보안사고분석대응" in text_of(found) and "NCS 세분류 20010603" in text_of(found)
    response = client.get("/jobs?job=20010603")
    assert run_ids_on(response) == [run.id]
    assert client.get("/jobs?job=unknown").status_code == 200  # an unknown job: the finder, no error
