"""A local stand-in of the 고용24 OpenAPI (127.0.0.1, never the internet) for the fetcher and `catalog fetch`.

It serves generated list pages keyed by the query (srchTraStDt, srchTraEndDt, pageNum, pageSize) and can inject
faults per (window, page): HTTP 500/503/429/403, error documents, slow or truncated responses. The `api`
fixture (tests/courses/conftest.py) runs one per test.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections import defaultdict
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# -- the feed: generated runs and list pages ----------------------------------------------------------


def make_rows(per_day: dict[date, int]) -> list[dict]:
    """Runs with training-start dates; `per_day` says how many start on each day."""
    rows = []
    for day, count in sorted(per_day.items()):
        for i in range(count):
            seq = len(rows) + 1
            rows.append(
                {
                    "address": "서울특별시 중구 세종대로 110",
                    "contents": "",
                    "courseMan": str(1_000_000 + 1000 * (seq % 50)),
                    "eiEmplCnt3": "0",
                    "eiEmplRate3": "0",
                    "eiEmplRate6": "0",
                    "grade": "",
                    "instCd": f"{500000 + seq % 7}",
                    "ncsCd": "20010202",
                    "realMan": "0",
                    "regCourseMan": str(i % 20),
                    "stdgScor": "0",
                    "subTitle": f"테스트 훈련기관 {seq % 7} &amp; 교육원",
                    "subTitleLink": "",
                    "telNo": "02-1234-5678",
                    "title": f"파이썬 데이터 분석 &lt;{seq}&gt; 과정",
                    "titleIcon": "",
                    "titleLink": "",
                    "traEndDate": (day + timedelta(days=60)).isoformat(),
                    "traStartDate": day.isoformat(),
                    "trainTarget": "K-디지털 트레이닝",
                    "trainTargetCd": "C0104",
                    "trainstCstId": f"{500020000000 + seq % 7}",
                    "trngAreaCd": "11140",
                    "trprDegr": str(1 + i % 3),
                    "trprId": f"AIG{day:%Y%m%d}{seq:06d}",
                    "wkendSe": "3",
                    "yardMan": "30",
                }
            )
    return rows


def row_key(row: dict) -> str:
    return f"{row['trprId']}:{int(row['trprDegr'])}"


def list_page(total: int, page_num: int, page_size: int, rows: list[dict]) -> bytes:
    """A list page as the real API writes it: header first, each record's fields in alphabetical order."""
    records = "".join(
        "<scn_list>" + "".join(f"<{k}>{v}</{k}>" for k, v in sorted(row.items())) + "</scn_list>" for row in rows
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<HRDNet><pageNum>{page_num}</pageNum><pageSize>{page_size}</pageSize><scn_cnt>{total}</scn_cnt>"
        f"<srchList>{records}</srchList></HRDNet>"
    ).encode()


ERROR_DOCUMENT = '<?xml version="1.0" encoding="UTF-8"?><GO24><error>인증키가 존재하지 않습니다</error></GO24>'.encode()


# -- the stand-in API ---------------------------------------------------------------------------------


def _ymd(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


class FeedAPI(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins handler threads: no socket outlives the test

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.rows: list[dict] = []
        self.requests: list[tuple[date, date, int]] = []
        self.queries: list[dict[str, str]] = []
        self.faults: dict[tuple[date, date, int], list[str]] = defaultdict(list)
        self.always: str | None = None
        self.sticky: dict[tuple[date, date, int], str] = {}  # a fault on every request for that page
        self.slow_seconds = 1.0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/cm/openApi/call/hr/callOpenApiSvcInfo310L01.do"

    def handle_error(self, request, client_address):  # a client that gave up on a slow answer: not news
        pass

    def load(self, per_day: dict[date, int]) -> list[dict]:
        self.rows = make_rows(per_day)
        return self.rows

    def fault(self, window: tuple[date, date], page: int, *actions: str) -> None:
        self.faults[(window[0], window[1], page)].extend(actions)

    def next_fault(self, unit) -> str | None:
        with self.lock:
            queued = self.faults.get(unit)
            if queued:
                return queued.pop(0)
            return self.sticky.get(unit, self.always)


class _Handler(BaseHTTPRequestHandler):
    server: FeedAPI

    def log_message(self, *args):
        pass

    def do_GET(self):
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        unit = (_ymd(query["srchTraStDt"]), _ymd(query["srchTraEndDt"]), int(query["pageNum"]))
        with self.server.lock:
            self.server.requests.append(unit)
            self.server.queries.append(query)
        fault = self.server.next_fault(unit)
        try:
            self._answer(unit, int(query["pageSize"]), fault)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(self, unit, page_size: int, fault: str | None) -> None:
        if fault in ("500", "403", "404"):
            return self._send(int(fault), b"<html>error</html>", "text/html")
        if fault == "429":
            return self._send(429, b"slow down", "text/plain", {"Retry-After": "7"})
        if fault == "503":
            return self._send(503, b"maintenance", "text/plain")
        if fault == "error":
            return self._send(200, ERROR_DOCUMENT)
        if fault == "json-error":
            return self._send(200, json.dumps({"error": "일일 호출 한도를 넘었습니다"}).encode(), "application/json")
        if fault == "garbage":
            return self._send(200, "<html><body>서비스 점검 중입니다".encode(), "text/html")
        if fault == "slow":
            time.sleep(self.server.slow_seconds)
        start, end, page = unit
        matching = [row for row in self.server.rows if start <= date.fromisoformat(row["traStartDate"]) <= end]
        body = list_page(len(matching), page, page_size, matching[(page - 1) * page_size : page * page_size])
        if fault in ("broken", "broken-head"):
            # bad markup inside the 6th run (or the 1st): the page arrives whole, the data itself is broken
            cut = 0 if fault == "broken-head" else 5
            marker = b"<scn_list>"
            at = -1
            for _ in range(cut + 1):
                at = body.index(marker, at + 1)
            body = body[:at] + b"<scn_list><title>broken</titl></scn_list>" + body[at:]
        if fault == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "application/xml;charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            return None
        return self._send(200, body)

    def _send(self, status: int, body: bytes, content_type="application/xml;charset=UTF-8", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
