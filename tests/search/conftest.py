"""Fixtures of the search tests (the catalog factory and `reindex` are in tests/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest


@pytest.fixture
def small_catalog(catalog, reindex, today):
    """Four upcoming runs across two regions, two NCS areas and two programmes, plus one that ended."""
    hanbit = catalog.provider("한빛 디지털아카데미")
    busan = catalog.provider("부산 코딩스쿨", region_code="26110", address="부산광역시 중구 중앙대로 1")
    runs = {
        "python": catalog.run(
            catalog.course(
                "파이썬 데이터 분석 전문가 양성과정",
                provider=hanbit,
                ncs_code="20010101",
                contents="파이썬과 판다스로 데이터를 분석하고 시각화합니다.",
            ),
            start=today + timedelta(days=10),
            fee=3_000_000,
            employment_rate_3m=71.5,
            satisfaction=92.0,
        ),
        "backend": catalog.run(
            catalog.course("클라우드 네이티브 백엔드 개발자 양성과정", provider=hanbit),
            start=today + timedelta(days=20),
            fee=2_000_000,
        ),
        "busan": catalog.run(
            catalog.course(
                "파이썬 웹 개발 입문", provider=busan, ncs_code="20010202", contents="장고로 웹 서비스를 만듭니다."
            ),
            start=today + timedelta(days=30),
            region_code="26110",
            programme="C0061",
            fee=1_000_000,
            general_self_pay=280_000,
            mode="remote",
            weekend="weekend",
        ),
        "accounting": catalog.run(
            catalog.course(
                "전산회계 실무", provider=hanbit, ncs_code="02030201", contents="회계 원리와 전표 처리를 익힙니다."
            ),
            start=today + timedelta(days=40),
            fee=1_500_000,
        ),
        "finished": catalog.run(
            catalog.course("파이썬 기초 지난 과정", provider=hanbit), start=today - timedelta(days=120), days=30
        ),
    }
    reindex()
    return runs


@pytest.fixture
def search_backend(request, db_backend) -> str:
    """The search engine of the test: Whoosh, or — for tests marked both_search_backends, on their PostgreSQL
    run — the PostgreSQL search backend (search.pg)."""
    marked = request.node.get_closest_marker("both_search_backends") is not None
    return "postgresql" if marked and db_backend == "postgresql" else "whoosh"


@pytest.fixture
def app_config(tmp_path, database_url, search_backend) -> dict:
    from tests.conftest import _test_config

    config = _test_config(tmp_path, database_url)
    config["SEARCH_BACKEND"] = search_backend
    config["SEARCH_PG_SNAPSHOT_SECONDS"] = 0  # every write is seen by the next search
    return config
