"""Pull training runs from the 고용24 (HRD-Net) OpenAPI, page by page, as FeedRecord/Rejection.

    fetcher = Fetcher.from_config(app.config, state_path=..., auto_checkpoint=False)
    for item in fetcher.fetch(date(2024, 1, 1), date(2024, 12, 31)):   # FeedRecord | Rejection, date order
        ...                                  # upsert in batches; after each batch commits: fetcher.checkpoint()

The list endpoint (`…310L01.do`) answers at most 100,000 rows per query (and at most 1,000 pages), so the date
range is cut into **windows**: calendar months first; when the first page of a window says (`scn_cnt`) that it
holds more rows than one query may return, the window is split in halves, recursively, down to single days.
A single day that still holds too many rows is reported as a failure (never silently truncated); the other
windows are fetched and the fetch ends with FetchFailed listing what it could not take (such days, and pages
whose markup breaks part-way: the runs before the break are handed over, the page is reported).

Every request is retried with exponential backoff and jitter on network errors, timeouts, HTTP 5xx and 429;
another HTTP 4xx fails at once. An error document (HTTP 200 with `<GO24><error>…</error></GO24>` or JSON
`{"error": …}`) is a failed page, never "no courses": retried a few times, then the fetch fails with its text.

Resuming: with a state file, each (window, page) unit is recorded (atomically) once all its records have been
handed to the consumer, and a restarted fetch of the same query skips recorded units. Hand-off is therefore
at-least-once: after a crash the page that was in flight is fetched and handed over again, which the
importer's idempotent upsert absorbs. See docs/fetcher.md.
"""

from __future__ import annotations

import io
import json
import math
import os
import random
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from http.client import HTTPException
from pathlib import Path

from courses.ingest.records import FeedRecord, FeedUnreadable, Rejection

DEFAULT_BASE_URL = "https://www.work24.go.kr/cm/openApi/call/hr/callOpenApiSvcInfo310L01.do"
API_ROW_LIMIT = 100_000  # rows one list query may return
API_MAX_PAGE_NUM = 1000  # pageNum ≤ 1000
API_MAX_PAGE_SIZE = 100  # pageSize ≤ 100
MAX_BODY_BYTES = 32 * 1024 * 1024  # one page of 100 runs is a few hundred KB; anything huge is not a page
STATE_VERSION = 1
USER_AGENT = "hrdnet-fetcher/1 (+https://github.com/)"

Item = FeedRecord | Rejection
PageParser = Callable[..., Iterator[Item]]  # parse(stream: BinaryIO, *, source: str)


# -- errors -------------------------------------------------------------------------------------------


class FetchFailed(FeedUnreadable):
    """The fetch could not complete. `message` is Korean, for the operator; `failures` lists what failed.

    A FeedUnreadable, so the importer treats it like a feed that broke off: what was handed over stays
    imported, the import is marked partial and nothing is marked missing.
    """

    def __init__(self, message: str, *, failures: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.failures = list(failures or [])


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Fatal(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ErrorDocument(Exception):
    """HTTP 200 whose body is the API's error document; the text is the API's own message."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


class PageUnreadable(Exception):
    """The body is neither an error document nor a readable list page (empty, HTML, truncated …)."""


class _BrokenPage(Exception):
    """The header was read but the record parser gave up part-way; `partial` is what it yielded first."""

    def __init__(self, reason: str, total: int, partial: list):
        super().__init__(reason)
        self.reason = reason
        self.total = total
        self.partial = partial


# -- windows ------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True, slots=True)
class Window:
    """An inclusive range of training-start dates, one query's srchTraStDt..srchTraEndDt."""

    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def halves(self) -> tuple[Window, Window]:
        if self.start >= self.end:
            raise ValueError("a one-day window cannot be split")
        mid = self.start + timedelta(days=(self.end - self.start).days // 2)
        return Window(self.start, mid), Window(mid + timedelta(days=1), self.end)

    @classmethod
    def parse(cls, label: str) -> Window:
        first, _, last = label.partition("..")
        return cls(date.fromisoformat(first), date.fromisoformat(last))

    def __str__(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()}~{self.end.isoformat()}"


def month_windows(start: date, end: date) -> list[Window]:
    """Calendar-month windows covering start..end (the first and last clipped to the range)."""
    if start > end:
        raise ValueError("start is after end")
    windows = []
    cursor = start
    while cursor <= end:
        next_month = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
        last = min(end, next_month - timedelta(days=1))
        windows.append(Window(cursor, last))
        cursor = next_month
    return windows


# -- reading a page's header --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageHeader:
    total: int  # scn_cnt: rows the whole query matches
    page_num: int | None
    page_size: int | None


_SCN_CNT = re.compile(rb"<scn_cnt>\s*([0-9]+)\s*</scn_cnt>")
_ERROR_TEXT = re.compile(rb"<error>(.*?)</error>", re.S)


def _int_or_none(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def read_page_header(body: bytes) -> PageHeader:
    """scn_cnt/pageNum/pageSize of a list page; raises ErrorDocument or PageUnreadable.

    Only the root's direct children are read (a record field is never mistaken for them), and reading stops
    at `srchList` once scn_cnt is known, so entities or broken markup inside records (the record parser's
    business) cannot make a page look unreadable.
    """
    text = body.lstrip()
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:].lstrip()
    if not text:
        raise PageUnreadable("빈 응답이 왔습니다")
    if text[:1] in (b"{", b"["):
        try:
            doc = json.loads(text)
        except ValueError:
            raise PageUnreadable("JSON 응답을 읽을 수 없습니다") from None
        if isinstance(doc, dict) and "error" in doc:
            error = doc["error"]
            if isinstance(error, dict):
                error = error.get("message") or json.dumps(error, ensure_ascii=False)
            raise ErrorDocument(str(error).strip() or "내용 없는 오류 응답")
        raise PageUnreadable("XML을 요청했는데 JSON 응답이 왔습니다")

    fields: dict[str, str] = {}
    root_tag = None
    parser = ET.XMLPullParser(events=("start", "end"))
    depth = 0
    enough = False
    try:
        for offset in range(0, len(text), 65536):
            parser.feed(text[offset : offset + 65536])
            for event, element in parser.read_events():
                if event == "start":
                    depth += 1
                    if depth == 1:
                        root_tag = element.tag
                    elif depth == 2 and element.tag == "srchList" and "scn_cnt" in fields:
                        enough = True
                        break
                else:
                    if depth == 2:
                        fields[element.tag] = "".join(element.itertext()).strip()
                    depth -= 1
            if enough:
                break
        else:
            parser.close()
    except ET.ParseError as exc:
        if "scn_cnt" not in fields:
            # Fall back on the raw bytes: an error page or a count may still be plainly there.
            if b"<GO24" in text[:512]:
                match = _ERROR_TEXT.search(text)
                raise ErrorDocument(_decode(match.group(1)) if match else "오류 응답") from None
            match = _SCN_CNT.search(text)
            if match is None:
                raise PageUnreadable(f"XML을 읽을 수 없습니다 ({exc})") from None
            fields["scn_cnt"] = match.group(1).decode("ascii")

    if "error" in fields or root_tag == "GO24":
        raise ErrorDocument(fields.get("error") or "내용 없는 오류 응답")
    total = _int_or_none(fields.get("scn_cnt"))
    if total is None or total < 0:
        raise PageUnreadable(f"목록 응답에 scn_cnt(전체 건수)가 없습니다 (최상위 요소 {root_tag})")
    return PageHeader(total, _int_or_none(fields.get("pageNum")), _int_or_none(fields.get("pageSize")))


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").strip()


# -- statistics ---------------------------------------------------------------------------------------


@dataclass
class FetchStats:
    resumed: bool = False  # a previous, unfinished run of the same query was continued
    windows: int = 0  # windows whose pages were read (after splitting)
    splits: int = 0  # windows split in halves because they held too many rows
    requests: int = 0  # HTTP requests made, retries included
    pages: int = 0  # pages handed over in this run
    pages_skipped: int = 0  # pages a previous run had already handed over (resume)
    retries: int = 0
    records: int = 0
    rejections: int = 0
    failures: list[dict] = field(default_factory=list)  # {"window", "page", "reason"}
    notes: list[str] = field(default_factory=list)  # oddities that did not stop the fetch

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Page:
    window: Window
    number: int
    total: int
    items: list[Item]
    complete: bool = True  # False: the records before a break in the page (it is reported, never marked done)


# -- the state file -----------------------------------------------------------------------------------


class _State:
    """Which (window, page) units are done, per query; written atomically.

    {"version": 1, "query": {...}, "finished": false,
     "windows": {"2024-01-01..2024-01-31": {"total": 234, "pages": [1, 2]},      # in progress
                 "2024-02-01..2024-02-29": {"total": 120345, "split": true},     # split in halves
                 "2024-03-01..2024-03-31": {"total": 87, "done": true}}}        # every page handed over
    """

    def __init__(self, path: Path | None, query: dict):
        self.path = path
        self.query = query
        self.windows: dict[str, dict] = {}
        self.finished = False
        self.note: str | None = None
        if path is not None and path.exists():
            self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.note = f"상태 파일을 읽을 수 없어 처음부터 가져옵니다 ({exc})"
            return
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION or data.get("query") != self.query:
            self.note = "상태 파일이 다른 조회의 것이라 처음부터 가져옵니다"
            return
        if data.get("finished"):
            self.note = "지난 조회가 끝까지 완료되어 처음부터 다시 가져옵니다"
            return
        windows = data.get("windows")
        self.windows = windows if isinstance(windows, dict) else {}

    def get(self, window: Window) -> dict:
        return self.windows.get(window.label, {})

    def split(self, window: Window, total: int) -> None:
        self.windows[window.label] = {"total": total, "split": True}

    def page_done(self, window: Window, page: int, total: int, pages: int) -> None:
        entry = self.windows.get(window.label)
        if not entry or entry.get("split") or entry.get("done"):
            entry = {"total": total, "pages": []}
        done = set(entry.get("pages", ()))
        done.add(page)
        if done >= set(range(1, pages + 1)):
            entry = {"total": entry["total"], "done": True}
        else:
            entry["pages"] = sorted(done)
        self.windows[window.label] = entry

    def save(self) -> None:
        if self.path is None:
            return
        data = {"version": STATE_VERSION, "query": self.query, "finished": self.finished, "windows": self.windows}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=False, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# -- the fetcher --------------------------------------------------------------------------------------


def _default_parser() -> PageParser:
    from courses.ingest.hrdnet_xml import parse  # imported late: the parser is its own module

    return parse


class Fetcher:
    """Pulls the OpenAPI's list pages for a date range and yields their FeedRecord/Rejection in order.

    Parameters (the CLI passes app configuration; see `from_config`):
      base_url, auth_key    the list endpoint and the issued key (never printed: messages redact it)
      page_size             rows per page, 1–100
      row_limit             rows one query may return (100,000 on the real API; tests use a tiny one)
      timeout               seconds per socket operation (connect, each read)
      max_retries           retries after the first attempt for network errors, timeouts, 5xx, 429
      error_retries         retries for error documents (they are rarely transient)
      backoff, max_backoff  delay before retry n is backoff·2^(n-1) seconds, capped, with ±25% jitter;
                            a numeric Retry-After is honoured (capped the same way)
      sleep, rng            injectable so tests never sleep and jitter is reproducible
      opener                a urllib OpenerDirector (default: urllib.request.build_opener())
      parse_page            parse(stream, *, source) -> Iterator[FeedRecord | Rejection]; default hrdnet_xml.parse
      state_path            JSON state file for resuming; None = no resume
      auto_checkpoint       True: a page counts as done once the consumer asks for the item after its last
                            record (right for a consumer that commits each record before pulling the next).
                            False: pages handed over are only recorded when the consumer calls checkpoint()
                            after committing (right for a consumer that commits in batches).
      params                extra query parameters (srchTraArea1, srchNcs1, crseTracseSe, wkendSe …)
      on_page               called with (window, page_number, pages_in_window, stats) after each page fetched
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        auth_key: str,
        page_size: int = API_MAX_PAGE_SIZE,
        row_limit: int = API_ROW_LIMIT,
        timeout: float = 30,
        max_retries: int = 5,
        error_retries: int = 2,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        sleep: Callable[[float], object] = time.sleep,
        rng: random.Random | None = None,
        opener: urllib.request.OpenerDirector | None = None,
        parse_page: PageParser | None = None,
        state_path: str | os.PathLike | None = None,
        auto_checkpoint: bool = True,
        params: Mapping[str, str] | None = None,
        on_page: Callable[[Window, int, int, FetchStats], object] | None = None,
    ):
        if not auth_key or not auth_key.strip():
            raise FetchFailed("고용24 OpenAPI 인증키(HRDNET_API_KEY)가 설정되지 않았습니다")
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"HRDNET_API_BASE must be an http(s) address, not {base_url!r}")
        if not 1 <= page_size <= API_MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{API_MAX_PAGE_SIZE}")
        if row_limit < 1 or max_retries < 0 or error_retries < 0 or timeout <= 0:
            raise ValueError("row_limit ≥ 1, max_retries ≥ 0, error_retries ≥ 0 and timeout > 0 are required")
        reserved = {"authKey", "returnType", "outType", "pageNum", "pageSize", "srchTraStDt", "srchTraEndDt"}
        if params and reserved & set(params):
            raise ValueError(f"params may not set {sorted(reserved & set(params))}")
        self.base_url = base_url
        self.auth_key = auth_key.strip()
        self.page_size = page_size
        self.row_limit = row_limit
        self.timeout = timeout
        self.max_retries = max_retries
        self.error_retries = error_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.opener = opener or urllib.request.build_opener()
        self._parse_page = parse_page
        self.state_path = Path(state_path) if state_path is not None else None
        self.auto_checkpoint = auto_checkpoint
        self.params = dict(params or {})
        self.on_page = on_page
        self.stats = FetchStats()
        self._state: _State | None = None
        self._pending: list[tuple[Window, int, int, int]] = []
        self._generator_done = False

    @classmethod
    def from_config(cls, config: Mapping, **overrides) -> Fetcher:
        """Build from app configuration: HRDNET_API_KEY, HRDNET_API_BASE and optional HRDNET_FETCH_* keys."""
        settings = {
            "base_url": config.get("HRDNET_API_BASE") or DEFAULT_BASE_URL,
            "auth_key": config.get("HRDNET_API_KEY") or "",
            "page_size": int(config.get("HRDNET_FETCH_PAGE_SIZE", API_MAX_PAGE_SIZE)),
            "row_limit": int(config.get("HRDNET_FETCH_ROW_LIMIT", API_ROW_LIMIT)),
            "timeout": float(config.get("HRDNET_FETCH_TIMEOUT", 30)),
            "max_retries": int(config.get("HRDNET_FETCH_MAX_RETRIES", 5)),
            "backoff": float(config.get("HRDNET_FETCH_BACKOFF", 1.0)),
        }
        settings.update(overrides)
        return cls(**settings)

    # -- public ---------------------------------------------------------------------------------------

    @property
    def max_rows_per_query(self) -> int:
        """Rows one window may hold: the API's row limit, and what 1,000 pages of page_size can reach."""
        return min(self.row_limit, API_MAX_PAGE_NUM * self.page_size)

    def fetch(self, start: date, end: date) -> Iterator[Item]:
        """Yield every record of every page for training starts start..end (inclusive), in date order.

        Raises FetchFailed when a page cannot be had (after retries) — at once — or, after everything else
        has been yielded, when some single day held more rows than one query may return.
        """
        if start > end:
            raise ValueError("start is after end")
        self.stats = FetchStats()
        self._pending = []
        self._generator_done = False
        self._state = _State(self.state_path, self._query_identity(start, end))
        if self._state.note:
            self.stats.notes.append(self._state.note)
        self.stats.resumed = bool(self._state.windows)
        for window in month_windows(start, end):
            yield from self._window(window)
        self._generator_done = True
        if self.stats.failures:
            raise FetchFailed(
                f"고용24 OpenAPI에서 {len(self.stats.failures)}곳을 가져오지 못했습니다 (나머지는 모두 넘겼습니다): "
                + "; ".join(f["reason"] for f in self.stats.failures),
                failures=self.stats.failures,
            )
        if self.auto_checkpoint:
            self._state.finished = True
            self._state.save()

    def checkpoint(self) -> None:
        """Record every page handed over so far as done (for auto_checkpoint=False, after the consumer commits)."""
        if self._state is None:
            return
        for window, page, total, pages in self._pending:
            self._state.page_done(window, page, total, pages)
        self._pending = []
        if self._generator_done and not self.stats.failures:
            self._state.finished = True
        self._state.save()

    # -- windows --------------------------------------------------------------------------------------

    def _window(self, window: Window) -> Iterator[Item]:
        saved = self._state.get(window)
        if saved.get("done"):
            self.stats.pages_skipped += _pages_for(saved.get("total", 0), self.page_size)
            return
        if saved.get("split"):
            self.stats.splits += 1
            for half in window.halves():
                yield from self._window(half)
            return

        done_pages = set(saved.get("pages", ()))
        total = saved.get("total")
        first = None
        if total is None or 1 not in done_pages:
            first = self._get_page(window, 1)
            total = first.total
        if total > self.max_rows_per_query:
            if window.start == window.end:
                self._fail_window(window, total)
                return
            self.stats.splits += 1
            self._state.split(window, total)
            self._state.save()
            for half in window.halves():
                yield from self._window(half)
            return

        self.stats.windows += 1
        pages = _pages_for(total, self.page_size)
        for number in range(1, pages + 1):
            if number in done_pages:
                self.stats.pages_skipped += 1
                continue
            page = first if number == 1 and first is not None else self._get_page(window, number)
            if page.total != total:
                self.stats.notes.append(
                    f"{window} {number}쪽: 전체 건수가 {total}건에서 {page.total}건으로 바뀌었습니다 (조회 중 자료 변경)"
                )
            expected = min(self.page_size, total - (number - 1) * self.page_size)
            if page.complete and len(page.items) != expected:
                self.stats.notes.append(
                    f"{window} {number}쪽: {expected}건을 기대했는데 {len(page.items)}건이 왔습니다"
                )
            if self.on_page is not None:
                self.on_page(window, number, pages, self.stats)
            last = len(page.items) - 1
            for index, item in enumerate(page.items):
                if isinstance(item, Rejection):
                    self.stats.rejections += 1
                else:
                    self.stats.records += 1
                if index == last and page.complete and not self.auto_checkpoint:
                    # The consumer has now been given every record of the page: its next checkpoint() covers it.
                    self._pending.append((window, number, total, pages))
                yield item
            # Reached only when the consumer asked for the item after this page's last one.
            self.stats.pages += 1
            if not page.complete:
                continue  # reported in stats.failures; a resumed fetch asks for it again
            if self.auto_checkpoint:
                self._state.page_done(window, number, total, pages)
                self._state.save()
            elif last < 0:
                self._pending.append((window, number, total, pages))

    def _fail_window(self, window: Window, total: int) -> None:
        self.stats.failures.append(
            {
                "window": str(window),
                "page": None,
                "reason": f"{window} 하루에 {total:,}건으로 한 번에 조회할 수 있는 {self.max_rows_per_query:,}건을 "
                f"넘습니다 (잘라서 가져오지 않았습니다)",
            }
        )

    # -- pages ----------------------------------------------------------------------------------------

    def _get_page(self, window: Window, number: int) -> _Page:
        attempt = 0
        error_documents = 0
        broken_pages = 0
        while True:
            attempt += 1
            self.stats.requests += 1
            retry_after = None
            try:
                body = self._request(window, number)
                header = read_page_header(body)
                items = self._parse(body, window, number, header.total)
                if header.page_num is not None and header.page_num != number:
                    self.stats.notes.append(f"{window} {number}쪽을 요청했는데 응답은 {header.page_num}쪽이라고 합니다")
                return _Page(window, number, header.total, items)
            except _Fatal as exc:
                self._fail_page(window, number, exc.reason, attempt)
            except ErrorDocument as exc:
                error_documents += 1
                reason = f"오류 응답: {exc.text}"
                if error_documents > self.error_retries or attempt > self.max_retries:
                    self._fail_page(window, number, reason, attempt)
            except _Retryable as exc:
                reason, retry_after = exc.reason, exc.retry_after
                if attempt > self.max_retries:
                    self._fail_page(window, number, reason, attempt)
            except PageUnreadable as exc:
                reason = str(exc)
                if attempt > self.max_retries:
                    self._fail_page(window, number, reason, attempt)
            except _BrokenPage as exc:
                # The whole body arrived (a transfer cut short is an IncompleteRead, retried above), so a
                # break in the markup is most likely in the data itself: retried only error_retries times.
                broken_pages += 1
                reason = exc.reason
                if broken_pages > self.error_retries or attempt > self.max_retries:
                    if not exc.partial:
                        self._fail_page(window, number, reason, attempt)
                    # Some records were read: hand those over, report the page, and go on with the rest.
                    self.stats.failures.append(
                        {
                            "window": str(window),
                            "page": number,
                            "reason": f"{window} {number}쪽이 중간에 깨져 앞의 {_count_records(exc.partial)}건만 넘겼습니다 "
                            f"({attempt}번 시도): {reason}",
                        }
                    )
                    return _Page(window, number, exc.total, exc.partial, complete=False)
            self.stats.retries += 1
            self.sleep(self._delay(attempt, retry_after))

    def _fail_page(self, window: Window, number: int, reason: str, attempts: int) -> None:
        self.stats.failures.append({"window": str(window), "page": number, "reason": reason})
        raise FetchFailed(
            f"고용24 OpenAPI에서 {window} {number}쪽을 가져오지 못했습니다 ({attempts}번 시도): {reason}",
            failures=self.stats.failures,
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        delay *= 0.75 + self.rng.random() / 2  # ±25% so many clients do not retry in lockstep
        if retry_after is not None:
            delay = max(delay, min(self.max_backoff, retry_after))
        return delay

    def _url(self, window: Window, number: int) -> str:
        query = {
            "authKey": self.auth_key,
            "returnType": "XML",
            "outType": "1",
            "pageNum": str(number),
            "pageSize": str(self.page_size),
            "srchTraStDt": window.start.strftime("%Y%m%d"),
            "srchTraEndDt": window.end.strftime("%Y%m%d"),
            "sort": "ASC",
            "sortCol": "TRNG_BGDE",
            **self.params,
        }
        separator = "&" if urllib.parse.urlsplit(self.base_url).query else "?"
        return self.base_url + separator + urllib.parse.urlencode(query)

    def _request(self, window: Window, number: int) -> bytes:
        request = urllib.request.Request(
            self._url(window, number), headers={"User-Agent": USER_AGENT, "Accept": "application/xml, text/xml"}
        )
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                body = response.read(MAX_BODY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            with exc:  # an HTTPError holds the response: close it
                status = exc.code
                retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            if status == 429 or status >= 500:
                raise _Retryable(f"HTTP {status}", retry_after) from None
            hint = " — 인증키(HRDNET_API_KEY)와 주소(HRDNET_API_BASE)를 확인하세요" if status in (401, 403, 404) else ""
            raise _Fatal(f"HTTP {status}{hint}") from None
        except (TimeoutError, urllib.error.URLError, HTTPException, OSError) as exc:
            raise _Retryable(self._redact(_network_reason(exc))) from None
        if len(body) > MAX_BODY_BYTES:
            raise _Fatal(f"응답이 {MAX_BODY_BYTES // (1024 * 1024)}MB를 넘습니다")
        return body

    def _parse(self, body: bytes, window: Window, number: int, total: int) -> list[Item]:
        parse = self._parse_page or _default_parser()
        items: list[Item] = []
        try:
            # Materialised before anything is handed over, so a page is all or nothing.
            for item in parse(io.BytesIO(body), source=f"고용24 OpenAPI {window} {number}쪽"):
                items.append(item)
        except FeedUnreadable as exc:
            raise _BrokenPage(f"목록 응답을 끝까지 읽을 수 없습니다 ({exc})", total, items) from None
        return items

    def _redact(self, text: str) -> str:
        return text.replace(self.auth_key, "***") if self.auth_key else text

    def _query_identity(self, start: date, end: date) -> dict:
        """What makes two fetches the same query (the key is left out on purpose)."""
        parts = urllib.parse.urlsplit(self.base_url)
        return {
            "endpoint": urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
            "from": start.isoformat(),
            "to": end.isoformat(),
            "page_size": self.page_size,
            "row_limit": self.max_rows_per_query,
            "params": dict(sorted(self.params.items())),
        }


def _count_records(items: list[Item]) -> int:
    return sum(1 for item in items if isinstance(item, FeedRecord))


def _pages_for(total: int, page_size: int) -> int:
    """Pages a window of `total` rows takes; an empty window still has its (empty) page 1."""
    return max(1, math.ceil(total / page_size))


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float((value or "").strip())
    except ValueError:
        return None  # an HTTP date: the computed backoff will do
    return seconds if seconds >= 0 else None


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        inner = exc.reason
        if isinstance(inner, TimeoutError):
            return "응답 시간 초과"
        return f"연결 오류 ({inner})"
    if isinstance(exc, TimeoutError):
        return "응답 시간 초과"
    return f"연결 오류 ({type(exc).__name__}: {exc})"
