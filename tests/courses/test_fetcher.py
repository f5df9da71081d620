"""The 고용24 OpenAPI fetcher against a local stand-in of the API (127.0.0.1, never the internet).

The stand-in serves generated list pages keyed by the query (srchTraStDt, srchTraEndDt, pageNum, pageSize) and
can inject faults per (window, page): HTTP 500/503/429/403, error documents, slow or truncated responses.
Every test asserts on the exact (window, page) requests the server saw.
"""

from __future__ import annotations

import io
import json
import random
import socket
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from courses.ingest.fetcher import (
    DEFAULT_BASE_URL,
    ErrorDocument,
    Fetcher,
    FetchFailed,
    PageUnreadable,
    Window,
    month_windows,
    read_page_header,
)
from courses.ingest.records import FeedRecord, FeedUnreadable, Rejection
from tests.support.feed_api import ERROR_DOCUMENT, list_page, make_rows, row_key

KEY = "test-auth-key-0123456789"
D = date


def stand_in_parse(stream, *, source: str):
    """A tiny stand-in for courses.ingest.hrdnet_xml.parse (same signature and contract): the runs before a
    break in the markup are yielded, then FeedUnreadable; an error document is FeedUnreadable."""
    parser = ET.XMLPullParser(events=("start", "end"))
    parser.feed(stream.read())  # a syntax error is queued as an event, after the events before it
    index = 0
    try:
        for event, item in parser.read_events():
            if event == "start":
                if item.tag == "GO24":
                    raise FeedUnreadable(f"{source}: error document")
            elif item.tag == "scn_list":
                index += 1
                yield _stand_in_record({child.tag: (child.text or "").strip() for child in item}, source, index)
        parser.close()
    except ET.ParseError as exc:
        raise FeedUnreadable(str(exc)) from None


def _stand_in_record(get: dict, source: str, index: int) -> FeedRecord | Rejection:
    try:
        return FeedRecord(
            position=f"{source} record {index}",
            course_id=get["trprId"],
            run_number=int(get["trprDegr"]),
            title=get["title"],
            provider_name=get["subTitle"],
            provider_id=get["trainstCstId"],
            start_date=date.fromisoformat(get["traStartDate"]),
            end_date=date.fromisoformat(get["traEndDate"]),
            fee=int(get["courseMan"]),
            capacity=int(get["yardMan"]),
        )
    except (KeyError, ValueError) as exc:
        return Rejection(f"{source} record {index}", get.get("trprId"), f"읽을 수 없는 값: {exc}")


def real_parse():
    module = pytest.importorskip("courses.ingest.hrdnet_xml", reason="hrdnet_xml.parse is not written yet")
    return module.parse


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make_fetcher(api, sleeps, tmp_path):
    def make(**overrides) -> Fetcher:
        settings = {
            "base_url": api.url,
            "auth_key": KEY,
            "page_size": 10,
            "row_limit": 50,
            "timeout": 2,
            "max_retries": 3,
            "backoff": 1.0,
            "sleep": sleeps.append,
            "rng": random.Random(7),
            "parse_page": stand_in_parse,
            "state_path": tmp_path / "state" / "fetch.json",
        }
        settings.update(overrides)
        return Fetcher(**settings)

    return make


def daily(start: date, end: date, count: int = 1) -> dict[date, int]:
    return {start + timedelta(days=i): count for i in range((end - start).days + 1)}


def pages(start: date, end: date, count: int) -> list[tuple[date, date, int]]:
    return [(start, end, page) for page in range(1, count + 1)]


def keys(items) -> list[str]:
    return [item.key for item in items]


JAN, FEB, MAR = (D(2024, 1, 1), D(2024, 1, 31)), (D(2024, 2, 1), D(2024, 2, 29)), (D(2024, 3, 1), D(2024, 3, 31))


# -- windows and headers ------------------------------------------------------------------------------


def test_month_windows_clip_the_range_and_cross_years():
    assert month_windows(D(2023, 11, 15), D(2024, 2, 3)) == [
        Window(D(2023, 11, 15), D(2023, 11, 30)),
        Window(D(2023, 12, 1), D(2023, 12, 31)),
        Window(D(2024, 1, 1), D(2024, 1, 31)),
        Window(D(2024, 2, 1), D(2024, 2, 3)),
    ]
    assert month_windows(D(2024, 5, 5), D(2024, 5, 5)) == [Window(D(2024, 5, 5), D(2024, 5, 5))]
    with pytest.raises(ValueError):
        month_windows(D(2024, 2, 1), D(2024, 1, 1))


def test_halves_cover_the_window_without_overlap():
    assert Window(*JAN).halves() == (Window(D(2024, 1, 1), D(2024, 1, 16)), Window(D(2024, 1, 17), D(2024, 1, 31)))
    assert Window(D(2024, 1, 1), D(2024, 1, 2)).halves() == (
        Window(D(2024, 1, 1), D(2024, 1, 1)),
        Window(D(2024, 1, 2), D(2024, 1, 2)),
    )
    with pytest.raises(ValueError):
        Window(D(2024, 1, 1), D(2024, 1, 1)).halves()
    assert Window.parse(Window(*FEB).label) == Window(*FEB)


def test_page_header_is_read_from_the_root_only():
    rows = make_rows({D(2024, 1, 1): 2})
    header = read_page_header(list_page(1234, 3, 2, rows))
    assert (header.total, header.page_num, header.page_size) == (1234, 3, 2)


def test_page_header_survives_html_entities_inside_records():
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><HRDNet><scn_cnt>7</scn_cnt><pageNum>1</pageNum><srchList>'
        b"<scn_list><title>AI&nbsp;\xea\xb3\xbc\xec\xa0\x95</title></scn_list></srchList></HRDNet>"
    )
    assert read_page_header(body).total == 7


@pytest.mark.parametrize(
    "body, message",
    [
        (ERROR_DOCUMENT, "인증키가 존재하지 않습니다"),
        ('{"error": "일일 호출 한도를 넘었습니다"}'.encode(), "일일 호출 한도를 넘었습니다"),
        (b"<GO24><error>bad &nbsp; key</error></GO24>", "bad &nbsp; key"),
        (b"<GO24/>", "내용 없는 오류 응답"),
    ],
)
def test_error_documents_are_recognised(body, message):
    with pytest.raises(ErrorDocument) as caught:
        read_page_header(body)
    assert caught.value.text == message


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        "<html><body>서비스 점검 중".encode(),
        b"<HRDNet><srchList></srchList></HRDNet>",  # no scn_cnt: not an empty result
        b"<HRDNet><scn_cnt>many</scn_cnt></HRDNet>",
        b'{"HRDNet": {}}',
    ],
)
def test_pages_without_a_count_are_unreadable(body):
    with pytest.raises(PageUnreadable):
        read_page_header(body)


def test_an_empty_list_is_a_count_of_zero():
    assert (
        read_page_header(b"<HRDNet><scn_cnt>0</scn_cnt><pageNum>1</pageNum><pageSize>10</pageSize></HRDNet>").total == 0
    )


# -- fetching -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("parser", ["stand-in", "hrdnet_xml"])
def test_every_record_is_yielded_once_in_date_order(api, make_fetcher, parser):
    rows = api.load({**daily(*JAN), **daily(*FEB, count=2)})  # 31 + 58 rows
    fetcher = make_fetcher(row_limit=100, parse_page=stand_in_parse if parser == "stand-in" else real_parse())

    items = list(fetcher.fetch(D(2024, 1, 1), D(2024, 2, 29)))

    assert all(isinstance(item, FeedRecord) for item in items)
    assert keys(items) == [row_key(row) for row in rows]
    assert [item.start_date for item in items] == sorted(item.start_date for item in items)
    assert api.requests == pages(*JAN, 4) + pages(*FEB, 6)
    assert fetcher.stats.windows == 2 and fetcher.stats.pages == 10 and fetcher.stats.records == 89
    assert fetcher.stats.retries == 0 and fetcher.stats.failures == [] and fetcher.stats.notes == []


def test_queries_carry_the_documented_parameters(api, make_fetcher):
    api.load({D(2024, 3, 5): 3})
    list(make_fetcher(params={"crseTracseSe": "C0104"}).fetch(D(2024, 3, 2), D(2024, 3, 20)))

    assert api.queries == [
        {
            "authKey": KEY,
            "returnType": "XML",
            "outType": "1",
            "pageNum": "1",
            "pageSize": "10",
            "srchTraStDt": "20240302",
            "srchTraEndDt": "20240320",
            "sort": "ASC",
            "sortCol": "TRNG_BGDE",
            "crseTracseSe": "C0104",
        }
    ]


def test_an_empty_window_is_one_request_and_no_records(api, make_fetcher):
    api.load({D(2024, 2, 10): 3})
    fetcher = make_fetcher()

    items = list(fetcher.fetch(D(2024, 1, 1), D(2024, 2, 29)))

    assert len(items) == 3
    assert api.requests == pages(*JAN, 1) + pages(*FEB, 1)


@pytest.mark.parametrize("parser", ["stand-in", "hrdnet_xml"])
def test_a_window_over_the_row_limit_is_split_in_halves(api, make_fetcher, parser):
    rows = api.load(daily(*JAN, count=4))  # 124 rows, limit 50
    fetcher = make_fetcher(parse_page=stand_in_parse if parser == "stand-in" else real_parse())

    items = list(fetcher.fetch(*JAN))

    jan = lambda first, last: (D(2024, 1, first), D(2024, 1, last))  # noqa: E731
    assert api.requests == [
        (*jan(1, 31), 1),  # 124 rows: split
        (*jan(1, 16), 1),  # 64 rows: split
        *pages(*jan(1, 8), 4),  # 32 rows, and its first page is used, not fetched again
        *pages(*jan(9, 16), 4),
        (*jan(17, 31), 1),  # 60 rows: split
        *pages(*jan(17, 24), 4),
        *pages(*jan(25, 31), 3),  # 28 rows
    ]
    assert keys(items) == [row_key(row) for row in rows]
    assert fetcher.stats.splits == 3 and fetcher.stats.windows == 4


def test_a_single_day_over_the_limit_is_a_failure_not_a_truncation(api, make_fetcher):
    api.load({D(2024, 1, 1): 5, D(2024, 1, 2): 60, D(2024, 1, 3): 5})
    fetcher = make_fetcher()
    got = []

    with pytest.raises(FetchFailed) as caught:
        for item in fetcher.fetch(D(2024, 1, 1), D(2024, 1, 3)):
            got.append(item)

    day = lambda n: (D(2024, 1, n), D(2024, 1, n))  # noqa: E731
    assert api.requests == [
        (D(2024, 1, 1), D(2024, 1, 3), 1),
        (D(2024, 1, 1), D(2024, 1, 2), 1),
        (*day(1), 1),
        (*day(2), 1),  # 60 rows > 50: reported, its pages are not read
        (*day(3), 1),
    ]
    assert {item.start_date for item in got} == {D(2024, 1, 1), D(2024, 1, 3)} and len(got) == 10
    assert "2024-01-02" in caught.value.message and "50" in caught.value.message
    assert caught.value.failures == fetcher.stats.failures
    assert [f["window"] for f in fetcher.stats.failures] == ["2024-01-02"]

    # Resuming only asks about the day that failed.
    api.requests.clear()
    again = make_fetcher()
    with pytest.raises(FetchFailed):
        list(again.fetch(D(2024, 1, 1), D(2024, 1, 3)))
    assert api.requests == [(*day(2), 1)]


def test_the_page_cap_limits_rows_per_query():
    assert Fetcher(auth_key=KEY, page_size=10).max_rows_per_query == 10_000  # 1,000 pages of 10
    assert Fetcher(auth_key=KEY).max_rows_per_query == 100_000
    assert Fetcher(auth_key=KEY).base_url == DEFAULT_BASE_URL


# -- retries ------------------------------------------------------------------------------------------


def test_http_500_is_retried_with_growing_jittered_delays(api, make_fetcher, sleeps):
    rows = api.load(daily(*JAN))
    api.fault(JAN, 2, "500", "503")
    fetcher = make_fetcher(backoff=2.0)

    items = list(fetcher.fetch(*JAN))

    assert keys(items) == [row_key(row) for row in rows]
    assert api.requests == [(*JAN, 1), (*JAN, 2), (*JAN, 2), (*JAN, 2), (*JAN, 3), (*JAN, 4)]
    assert fetcher.stats.retries == 2
    assert len(sleeps) == 2 and 1.5 <= sleeps[0] <= 2.5 and 3.0 <= sleeps[1] <= 5.0


def test_429_waits_at_least_retry_after(api, make_fetcher, sleeps):
    api.load({D(2024, 1, 5): 2})
    api.fault(JAN, 1, "429")

    assert len(list(make_fetcher(backoff=0.1).fetch(*JAN))) == 2
    assert sleeps[0] >= 7
    assert api.requests == [(*JAN, 1), (*JAN, 1)]


@pytest.mark.parametrize("fault", ["truncated", "garbage"])
def test_broken_bodies_are_retried(api, make_fetcher, fault):
    rows = api.load(daily(*JAN))
    api.fault(JAN, 3, fault)
    fetcher = make_fetcher()

    assert keys(fetcher.fetch(*JAN)) == [row_key(row) for row in rows]
    assert api.requests == pages(*JAN, 3) + [(*JAN, 3), (*JAN, 4)]
    assert fetcher.stats.retries == 1


def test_a_slow_response_times_out_and_is_retried(api, make_fetcher):
    rows = api.load(daily(*JAN))
    api.slow_seconds = 1.5
    api.fault(JAN, 2, "slow")
    fetcher = make_fetcher(timeout=0.5)

    assert keys(fetcher.fetch(*JAN)) == [row_key(row) for row in rows]
    assert api.requests == pages(*JAN, 2) + [(*JAN, 2), (*JAN, 3), (*JAN, 4)]
    assert fetcher.stats.retries == 1


def test_retries_run_out_with_a_korean_message(api, make_fetcher, sleeps):
    api.load(daily(*JAN))
    api.always = "500"
    fetcher = make_fetcher(max_retries=3)

    with pytest.raises(FetchFailed) as caught:
        list(fetcher.fetch(*JAN))

    assert api.requests == [(*JAN, 1)] * 4
    assert len(sleeps) == 3
    assert "2024-01-01~2024-01-31 1쪽" in caught.value.message and "4번 시도" in caught.value.message
    assert "HTTP 500" in caught.value.message
    assert isinstance(caught.value, FeedUnreadable)  # the importer records a partial import


@pytest.mark.parametrize("status", ["403", "404"])
def test_other_4xx_fail_fast(api, make_fetcher, sleeps, status):
    api.load(daily(*JAN))
    api.always = status
    fetcher = make_fetcher()

    with pytest.raises(FetchFailed) as caught:
        list(fetcher.fetch(*JAN))

    assert api.requests == [(*JAN, 1)]
    assert sleeps == [] and fetcher.stats.retries == 0
    assert f"HTTP {status}" in caught.value.message and "HRDNET_API_KEY" in caught.value.message
    assert KEY not in caught.value.message


def test_an_error_document_is_a_failed_page_never_an_empty_result(api, make_fetcher):
    api.load(daily(*JAN))
    api.always = "error"
    fetcher = make_fetcher(error_retries=2)
    got = []

    with pytest.raises(FetchFailed) as caught:
        for item in fetcher.fetch(*JAN):
            got.append(item)

    assert got == []
    assert api.requests == [(*JAN, 1)] * 3
    assert "인증키가 존재하지 않습니다" in caught.value.message
    assert fetcher.stats.failures == [
        {"window": "2024-01-01~2024-01-31", "page": 1, "reason": "오류 응답: 인증키가 존재하지 않습니다"}
    ]


def test_a_passing_error_document_is_retried(api, make_fetcher):
    rows = api.load(daily(*JAN))
    api.fault(JAN, 4, "json-error")
    fetcher = make_fetcher()

    assert keys(fetcher.fetch(*JAN)) == [row_key(row) for row in rows]
    assert api.requests == pages(*JAN, 4) + [(*JAN, 4)]


def test_an_unreachable_server_is_retried_then_fails(make_fetcher, sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fetcher = make_fetcher(base_url=f"http://127.0.0.1:{port}/x.do", max_retries=2)

    with pytest.raises(FetchFailed) as caught:
        list(fetcher.fetch(*JAN))

    assert "연결 오류" in caught.value.message and "3번 시도" in caught.value.message
    assert len(sleeps) == 2


# -- resuming -----------------------------------------------------------------------------------------


class Crash(Exception):
    pass


def consume(fetcher: Fetcher, start: date, end: date, *, crash_after: int | None = None) -> list:
    """Hand records to a consumer that dies right after receiving record number `crash_after`."""
    got = []
    for item in fetcher.fetch(start, end):
        got.append(item)
        if crash_after is not None and len(got) == crash_after:
            raise Crash
    return got


@pytest.mark.parametrize("parser", ["stand-in", "hrdnet_xml"])
def test_a_crashed_fetch_resumes_without_fetching_a_page_twice(api, make_fetcher, parser):
    rows = api.load({**daily(*JAN), **daily(*FEB), **daily(*MAR)})  # 31 / 29 / 31 rows, pages of 10
    parse = stand_in_parse if parser == "stand-in" else real_parse()
    first = []
    with pytest.raises(Crash):
        for item in make_fetcher(parse_page=parse).fetch(D(2024, 1, 1), D(2024, 3, 31)):
            first.append(item)
            if len(first) == 45:  # inside February's page 2 (records 42–51)
                raise Crash
    first_requests = list(api.requests)
    api.requests.clear()

    resumed = make_fetcher(parse_page=parse)
    second = list(resumed.fetch(D(2024, 1, 1), D(2024, 3, 31)))

    assert first_requests == pages(*JAN, 4) + pages(*FEB, 2)
    assert api.requests == [(*FEB, 2), (*FEB, 3)] + pages(*MAR, 4)
    assert set(first_requests) & set(api.requests) == {(*FEB, 2)}  # only the page in flight
    everything = keys(first) + keys(second)
    assert sorted(set(everything)) == sorted(row_key(row) for row in rows)
    assert keys(second) == [row_key(row) for row in rows[41:]]  # from the page in flight on
    assert resumed.stats.resumed and resumed.stats.pages_skipped == 5 and resumed.stats.pages == 6


def test_resume_remembers_split_windows(api, make_fetcher):
    rows = api.load(daily(*JAN, count=4))
    jan = lambda first, last: (D(2024, 1, first), D(2024, 1, last))  # noqa: E731
    with pytest.raises(Crash):
        consume(make_fetcher(), *JAN, crash_after=45)  # 32 rows in 1–8, so record 45 is on 9–16's page 2
    api.requests.clear()

    second = consume(make_fetcher(), *JAN)

    assert api.requests == pages(*jan(9, 16), 4)[1:] + [(*jan(17, 31), 1)] + pages(*jan(17, 24), 4) + pages(
        *jan(25, 31), 3
    )
    assert keys(second) == [row_key(row) for row in rows[42:]]  # 9–16 page 2 (records 43–52) on


def test_crash_on_a_page_boundary_loses_nothing(api, make_fetcher):
    rows = api.load(daily(*JAN))
    with pytest.raises(Crash):
        consume(make_fetcher(), *JAN, crash_after=21)  # the first record of page 3: pages 1–2 are done
    api.requests.clear()

    second = consume(make_fetcher(), *JAN)

    assert api.requests == [(*JAN, 3), (*JAN, 4)]
    assert keys(second) == [row_key(row) for row in rows[20:]]


def test_batching_consumer_checkpoints_after_each_commit(api, make_fetcher):
    rows = api.load({**daily(*JAN), **daily(*FEB), **daily(*MAR)})
    committed: list[str] = []

    def import_in_batches(fetcher, crash_at=None):
        batch = []
        for item in fetcher.fetch(D(2024, 1, 1), D(2024, 3, 31)):
            batch.append(item)
            if crash_at is not None and len(committed) + len(batch) == crash_at:
                raise Crash  # the open batch is lost with the process
            if len(batch) == 25:
                committed.extend(keys(batch))
                batch = []
                fetcher.checkpoint()
        committed.extend(keys(batch))
        fetcher.checkpoint()

    with pytest.raises(Crash):
        import_in_batches(make_fetcher(auto_checkpoint=False), crash_at=60)
    assert len(committed) == 50
    first_requests = list(api.requests)
    api.requests.clear()

    import_in_batches(make_fetcher(auto_checkpoint=False))

    assert first_requests == pages(*JAN, 4) + pages(*FEB, 3)
    # February's pages 2 and 3 were handed over but never committed: fetched again, nothing else is.
    assert api.requests == [(*FEB, 2), (*FEB, 3)] + pages(*MAR, 4)
    assert set(committed) == {row_key(row) for row in rows}


def test_state_file_is_replaced_atomically_and_says_what_is_done(api, make_fetcher, tmp_path):
    api.load(daily(*JAN))
    with pytest.raises(Crash):
        consume(make_fetcher(), D(2024, 1, 1), D(2024, 2, 29), crash_after=15)

    folder = tmp_path / "state"
    assert [p.name for p in folder.iterdir()] == ["fetch.json"]  # no temporary files left behind
    state = json.loads((folder / "fetch.json").read_text(encoding="utf-8"))
    assert state["finished"] is False
    assert (
        state["query"]["from"] == "2024-01-01" and "authKey" not in json.dumps(state) and KEY not in json.dumps(state)
    )
    assert state["windows"] == {"2024-01-01..2024-01-31": {"total": 31, "pages": [1]}}

    consume(make_fetcher(), D(2024, 1, 1), D(2024, 2, 29))
    state = json.loads((folder / "fetch.json").read_text(encoding="utf-8"))
    assert state["finished"] is True
    assert state["windows"] == {
        "2024-01-01..2024-01-31": {"total": 31, "done": True},
        "2024-02-01..2024-02-29": {"total": 0, "done": True},
    }


def test_a_finished_state_starts_a_fresh_fetch(api, make_fetcher):
    api.load(daily(*JAN))
    consume(make_fetcher(), *JAN)
    api.requests.clear()

    again = make_fetcher()
    assert len(consume(again, *JAN)) == 31
    assert api.requests == pages(*JAN, 4)
    assert not again.stats.resumed and again.stats.notes


def test_a_state_for_another_query_is_not_resumed(api, make_fetcher):
    api.load({**daily(*JAN), **daily(*FEB)})
    with pytest.raises(Crash):
        consume(make_fetcher(), *JAN, crash_after=25)
    api.requests.clear()

    other = make_fetcher()
    assert len(consume(other, D(2024, 1, 1), D(2024, 2, 29))) == 60
    assert api.requests == pages(*JAN, 4) + pages(*FEB, 3)
    assert "다른 조회" in other.stats.notes[0]


def test_without_a_state_file_nothing_is_written(api, make_fetcher, tmp_path):
    api.load(daily(*JAN))
    assert len(consume(make_fetcher(state_path=None), *JAN)) == 31
    assert not (tmp_path / "state").exists()


# -- configuration ------------------------------------------------------------------------------------


def test_from_config_reads_the_key_and_base(api):
    fetcher = Fetcher.from_config({"HRDNET_API_KEY": KEY, "HRDNET_API_BASE": api.url}, page_size=20)
    assert (fetcher.base_url, fetcher.auth_key, fetcher.page_size) == (api.url, KEY, 20)

    with pytest.raises(FetchFailed) as caught:
        Fetcher.from_config({"HRDNET_API_BASE": api.url})
    assert "HRDNET_API_KEY" in caught.value.message


@pytest.mark.parametrize(
    "overrides",
    [
        {"page_size": 101},
        {"page_size": 0},
        {"row_limit": 0},
        {"base_url": "file:///etc/passwd"},
        {"params": {"pageSize": "500"}},
    ],
)
def test_bad_settings_are_refused(overrides):
    with pytest.raises(ValueError):
        Fetcher(**{"auth_key": KEY, **overrides})


def test_stats_are_plain_data_for_the_report(api, make_fetcher):
    api.load(daily(*JAN))
    fetcher = make_fetcher()
    consume(fetcher, *JAN)
    report = json.loads(json.dumps(fetcher.stats.as_dict()))
    assert report["pages"] == 4 and report["records"] == 31 and report["failures"] == []


def test_on_page_reports_progress(api, make_fetcher):
    api.load(daily(*JAN))
    seen = []
    consume(make_fetcher(on_page=lambda window, page, total, stats: seen.append((str(window), page, total))), *JAN)
    assert seen == [("2024-01-01~2024-01-31", n, 4) for n in range(1, 5)]


def test_stand_in_parser_matches_the_contract():
    body = list_page(1, 1, 10, make_rows({D(2024, 1, 1): 1}))
    (record,) = list(stand_in_parse(io.BytesIO(body), source="t"))
    assert record.title == "파이썬 데이터 분석 <1> 과정" and record.provider_name == "테스트 훈련기관 1 & 교육원"
    with pytest.raises(FeedUnreadable):
        list(stand_in_parse(io.BytesIO(ERROR_DOCUMENT), source="t"))


# -- pages broken in the data itself ------------------------------------------------------------------


@pytest.mark.parametrize("parser", ["stand-in", "hrdnet_xml"])
def test_a_page_broken_mid_way_hands_over_what_was_read_and_is_reported(api, make_fetcher, parser):
    rows = api.load(daily(*JAN))
    api.sticky[(*JAN, 2)] = "broken"  # bad markup inside page 2's 6th run, on every request
    parse = stand_in_parse if parser == "stand-in" else real_parse()
    fetcher = make_fetcher(parse_page=parse, error_retries=2)
    got = []

    with pytest.raises(FetchFailed) as caught:
        for item in fetcher.fetch(D(2024, 1, 1), D(2024, 2, 29)):
            got.append(item)

    # three tries of the broken page, then the rest of the range is still fetched
    assert api.requests == pages(*JAN, 2) + [(*JAN, 2), (*JAN, 2)] + pages(*JAN, 4)[2:] + pages(*FEB, 1)
    records = [item.key for item in got if isinstance(item, FeedRecord)]
    assert records == [row_key(row) for row in rows[:15] + rows[20:]]  # page 2's first 5 runs, not its last 5
    assert "2024-01-01~2024-01-31 2쪽" in caught.value.message and "5건만" in caught.value.message
    assert [(f["window"], f["page"]) for f in fetcher.stats.failures] == [("2024-01-01~2024-01-31", 2)]

    # The broken page is not marked done: running again asks for it (and only it) again.
    api.requests.clear()
    with pytest.raises(FetchFailed):
        list(make_fetcher(parse_page=parse, error_retries=2).fetch(D(2024, 1, 1), D(2024, 2, 29)))
    assert api.requests == [(*JAN, 2)] * 3


def test_a_page_broken_before_its_first_run_stops_the_fetch(api, make_fetcher):
    api.load(daily(*JAN))
    api.sticky[(*JAN, 3)] = "broken-head"
    fetcher = make_fetcher(error_retries=1)

    with pytest.raises(FetchFailed) as caught:
        list(fetcher.fetch(D(2024, 1, 1), D(2024, 2, 29)))

    assert api.requests == pages(*JAN, 3) + [(*JAN, 3)]  # nothing after it: every page may be like this
    assert "3쪽을 가져오지 못했습니다 (2번 시도)" in caught.value.message
