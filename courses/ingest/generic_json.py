"""Generic JSON feed (for ministries without an HRD-Net feed) → FeedRecord | Rejection, streamed.

Two layouts are read, told apart by the first character of the file (docs/feeds.md has examples):

- JSON Lines (recommended for large feeds): one JSON object per line;
- a JSON array of objects: `[ {…}, {…} ]`, read element by element with an incremental decoder (the
  standard library's scanner on a sliding 64 KiB window), so even a huge array is never held whole.

Each object's keys are FeedRecord field names (course_id, run_number, title, provider_name, provider_id,
start_date, end_date, fee, capacity, …); values are strings, numbers or null (null = blank = unknown);
dates "YYYY-MM-DD" (or "YYYYMMDD"). Keys we do not know are kept in FeedRecord.extra (scalar values only).

parse(stream, source=…) is a generator; memory stays flat whatever the file size:

- FeedUnreadable before anything is yielded: an empty file, not UTF-8, not an array or JSON Lines, an
  error document (`{"error": "…"}`, as the 고용24 OpenAPI sends in JSON), or a first object that lacks a
  required key (the file is in some other format);
- each record is checked alone; a bad one yields Rejection("record N (line L)", key or None, reason) and
  parsing goes on: a JSON Lines line that is not valid JSON, an array element that is not valid JSON but
  whose brackets balance, a value that is not an object, a record over MAX_RECORD_CHARS (skipped without
  being held in memory), bytes that are not UTF-8;
- when the file breaks off (an array without its closing `]`, a last JSON Lines line cut mid-object, an
  array element whose brackets never close), the records before the break have been yielded; one
  Rejection(…, None, "파일이 … 에서 끊겼습니다 …") is yielded for the break and FeedUnreadable is raised,
  so the importer knows the parse was incomplete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from courses.ingest.generic_csv import COLUMNS, REQUIRED
from courses.ingest.records import FeedRecord, FeedUnreadable, Rejection
from courses.ingest.validate import GENERIC_ID, build_record, open_utf8_text, record_key

CHUNK = 1 << 16
MAX_RECORD_CHARS = 1 << 20  # one record (array element or JSON Lines line)

_WS = re.compile(r"[ \t\r\n]*")
_decoder = json.JSONDecoder()
_KNOWN = frozenset(COLUMNS)
_SKIPPED = object()


class _Text:
    """A sliding window over the text stream: `buf[pos:]` is what is not consumed yet; `line` is pos's line."""

    __slots__ = ("_read", "buf", "pos", "eof", "line")

    def __init__(self, text):
        self._read = text.read
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line = 1

    def fill(self) -> bool:
        """Read another chunk; False at the end of the file."""
        if self.eof:
            return False
        chunk = self._read(CHUNK)
        if not chunk:
            self.eof = True
            return False
        if self.pos:
            self.buf = self.buf[self.pos :]
            self.pos = 0
        self.buf += chunk
        return True

    def advance(self, to: int) -> None:
        self.line += self.buf.count("\n", self.pos, to)
        self.pos = to

    def skip_space(self) -> str:
        """Skip white space; the next character, or "" at the end of the file."""
        while True:
            self.advance(_WS.match(self.buf, self.pos).end())
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def drop(self) -> None:
        """Forget everything consumed (keeps memory flat while skipping a huge record)."""
        self.buf = self.buf[self.pos :]
        self.pos = 0


def parse(stream: BinaryIO, *, source: str) -> Iterator[FeedRecord | Rejection]:
    """Yield one FeedRecord or Rejection per object; see the module docstring for errors."""
    text, empty = open_utf8_text(stream)
    try:
        if empty:
            raise FeedUnreadable("빈 파일입니다.")
        window = _Text(text)
        first = window.skip_space()
        if first == "[":
            window.advance(window.pos + 1)
            yield from _array(window)
        elif first == "{":
            yield from _lines(window)
        else:
            raise FeedUnreadable(
                "JSON 피드가 아닙니다: 객체의 배열([ … ])이나 JSON Lines(한 줄에 객체 하나)여야 "
                f"합니다. 파일이 {first!r}(으)로 시작합니다."
            )
    finally:
        text.close()


def _array(window: _Text) -> Iterator[FeedRecord | Rejection]:
    ordinal = 0
    if window.skip_space() == "]":
        window.advance(window.pos + 1)
        yield from _trailing(window, ordinal)
        return
    while True:
        nxt = window.skip_space()
        if not nxt:
            yield from _broken(window, ordinal, "배열이 닫히지 않았습니다")
        ordinal += 1
        line = window.line
        position = f"record {ordinal} (line {line})"
        value: Any = _SKIPPED
        error = ""
        if nxt == "{":
            try:
                value, end = _decoder.raw_decode(window.buf, window.pos)
            except ValueError as exc:  # JSONDecodeError (often: the object goes on in the next chunk)
                error = f"JSON 문법 오류: {_problem(exc)}"
        elif ordinal == 1:
            raise FeedUnreadable("첫 레코드가 JSON 객체가 아닙니다: 배열의 원소는 객체({ … })여야 합니다.")
        else:
            error = "객체({ … })가 아닙니다"
        if error:
            end, too_big = yield from _find_end(window, ordinal)
            if too_big:
                yield Rejection(position, None, f"레코드가 너무 큽니다 ({MAX_RECORD_CHARS:,}자 초과): 읽지 않았습니다.")
            elif nxt == "{":
                try:  # the whole object is in the window now
                    value, end = _decoder.raw_decode(window.buf, window.pos)
                except ValueError as exc:
                    yield Rejection(position, None, f"JSON 문법 오류: {_problem(exc)}")
            else:
                yield Rejection(position, None, error)
        bad_bytes = value is not _SKIPPED and window.buf.find("\ufffd", window.pos, end) >= 0
        window.advance(end)
        if value is not _SKIPPED:
            yield _record(value, position, ordinal, bad_bytes)
        nxt = window.skip_space()
        if nxt == ",":
            window.advance(window.pos + 1)
        elif nxt == "]":
            window.advance(window.pos + 1)
            yield from _trailing(window, ordinal)
            return
        elif not nxt:
            yield from _broken(window, ordinal, "배열이 닫히지 않았습니다")
        else:
            yield from _broken(window, ordinal, f"record {ordinal} 뒤에 쉼표나 ]가 아닌 {nxt!r}이(가) 있습니다")


def _find_end(window: _Text, ordinal: int):
    """Where the array element at window.pos ends (matching brackets and strings only), reading on as needed.

    Returns (end offset in window.buf, too_big). An element longer than MAX_RECORD_CHARS is read through
    without being kept (too_big: window.pos then is the start of what is left of it)."""
    state = (0, False, False)
    scan_from = window.pos
    too_big = False
    while True:
        end, state = _scan(window.buf, scan_from, state)
        if end is not None:
            return end, too_big
        if not too_big and len(window.buf) - window.pos > MAX_RECORD_CHARS:
            too_big = True
        if too_big:
            window.line += window.buf.count("\n", window.pos)
            window.pos = len(window.buf)
            window.drop()
        scanned = len(window.buf) - window.pos
        if not window.fill():
            yield from _broken(window, ordinal - 1, f"record {ordinal}이(가) 끝나지 않았습니다")
        scan_from = window.pos + scanned


_OUTSIDE = re.compile(r'["{}\[\],]')
_INSIDE = re.compile(r'["\\]')


def _scan(text: str, pos: int, state: tuple[int, bool, bool]) -> tuple[int | None, tuple[int, bool, bool]]:
    """Where the JSON value being scanned ends, from `pos` on, by matching brackets and strings only.

    Returns (end offset, state); end is None when the text runs out first, and `state` (bracket depth,
    inside a string, a backslash was the last character) lets the scan go on in the next chunk. A bare value
    ends before the "," or "]" that follows it; an object or array just after its closing bracket."""
    depth, in_string, escaped = state
    size = len(text)
    if escaped:
        if pos >= size:
            return None, state
        pos += 1
    while True:
        if in_string:
            match = _INSIDE.search(text, pos)
            if match is None:
                return None, (depth, True, False)
            i = match.start()
            if text[i] == "\\":
                if i + 1 >= size:
                    return None, (depth, True, True)
                pos = i + 2
                continue
            in_string, pos = False, i + 1
            continue
        match = _OUTSIDE.search(text, pos)
        if match is None:
            return None, (depth, False, False)
        i = match.start()
        c = text[i]
        pos = i + 1
        if c == '"':
            in_string = True
        elif c == "{" or c == "[":
            depth += 1
        elif c == "}" or c == "]":
            depth -= 1
            if depth == 0:
                return i + 1, (0, False, False)
            if depth < 0:  # a bare value ended by the array's "]"
                return i, (0, False, False)
        elif depth == 0:  # ","
            return i, (0, False, False)


def _trailing(window: _Text, ordinal: int) -> Iterator[Rejection]:
    if window.skip_space():
        yield from _broken(window, ordinal, "배열이 끝난 뒤에도 내용이 더 있습니다")


def _broken(window: _Text, ordinal: int, what: str) -> Iterator[Rejection]:
    """The file broke off: nothing after this point can be trusted."""
    if ordinal == 0:
        raise FeedUnreadable(f"JSON을 읽을 수 없습니다 (line {window.line}): {what}.")
    yield Rejection(f"line {window.line}", None, f"파일이 line {window.line}에서 끊겼습니다: {what}.")
    raise FeedUnreadable(f"파일이 line {window.line}에서 끊겼습니다 ({what}): 앞의 {ordinal}개 레코드만 읽었습니다.")


def _lines(window: _Text) -> Iterator[FeedRecord | Rejection]:
    ordinal = 0
    while True:
        newline = window.buf.find("\n", window.pos)
        while newline < 0 and len(window.buf) - window.pos <= MAX_RECORD_CHARS and window.fill():
            newline = window.buf.find("\n", window.pos)
        if newline < 0 and len(window.buf) - window.pos > MAX_RECORD_CHARS:
            ordinal += 1
            position = f"record {ordinal} (line {window.line})"
            if ordinal == 1:
                raise FeedUnreadable(f"첫 줄이 {MAX_RECORD_CHARS:,}자를 넘습니다: JSON Lines 파일이 아닌 것 같습니다.")
            while newline < 0:  # read through the overlong line without holding it
                window.pos = len(window.buf)
                window.drop()
                if not window.fill():
                    break
                newline = window.buf.find("\n")
            window.pos = newline + 1 if newline >= 0 else len(window.buf)
            window.line += 1
            yield Rejection(position, None, f"한 줄이 {MAX_RECORD_CHARS:,}자를 넘어 읽지 않았습니다.")
            continue
        complete = newline >= 0
        if not complete:  # the end of the file
            if window.pos >= len(window.buf):
                return
            newline = len(window.buf)
        line_text = window.buf[window.pos : newline]
        line, first_pos = window.line, window.pos
        window.pos = newline + 1 if complete else newline
        window.line += 1
        if not line_text or line_text.isspace():
            continue
        ordinal += 1
        position = f"record {ordinal} (line {line})"
        try:
            value = json.loads(line_text)
        except ValueError as exc:  # JSONDecodeError, or an integer with thousands of digits
            problem = _problem(exc)
            if ordinal == 1:
                window.pos, window.line = first_pos, line
                _refuse_first(window, problem)
            if not complete:
                yield Rejection(
                    position,
                    None,
                    f"파일이 line {line}에서 끊겼습니다: 마지막 줄이 완전한 JSON이 아닙니다 ({problem}).",
                )
                raise FeedUnreadable(
                    f"파일이 line {line}에서 끊겼습니다: 앞의 {ordinal - 1}개 레코드만 읽었습니다."
                ) from None
            yield Rejection(position, None, f"JSON 문법 오류: {problem}")
            continue
        yield _record(value, position, ordinal, "\ufffd" in line_text)


def _problem(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (열 {exc.colno})"
    return str(exc)[:200]


def _refuse_first(window: _Text, problem: str):
    """The first line is not JSON on its own: an error document or an object spread over lines?"""
    while True:
        try:
            value, _end = _decoder.raw_decode(window.buf, window.pos)
        except ValueError:
            if len(window.buf) - window.pos > MAX_RECORD_CHARS or not _fill_keeping(window):
                break
            continue
        if isinstance(value, dict) and "error" in value and not (value.keys() & set(REQUIRED)):
            raise FeedUnreadable(f"오류 문서입니다: {_error_text(value['error'])}")
        break
    raise FeedUnreadable(
        f"JSON Lines 파일의 첫 줄이 JSON 객체가 아닙니다 ({problem}): 한 줄에 객체 하나씩 쓰거나 "
        "객체의 배열로 보내 주세요."
    )


def _fill_keeping(window: _Text) -> bool:
    """fill() without dropping what is before pos (only used on the first record)."""
    if window.eof:
        return False
    chunk = window._read(CHUNK)
    if not chunk:
        window.eof = True
        return False
    window.buf += chunk
    return True


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        error = error.get("message") or error.get("code") or json.dumps(error, ensure_ascii=False)
    return str(error)[:300]


def _record(value: Any, position: str, ordinal: int, bad_bytes: bool) -> FeedRecord | Rejection:
    if not isinstance(value, dict):
        if ordinal == 1:
            raise FeedUnreadable(f"첫 레코드가 JSON 객체가 아닙니다 ({type(value).__name__}).")
        return Rejection(position, None, "객체({ … })가 아닙니다")
    if ordinal == 1:
        if "error" in value and not (value.keys() & set(REQUIRED)):
            raise FeedUnreadable(f"오류 문서입니다: {_error_text(value['error'])}")
        missing = [name for name in REQUIRED if name not in value]
        if missing:
            raise FeedUnreadable(
                f"첫 레코드에 필수 항목이 없습니다: {', '.join(missing)} (docs/feeds.md의 일반 JSON 형식을 보세요)."
            )
    if bad_bytes:
        return Rejection(position, record_key(value, GENERIC_ID), "UTF-8이 아닌 바이트가 있습니다.")
    extra = None
    if not _KNOWN.issuperset(value):
        extra = {
            name: item
            for name, item in value.items()
            if name not in _KNOWN and isinstance(item, str | int | float | bool)
        }
    return build_record(value, position=position, id_pattern=GENERIC_ID, extra=extra)
