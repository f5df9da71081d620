"""GET /api/v1/courses and GET /api/v1/suggest on a small catalog indexed by the real indexer."""

from __future__ import annotations

from datetime import timedelta

import pytest

# The engine's behaviour (results, facets, sorts, pages, typos, 초성, one card per course) is also checked on the
# PostgreSQL search backend (both_search_backends); the rest of the page is the same whichever engine answers.
BOTH_ENGINES = pytest.mark.both_search_backends

ITEM_FIELDS = {
    "run_id",
    "course_id",
    "title",
    "provider",
    "start_date",
    "end_date",
    "fee",
    "seats_left",
    "region",
    "ncs",
    "programme",
    "ministry",
    "source_ids",
}


def ids(body) -> list[int]:
    return [item["run_id"] for item in body["items"]]


def api(client, query: str = "", status: int = 200) -> dict:
    response = client.get(f"/api/v1/courses{'?' + query if query else ''}")
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    return response.get_json()


# -- the body ---------------------------------------------------------------------------------------------


@BOTH_ENGINES
def test_search_body_has_total_items_facets_and_suggestion(client, small_catalog):
    body = api(client, "q=파이썬")
    assert {"total", "items", "facets", "suggestion"} <= set(body)
    assert body["total"] == 2 and set(ids(body)) == {small_catalog["python"].id, small_catalog["busan"].id}
    assert body["suggestion"] is None
    assert (body["page"], body["per_page"]) == (1, 20)


@BOTH_ENGINES
def test_each_item_carries_the_published_fields(client, small_catalog):
    run = small_catalog["python"]
    body = api(client, "q=판다스")
    (item,) = body["items"]
    assert ITEM_FIELDS <= set(item)
    assert item["run_id"] == run.id and item["course_id"] == run.course_id
    assert item["title"] == "파이썬 데이터 분석 전문가 양성과정"
    assert item["provider"] == "한빛 디지털아카데미"
    assert item["start_date"] == run.start_date.isoformat() and item["end_date"] == run.end_date.isoformat()
    assert (item["fee"], item["self_pay"], item["seats_left"]) == (3_000_000, 300_000, 18)
    assert (item["region"], item["region_name"]) == ("11680", "서울특별시 강남구")
    assert item["ncs"] == "20010101"
    assert (item["programme"], item["ministry"], item["ministry_name"]) == ("C0104", "MOEL", "고용노동부")
    assert item["employment_rate"] == 71.5 and item["satisfaction"] == 92.0
    assert isinstance(item["source_ids"], list) and len(item["source_ids"]) == 1
    assert all(isinstance(s, str) and s for s in item["source_ids"])
    assert item["url"] == f"/runs/{run.id}"
    assert "<mark>" in item["snippet_html"] or "<mark>" in item["title_html"]


@BOTH_ENGINES
def test_facets_are_lists_of_value_label_count_selected(client, small_catalog):
    facets = api(client, "q=파이썬&region=26")["facets"]
    assert {"region", "ministry", "programme", "ncs1", "mode", "weekend"} <= set(facets)
    for values in facets.values():
        for value in values:
            assert set(value) == {"value", "label", "count", "selected"}
            assert isinstance(value["count"], int) and isinstance(value["selected"], bool)
    regions = {v["value"]: v for v in facets["region"]}
    assert regions["26"]["label"] == "부산광역시" and regions["26"]["selected"] is True
    assert regions["11"]["count"] == 1  # the other region's count ignores the region filter itself


# -- filters, sort, paging --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("region=26", ["busan"]),
        ("region=11680", ["python", "backend", "accounting"]),
        ("ncs=20", ["python", "backend", "busan"]),
        ("ncs=2001", ["python", "backend", "busan"]),
        ("ncs=02", ["accounting"]),
        ("programme=C0061", ["busan"]),
        ("ministry=MOEL", ["python", "backend", "busan", "accounting"]),
        ("mode=remote", ["busan"]),
        ("weekend=weekend", ["busan"]),
        ("max_self_pay=250000", ["backend", "accounting"]),
        ("q=파이썬&region=11", ["python"]),
        ("include_past=1&q=파이썬", ["python", "busan", "finished"]),
    ],
)
def test_filters(client, small_catalog, query, expected):
    assert set(ids(api(client, query))) == {small_catalog[k].id for k in expected}


def test_start_date_range(client, small_catalog, today):
    frm, to = today + timedelta(days=15), today + timedelta(days=35)
    body = api(client, f"start_from={frm.isoformat()}&start_to={to.isoformat()}")
    assert set(ids(body)) == {small_catalog["backend"].id, small_catalog["busan"].id}


@BOTH_ENGINES
def test_sort_by_start_and_by_price(client, small_catalog):
    assert ids(api(client, "sort=start")) == [small_catalog[k].id for k in ("python", "backend", "busan", "accounting")]
    prices = [item["self_pay"] for item in api(client, "sort=price")["items"]]
    assert prices == sorted(prices)


@BOTH_ENGINES
def test_paging(client, small_catalog):
    first = api(client, "sort=start&per_page=3")
    second = api(client, "sort=start&per_page=3&page=2")
    assert first["total"] == second["total"] == 4
    assert len(first["items"]) == 3 and len(second["items"]) == 1
    assert not set(ids(first)) & set(ids(second))
    assert api(client, "sort=start&per_page=3&page=9")["items"] == []


def test_empty_values_and_unknown_parameters_are_ignored(client, small_catalog):
    assert api(client, "q=&region=&page=&colour=blue")["total"] == 4


# -- invalid parameters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=501", "page"),
        ("per_page=0", "per_page"),
        ("per_page=1000", "per_page"),
        ("sort=cheapest", "sort"),
        ("region=999", "region"),
        ("region=99", "region"),
        ("ncs=2", "ncs"),
        ("mode=bus", "mode"),
        ("weekend=sunday", "weekend"),
        ("start_from=2026-13-01", "start_from"),
        ("start_from=2026-06-01&start_to=2026-05-01", "start_to"),
        ("start_month=2026-5", "start_month"),
        ("max_self_pay=-1", "max_self_pay"),
        ("max_self_pay=lots", "max_self_pay"),
        ("seats=maybe", "seats"),
        ("programme=<script>", "programme"),
        ("q=" + "가" * 201, "q"),
    ],
)
def test_invalid_parameters_are_a_422_in_the_sites_error_shape(client, small_catalog, query, param):
    body = api(client, query, status=422)
    error = body["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith("검색 조건이 올바르지 않습니다: ") and param in error["message"]
    assert list(error["details"]) == [param]
    assert all(isinstance(m, str) and m for m in error["details"][param])


def test_several_invalid_parameters_are_named_together(client):
    details = api(client, "page=0&per_page=1000", status=422)["error"]["details"]
    assert details == {"page": ["1 이상 500 이하여야 합니다."], "per_page": ["1 이상 100 이하여야 합니다."]}


# -- suggest -------------------------------------------------------------------------------------------


def suggest(client, q: str, status: int = 200):
    response = client.get("/api/v1/suggest", query_string={"q": q})
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


@BOTH_ENGINES
def test_suggest_returns_up_to_ten_text_kind_pairs(client, catalog, reindex):
    for n in range(15):
        catalog.run(catalog.course(f"데이터 분석 과정 {n}기"))
    reindex()
    items = suggest(client, "데이터")
    assert 1 <= len(items) <= 10
    for item in items:
        assert set(item) == {"text", "kind"} and item["text"] and item["kind"]


def test_suggest_finds_a_title_from_its_first_letters(client, small_catalog):
    texts = [item["text"] for item in suggest(client, "파이")]
    assert any(text.startswith("파이썬") for text in texts)


def test_suggest_understands_initial_consonants(client, small_catalog):
    texts = [item["text"] for item in suggest(client, "ㅍㅇㅆ")]  # 초성 of 파이썬
    assert texts and any("파이썬" in text for text in texts)


def test_suggest_with_nothing_typed_is_an_empty_list(client, small_catalog):
    assert suggest(client, "") == []
    assert suggest(client, "   ") == []
    assert client.get("/api/v1/suggest").get_json() == []


def test_suggest_refuses_a_very_long_text(client):
    error = suggest(client, "가" * 201, status=422)["error"]
    assert error["code"] == "validation_error" and "q" in error["details"]


def test_before_the_first_index_search_is_unavailable_and_suggest_empty(client, catalog):
    catalog.run()
    client.allow_server_errors = True  # a 503 is the expected answer here
    body = api(client, "q=파이썬", status=503)
    assert body == {
        "error": {"code": "search_unavailable", "message": "검색 색인을 준비하고 있습니다. 잠시 후 다시 시도해 주세요."}
    }
    assert suggest(client, "파이") == []


# -- public and documented -----------------------------------------------------------------------------


def test_search_endpoints_are_public_with_or_without_a_token(client, make_user, small_catalog):
    from hrdnet.auth import services
    from hrdnet.db import unit_of_work

    user = make_user("learner")
    with unit_of_work(write_lock=True):
        token = services.issue_api_token(user, "test").token
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/courses?q=파이썬", headers=headers).status_code == 200
    assert client.get("/api/v1/suggest?q=파이", headers=headers).status_code == 200


def test_search_endpoints_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/courses"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {
        "q",
        "region",
        "ncs",
        "programme",
        "ministry",
        "mode",
        "weekend",
        "start_from",
        "start_to",
        "max_self_pay",
        "sort",
        "page",
        "per_page",
    } <= names
    assert {"200", "422"} <= set(operation["responses"])
    suggest_op = spec["paths"]["/api/v1/suggest"]["get"]
    assert "q" in {p["name"] for p in suggest_op["parameters"]}
    schemas = spec["components"]["schemas"]
    assert {"SearchOut", "HitOut", "FacetValueOut", "SuggestionOut"} <= set(schemas)
    assert "seats_left" in schemas["HitOut"]["properties"]
